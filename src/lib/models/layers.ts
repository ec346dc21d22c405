import * as tf from '@tensorflow/tfjs';

type TfInitializer = ReturnType<typeof tf.initializers.zeros>;
import { ArgumentError, checkInteger } from '../errors';
import { Rng } from '../random';
import type { Initializer } from './autoencoder';
import { batchNormTrain } from '../kernels/native';

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

/** The activation `tf.fused.matMul` can apply for what `layer` computes, or undefined. */
function fusedActivationOf(layer: tf.layers.Layer): { activation: 'relu' | 'elu' | 'sigmoid' | 'leakyrelu'; alpha?: number } | undefined {
  const cls = layer.getClassName();
  const config = layer.getConfig() as { activation?: string; alpha?: number; maxValue?: number | null };
  if (cls === 'Activation' && (config.activation === 'relu' || config.activation === 'elu' || config.activation === 'sigmoid')) return { activation: config.activation };
  if (cls === 'ReLU' && config.maxValue == null) return { activation: 'relu' };
  if (cls === 'LeakyReLU') return { activation: 'leakyrelu', alpha: config.alpha ?? 0.3 };
  if (cls === 'ELU' && (config.alpha ?? 1) === 1) return { activation: 'elu' };
  return undefined;
}

/** One step of a net's inference: a dense layer with the activation fused into it, or a layer as it is. */
type InferenceStep =
  | { kind: 'dense'; layer: tf.layers.Layer; useBias: boolean; activation: 'linear' | 'relu' | 'elu' | 'sigmoid' | 'leakyrelu'; alpha?: number; activationLayer?: tf.layers.Layer }
  | { kind: 'layer'; layer: tf.layers.Layer };

const inferencePlans = new WeakMap<tf.LayersModel, InferenceStep[]>();

/** The inference steps of a Sequential's layers (worked out once per net: its layers never change). */
function inferencePlan(net: tf.Sequential): InferenceStep[] {
  let plan = inferencePlans.get(net);
  if (plan) return plan;
  plan = [];
  const layers = net.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const config = layer.getConfig() as { activation?: string; useBias?: boolean };
    if (layer.getClassName() === 'Dense' && config.activation === 'linear') {
      const next = layers[i + 1] ? fusedActivationOf(layers[i + 1]) : undefined;
      plan.push({ kind: 'dense', layer, useBias: config.useBias !== false, activation: next?.activation ?? 'linear', alpha: next?.alpha, activationLayer: next ? layers[i + 1] : undefined });
      if (next) i++;
    } else {
      plan.push({ kind: 'layer', layer });
    }
  }
  inferencePlans.set(net, plan);
  return plan;
}

/**
 * `net.apply(x, { training })`, with each dense layer and the activation layer that follows
 * it computed as one `tf.fused.matMul` (bias and activation in the product's epilogue) when
 * not training: the models keep the activation as its own layer, as the seeds' PyTorch
 * code does, and inference skips a pass over every hidden activation and most of
 * tfjs-layers' per-call bookkeeping. The result is `net.apply`'s: the same formulas in the
 * same float32 order (ELU's exponential, computed by another kernel, within a few ulps).
 * Training goes through `net.apply` unchanged.
 * @param net a `tf.Sequential` (any other model is applied as it is)
 * @param x the net's input batch
 */
export function applyNet(net: tf.LayersModel, x: tf.Tensor, training = false): tf.Tensor {
  if (training || !(net instanceof tf.Sequential)) return net.apply(x, { training }) as tf.Tensor;
  return tf.tidy(() => {
    let h = x;
    for (const step of inferencePlan(net)) {
      if (step.kind === 'dense' && h.rank === 2 && h.dtype === 'float32') {
        const [kernel, bias] = step.layer.weights.map((w) => w.read());
        h = tf.fused.matMul({ a: h as tf.Tensor2D, b: kernel as tf.Tensor2D, bias: step.useBias ? bias : undefined, activation: step.activation, leakyreluAlpha: step.alpha });
      } else {
        h = step.layer.apply(h, { training: false }) as tf.Tensor;
        // A dense layer that could not run fused (an input of rank 3 or more): its activation layer as it is.
        if (step.kind === 'dense' && step.activationLayer) h = step.activationLayer.apply(h, { training: false }) as tf.Tensor;
      }
    }
    return h;
  });
}

// ---------------------------------------------------------------------------------------
// Convolutional building blocks with PyTorch's semantics (NHWC).
//
// Padding. tfjs's `'same'` padding puts the odd pixel of padding at the bottom/right,
// PyTorch's `padding=p` pads p pixels on every side; with stride 2 the two give the same
// output shape but sample the input one pixel apart (tfjs: rows 0..2, 2..4, ...; PyTorch:
// rows -1..1, 1..3, ...). Likewise a tfjs `conv2dTranspose` with `'same'` keeps the first
// rows of the full transposed output where PyTorch's `padding`/`output_padding` crop `p`
// rows at the top. The builders below reproduce PyTorch exactly, at the cost of one cheap
// pad or slice: `nn.Conv2d` is an explicit `zeroPadding2d` + `'valid'` convolution (plain
// `'same'` where the two agree: stride 1 and 2p = k - 1), `nn.ConvTranspose2d` is a
// `'valid'` transposed convolution + `cropping2D`. So a model trained here and one trained
// with the seeds' PyTorch code see the same pixels in the same places, and weights could be
// copied between them (after transposing NCHW to NHWC).
// ---------------------------------------------------------------------------------------

/** A 2-D convolution as PyTorch's `nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding)` defines it. */
export interface Conv2dSpec {
  /** Input channels (`in_channels`); with the kernel it sets the `pytorch` fan-in, `inChannels * k * k`. */
  inChannels: number;
  /** Output channels (`out_channels`), i.e. filters. */
  outChannels: number;
  /** Square kernel side `k` (`kernel_size`). */
  kernelSize: number;
  /** Stride (default 1). */
  stride?: number;
  /** Zero padding on every side, in pixels (default 0). */
  padding?: number;
  /** Name of the convolution layer; a padding layer, when one is needed, is `${name}_pad`. */
  name?: string;
}

/** A transposed convolution as PyTorch's `nn.ConvTranspose2d(..., stride, padding, output_padding)` defines it. */
export interface ConvTranspose2dSpec extends Conv2dSpec {
  /**
   * Extra rows/columns at the bottom/right of the output (`output_padding`, default 0);
   * output side = `(in - 1) * stride - 2 * padding + kernelSize + outputPadding`.
   * Must be at most `padding` (every configuration in the seeds is).
   */
  outputPadding?: number;
  /** Name of the transposed convolution layer; a cropping layer, when one is needed, is `${name}_crop`. */
  name?: string;
}

function nameOpt(name: string | undefined, suffix = ''): { name?: string } {
  return name ? { name: `${name}${suffix}` } : {};
}

function checkConvSpec(spec: Conv2dSpec): Required<Omit<Conv2dSpec, 'name'>> {
  const { inChannels, outChannels, kernelSize, stride = 1, padding = 0 } = spec;
  checkInteger('inChannels', inChannels, 1);
  checkInteger('outChannels', outChannels, 1);
  checkInteger('kernelSize', kernelSize, 1);
  checkInteger('stride', stride, 1);
  checkInteger('padding', padding, 0);
  return { inChannels, outChannels, kernelSize, stride, padding };
}

/**
 * PyTorch's `nn.Conv2d` as tfjs layers on NHWC tensors, initialised as `init` says
 * (`pytorch`: U(±1/sqrt(inChannels * k * k)) for weights and bias, as `nn.Conv2d`'s default).
 * Output side `floor((in + 2 * padding - k) / stride) + 1`, with PyTorch's pixel alignment.
 * @returns the layers to apply in order: the convolution, preceded by a `zeroPadding2d`
 *   when the padding is not tfjs's symmetric `'same'` (the padding layer has no weights)
 */
export function conv2d(spec: Conv2dSpec, init: Initializer, rng: Rng): tf.layers.Layer[] {
  const { inChannels, outChannels, kernelSize: k, stride, padding } = checkConvSpec(spec);
  const sameAsTorch = padding > 0 && stride === 1 && 2 * padding === k - 1;
  const layers: tf.layers.Layer[] = [];
  if (padding > 0 && !sameAsTorch) {
    layers.push(tf.layers.zeroPadding2d({ padding: [[padding, padding], [padding, padding]], ...nameOpt(spec.name, '_pad') }));
  }
  layers.push(
    tf.layers.conv2d({
      filters: outChannels,
      kernelSize: k,
      strides: stride,
      padding: sameAsTorch ? 'same' : 'valid',
      ...initializers(init, inChannels * k * k, rng),
      ...nameOpt(spec.name),
    }),
  );
  return layers;
}

/**
 * PyTorch's `nn.ConvTranspose2d` as tfjs layers on NHWC tensors: a `'valid'` transposed
 * convolution (output side `(in - 1) * stride + k`) followed, when `padding > 0`, by a
 * `cropping2D` that drops `padding` rows/columns at the top/left and `padding -
 * outputPadding` at the bottom/right, exactly the rows PyTorch keeps. Initialised as `init`
 * says; `pytorch` uses PyTorch's fan-in for a transposed convolution, `weight.size(1) * k *
 * k` = `outChannels * k * k` (which is also what tfjs computes from its kernel shape
 * `[k, k, outChannels, inChannels]`).
 * @returns the layers to apply in order (transposed convolution, then cropping if any)
 */
export function conv2dTranspose(spec: ConvTranspose2dSpec, init: Initializer, rng: Rng): tf.layers.Layer[] {
  const { outChannels, kernelSize: k, stride, padding } = checkConvSpec(spec);
  const outputPadding = spec.outputPadding ?? 0;
  checkInteger('outputPadding', outputPadding, 0, Math.min(padding, stride - 1));
  const layers: tf.layers.Layer[] = [
    tf.layers.conv2dTranspose({
      filters: outChannels,
      kernelSize: k,
      strides: stride,
      padding: 'valid',
      ...initializers(init, outChannels * k * k, rng),
      ...nameOpt(spec.name),
    }),
  ];
  if (padding > 0) {
    const crop: [number, number] = [padding, padding - outputPadding];
    layers.push(tf.layers.cropping2D({ cropping: [crop, crop], ...nameOpt(spec.name, '_crop') }));
  }
  return layers;
}

/**
 * PyTorch's `nn.BatchNorm2d(c)` (defaults `momentum=0.1`, `eps=1e-5`) on the channel axis of
 * NHWC tensors: tfjs momentum 0.9 (tfjs weights the old running value, PyTorch the new
 * batch), gamma 1, beta 0, running mean 0 and variance 1. gamma and beta are trainable (the
 * 2c parameters PyTorch counts); the running statistics are non-trainable weights, saved
 * with the model. One difference remains: tfjs updates the running variance with the biased
 * batch variance, PyTorch with the unbiased one (a factor n / (n - 1), n = batch * h * w:
 * 1.002 at batch 64 on a 3x3 map, less elsewhere).
 */
export function batchNorm2d(name?: string): tf.layers.Layer {
  return batchNormalization({ momentum: 0.9, epsilon: 1e-5, ...nameOpt(name) });
}

/** The parts of tfjs-layers' BatchNormalization that its training step reads and writes. */
interface BatchNormInternals {
  gamma: tf.LayerVariable; beta: tf.LayerVariable; movingMean: tf.LayerVariable; movingVariance: tf.LayerVariable;
  momentum: number; epsilon: number;
}

/**
 * tfjs-layers' `BatchNormalization` over the last axis (channels), with gamma and beta,
 * whose training-mode call runs as one fused op, `batchNormTrain` (native kernels on wasm:
 * three passes over the activation forward and two backward, where `tf.moments` +
 * `tf.batchNorm` and their gradients run about 30 kernels over it), then updates the moving
 * statistics exactly as tfjs-layers does. Same values, weights, config and class name (a
 * saved model holds a plain BatchNormalization); inference is the stock call.
 */
export function batchNormalization(args: { momentum: number; epsilon: number; name?: string }): tf.layers.Layer {
  const layer = tf.layers.batchNormalization({ axis: -1, ...args });
  const stockCall = layer.call.bind(layer);
  const bn = layer as unknown as BatchNormInternals;
  layer.call = (inputs, kwargs) => {
    if (!kwargs?.training) return stockCall(inputs, kwargs);
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const { y, mean, variance } = batchNormTrain(x, bn.gamma.read(), bn.beta.read(), bn.epsilon);
      const decay = 1 - bn.momentum;
      for (const [v, value] of [[bn.movingMean, mean], [bn.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
        });
      }
      return y;
    });
  };
  return layer;
}

/** Configuration of `UpsampleBilinear`. */
export interface UpsampleBilinearArgs {
  /** Integer scale factor of height and width (default 2). */
  scale?: number;
  /** Sample with corner pixels aligned (default true, as the seeds' `align_corners=True`). */
  alignCorners?: boolean;
  /** Layer name. */
  name?: string;
}

/**
 * PyTorch's `nn.Upsample(scale_factor=scale, mode='bilinear', align_corners=True)` on NHWC
 * tensors `[b, h, w, c]` -> `[b, h * scale, w * scale, c]`. tfjs's `upSampling2d` samples
 * with `align_corners=False` only, hence this layer (no weights).
 */
export class UpsampleBilinear extends tf.layers.Layer {
  /** Name under which tfjs serialisation knows the class. */
  static readonly className = 'AelabUpsampleBilinear';
  /** Integer scale factor of height and width. */
  readonly scale: number;
  /** Whether corner pixels are aligned (`align_corners=True`). */
  readonly alignCorners: boolean;

  constructor(args: UpsampleBilinearArgs = {}) {
    super(nameOpt(args.name));
    this.scale = checkInteger('scale', args.scale ?? 2, 1);
    this.alignCorners = args.alignCorners ?? true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const up = (d: number | null) => (d == null ? null : d * this.scale);
    return [s[0], up(s[1]), up(s[2]), s[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return tf.image.resizeBilinear(x, [x.shape[1] * this.scale, x.shape[2] * this.scale], this.alignCorners);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale, alignCorners: this.alignCorners };
  }
}
tf.serialization.registerClass(UpsampleBilinear);

/**
 * The seeds' checkerboard-free alternative to a stride-2 transposed convolution:
 * `nn.Sequential(nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True),
 * nn.Conv2d(inChannels, outChannels, k, padding=(k - 1) / 2))`, `[b, h, w, in]` ->
 * `[b, 2h, 2w, out]`. Layers are named `${name}_up` and `name`.
 * @returns the layers to apply in order
 */
export function upsampleConv2d(spec: Omit<Conv2dSpec, 'stride' | 'padding'>, init: Initializer, rng: Rng): tf.layers.Layer[] {
  checkInteger('kernelSize', spec.kernelSize, 1);
  if (spec.kernelSize % 2 === 0) throw new ArgumentError('kernelSize', spec.kernelSize, 'odd, so that the convolution keeps the upsampled size');
  return [new UpsampleBilinear({ scale: 2, ...nameOpt(spec.name, '_up') }), ...conv2d({ ...spec, stride: 1, padding: (spec.kernelSize - 1) / 2 }, init, rng)];
}
