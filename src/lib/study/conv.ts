/**
 * The convolutional autoencoder of the study: strided convolutions down to `[7, 7, c2]`, then
 * a linear layer to a compact code (32 values by default), and the mirror image back. The
 * model zoo's convolutional autoencoders keep a spatial code (`conv` `[14, 14, 16]` = 3,136
 * values, more than the 784 pixels; `strided-conv` `[7, 7, 32]` = 1,568), which cannot be
 * compared with the fully connected models' 32-value codes for compression, clustering or
 * transfer; this one can. It is the deterministic twin of `ConvVAE`.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Rng } from '../random';
import type { Initializer } from '../models/autoencoder';
import { ConvAutoencoderBase } from '../models/conv';
import { registerModel, registeredModels } from '../models/io';
import { conv2d, conv2dTranspose, dense } from '../models/layers';

/** Configuration of `ConvBottleneckAutoencoder`. */
export interface ConvBottleneckConfig {
  /** Code values (default 32). */
  latentDim?: number;
  /** Channels of the two stride-2 convolutions (default `[16, 32]`, seed 004's strided encoder). */
  channels?: [number, number];
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the initialisation (default 1). */
  seed?: number;
}

/**
 * A convolutional autoencoder with a compact code (registry name `conv-bottleneck`):
 *
 * Encoder: `Conv2d(1, c1, 3, stride 2, padding 1)`, ReLU, `Conv2d(c1, c2, 3, stride 2,
 * padding 1)`, ReLU (`[28, 28, 1]` -> `[14, 14, c1]` -> `[7, 7, c2]`), flatten,
 * `Linear(49 * c2, latentDim)`: a linear code.
 *
 * Decoder: `Linear(latentDim, 49 * c2)`, ReLU, reshape to `[7, 7, c2]`,
 * `ConvTranspose2d(c2, c1, 3, stride 2, padding 1, output_padding 1)`, ReLU,
 * `ConvTranspose2d(c1, 1, 3, stride 2, padding 1, output_padding 1)`, sigmoid.
 *
 * 111,521 parameters with the defaults (24.5x compression).
 */
export class ConvBottleneckAutoencoder extends ConvAutoencoderBase {
  readonly name = 'conv-bottleneck';
  readonly latentShape: number[];
  readonly config: Required<ConvBottleneckConfig>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: ConvBottleneckConfig = {}) {
    super();
    const c: Required<ConvBottleneckConfig> = { latentDim: 32, channels: [16, 32], init: 'pytorch', seed: 1, ...config };
    checkInteger('latentDim', c.latentDim, 1);
    if (!Array.isArray(c.channels) || c.channels.length !== 2) throw new ArgumentError('channels', c.channels, 'two channel counts [c1, c2]');
    c.channels.forEach((n, i) => checkInteger(`channels[${i}]`, n, 1));
    if (c.init !== 'pytorch' && c.init !== 'glorot' && c.init !== 'he') throw new ArgumentError('init', c.init, 'pytorch, glorot or he');
    this.config = { ...c, channels: [c.channels[0], c.channels[1]] };
    this.latentShape = [c.latentDim];
    const [c1, c2] = c.channels;
    const rng = new Rng(c.seed);
    this.encoderNet = tf.sequential({
      name: 'encoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [28, 28, 1] }),
        ...conv2d({ inChannels: 1, outChannels: c1, kernelSize: 3, stride: 2, padding: 1, name: 'conv1' }, c.init, rng),
        tf.layers.reLU({ name: 'relu1' }),
        ...conv2d({ inChannels: c1, outChannels: c2, kernelSize: 3, stride: 2, padding: 1, name: 'conv2' }, c.init, rng),
        tf.layers.reLU({ name: 'relu2' }),
        tf.layers.flatten({ name: 'flatten' }),
        dense(c.latentDim, 49 * c2, c.init, rng, 'latent'),
      ],
    });
    this.decoderNet = tf.sequential({
      name: 'decoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [c.latentDim] }),
        dense(49 * c2, c.latentDim, c.init, rng, 'fc'),
        tf.layers.reLU({ name: 'fc_relu' }),
        tf.layers.reshape({ targetShape: [7, 7, c2], name: 'unflatten' }),
        ...conv2dTranspose({ inChannels: c2, outChannels: c1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, name: 'deconv1' }, c.init, rng),
        tf.layers.reLU({ name: 'derelu1' }),
        ...conv2dTranspose({ inChannels: c1, outChannels: 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, name: 'deconv2' }, c.init, rng),
      ],
    });
  }
}

/**
 * Registers the study's own architecture (`conv-bottleneck`) with `models.load` /
 * `createModel`, so saved study models load back. Called by `runStudy`; call it yourself
 * before `models.load` of a study model in another program. Idempotent.
 */
export function registerStudyModels(): void {
  if (!registeredModels().includes('conv-bottleneck')) {
    registerModel('conv-bottleneck', (config) => new ConvBottleneckAutoencoder(config as ConvBottleneckConfig));
  }
}
