/**
 * The convolutional autoencoders of the seeds, on NHWC images `[b, 28, 28, 1]` (a flat
 * `[b, 784]` batch is reshaped), with sigmoid outputs:
 *
 * | class | registry name | seed | latent | parameters |
 * |---|---|---|---|---|
 * | `ConvAutoencoder` | `conv` | 001 Part 2 "Simple Convolutional Autoencoder"; with `downsample`, Exercise 4 (stride vs pooling) | `[14, 14, 16]` | 225 |
 * | `DeepConvAutoencoder` | `deep-conv` | 001 Part 2 "Deeper Convolutional Autoencoder" (its code) | `[3, 3, 64]` | 83,905 |
 * | `StridedConvAutoencoder` | `strided-conv` | 004 Ans 1, the denoising autoencoder | `[7, 7, 32]` | 9,569 |
 * | `ConvBottleneckAutoencoder` | `conv-bottleneck` | 004's strided encoder with a linear code, comparable with the fully connected models | `[32]` | 111,521 |
 *
 * Every convolution reproduces PyTorch's padding and pixel alignment exactly (see the
 * builders in `layers.ts`), parameter counts are PyTorch's (batch-norm running statistics
 * are saved but not counted), and `init: 'pytorch'` starts from PyTorch's default weights'
 * distribution.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Rng } from '../random';
import { Autoencoder, Initializer, OutputActivation } from './autoencoder';
import { batchNorm2d, conv2d, conv2dTranspose, dense, upsampleConv2d } from './layers';
import { registerModel } from './io';

/**
 * How the encoder halves the image (seed 001, Exercise 4): `pool` is Option A, a 3x3
 * convolution with padding 1 then ReLU then 2x2 max pooling; `stride` is Option B, a 3x3
 * convolution with stride 2 and padding 1 then ReLU. Both map `[28, 28, 1]` to
 * `[14, 14, c]` with the same weights (pooling has none).
 */
export type DownsampleMode = 'pool' | 'stride';

/**
 * How the decoder doubles the image: `transpose` is a stride-2 `nn.ConvTranspose2d` (the
 * seeds' models); `upsample-conv` is seed 001's checkerboard-free alternative,
 * `nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)` then a 3x3
 * convolution with padding 1.
 */
export type UpsampleMode = 'transpose' | 'upsample-conv';

const INITS: readonly Initializer[] = ['pytorch', 'glorot', 'he'];
const DOWNSAMPLES: readonly DownsampleMode[] = ['pool', 'stride'];
const UPSAMPLES: readonly UpsampleMode[] = ['transpose', 'upsample-conv'];

function checkOneOf<T extends string>(argument: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new ArgumentError(argument, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  return value as T;
}

/** Image shape every convolutional model here takes: one 28x28 grey-level channel (MNIST, Fashion-MNIST). */
const IMAGE_SHAPE = [28, 28, 1];

/**
 * What the convolutional autoencoders share: 28x28x1 NHWC input, sigmoid output, and
 * `featureMaps` for the seeds' feature-map pictures. Encoder layers are named so that the
 * first convolution is `conv1` and its ReLU `relu1`.
 */
export abstract class ConvAutoencoderBase extends Autoencoder {
  readonly inputShape: number[] = [...IMAGE_SHAPE];
  readonly outputActivation: OutputActivation = 'sigmoid';

  /** Names of the encoder's layers in order (the input layer excluded); `featureMaps` takes a name or an index into this list. */
  get encoderLayerNames(): string[] {
    return this.encoderLayers().map((l) => l.name);
  }

  /**
   * Activations inside the encoder (inference mode: batch norm uses its running
   * statistics), for seed 001's `visualize_feature_maps`.
   * @param x images `[b, 28, 28, 1]` or `[b, 784]`
   * @param layer an encoder layer name (see `encoderLayerNames`) or index; negative
   *   indices count from the end, so `-1` is the latent code, exactly what the seed's
   *   `model.encoder(image)` plots. Default `relu1`: the first convolution's activations
   *   after ReLU, `[b, 28, 28, 16]` (`[b, 14, 14, 16]` for a strided first convolution).
   * @returns `[b, h, w, c]`: one `h x w` map per channel
   */
  featureMaps(x: tf.Tensor, layer: string | number = 'relu1'): tf.Tensor4D {
    const layers = this.encoderLayers();
    const names = layers.map((l) => l.name);
    let index = typeof layer === 'number' ? (layer < 0 ? layers.length + layer : layer) : names.indexOf(layer);
    if (!Number.isInteger(index) || index < 0 || index >= layers.length) {
      throw new ArgumentError('layer', layer, `an encoder layer name (${names.join(', ')}) or an index in [${-layers.length}, ${layers.length - 1}]`);
    }
    return tf.tidy(() => {
      let h = this.adaptInput(x);
      for (let i = 0; i <= index; i++) h = layers[i].apply(h, { training: false }) as tf.Tensor;
      return h as tf.Tensor4D;
    });
  }

  private encoderLayers(): tf.layers.Layer[] {
    return this.encoderNet.layers.filter((l) => l.getClassName() !== 'InputLayer');
  }
}

function network(name: string, inputShape: number[], layers: tf.layers.Layer[]): tf.Sequential {
  return tf.sequential({ name, layers: [tf.layers.inputLayer({ inputShape }), ...layers] });
}

// ---------------------------------------------------------------------------------------

/** Configuration of `ConvAutoencoder`. */
export interface ConvAutoencoderConfig {
  /** Filters of the single convolution, i.e. latent channels (default 16, the seed's). */
  channels?: number;
  /** Encoder downsampling, seed 001 Exercise 4's Option A (`pool`, default) or B (`stride`). */
  downsample?: DownsampleMode;
  /** Decoder upsampling: the seed's `transpose` (default) or `upsample-conv`. */
  upsample?: UpsampleMode;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the weight initialisation (default 1). */
  seed?: number;
}

/**
 * Seed 001's "Simple Convolutional Autoencoder", and the stride-versus-pooling pair of its
 * Exercise 4 (same decoder, only the downsampling differs).
 *
 * Encoder `[28, 28, 1]` -> `[14, 14, c]` (c = `channels`, 16):
 * - `downsample: 'pool'` (the seed's model, Exercise 4 Option A): `Conv2d(1, c, 3, padding=1)`,
 *   ReLU, `MaxPool2d(2, 2)`;
 * - `downsample: 'stride'` (Option B): `Conv2d(1, c, 3, stride=2, padding=1)`, ReLU.
 *
 * Decoder `[14, 14, c]` -> `[28, 28, 1]`, then sigmoid:
 * - `upsample: 'transpose'` (the seed's): `ConvTranspose2d(c, 1, kernel_size=2, stride=2)`;
 * - `upsample: 'upsample-conv'`: bilinear `Upsample(2, align_corners=True)`, `Conv2d(c, 1, 3, padding=1)`.
 *
 * Parameters (c = 16): 160 (conv) + 65 (transposed conv) = 225 with either downsampling
 * (pooling has no weights, so Exercise 4's two options have equal counts); 160 + 145 = 305
 * with `upsample-conv`.
 */
export class ConvAutoencoder extends ConvAutoencoderBase {
  readonly name = 'conv';
  readonly latentShape: number[];
  readonly config: Required<ConvAutoencoderConfig>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: ConvAutoencoderConfig = {}) {
    super();
    const c: Required<ConvAutoencoderConfig> = { channels: 16, downsample: 'pool', upsample: 'transpose', init: 'pytorch', seed: 1, ...config };
    checkInteger('channels', c.channels, 1);
    checkOneOf('downsample', c.downsample, DOWNSAMPLES);
    checkOneOf('upsample', c.upsample, UPSAMPLES);
    checkOneOf('init', c.init, INITS);
    this.config = c;
    const ch = c.channels;
    this.latentShape = [14, 14, ch];
    const rng = new Rng(c.seed);
    const stride = c.downsample === 'stride';
    this.encoderNet = network('encoder', IMAGE_SHAPE, [
      ...conv2d({ inChannels: 1, outChannels: ch, kernelSize: 3, stride: stride ? 2 : 1, padding: 1, name: 'conv1' }, c.init, rng),
      tf.layers.reLU({ name: 'relu1' }),
      ...(stride ? [] : [tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' })]),
    ]);
    this.decoderNet = network(
      'decoder',
      this.latentShape,
      c.upsample === 'transpose'
        ? conv2dTranspose({ inChannels: ch, outChannels: 1, kernelSize: 2, stride: 2, name: 'deconv1' }, c.init, rng)
        : upsampleConv2d({ inChannels: ch, outChannels: 1, kernelSize: 3, name: 'upconv1' }, c.init, rng),
    );
  }
}

// ---------------------------------------------------------------------------------------

/** Configuration of `DeepConvAutoencoder`. */
export interface DeepConvAutoencoderConfig {
  /** Channels of the third convolution, i.e. of the `[3, 3, c]` latent code (default 64, the seed's `latent_channels`). */
  latentChannels?: number;
  /** Weight initialisation (default `pytorch`); batch norm always starts at gamma 1, beta 0. */
  init?: Initializer;
  /** Seed of the weight initialisation (default 1). */
  seed?: number;
}

/**
 * Seed 001's "Deeper Convolutional Autoencoder", as its code builds it (its docstring's
 * 32/64/128 channels are not what the code does). c = `latentChannels` (64):
 *
 * Encoder, each stage `Conv2d(k=3, padding=1)`, ReLU, `BatchNorm2d`, `MaxPool2d(2, 2)`:
 * `[28, 28, 1]` -> `[14, 14, 16]` -> `[7, 7, 32]` -> `[3, 3, c]` (7 / 2 floors to 3).
 *
 * Decoder, each stage a transposed convolution (k=3, stride 2), ReLU, `BatchNorm2d`:
 * `ConvTranspose2d(c, 64, padding=0)` `[3, 3]` -> `[7, 7, 64]`;
 * `ConvTranspose2d(64, 32, padding=1, output_padding=1)` -> `[14, 14, 32]`;
 * `ConvTranspose2d(32, 16, padding=1, output_padding=1)` -> `[28, 28, 16]`;
 * then `Conv2d(16, 1, 3, padding=1)` and sigmoid.
 *
 * 83,905 trainable parameters at c = 64, as PyTorch counts them (each batch norm's gamma
 * and beta; the running mean and variance are saved with the model but not counted).
 * Batch norm uses batch statistics when called with `training = true` (and updates its
 * running statistics then), the running ones otherwise, as PyTorch's `train()`/`eval()`.
 * There is no `upsample` option: the first decoder stage maps 3 to 7, which no factor-2
 * upsampling does.
 */
export class DeepConvAutoencoder extends ConvAutoencoderBase {
  readonly name = 'deep-conv';
  readonly latentShape: number[];
  readonly config: Required<DeepConvAutoencoderConfig>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: DeepConvAutoencoderConfig = {}) {
    super();
    const c: Required<DeepConvAutoencoderConfig> = { latentChannels: 64, init: 'pytorch', seed: 1, ...config };
    checkInteger('latentChannels', c.latentChannels, 1);
    checkOneOf('init', c.init, INITS);
    this.config = c;
    this.latentShape = [3, 3, c.latentChannels];
    const rng = new Rng(c.seed);
    const encoderStage = (i: number, inChannels: number, outChannels: number) => [
      ...conv2d({ inChannels, outChannels, kernelSize: 3, padding: 1, name: `conv${i}` }, c.init, rng),
      tf.layers.reLU({ name: `relu${i}` }),
      batchNorm2d(`bn${i}`),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i}` }),
    ];
    const decoderStage = (i: number, inChannels: number, outChannels: number, padding: number, outputPadding: number) => [
      ...conv2dTranspose({ inChannels, outChannels, kernelSize: 3, stride: 2, padding, outputPadding, name: `deconv${i}` }, c.init, rng),
      tf.layers.reLU({ name: `derelu${i}` }),
      batchNorm2d(`debn${i}`),
    ];
    this.encoderNet = network('encoder', IMAGE_SHAPE, [
      ...encoderStage(1, 1, 16),
      ...encoderStage(2, 16, 32),
      ...encoderStage(3, 32, c.latentChannels),
    ]);
    this.decoderNet = network('decoder', this.latentShape, [
      ...decoderStage(1, c.latentChannels, 64, 0, 0),
      ...decoderStage(2, 64, 32, 1, 1),
      ...decoderStage(3, 32, 16, 1, 1),
      ...conv2d({ inChannels: 16, outChannels: 1, kernelSize: 3, padding: 1, name: 'out' }, c.init, rng),
    ]);
  }
}

// ---------------------------------------------------------------------------------------

/** Configuration of `StridedConvAutoencoder`. */
export interface StridedConvAutoencoderConfig {
  /** Filters of the two strided convolutions (default `[16, 32]`, the seed's); the latent code is `[7, 7, channels[1]]`. */
  channels?: [number, number];
  /** Decoder upsampling: the seed's `transpose` (default) or `upsample-conv`. */
  upsample?: UpsampleMode;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the weight initialisation (default 1). */
  seed?: number;
}

/**
 * Seed 004's denoising autoencoder (Ans 1): downsampling by strided convolutions, no pooling.
 * With `channels = [c1, c2]` (`[16, 32]`):
 *
 * Encoder: `Conv2d(1, c1, 3, stride=2, padding=1)`, ReLU, `Conv2d(c1, c2, 3, stride=2,
 * padding=1)`, ReLU: `[28, 28, 1]` -> `[14, 14, c1]` -> `[7, 7, c2]`.
 *
 * Decoder, `upsample: 'transpose'` (the seed's): `ConvTranspose2d(c2, c1, 3, stride=2,
 * padding=1, output_padding=1)`, ReLU, `ConvTranspose2d(c1, 1, 3, stride=2, padding=1,
 * output_padding=1)`, sigmoid: `[7, 7, c2]` -> `[14, 14, c1]` -> `[28, 28, 1]`.
 * `upsample: 'upsample-conv'` replaces each transposed convolution by bilinear
 * `Upsample(2, align_corners=True)` and a 3x3 convolution with padding 1 (same shapes,
 * same parameter count).
 *
 * 9,569 parameters by default: 160 + 4,640 (encoder) + 4,624 + 145 (decoder).
 * Train it as a denoiser with `fit(..., { noise })` (noisy input, clean target).
 */
export class StridedConvAutoencoder extends ConvAutoencoderBase {
  readonly name = 'strided-conv';
  readonly latentShape: number[];
  readonly config: Required<StridedConvAutoencoderConfig>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: StridedConvAutoencoderConfig = {}) {
    super();
    const c: Required<StridedConvAutoencoderConfig> = { channels: [16, 32], upsample: 'transpose', init: 'pytorch', seed: 1, ...config };
    if (!Array.isArray(c.channels) || c.channels.length !== 2) throw new ArgumentError('channels', c.channels, 'two channel counts [c1, c2]');
    c.channels.forEach((n, i) => checkInteger(`channels[${i}]`, n, 1));
    checkOneOf('upsample', c.upsample, UPSAMPLES);
    checkOneOf('init', c.init, INITS);
    this.config = { ...c, channels: [c.channels[0], c.channels[1]] };
    const [c1, c2] = c.channels;
    this.latentShape = [7, 7, c2];
    const rng = new Rng(c.seed);
    this.encoderNet = network('encoder', IMAGE_SHAPE, [
      ...conv2d({ inChannels: 1, outChannels: c1, kernelSize: 3, stride: 2, padding: 1, name: 'conv1' }, c.init, rng),
      tf.layers.reLU({ name: 'relu1' }),
      ...conv2d({ inChannels: c1, outChannels: c2, kernelSize: 3, stride: 2, padding: 1, name: 'conv2' }, c.init, rng),
      tf.layers.reLU({ name: 'relu2' }),
    ]);
    const up = (i: number, inChannels: number, outChannels: number) =>
      c.upsample === 'transpose'
        ? conv2dTranspose({ inChannels, outChannels, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, name: `deconv${i}` }, c.init, rng)
        : upsampleConv2d({ inChannels, outChannels, kernelSize: 3, name: `upconv${i}` }, c.init, rng);
    this.decoderNet = network('decoder', this.latentShape, [...up(1, c2, c1), tf.layers.reLU({ name: 'derelu1' }), ...up(2, c1, 1)]);
  }
}

/*
 * The study's convolutional autoencoder: the zoo's convolutional models keep a spatial code
 * (`conv` `[14, 14, 16]` = 3,136 values, more than the 784 pixels; `strided-conv` `[7, 7, 32]`
 * = 1,568), which cannot be compared with the fully connected models' 32-value codes for
 * compression, clustering or transfer; this one can. It is the deterministic twin of `ConvVAE`.
 */

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

registerModel('conv', (config) => new ConvAutoencoder(config as ConvAutoencoderConfig));
registerModel('deep-conv', (config) => new DeepConvAutoencoder(config as DeepConvAutoencoderConfig));
registerModel('strided-conv', (config) => new StridedConvAutoencoder(config as StridedConvAutoencoderConfig));
registerModel('conv-bottleneck', (config) => new ConvBottleneckAutoencoder(config as ConvBottleneckConfig));
