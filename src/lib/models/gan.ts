/**
 * A small fully connected GAN for 28x28 images (seed 004 Q7-Q8): a generator from a
 * standard normal code to an image, and a discriminator from an image to a logit of "real".
 * It is here to show, next to the autoencoders, what seed 004 says about GAN training:
 * the two losses oscillate rather than fall, and the generator may collapse onto a few modes.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger } from '../errors';
import { Rng } from '../random';
import type { Initializer } from './autoencoder';
import { dense } from './layers';
import { checkInit } from './mlp';

/** Configuration of `GAN`. */
export interface GANConfig {
  /** Size of the generator's code (default 64). */
  latentDim?: number;
  /** Generator hidden sizes (default `[256, 512]`; the discriminator mirrors them). */
  hidden?: number[];
  /** Values per image (default 784). */
  imageDim?: number;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the initialisation and the discriminator's dropout (default 1). */
  seed?: number;
  /**
   * Give the discriminator's last layer, next to each image's features, the standard
   * deviation of every pixel across the batch (a minibatch-statistics input in the spirit
   * of Salimans et al. 2016 and Karras et al. 2018). A batch of near-identical fakes then
   * looks fake as a batch, which pushes the generator away from mode collapse. The pixels'
   * spread is taken rather than the hidden features', whose spread the dropout masks.
   * Default false (the plain GAN).
   */
  minibatchStd?: boolean;
}

/**
 * Generator: `latent -> hidden... (LeakyReLU 0.2) -> imageDim`, sigmoid, so images are in
 * [0, 1] like the data. Discriminator: `imageDim -> hidden reversed (LeakyReLU 0.2,
 * dropout 0.3) -> 1` logit; `discriminator` is its body up to the last hidden layer and
 * `discriminatorHead` the final linear layer (`imageDim` more inputs with `minibatchStd`).
 */
export class GAN {
  readonly config: Required<GANConfig>;
  readonly generator: tf.Sequential;
  readonly discriminator: tf.Sequential;
  readonly discriminatorHead: tf.Sequential;

  constructor(config: GANConfig = {}) {
    const c: Required<GANConfig> = { latentDim: 64, hidden: [256, 512], imageDim: 784, init: 'pytorch', seed: 1, minibatchStd: false, ...config };
    checkInteger('latentDim', c.latentDim, 1);
    checkInteger('imageDim', c.imageDim, 1);
    c.hidden.forEach((h, i) => checkInteger(`hidden[${i}]`, h, 1));
    checkInit(c.init);
    this.config = c;
    const rng = new Rng(c.seed);
    const gen: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: [c.latentDim] })];
    let fanIn = c.latentDim;
    for (const h of c.hidden) {
      gen.push(dense(h, fanIn, c.init, rng), tf.layers.leakyReLU({ alpha: 0.2 }));
      fanIn = h;
    }
    gen.push(dense(c.imageDim, fanIn, c.init, rng), tf.layers.activation({ activation: 'sigmoid' }));
    this.generator = tf.sequential({ name: 'generator', layers: gen });
    const dis: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: [c.imageDim] })];
    fanIn = c.imageDim;
    for (const h of [...c.hidden].reverse()) {
      dis.push(dense(h, fanIn, c.init, rng), tf.layers.leakyReLU({ alpha: 0.2 }), tf.layers.dropout({ rate: 0.3, seed: rng.seed() }));
      fanIn = h;
    }
    this.discriminator = tf.sequential({ name: 'discriminator', layers: dis });
    const headIn = fanIn + (c.minibatchStd ? c.imageDim : 0);
    this.discriminatorHead = tf.sequential({ name: 'discriminator_head', layers: [tf.layers.inputLayer({ inputShape: [headIn] }), dense(1, headIn, c.init, rng)] });
  }

  /**
   * `n` images from seeded standard normal codes.
   * @returns `[n, imageDim]` in [0, 1]
   */
  generate(n: number, seed = 1): tf.Tensor2D {
    checkInteger('n', n, 1);
    return tf.tidy(() => this.generator.apply(tf.randomNormal([n, this.config.latentDim], 0, 1, 'float32', seed)) as tf.Tensor2D);
  }

  /**
   * Discriminator logits `[b, 1]` for images `[b, imageDim]` (or `[b, 28, 28, 1]`). With
   * `minibatchStd` the logits depend on the whole batch, so pass real and fake images as
   * separate batches.
   */
  discriminate(x: tf.Tensor, training = false): tf.Tensor2D {
    return tf.tidy(() => {
      const flat = x.reshape([x.shape[0], this.config.imageDim]);
      let h = this.discriminator.apply(flat, { training }) as tf.Tensor2D;
      if (this.config.minibatchStd) {
        const { variance } = tf.moments(flat, 0, true);
        h = tf.concat([h, tf.sqrt(variance.add(1e-8)).tile([h.shape[0], 1])], 1) as tf.Tensor2D;
      }
      return this.discriminatorHead.apply(h) as tf.Tensor2D;
    });
  }

  /** Trainable variables of the generator. */
  get generatorWeights(): tf.Variable[] {
    return this.generator.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Trainable variables of the discriminator. */
  get discriminatorWeights(): tf.Variable[] {
    return [...this.discriminator.trainableWeights, ...this.discriminatorHead.trainableWeights].map((w) => w.read() as tf.Variable);
  }

  /** Parameters of both networks. */
  paramCount(): number {
    return [...this.generatorWeights, ...this.discriminatorWeights].reduce((n, w) => n + w.size, 0);
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.discriminatorHead.dispose();
  }
}
