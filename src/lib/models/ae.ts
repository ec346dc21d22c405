import { checkInteger } from '../errors';
import { Initializer } from './autoencoder';
import { MLPAutoencoder, MLPConfig } from './mlp';
import { registerModel } from './io';

/** Configuration of `AE` (any `MLPConfig` field is accepted too). */
export interface AEConfig extends MLPConfig {
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
export class AE extends MLPAutoencoder {
  override readonly name = 'ae';

  constructor(config: AEConfig = {}) {
    const { hiddenDim, ...rest } = config;
    if (hiddenDim !== undefined) checkInteger('hiddenDim', hiddenDim, 1);
    super({ ...rest, ...(hiddenDim !== undefined ? { hidden: [hiddenDim] } : {}) }, { hidden: [400], latentDim: 20 });
  }
}

registerModel('ae', (config) => new AE(config as AEConfig));
