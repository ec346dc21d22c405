/**
 * The interactive latent explorer: one self-contained HTML page (no network, no CDN) with
 * the 2-D latent scatter of a dataset coloured by class; clicking (or dragging) anywhere
 * on it decodes that exact latent point inside the page and shows the image.
 *
 * Design: the page carries the decoder itself. `exportDecoder` reads the decoder's tfjs
 * layers and weights and turns them into a list of plain ops (dense, conv2d,
 * conv2dTranspose, per-channel affine for inference batch norm, activations, crop, pad,
 * resize, identity for reshape/flatten/dropout), which a small inline JavaScript forward
 * pass (`DECODER_RUNTIME`) evaluates. This covers every decoder in `src/lib/models/`
 * (fully connected, tied, batch-normed, convolutional, transposed-convolutional,
 * bilinear-upsampling) and any other sequential tfjs decoder built from those layer
 * types; anything else is refused with an error naming the layer. Before the page is
 * written, the exported decoder is run here and compared with `model.decode`, so a page
 * never shows images the model would not produce.
 *
 * Latents of two dimensions are plotted as they are; larger latents (including
 * convolutional `[h, w, c]` codes, flattened) on the plane of their first two principal
 * components through the latent mean: plot point (u, v) decodes `mean + u * pc1 + v * pc2`.
 */
import * as tf from '@tensorflow/tfjs';
import { PCA } from 'ml-pca';
import { AelabError, ArgumentError, checkInteger } from '../errors';
import { writeFileAtomic } from '../io';
import { Rng } from '../random';
import type { Autoencoder } from '../models/autoencoder';
import { CLASS_COLORS } from './charts';
import { DECODER_RUNTIME, UI_RUNTIME } from './explorer-runtime';
import { notebookDisplay, show } from './show';

/** A decoder as plain data: ops for `DECODER_RUNTIME` and one flat weight array they index. */
export interface DecoderExport {
  /** Shape of one latent code (the model's `latentShape`). */
  latentShape: number[];
  /** Shape of one decoded example (the model's `inputShape`). */
  outputShape: number[];
  /** Activation applied after the last op (`sigmoid`, `tanh` or `none`). */
  outputActivation: string;
  /** The forward pass, in order; weights are `[offset, length]` into `weights`. */
  ops: Record<string, unknown>[];
  /** Every weight the ops use, float32. */
  weights: Float32Array;
}

/** The plane a plot shows: plot point (u, v) is the latent `mean + u * axis1 + v * axis2`. */
export interface LatentPlane {
  /** `latent`: the code's own two (or one) coordinates; `pca`: the top two principal components. */
  kind: 'latent' | 'pca';
  /** Origin of the plane, a flat latent vector. */
  mean: number[];
  /** Unit vector of the horizontal axis. */
  axis1: number[];
  /** Unit vector of the vertical axis (absent for a 1-D latent, whose points are jittered vertically). */
  axis2?: number[];
  /** Axis titles, e.g. `['z1', 'z2']` or `['PC1 (41.2%)', 'PC2 (17.0%)']`. */
  labels: [string, string];
  /** Share of the latents' total variance along each axis (PCA only), in [0, 1]. */
  explained?: [number, number];
}

/** A labelled image dataset as the explorer takes it. */
export interface ExplorerData {
  /** Examples in the model's input layout or one of equal size, e.g. `[n, 28, 28, 1]` in [0, 1]. */
  x: tf.Tensor;
  /** Class of each example: int `[n]`, or one-hot `[n, k]`. */
  y?: tf.Tensor;
  /** Names of the classes, indexed by label. */
  classNames?: readonly string[];
}

/** Options of `explorerHtml`. */
export interface ExplorerOptions {
  /** Examples plotted (the first `points` of `ds`; default 1000). */
  points?: number;
  /** Page title (default `Latent explorer: <model name>`). */
  title?: string;
  /** Side of the square scatter plot in CSS pixels (default 520). */
  plotSize?: number;
  /** Side of the decoded image in CSS pixels (default 224, 8 pixels per MNIST pixel). */
  imageSize?: number;
  /** Seed of the randomised PCA used for large latents (default 1). */
  seed?: number;
}

// ---------------------------------------------------------------------------------------
// Decoder export
// ---------------------------------------------------------------------------------------

type Shape = number[];

/**
 * The decoder of `model` as plain ops and weights that `DECODER_RUNTIME` evaluates for one
 * latent vector at a time (inference mode: batch norm uses its running statistics,
 * dropout is the identity).
 * @throws AelabError naming the first layer type the runtime does not implement
 */
export function exportDecoder(model: Autoencoder): DecoderExport {
  // `decoderNet` is protected on Autoencoder; the explorer needs its layers and weights.
  // (A public read-only accessor on Autoencoder would remove this cast.)
  const net = (model as unknown as { decoderNet: tf.LayersModel }).decoderNet;
  if (!net) throw new AelabError(`explorer: ${model.name} has no decoder network to export`);
  const chunks: Float32Array[] = [];
  let offset = 0;
  const put = (t: tf.Tensor | Float32Array): [number, number] => {
    const data = t instanceof Float32Array ? t : Float32Array.from(t.dataSync());
    chunks.push(data);
    const ref: [number, number] = [offset, data.length];
    offset += data.length;
    return ref;
  };
  const ops: Record<string, unknown>[] = [];
  let shape: Shape = [...model.latentShape];
  for (const layer of chainLayers(net)) {
    const inShape = shape;
    const outShape = (layer.outputShape as (number | null)[]).slice(1) as Shape;
    if (outShape.some((d) => typeof d !== 'number')) throw new AelabError(`explorer: layer ${layer.name} has an unknown output shape ${JSON.stringify(layer.outputShape)}`);
    const op = layerOp(layer, inShape, outShape, put);
    if (op) ops.push(op);
    shape = outShape;
  }
  const weights = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    weights.set(c, at);
    at += c.length;
  }
  return { latentShape: [...model.latentShape], outputShape: [...model.inputShape], outputActivation: model.outputActivation, ops, weights };
}

/** The layers of a sequential network in order, nested models flattened; refuses branching graphs. */
function chainLayers(net: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  let prev: tf.layers.Layer | undefined;
  for (const layer of net.layers) {
    if (!(net instanceof tf.Sequential) && prev && layer.getClassName() !== 'InputLayer') {
      const nodes = layer.inboundNodes;
      if (nodes.length !== 1 || nodes[0].inboundLayers.length !== 1 || nodes[0].inboundLayers[0] !== prev) {
        throw new AelabError(`explorer: the decoder is not a chain of layers (layer ${layer.name} does not take the previous layer's output alone)`);
      }
    }
    if (layer instanceof tf.LayersModel) out.push(...chainLayers(layer));
    else if (layer.getClassName() !== 'InputLayer') out.push(layer);
    prev = layer;
  }
  return out;
}

type Put = (t: tf.Tensor | Float32Array) => [number, number];

/** The runtime op of one layer (undefined for layers that only change the shape). */
function layerOp(layer: tf.layers.Layer, inShape: Shape, outShape: Shape, put: Put): Record<string, unknown> | undefined {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  const weight = (suffix: string) => layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.originalName === suffix)?.read();
  const unsupported = (why: string) => new AelabError(`explorer: decoder layer ${layer.name} (${cls}) is not supported: ${why}`);
  const activation = (name: unknown) => {
    const a = String(name ?? 'linear');
    if (!ACTIVATIONS.has(a)) throw unsupported(`activation "${a}"`);
    return a;
  };
  const channelsLast = () => {
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw unsupported(`dataFormat ${String(cfg.dataFormat)}`);
  };
  const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);
  switch (cls) {
    case 'Dense': {
      const kernel = weight('kernel');
      if (!kernel) throw unsupported('no kernel');
      const bias = cfg.useBias === false ? undefined : weight('bias');
      return { type: 'dense', name: layer.name, inShape, outShape, units: kernel.shape[1], kernel: put(kernel), bias: bias && put(bias), activation: activation(cfg.activation) };
    }
    case 'AelabTiedDense': {
      const source = layer as unknown as { sharedKernel(): tf.Tensor2D };
      const bias = weight('bias');
      const kernel = tf.tidy(() => source.sharedKernel().transpose());
      try {
        return { type: 'dense', name: layer.name, inShape, outShape, units: kernel.shape[1], kernel: put(kernel), bias: bias && put(bias), activation: 'linear' };
      } finally {
        kernel.dispose();
      }
    }
    case 'Activation':
      return { type: 'activation', name: layer.name, activation: activation(cfg.activation) };
    case 'ReLU':
      return { type: 'activation', name: layer.name, activation: 'relu', maxValue: cfg.maxValue ?? null };
    case 'LeakyReLU':
      return { type: 'activation', name: layer.name, activation: 'leakyRelu', alpha: Number(cfg.alpha ?? 0.3) };
    case 'ELU':
      return { type: 'activation', name: layer.name, activation: 'elu', alpha: Number(cfg.alpha ?? 1) };
    case 'BatchNormalization': {
      const axis = Number(cfg.axis ?? -1);
      if (axis !== -1 && axis !== inShape.length) throw unsupported(`normalisation axis ${axis} (only the last axis)`);
      const mean = weight('moving_mean');
      const variance = weight('moving_variance');
      if (!mean || !variance) throw unsupported('no moving statistics');
      const eps = Number(cfg.epsilon ?? 1e-3);
      const m = mean.dataSync();
      const v = variance.dataSync();
      const gamma = weight('gamma')?.dataSync();
      const beta = weight('beta')?.dataSync();
      const scale = new Float32Array(m.length);
      const shift = new Float32Array(m.length);
      for (let i = 0; i < m.length; i++) {
        const a = (gamma ? gamma[i] : 1) / Math.sqrt(v[i] + eps);
        scale[i] = a;
        shift[i] = (beta ? beta[i] : 0) - m[i] * a;
      }
      return { type: 'affine', name: layer.name, scale: put(scale), shift: put(shift) };
    }
    case 'Conv2D': {
      channelsLast();
      const kernel = weight('kernel');
      if (!kernel) throw unsupported('no kernel');
      const [kh, kw] = pair(cfg.kernelSize);
      const [sh, sw] = pair(cfg.strides ?? 1);
      const [dh, dw] = pair(cfg.dilationRate ?? 1);
      let pad: [number, number] = [0, 0];
      if (cfg.padding === 'same') {
        const along = (inp: number, out: number, k: number, s: number, d: number) => Math.max(0, (out - 1) * s + (k - 1) * d + 1 - inp);
        pad = [Math.floor(along(inShape[0], outShape[0], kh, sh, dh) / 2), Math.floor(along(inShape[1], outShape[1], kw, sw, dw) / 2)];
      } else if (cfg.padding !== 'valid') throw unsupported(`padding ${String(cfg.padding)}`);
      const bias = cfg.useBias === false ? undefined : weight('bias');
      return { type: 'conv2d', name: layer.name, inShape, outShape, kernelSize: [kh, kw], strides: [sh, sw], dilation: [dh, dw], pad, kernel: put(kernel), bias: bias && put(bias), activation: activation(cfg.activation) };
    }
    case 'Conv2DTranspose': {
      channelsLast();
      const kernel = weight('kernel');
      if (!kernel) throw unsupported('no kernel');
      const [kh, kw] = pair(cfg.kernelSize);
      const [sh, sw] = pair(cfg.strides ?? 1);
      const [dh, dw] = pair(cfg.dilationRate ?? 1);
      if (dh !== 1 || dw !== 1) throw unsupported('dilation');
      let pad: [number, number] = [0, 0];
      if (cfg.padding === 'same') pad = [Math.floor(Math.max(0, kh - sh) / 2), Math.floor(Math.max(0, kw - sw) / 2)];
      else if (cfg.padding !== 'valid') throw unsupported(`padding ${String(cfg.padding)}`);
      const bias = cfg.useBias === false ? undefined : weight('bias');
      return { type: 'conv2dTranspose', name: layer.name, inShape, outShape, kernelSize: [kh, kw], strides: [sh, sw], pad, kernel: put(kernel), bias: bias && put(bias), activation: activation(cfg.activation) };
    }
    case 'Cropping2D':
    case 'ZeroPadding2D': {
      channelsLast();
      const spec = (cls === 'Cropping2D' ? cfg.cropping : cfg.padding) as unknown;
      const arr = Array.isArray(spec) ? spec : [spec, spec];
      const top = Array.isArray(arr[0]) ? Number(arr[0][0]) : Number(arr[0]);
      const left = Array.isArray(arr[1]) ? Number(arr[1][0]) : Number(arr[1]);
      return { type: cls === 'Cropping2D' ? 'crop' : 'pad', name: layer.name, inShape, outShape, offset: [top, left] };
    }
    case 'UpSampling2D': {
      channelsLast();
      const method = String(cfg.interpolation ?? 'nearest');
      if (method !== 'nearest' && method !== 'bilinear') throw unsupported(`interpolation ${method}`);
      return { type: 'resize', name: layer.name, inShape, outShape, method, alignCorners: false, halfPixel: false };
    }
    case 'AelabUpsampleBilinear':
      return { type: 'resize', name: layer.name, inShape, outShape, method: 'bilinear', alignCorners: (layer as unknown as { alignCorners: boolean }).alignCorners, halfPixel: false };
    case 'Reshape':
    case 'Flatten':
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return undefined;
    default:
      throw unsupported('the explorer implements Dense, Conv2D, Conv2DTranspose, BatchNormalization, activations, Cropping2D, ZeroPadding2D, UpSampling2D, Reshape, Flatten and dropout layers');
  }
}

const ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign', 'swish']);

type DecoderFn = { latentSize: number; decode(z: ArrayLike<number>): Float32Array };
let runtimeFactory: ((spec: unknown, weights: Float32Array) => DecoderFn) | undefined;

/**
 * Runs an exported decoder here, with the same JavaScript the page runs: `decode(z)`
 * takes one flat latent vector and returns the decoded example, flat, after the output
 * activation (for checks and tests).
 */
export function runExportedDecoder(exported: DecoderExport): DecoderFn {
  runtimeFactory ??= new Function(`${DECODER_RUNTIME}\nreturn aelabDecoder;`)() as typeof runtimeFactory;
  const { weights, ...spec } = exported;
  return runtimeFactory!(spec, weights);
}

// ---------------------------------------------------------------------------------------
// The plane
// ---------------------------------------------------------------------------------------

/**
 * The plane to plot `n` flat latents of `d` dimensions on, and each latent's (u, v) on it.
 * d = 2: the latents themselves; d = 1: u = z, v = a deterministic jitter in [-0.5, 0.5];
 * d > 2: the first two principal components through the mean (exact PCA with `ml-pca` up
 * to 64 dimensions; above, ml-pca on a randomised 12-dimensional range of the data, the
 * Halko-Martinsson-Tropp range finder with 4 power iterations, accurate for the top two).
 * @param latents row-major `[n, d]`
 */
export function latentPlane(latents: ArrayLike<number>, n: number, d: number, seed = 1): { plane: LatentPlane; coords: Float64Array } {
  checkInteger('n', n, 1);
  checkInteger('d', d, 1);
  if (latents.length !== n * d) throw new ArgumentError('latents', `${latents.length} values`, `n * d = ${n * d} values`);
  const coords = new Float64Array(2 * n);
  if (d <= 2) {
    const rng = new Rng(seed);
    for (let i = 0; i < n; i++) {
      coords[2 * i] = latents[i * d];
      coords[2 * i + 1] = d === 2 ? latents[i * d + 1] : rng.next() - 0.5;
    }
    const plane: LatentPlane = d === 2 ? { kind: 'latent', mean: [0, 0], axis1: [1, 0], axis2: [0, 1], labels: ['z1', 'z2'] } : { kind: 'latent', mean: [0], axis1: [1], labels: ['z1', 'jitter'] };
    return { plane, coords };
  }
  if (n < 3) throw new ArgumentError('points', n, 'at least 3 examples for a PCA plane');
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += latents[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const centred = new Float64Array(n * d);
  let totalVar = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = latents[i * d + j] - mean[j];
      centred[i * d + j] = v;
      totalVar += v * v;
    }
  }
  totalVar /= n - 1;
  let axes: Float64Array[];
  let variances: number[];
  if (d <= 64) {
    const rows = Array.from({ length: n }, (_, i) => Array.from(centred.subarray(i * d, (i + 1) * d)));
    const pca = new PCA(rows, { method: 'covarianceMatrix', center: false });
    const U = pca.getEigenvectors();
    axes = [0, 1].map((c) => Float64Array.from(U.getColumn(c)));
    variances = pca.getEigenvalues().slice(0, 2);
  } else {
    const k = Math.min(12, d);
    const rng = new Rng(seed);
    let Q: Float64Array = new Float64Array(d * k);
    for (let i = 0; i < Q.length; i++) Q[i] = rng.normal();
    Q = orthonormalColumns(Q, d, k);
    for (let it = 0; it < 4; it++) {
      const XQ = mul(centred, n, d, Q, k); // [n, k]
      Q = orthonormalColumns(mulT(centred, n, d, XQ, k), d, k); // X^T (X Q), [d, k]
    }
    const B = mul(centred, n, d, Q, k);
    const rows = Array.from({ length: n }, (_, i) => Array.from(B.subarray(i * k, (i + 1) * k)));
    const pca = new PCA(rows, { method: 'covarianceMatrix', center: false });
    const V = pca.getEigenvectors();
    axes = [0, 1].map((c) => {
      const vc = V.getColumn(c);
      const a = new Float64Array(d);
      for (let j = 0; j < d; j++) for (let q = 0; q < k; q++) a[j] += Q[j * k + q] * vc[q];
      return a;
    });
    variances = pca.getEigenvalues().slice(0, 2);
  }
  // Deterministic signs: the largest component of each axis is positive.
  for (const a of axes) {
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(a[j]) > Math.abs(a[big])) big = j;
    if (a[big] < 0) for (let j = 0; j < d; j++) a[j] = -a[j];
    let norm = 0;
    for (let j = 0; j < d; j++) norm += a[j] * a[j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) a[j] /= norm;
  }
  for (let i = 0; i < n; i++) {
    let u = 0;
    let v = 0;
    for (let j = 0; j < d; j++) {
      u += centred[i * d + j] * axes[0][j];
      v += centred[i * d + j] * axes[1][j];
    }
    coords[2 * i] = u;
    coords[2 * i + 1] = v;
  }
  const explained: [number, number] = [variances[0] / (totalVar || 1), variances[1] / (totalVar || 1)];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return {
    plane: { kind: 'pca', mean: Array.from(mean), axis1: Array.from(axes[0]), axis2: Array.from(axes[1]), labels: [`PC1 (${pct(explained[0])})`, `PC2 (${pct(explained[1])})`], explained },
    coords,
  };
}

/** `a [n, d]` times `b [d, k]`, row-major. */
function mul(a: Float64Array, n: number, d: number, b: Float64Array, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const x = a[i * d + j];
      if (x === 0) continue;
      for (let q = 0; q < k; q++) out[i * k + q] += x * b[j * k + q];
    }
  }
  return out;
}

/** `a^T [d, n]` times `b [n, k]`, with `a` stored row-major `[n, d]`. */
function mulT(a: Float64Array, n: number, d: number, b: Float64Array, k: number): Float64Array {
  const out = new Float64Array(d * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const x = a[i * d + j];
      if (x === 0) continue;
      for (let q = 0; q < k; q++) out[j * k + q] += x * b[i * k + q];
    }
  }
  return out;
}

/** Orthonormalises the `k` columns of row-major `m [d, k]` (modified Gram-Schmidt, twice). */
function orthonormalColumns(m: Float64Array, d: number, k: number): Float64Array {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < k; c++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += m[j * k + c] * m[j * k + p];
        for (let j = 0; j < d; j++) m[j * k + c] -= dot * m[j * k + p];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += m[j * k + c] ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < d; j++) m[j * k + c] /= norm;
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------

/**
 * The latent explorer of `model` on `ds` as one self-contained HTML page: the scatter of
 * the first `points` examples' latent codes (on a PCA plane for latents of more than two
 * dimensions), coloured by class; clicking or dragging anywhere on the plot decodes that
 * point in the page (the decoder runs inline, see the module comment) and shows the image
 * (or, for non-image models, the decoded features as bars).
 *
 * For tests and scripting, the page exposes `window.aelabExplorer`: `ready`, `errors`,
 * `last` (`{ u, v, latent, pixels }` of the latest decoded point: plot coordinates, the
 * flat latent vector and the decoded values after the output activation), `decodeAt(u,
 * v)`, `latentAt(u, v)`, `decodeLatent(z)`, `view` and `plane`.
 * @throws AelabError when the decoder uses a layer type the page cannot run, or when the
 *   exported decoder disagrees with `model.decode`
 */
export async function explorerHtml(model: Autoencoder, ds: ExplorerData, options: ExplorerOptions = {}): Promise<string> {
  if (!ds || !(ds.x instanceof tf.Tensor)) throw new ArgumentError('ds', ds, 'a dataset { x, y?, classNames? } with x a tensor');
  const total = ds.x.shape[0];
  const n = Math.min(checkInteger('points', options.points ?? 1000, 1), total);
  if (n < 1) throw new ArgumentError('ds.x', ds.x, 'at least one example');
  const plotSize = checkInteger('plotSize', options.plotSize ?? 520, 200, 4000);
  const imageSize = checkInteger('imageSize', options.imageSize ?? 224, 28, 2000);

  const exported = exportDecoder(model);
  const d = exported.latentShape.reduce((a, b) => a * b, 1);
  const latents = encodeFlat(model, ds.x, n, d);
  const labels = labelsOf(ds.y, n);
  const { plane, coords } = latentPlane(latents, n, d, options.seed ?? 1);
  checkExport(model, exported, plane, coords);

  const names = classNames(labels, ds.classNames);
  const output = outputLayout(exported.outputShape, exported.outputActivation);
  const title = options.title ?? `Latent explorer: ${model.name}`;
  const { svg, view, start } = scatterSvg(coords, labels, plane, plotSize);
  const data = { decoder: { latentShape: exported.latentShape, outputShape: exported.outputShape, outputActivation: exported.outputActivation, ops: exported.ops }, plane, view, output, start };
  const weightsB64 = Buffer.from(exported.weights.buffer, exported.weights.byteOffset, exported.weights.byteLength).toString('base64');
  const describe =
    plane.kind === 'pca'
      ? `latent [${exported.latentShape.join(', ')}] (${d} values), shown on its first two principal components through the mean (${(100 * (plane.explained![0] + plane.explained![1])).toFixed(1)}% of the variance)`
      : `latent [${exported.latentShape.join(', ')}]`;
  const legend = names.length
    ? `<div class="legend">${names.map((name, i) => `<span><i style="background:${classColor(i)}"></i>${escapeHtml(name)}</span>`).join('')}</div>`
    : '';
  const canvasW = output.kind === 'image' ? output.width : 280;
  const canvasH = output.kind === 'image' ? output.height : 140;
  const displayW = output.kind === 'image' ? imageSize : 280;
  const displayH = output.kind === 'image' ? Math.round((imageSize * output.height) / output.width) : 140;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { margin: 0; font: 14px/1.4 "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; background: #fff; }
.aelab-explorer { padding: 12px 16px; }
h1 { font-size: 18px; margin: 0 0 2px; }
.sub { color: #666; margin: 0 0 10px; font-size: 13px; }
.row { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
#aelab-plot { cursor: crosshair; touch-action: none; user-select: none; max-width: 100%; height: auto; }
#aelab-plot text { font: 11px "DejaVu Sans", Helvetica, Arial, sans-serif; fill: #444; }
#aelab-plot .title { font-size: 13px; fill: #222; }
#aelab-decoded { width: ${displayW}px; height: ${displayH}px; image-rendering: pixelated; border: 1px solid #ccc; background: #000; display: block; }
#aelab-coords { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; margin-top: 6px; min-height: 1.4em; }
.hint { color: #777; font-size: 12px; max-width: ${displayW}px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; font-size: 12px; max-width: ${plotSize}px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; vertical-align: -1px; }
</style></head>
<body><div class="aelab-explorer">
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(`${model.name}: ${describe}; ${n} examples`)}</p>
<div class="row">
<div>${svg}${legend}</div>
<div><canvas id="aelab-decoded" width="${canvasW}" height="${canvasH}"></canvas>
<div id="aelab-coords"></div>
<p class="hint">Click or drag anywhere on the plot: the page decodes that latent point${plane.kind === 'pca' ? ' (mean + u&middot;PC1 + v&middot;PC2)' : ''} and shows the result here.</p></div>
</div></div>
<script type="application/json" id="aelab-explorer-data">${jsonForScript(data)}</script>
<script type="text/plain" id="aelab-explorer-weights">${weightsB64}</script>
<script>${DECODER_RUNTIME}</script>
<script>${UI_RUNTIME}</script>
</body></html>
`;
}

/**
 * Writes `explorerHtml(model, ds, options)` to `file` (atomically) and returns the path.
 */
export async function saveExplorer(model: Autoencoder, ds: ExplorerData, file: string, options: ExplorerOptions = {}): Promise<string> {
  writeFileAtomic(file, await explorerHtml(model, ds, options));
  return file;
}

/**
 * Shows the explorer: inline in a tslab notebook (in an iframe, so the page's script and
 * ids stay separate from the notebook's), else written as a file (`aelab-output/explorer-N.html`)
 * whose path is printed and returned, as `show` does.
 */
export async function showExplorer(model: Autoencoder, ds: ExplorerData, options: ExplorerOptions & { file?: string } = {}): Promise<string | undefined> {
  const page = await explorerHtml(model, ds, options);
  if (!options.file && notebookDisplay()) {
    const plot = options.plotSize ?? 520;
    const height = plot + 190;
    return show({ html: `<iframe srcdoc="${escapeAttr(page)}" style="width:100%;max-width:${plot + (options.imageSize ?? 224) + 90}px;height:${height}px;border:0" title="latent explorer"></iframe>` });
  }
  return show({ html: page }, { file: options.file, name: 'explorer', mode: 'file' });
}

/** Latent codes of the first `n` examples, flat `[n, d]`, encoded in batches. */
function encodeFlat(model: Autoencoder, x: tf.Tensor, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  const batch = 256;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const z = tf.tidy(() => {
      const begin = x.shape.map((_, i) => (i === 0 ? start : 0));
      const sizes = x.shape.map((s, i) => (i === 0 ? size : s));
      return model.encode(x.slice(begin, sizes)).reshape([size, d]);
    });
    out.set(z.dataSync(), start * d);
    z.dispose();
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new AelabError(`explorer: ${model.name} encoded example ${Math.floor(i / d)} to a non-finite latent value (${out[i]})`);
  }
  return out;
}

/** Class index of each of the first `n` examples (int `[n]` or one-hot `[n, k]` labels), or undefined. */
function labelsOf(y: tf.Tensor | undefined, n: number): Int32Array | undefined {
  if (!y) return undefined;
  if (y.shape[0] < n) throw new ArgumentError('ds.y', y, `at least ${n} labels`);
  const t = tf.tidy(() => (y.rank === 2 && y.shape[1]! > 1 ? y.slice([0, 0], [n, -1]).argMax(-1) : y.reshape([-1]).slice(0, n)));
  const values = Int32Array.from(t.dataSync(), (v) => Math.round(v));
  t.dispose();
  return values;
}

function classNames(labels: Int32Array | undefined, given?: readonly string[]): string[] {
  if (!labels) return [];
  const max = labels.reduce((m, v) => Math.max(m, v), -1);
  return Array.from({ length: max + 1 }, (_, i) => given?.[i] ?? String(i));
}

/** Colour of class `i`: the ten chart colours, then evenly spaced hues. */
function classColor(i: number): string {
  if (i >= 0 && i < CLASS_COLORS.length) return CLASS_COLORS[i];
  return `hsl(${(i * 137.508) % 360}, 55%, 50%)`;
}

/** How the page draws one decoded example. */
function outputLayout(shape: number[], activation: string): { kind: 'image' | 'vector'; width: number; height: number; channels: number; range: string } {
  const range = activation === 'tanh' ? 'tanh' : 'unit';
  if (shape.length === 3 && (shape[2] === 1 || shape[2] === 3)) return { kind: 'image', height: shape[0], width: shape[1], channels: shape[2], range };
  if (shape.length === 2) return { kind: 'image', height: shape[0], width: shape[1], channels: 1, range };
  const size = shape.reduce((a, b) => a * b, 1);
  const side = Math.round(Math.sqrt(size));
  if (side * side === size && side >= 8) return { kind: 'image', height: side, width: side, channels: 1, range };
  return { kind: 'vector', width: size, height: 1, channels: 1, range };
}

/**
 * Runs the exported decoder on three latents of the plane and compares with
 * `model.decode`: a mismatch means a layer behaves differently from its export.
 */
function checkExport(model: Autoencoder, exported: DecoderExport, plane: LatentPlane, coords: Float64Array): void {
  const dec = runExportedDecoder(exported);
  const d = plane.mean.length;
  const pts: [number, number][] = [[0, 0], [coords[0], coords[1]], [coords[0] * -0.7 + 0.3, coords[1] * 1.3 - 0.2]];
  const zs = pts.map(([u, v]) => plane.mean.map((m, j) => m + u * plane.axis1[j] + (plane.axis2 ? v * plane.axis2[j] : 0)));
  const ours = zs.map((z) => dec.decode(z));
  const theirs = tf.tidy(() => model.decode(tf.tensor2d(zs, [zs.length, d])).reshape([zs.length, -1]).arraySync() as number[][]);
  let worst = 0;
  ours.forEach((o, i) => o.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - theirs[i][j]) / (1 + Math.abs(theirs[i][j]))))));
  if (!(worst <= 1e-3)) {
    throw new AelabError(`explorer: the page's decoder for ${model.name} differs from model.decode by up to ${worst.toExponential(2)}; this model's decode is not a plain run of its decoder layers`);
  }
}

/** The scatter plot as inline SVG, and the mapping between plot pixels and (u, v). */
function scatterSvg(coords: Float64Array, labels: Int32Array | undefined, plane: LatentPlane, size: number) {
  const n = coords.length / 2;
  const margin = { left: 58, right: 14, top: 12, bottom: 46 };
  const inner = size - margin.left - margin.right;
  const innerH = size - margin.top - margin.bottom;
  let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
  for (let i = 0; i < n; i++) {
    u0 = Math.min(u0, coords[2 * i]);
    u1 = Math.max(u1, coords[2 * i]);
    v0 = Math.min(v0, coords[2 * i + 1]);
    v1 = Math.max(v1, coords[2 * i + 1]);
  }
  // Equal scales on both axes (distances in the plane are honest), 8% of air around the points.
  const cu = (u0 + u1) / 2, cv = (v0 + v1) / 2;
  const span = Math.max(u1 - u0, (v1 - v0) * (inner / innerH), 1e-6) * 1.16;
  const spanV = (span * innerH) / inner;
  const view = { u0: cu - span / 2, u1: cu + span / 2, v0: cv - spanV / 2, v1: cv + spanV / 2, left: margin.left, top: margin.top, width: inner, height: innerH, svgWidth: size, svgHeight: size };
  const px = (u: number) => view.left + ((u - view.u0) / (view.u1 - view.u0)) * view.width;
  const py = (v: number) => view.top + (1 - (v - view.v0) / (view.v1 - view.v0)) * view.height;
  const parts: string[] = [];
  parts.push(`<svg id="aelab-plot" xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">`);
  parts.push(`<rect x="${view.left}" y="${view.top}" width="${inner}" height="${innerH}" fill="#fff" stroke="#ccc"/>`);
  const grid: string[] = [];
  for (const t of niceTicks(view.u0, view.u1, 7)) {
    const x = px(t).toFixed(1);
    grid.push(`<line x1="${x}" x2="${x}" y1="${view.top}" y2="${view.top + innerH}" stroke="#eee"/>`);
    grid.push(`<line x1="${x}" x2="${x}" y1="${view.top + innerH}" y2="${view.top + innerH + 5}" stroke="#888"/><text x="${x}" y="${view.top + innerH + 17}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  if (plane.axis2) {
    for (const t of niceTicks(view.v0, view.v1, 7)) {
      const y = py(t).toFixed(1);
      grid.push(`<line x1="${view.left}" x2="${view.left + inner}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      grid.push(`<line x1="${view.left - 5}" x2="${view.left}" y1="${y}" y2="${y}" stroke="#888"/><text x="${view.left - 8}" y="${y}" dy="0.32em" text-anchor="end">${fmtTick(t)}</text>`);
    }
  }
  parts.push(`<g class="grid">${grid.join('')}</g>`);
  parts.push(`<text class="title" x="${view.left + inner / 2}" y="${size - 8}" text-anchor="middle">${escapeHtml(plane.labels[0])}</text>`);
  parts.push(`<text class="title" transform="translate(14,${view.top + innerH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(plane.labels[1])}</text>`);
  const r = n > 3000 ? 1.6 : n > 1000 ? 2.2 : 2.8;
  const dots: string[] = [];
  for (let i = 0; i < n; i++) {
    const fill = labels ? classColor(labels[i]) : CLASS_COLORS[0];
    dots.push(`<circle cx="${px(coords[2 * i]).toFixed(1)}" cy="${py(coords[2 * i + 1]).toFixed(1)}" r="${r}" fill="${fill}"/>`);
  }
  parts.push(`<g id="aelab-points" fill-opacity="0.72">${dots.join('')}</g>`);
  parts.push(`<g id="aelab-marker" style="display:none" pointer-events="none"><circle r="7" fill="none" stroke="#000" stroke-width="2"/><circle r="7" fill="none" stroke="#fff" stroke-width="0.8"/><line x1="-12" x2="-8" stroke="#000" stroke-width="1.5"/><line x1="8" x2="12" stroke="#000" stroke-width="1.5"/><line y1="-12" y2="-8" stroke="#000" stroke-width="1.5"/><line y1="8" y2="12" stroke="#000" stroke-width="1.5"/></g>`);
  parts.push('</svg>');
  let su = 0, sv = 0;
  for (let i = 0; i < n; i++) {
    su += coords[2 * i];
    sv += coords[2 * i + 1];
  }
  return { svg: parts.join('\n'), view, start: [su / n, plane.axis2 ? sv / n : 0] as [number, number] };
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmtTick(t: number): string {
  if (t === 0) return '0';
  const a = Math.abs(t);
  if (a >= 1e4 || a < 1e-3) return t.toExponential(1);
  return String(Number(t.toPrecision(4)));
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}

/** JSON that is safe inside a `<script>` element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
