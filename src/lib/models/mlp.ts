/**
 * Fully connected autoencoders. One builder (`MLPAutoencoder`) covers every multilayer
 * perceptron of the seeds; the named classes are its presets, so that each reads like the
 * seed it comes from and has that seed's defaults:
 *
 * | class                 | seed                         | layers                              |
 * |-----------------------|------------------------------|-------------------------------------|
 * | `SimpleAutoencoder`   | 001 Part 1 (second listing)  | 784-256-128-64, ReLU latent         |
 * | `FlexibleAutoencoder` | 001 Part 4, 004 Q4           | 784-256-latent, ReLU latent         |
 * | `DeepAutoencoder`     | 001 Part 3                   | 784-512-256-128-32, BN + dropout    |
 * | `MLPAutoencoder`      | 001 Ex. 1 and 5, 002, 003    | any sizes and activations           |
 *
 * Hidden blocks are `Linear -> activation -> [BatchNorm] -> [Dropout]`, the order of seed
 * 001's `DeepAutoencoder`.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Rng } from '../random';
import { Autoencoder, Initializer, OutputActivation } from './autoencoder';
import { HiddenActivation, activationLayer, batchNormalization, dense } from './layers';
import { registerModel } from './io';

export const HIDDEN_ACTIVATIONS: readonly HiddenActivation[] = ['relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh'];
export const OUTPUT_ACTIVATIONS: readonly OutputActivation[] = ['sigmoid', 'tanh', 'none'];

/** Configuration of `MLPAutoencoder`; every field has a default. */
export interface MLPConfig {
  /** Input features (default 784, a flattened 28x28 image). */
  inputDim?: number;
  /** Encoder hidden sizes, input side first (default `[400]`). */
  hidden?: number[];
  /** Latent units (default 20). */
  latentDim?: number;
  /** Decoder hidden sizes, latent side first (default: `hidden` reversed, a mirror). */
  decoderHidden?: number[];
  /** Activation of every hidden layer (default `relu`). */
  activation?: HiddenActivation;
  /** Activation of the latent layer (default `none`: a linear code). */
  latentActivation?: HiddenActivation | 'none';
  /** Activation of the reconstruction (default `sigmoid`, for pixels in [0, 1]). */
  outputActivation?: OutputActivation;
  /** Batch normalisation after each hidden activation (default false). */
  batchNorm?: boolean;
  /** Dropout rate after each hidden block, 0 to below 1 (default 0). */
  dropout?: number;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the weight initialisation (default 1). */
  seed?: number;
}

type ResolvedMLPConfig = Required<MLPConfig>;

/**
 * A fully connected autoencoder of any depth: `inputDim -> hidden... -> latentDim ->
 * decoderHidden... -> inputDim`. Takes `[b, inputDim]` (or `[b, 28, 28, 1]` images of the
 * same size) and returns reconstructions of the same shape.
 */
export class MLPAutoencoder extends Autoencoder {
  readonly name: string = 'mlp';
  readonly inputShape: number[];
  readonly latentShape: number[];
  readonly outputActivation: OutputActivation;
  readonly config: ResolvedMLPConfig;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: MLPConfig = {}, defaults: MLPConfig = {}) {
    super();
    const c = resolveMLP({ ...defaults, ...config });
    this.config = c;
    this.inputShape = [c.inputDim];
    this.latentShape = [c.latentDim];
    this.outputActivation = c.outputActivation;
    const rng = new Rng(c.seed);
    this.encoderNet = tf.sequential({
      name: 'encoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [c.inputDim] }),
        ...hiddenStack(c.inputDim, c.hidden, c, rng, 'enc'),
        dense(c.latentDim, c.hidden.at(-1) ?? c.inputDim, c.init, rng, 'latent'),
        ...(c.latentActivation === 'none' ? [] : [activationLayer(c.latentActivation)]),
      ],
    });
    this.decoderNet = tf.sequential({
      name: 'decoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [c.latentDim] }),
        ...hiddenStack(c.latentDim, c.decoderHidden, c, rng, 'dec'),
        dense(c.inputDim, c.decoderHidden.at(-1) ?? c.latentDim, c.init, rng, 'output'),
      ],
    });
  }

  /** True when the code is smaller than the input (a bottleneck); false when overcomplete. */
  get isUndercomplete(): boolean {
    return this.config.latentDim < this.config.inputDim;
  }

  /**
   * Activations after every hidden activation of the encoder (and the latent activation,
   * if any), input side first: seed 001's `get_layer_outputs`. Inference mode.
   * @param x `[b, inputDim]`
   * @returns one `[b, units]` tensor per activation layer
   */
  layerOutputs(x: tf.Tensor): tf.Tensor[] {
    return tf.tidy(() => {
      const outs: tf.Tensor[] = [];
      let h = this.adaptInput(x);
      for (const layer of this.encoderNet.layers) {
        if (layer.getClassName() === 'InputLayer') continue;
        h = layer.apply(h, { training: false }) as tf.Tensor;
        if (isActivation(layer)) outs.push(h);
      }
      return outs;
    });
  }
}

function isActivation(layer: tf.layers.Layer): boolean {
  const cls = layer.getClassName();
  return cls === 'Activation' || cls === 'ReLU' || cls === 'LeakyReLU' || cls === 'ELU';
}

/** `Linear -> activation -> [BatchNorm] -> [Dropout]` for each size. */
function hiddenStack(inDim: number, sizes: number[], c: ResolvedMLPConfig, rng: Rng, prefix: string): tf.layers.Layer[] {
  const layers: tf.layers.Layer[] = [];
  let fanIn = inDim;
  sizes.forEach((units, i) => {
    layers.push(dense(units, fanIn, c.init, rng, `${prefix}${i + 1}`), activationLayer(c.activation));
    // PyTorch's BatchNorm momentum 0.1 is Keras's 0.9; its eps is 1e-5.
    if (c.batchNorm) layers.push(batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
    if (c.dropout > 0) layers.push(tf.layers.dropout({ rate: c.dropout, seed: rng.seed() }));
    fanIn = units;
  });
  return layers;
}

function resolveMLP(config: MLPConfig): ResolvedMLPConfig {
  const c: ResolvedMLPConfig = {
    inputDim: 784,
    hidden: [400],
    latentDim: 20,
    activation: 'relu',
    latentActivation: 'none',
    outputActivation: 'sigmoid',
    batchNorm: false,
    dropout: 0,
    init: 'pytorch',
    seed: 1,
    ...config,
    decoderHidden: config.decoderHidden ?? [...(config.hidden ?? [400])].reverse(),
  };
  checkInteger('inputDim', c.inputDim, 1);
  checkInteger('latentDim', c.latentDim, 1);
  for (const [name, sizes] of [['hidden', c.hidden], ['decoderHidden', c.decoderHidden]] as const) {
    if (!Array.isArray(sizes) || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new ArgumentError(name, sizes, 'an array of integers >= 1 (layer sizes)');
    }
  }
  if (!HIDDEN_ACTIVATIONS.includes(c.activation)) throw new ArgumentError('activation', c.activation, `one of ${HIDDEN_ACTIVATIONS.join(', ')}`);
  if (c.latentActivation !== 'none' && !HIDDEN_ACTIVATIONS.includes(c.latentActivation)) {
    throw new ArgumentError('latentActivation', c.latentActivation, `none or one of ${HIDDEN_ACTIVATIONS.join(', ')}`);
  }
  if (!OUTPUT_ACTIVATIONS.includes(c.outputActivation)) throw new ArgumentError('outputActivation', c.outputActivation, `one of ${OUTPUT_ACTIVATIONS.join(', ')}`);
  checkNumber('dropout', c.dropout, 0, 0.999);
  checkInit(c.init);
  return c;
}

/** Rejects an unknown initialiser name. */
export function checkInit(init: unknown): void {
  if (init !== 'pytorch' && init !== 'glorot' && init !== 'he') throw new ArgumentError('init', init, 'pytorch, glorot or he');
}

/** Seed 001's `SimpleAutoencoder`: 784-256-128-64 with a ReLU on the latent code; 484,944 parameters. */
export class SimpleAutoencoder extends MLPAutoencoder {
  override readonly name = 'simple';
  constructor(config: MLPConfig = {}) {
    super(config, { hidden: [256, 128], latentDim: 64, latentActivation: 'relu' });
  }
}

/**
 * Seed 001's `FlexibleAutoencoder`: `inputDim -> hiddenDim -> latentDim` with ReLUs; a latent
 * larger than the input makes it overcomplete (seed 004 Q4). `compressionRatio` and
 * `isUndercomplete` describe it.
 */
export class FlexibleAutoencoder extends MLPAutoencoder {
  override readonly name = 'flexible';
  constructor(config: MLPConfig & { hiddenDim?: number } = {}) {
    const { hiddenDim, ...rest } = config;
    if (hiddenDim !== undefined) checkInteger('hiddenDim', hiddenDim, 1);
    super({ ...rest, ...(hiddenDim !== undefined ? { hidden: [hiddenDim] } : {}) }, { hidden: [256], latentDim: 64, latentActivation: 'relu' });
  }
}

/**
 * Seed 001's `DeepAutoencoder`: 784-512-256-128-32 and its mirror, each hidden block
 * `Linear -> ReLU -> BatchNorm -> Dropout(0.2)`, ReLU latent, sigmoid output (24.5x
 * compression); `layerOutputs(x)` gives the activations for visualisation.
 */
export class DeepAutoencoder extends MLPAutoencoder {
  override readonly name = 'deep';
  constructor(config: MLPConfig = {}) {
    super(config, { hidden: [512, 256, 128], latentDim: 32, latentActivation: 'relu', batchNorm: true, dropout: 0.2 });
  }
}

/**
 * The tabular autoencoder of seed 003 (`Autoencoder(data_dim)` with LeakyReLU): for
 * standardised features, so a linear output and MSE. `inputDim` is the number of columns.
 */
export class TabularAutoencoder extends MLPAutoencoder {
  override readonly name = 'tabular';
  constructor(config: MLPConfig = {}) {
    super(config, { inputDim: 30, hidden: [20, 10], latentDim: 5, activation: 'leakyRelu', outputActivation: 'none' });
  }
}

registerModel('mlp', (config) => new MLPAutoencoder(config as MLPConfig));
registerModel('simple', (config) => new SimpleAutoencoder(config as MLPConfig));
registerModel('flexible', (config) => new FlexibleAutoencoder(config as MLPConfig & { hiddenDim?: number }));
registerModel('deep', (config) => new DeepAutoencoder(config as MLPConfig));
registerModel('tabular', (config) => new TabularAutoencoder(config as MLPConfig));
