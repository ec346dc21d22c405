import * as tf from '@tensorflow/tfjs';

type TfInitializer = ReturnType<typeof tf.initializers.zeros>;
import { Rng } from '../random';
import type { Initializer } from './autoencoder';

/** Hidden-layer activations the models accept. */
export type HiddenActivation = 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh';

/**
 * Kernel and bias initialisers for a layer with `fanIn` inputs.
 * `pytorch` reproduces `nn.Linear`/`nn.Conv2d`'s default (kaiming-uniform with a = sqrt(5),
 * i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for the weights and the same bound for the bias), so
 * that training starts where the seeds' PyTorch code starts; `glorot` (Xavier) and `he` use
 * zero biases as Keras does.
 */
export function initializers(kind: Initializer, fanIn: number, rng: Rng): { kernelInitializer: TfInitializer; biasInitializer: TfInitializer } {
  const bound = 1 / Math.sqrt(fanIn);
  switch (kind) {
    case 'pytorch':
      return {
        kernelInitializer: tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: rng.seed() }),
        biasInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: rng.seed() }),
      };
    case 'glorot':
      return { kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }), biasInitializer: tf.initializers.zeros() };
    case 'he':
      return { kernelInitializer: tf.initializers.heUniform({ seed: rng.seed() }), biasInitializer: tf.initializers.zeros() };
  }
}

/** A dense layer initialised as `init` says. */
export function dense(units: number, fanIn: number, init: Initializer, rng: Rng, name?: string): tf.layers.Layer {
  return tf.layers.dense({ units, ...initializers(init, fanIn, rng), ...(name ? { name } : {}) });
}

/** The layer for a hidden activation (LeakyReLU with PyTorch's slope 0.01). */
export function activationLayer(kind: HiddenActivation): tf.layers.Layer {
  switch (kind) {
    case 'leakyRelu':
      return tf.layers.leakyReLU({ alpha: 0.01 });
    case 'elu':
      return tf.layers.elu();
    default:
      return tf.layers.activation({ activation: kind });
  }
}
