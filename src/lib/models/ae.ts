import * as tf from '@tensorflow/tfjs';
import { checkInteger } from '../errors';
import { Rng } from '../random';
import { Autoencoder, Initializer, OutputActivation } from './autoencoder';
import { dense } from './layers';
import { registerModel } from './io';

/** Configuration of `AE`. */
export interface AEConfig {
  /** Input features (default 784, a flattened 28x28 image). */
  inputDim?: number;
  /** Hidden units on each side (default 400). */
  hiddenDim?: number;
  /** Latent units (default 20: 784 / 20 = 39.2x compression). */
  latentDim?: number;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the weight initialisation (default 1, as the seeds' `--seed`). */
  seed?: number;
}

/**
 * The fully connected autoencoder of seed 001, Part 1: 784 -> 400 -> 20 -> 400 -> 784,
 * ReLU hidden layers, linear latent, sigmoid output. 644,804 parameters by default.
 */
export class AE extends Autoencoder {
  readonly name = 'ae';
  readonly inputShape: number[];
  readonly latentShape: number[];
  readonly outputActivation: OutputActivation = 'sigmoid';
  readonly config: Required<AEConfig>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: AEConfig = {}) {
    super();
    const c: Required<AEConfig> = { inputDim: 784, hiddenDim: 400, latentDim: 20, init: 'pytorch', seed: 1, ...config };
    checkInteger('inputDim', c.inputDim, 1);
    checkInteger('hiddenDim', c.hiddenDim, 1);
    checkInteger('latentDim', c.latentDim, 1);
    this.config = c;
    this.inputShape = [c.inputDim];
    this.latentShape = [c.latentDim];
    const rng = new Rng(c.seed);
    this.encoderNet = tf.sequential({
      name: 'encoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [c.inputDim] }),
        dense(c.hiddenDim, c.inputDim, c.init, rng, 'fc1'),
        tf.layers.reLU(),
        dense(c.latentDim, c.hiddenDim, c.init, rng, 'fc2'),
      ],
    });
    this.decoderNet = tf.sequential({
      name: 'decoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [c.latentDim] }),
        dense(c.hiddenDim, c.latentDim, c.init, rng, 'fc3'),
        tf.layers.reLU(),
        dense(c.inputDim, c.hiddenDim, c.init, rng, 'fc4'),
      ],
    });
  }
}

registerModel('ae', (config) => new AE(config as AEConfig));
