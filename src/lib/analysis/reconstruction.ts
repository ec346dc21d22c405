/**
 * Reconstruction pictures and inside views of the encoders: originals above
 * reconstructions (seed 001 `visualize_reconstructions`, seed 000 `test()`), the
 * noise-level comparison of denoising (seed 000 Part 2 `compare_noise_levels`), feature
 * maps of convolutional encoders (seed 001 `visualize_feature_maps`) and the layer
 * activations of deep fully connected encoders (seed 001 `get_layer_outputs`).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Dataset, datasetSize } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import { Rng } from '../random';
import type { Autoencoder } from '../models/autoencoder';
import { ChartSpec, barChart, lineChart } from '../viz/charts';
import { StripOptions, imageStrip } from '../viz/strip';
import { colorize, psnrOf, resolveBatchSize, toImageBatch } from './common';
import { reconstruct } from './encode';
import { Table, withFrame } from './table';

/** Originals and their reconstructions. */
export interface ReconstructionGrid {
  /** `[2n, h, w, c]`: the `n` originals, then their reconstructions (the seed's `torch.cat([data[:n], recon[:n]])`); the caller disposes it. */
  images: tf.Tensor4D;
  /** Labelled two-row picture (Original / Reconstructed), PNG bytes. */
  png: Uint8Array;
}

/**
 * The reconstruction comparison: the first `n` examples of `x` above their reconstructions
 * (inference mode).
 * @param x `[b, ...inputShape]` images (e.g. the first test images)
 */
export function reconstructionGrid(model: Autoencoder, x: tf.Tensor, options: StripOptions & { n?: number } = {}): ReconstructionGrid {
  const { n: count, ...strip } = options;
  const n = Math.min(checkInteger('n', count ?? 8, 1), x.shape[0]);
  const images = tf.tidy(() => {
    const orig = x.slice(0, n);
    return tf.concat([toImageBatch(orig), toImageBatch(reconstruct(model, orig))]) as tf.Tensor4D;
  });
  const [orig, recon] = tf.split(images, 2);
  try {
    return { images, png: imageStrip([{ label: 'Original', images: orig }, { label: 'Reconstructed', images: recon }], strip) };
  } finally {
    tf.dispose([orig, recon]);
  }
}

/** Errors at one noise level. */
export interface NoiseLevelRow {
  /** Standard deviation of the Gaussian noise added (pixel units; the seeds' `noise_factor`). */
  level: number;
  /** MSE of the noisy input against the clean image (what doing nothing costs). */
  noisyMse: number;
  /** MSE of the model's output on the noisy input against the clean image. */
  denoisedMse: number;
  /** PSNR in dB of the noisy input and of the output (images in [0, 1]). */
  noisyPsnr: number;
  denoisedPsnr: number;
  /** `noisyMse / denoisedMse`: above 1 when the model removes noise. */
  gain: number;
}

/** Options of `compareNoiseLevels`. */
export interface NoiseComparisonOptions {
  /** Seed of the noise (default 1). */
  seed?: number;
  /** Clamp the noisy input (default `[0, 1]`, the seed's `torch.clamp`); `null` for none. */
  clamp?: [number, number] | null;
  /** Examples per forward pass (default 256). */
  batchSize?: number;
}

/**
 * Seed 000's test-time noise comparison, over a whole dataset: for each noise level,
 * Gaussian noise (seeded, clamped to [0, 1]) on the input, the model's output compared
 * with the clean image. A denoising autoencoder's `denoisedMse` stays low as the noise
 * grows past the level it was trained on.
 * @param levels noise standard deviations (default `[0.1, 0.3, 0.5, 0.7]`)
 * @returns one row per level, as rows and DataFrame
 */
export async function compareNoiseLevels(model: Autoencoder, ds: Dataset, levels: number[] = [0.1, 0.3, 0.5, 0.7], options: NoiseComparisonOptions = {}): Promise<Table<NoiseLevelRow>> {
  if (!Array.isArray(levels) || levels.length === 0) throw new ArgumentError('levels', levels, 'a non-empty list of noise standard deviations');
  levels.forEach((l, i) => checkNumber(`levels[${i}]`, l, 0));
  const n = datasetSize(ds);
  const batchSize = resolveBatchSize(options.batchSize, n);
  const seed = checkInteger('seed', options.seed ?? 1);
  const rows: NoiseLevelRow[] = [];
  for (const level of levels) {
    // Per-example means on the backend, summed on the host in float64 after one read.
    const parts: tf.Tensor[] = [];
    for (const batch of batches(ds, { batchSize, shuffle: false, seed, noise: { std: level, clamp: options.clamp === undefined ? [0, 1] : options.clamp } })) {
      parts.push(
        tf.tidy(() => {
          const recon = model.forward(batch.x, false).recon.reshape(batch.target.shape);
          const perExample = (a: tf.Tensor) => tf.squaredDifference(a, batch.target).reshape([batch.size, -1]).mean(1);
          return tf.stack([perExample(batch.x), perExample(recon)], 1);
        }),
      );
      disposeBatch(batch);
    }
    const all = tf.concat(parts);
    const v = await all.data();
    tf.dispose([...parts, all]);
    let noisy = 0;
    let denoised = 0;
    for (let i = 0; i < n; i++) {
      noisy += v[2 * i];
      denoised += v[2 * i + 1];
    }
    const noisyMse = noisy / n;
    const denoisedMse = denoised / n;
    rows.push({ level, noisyMse, denoisedMse, noisyPsnr: psnrOf(noisyMse), denoisedPsnr: psnrOf(denoisedMse), gain: noisyMse / denoisedMse });
  }
  return withFrame({ rows });
}

/** MSE of the noisy input and of the model's output against the noise level. */
export function noiseLevelChart(result: Pick<Table<NoiseLevelRow>, 'rows'>, options: { title?: string; psnr?: boolean } = {}): ChartSpec {
  const rows = result.rows.map((r) => (options.psnr ? { level: r.level, 'noisy input': r.noisyPsnr, 'model output': r.denoisedPsnr } : { level: r.level, 'noisy input': r.noisyMse, 'model output': r.denoisedMse }));
  return lineChart(rows, {
    x: 'level',
    y: ['noisy input', 'model output'],
    points: true,
    title: options.title ?? 'Denoising across noise levels',
    xTitle: 'noise standard deviation',
    yTitle: options.psnr ? 'PSNR against the clean image (dB)' : 'MSE against the clean image',
  });
}

/** Noisy inputs and the model's outputs, for the noise-level picture. */
export interface NoiseLevelImages {
  /** `[levels.length * k, ...]`: level-major (all examples at the first level, then the next). */
  noisy: tf.Tensor;
  denoised: tf.Tensor;
  /** Labelled picture: for each example a Noisy and a Denoised row, one column per level; PNG bytes. */
  png: Uint8Array;
}

/**
 * The seed's `noise_level_comparison.png`: each example with seeded Gaussian noise of each
 * level (clamped to [0, 1]) and the model's output.
 * @param x `[k, ...inputShape]` a few clean images (the seed uses one)
 * @param levels default the seed's `[0, 0.1, 0.2, 0.3, 0.5, 0.7]`
 */
export function noiseLevelImages(model: Autoencoder, x: tf.Tensor, levels: number[] = [0, 0.1, 0.2, 0.3, 0.5, 0.7], options: { seed?: number } & StripOptions = {}): NoiseLevelImages {
  const k = x.shape[0];
  if (!k) throw new ArgumentError('x', x, 'a batch of at least one image');
  levels.forEach((l, i) => checkNumber(`levels[${i}]`, l, 0));
  const { seed: seedOption, ...strip } = options;
  const rng = new Rng(checkInteger('seed', seedOption ?? 1));
  const clean = x.dataSync();
  const noisyData = new Float32Array(levels.length * clean.length);
  levels.forEach((std, li) => {
    for (let i = 0; i < clean.length; i++) {
      const v = clean[i] + std * rng.normal();
      noisyData[li * clean.length + i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  });
  const noisy = tf.tensor(noisyData, [levels.length * k, ...x.shape.slice(1)]);
  const denoised = reconstruct(model, noisy);
  const rows = tf.tidy(() => {
    const ni = toImageBatch(noisy);
    const di = toImageBatch(denoised);
    const out: { label: string; images: tf.Tensor }[] = [];
    for (let e = 0; e < k; e++) {
      const idx = tf.tensor1d(levels.map((_, li) => li * k + e), 'int32');
      const tag = k > 1 ? ` ${e + 1}` : '';
      out.push({ label: `Noisy${tag}`, images: tf.keep(tf.gather(ni, idx)) }, { label: `Denoised${tag}`, images: tf.keep(tf.gather(di, idx)) });
    }
    return out;
  });
  try {
    const png = imageStrip(rows, { columnLabels: levels.map((l) => `sigma=${l}`), ...strip });
    return { noisy, denoised, png };
  } finally {
    tf.dispose(rows.map((r) => r.images));
  }
}

/** Summary of one feature map (one channel of one layer, for one image). */
export interface FeatureMapStats {
  /** Channel index. */
  channel: number;
  /** Mean, standard deviation, minimum and maximum activation over the map. */
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Share of positions with activation > 0 (ReLU layers: how much of the image the filter responds to). */
  activeFraction: number;
}

/** Feature maps of one image at one encoder layer. */
export interface FeatureMaps extends Table<FeatureMapStats> {
  /** Name of the layer shown (from `encoderLayerNames`; `relu1` by default). */
  layer: string;
  /** `[h, w, c]` of the layer's output. */
  shape: [number, number, number];
  /** The first `maxMaps` maps, each scaled to its own range in viridis, `[m, h, w, 3]`; the caller disposes it. */
  maps: tf.Tensor4D;
  /** The maps as a 4-per-row grid (the seed's 4 x 4 `feature_maps.png`), PNG bytes. */
  png: Uint8Array;
}

/** A model with `featureMaps` (the convolutional autoencoders). */
interface HasFeatureMaps {
  featureMaps(x: tf.Tensor, layer?: string | number): tf.Tensor4D;
}

/** True when the model can show feature maps (convolutional encoders). */
export function hasFeatureMaps(model: Autoencoder): model is Autoencoder & HasFeatureMaps {
  return typeof (model as Partial<HasFeatureMaps>).featureMaps === 'function';
}

/**
 * Seed 001's `visualize_feature_maps` for convolutional encoders: the activations of one
 * image at an encoder layer (default the model's own default, its first convolution after
 * ReLU; `-1` is the latent code, as the seed's `model.encoder(image)`), one map per
 * channel, with per-channel statistics.
 * @param x one image `[1, 28, 28, 1]` or `[28, 28, 1]` (the first of a batch is used)
 */
export function featureMapImages(model: Autoencoder, x: tf.Tensor, options: { layer?: string | number; maxMaps?: number } & StripOptions = {}): FeatureMaps {
  if (!hasFeatureMaps(model)) throw new ArgumentError('model', model.name, 'a convolutional autoencoder (a model with featureMaps)');
  const { layer, maxMaps: mm, ...strip } = options;
  const maxMaps = checkInteger('maxMaps', mm ?? 16, 1);
  const one = tf.tidy(() => (x.shape.length === model.inputShape.length ? x.expandDims(0) : x.slice(0, 1)));
  const fm = layer === undefined ? model.featureMaps(one) : model.featureMaps(one, layer);
  one.dispose();
  const [, h, w, c] = fm.shape;
  const names = (model as { encoderLayerNames?: string[] }).encoderLayerNames;
  const name = layer === undefined ? 'relu1' : typeof layer === 'number' && names ? (names[layer < 0 ? names.length + layer : layer] ?? String(layer)) : String(layer);
  const values = fm.dataSync();
  const rows: FeatureMapStats[] = [];
  for (let ch = 0; ch < c; ch++) {
    const v = new Float64Array(h * w);
    for (let p = 0; p < h * w; p++) v[p] = values[p * c + ch];
    let s = 0;
    let mn = Infinity;
    let mx = -Infinity;
    let active = 0;
    for (const a of v) {
      s += a;
      if (a < mn) mn = a;
      if (a > mx) mx = a;
      if (a > 0) active++;
    }
    const mean = s / v.length;
    const std = Math.sqrt(v.reduce((acc, a) => acc + (a - mean) ** 2, 0) / v.length);
    rows.push({ channel: ch, mean, std, min: mn, max: mx, activeFraction: active / v.length });
  }
  const m = Math.min(maxMaps, c);
  const maps = tf.tidy(() => {
    const perChannel = fm.slice([0, 0, 0, 0], [1, h, w, m]).reshape([h, w, m]).transpose([2, 0, 1]).expandDims(3) as tf.Tensor4D;
    return colorize(perChannel);
  });
  fm.dispose();
  const perRow = 4;
  const stripRows: { label: string; images: tf.Tensor }[] = [];
  for (let r = 0; r * perRow < m; r++) {
    const count = Math.min(perRow, m - r * perRow);
    stripRows.push({ label: `${r * perRow}-${r * perRow + count - 1}`, images: maps.slice([r * perRow, 0, 0, 0], [count, h, w, 3]) });
  }
  try {
    const png = imageStrip(stripRows, { title: name, scale: Math.max(1, Math.round(56 / h)), ...strip });
    return withFrame({ layer: name, shape: [h, w, c] as [number, number, number], maps, png, rows });
  } finally {
    tf.dispose(stripRows.map((r) => r.images));
  }
}

/** Activity of one hidden layer over a batch. */
export interface LayerActivationRow {
  /** Layer number, input side first (1 = first hidden activation). */
  layer: number;
  /** Units in the layer. */
  units: number;
  /** Mean and standard deviation of the activations over the batch and the units. */
  mean: number;
  std: number;
  /** Share of activations > 0 (for ReLU layers: 1 - sparsity). */
  activeFraction: number;
  /** Units never above 0 on the whole batch ("dead" ReLU units). */
  deadUnits: number;
}

/** Layer activations of a deep fully connected encoder. */
export interface LayerActivations extends Table<LayerActivationRow> {
  /** The first example's activations, one row per layer (labelled `layer i (units)`), each a near-square image of |activation| over the layer's maximum; PNG bytes. */
  png: Uint8Array;
}

/** A model with `layerOutputs` (the fully connected autoencoders). */
interface HasLayerOutputs {
  layerOutputs(x: tf.Tensor): tf.Tensor[];
}

/** True when the model exposes its encoder's layer activations (fully connected models). */
export function hasLayerOutputs(model: Autoencoder): model is Autoencoder & HasLayerOutputs {
  return typeof (model as Partial<HasLayerOutputs>).layerOutputs === 'function';
}

/**
 * Seed 001's `get_layer_outputs` as numbers and a picture: for each hidden activation of
 * the encoder (inference mode), how active it is over the batch `x` and how many units
 * never fire.
 * @param x `[b, ...inputShape]` a batch of examples
 */
export function layerActivations(model: Autoencoder, x: tf.Tensor, options: StripOptions = {}): LayerActivations {
  if (!hasLayerOutputs(model)) throw new ArgumentError('model', model.name, 'a fully connected autoencoder (a model with layerOutputs)');
  const outs = model.layerOutputs(x);
  const rows: LayerActivationRow[] = [];
  const pictures: { label: string; images: tf.Tensor }[] = [];
  try {
    outs.forEach((o, i) => {
      const units = o.shape[1]!;
      const v = o.dataSync();
      let s = 0;
      let active = 0;
      const fired = new Uint8Array(units);
      for (let k = 0; k < v.length; k++) {
        s += v[k];
        if (v[k] > 0) {
          active++;
          fired[k % units] = 1;
        }
      }
      const mean = s / v.length;
      let ss = 0;
      for (let k = 0; k < v.length; k++) ss += (v[k] - mean) ** 2;
      rows.push({ layer: i + 1, units, mean, std: Math.sqrt(ss / v.length), activeFraction: active / v.length, deadUnits: units - fired.reduce((a, f) => a + f, 0) });
      // The first example as a near-square image, scaled to [0, 1] by the layer's maximum.
      const cols = Math.ceil(Math.sqrt(units));
      const rowsN = Math.ceil(units / cols);
      const img = new Float32Array(rowsN * cols);
      let mx = 0;
      for (let u = 0; u < units; u++) mx = Math.max(mx, Math.abs(v[u]));
      for (let u = 0; u < units; u++) img[u] = mx > 0 ? Math.abs(v[u]) / mx : 0;
      pictures.push({ label: `layer ${i + 1} (${units})`, images: tf.tensor4d(img, [1, rowsN, cols, 1]) });
    });
    const png = imageStrip(pictures, { scale: 4, ...options });
    return withFrame({ rows, png });
  } finally {
    tf.dispose(outs);
    tf.dispose(pictures.map((p) => p.images));
  }
}

/** Share of active units per layer (bars), the sparsity profile of a deep encoder. */
export function layerActivationChart(result: Pick<LayerActivations, 'rows'>, options: { title?: string } = {}): ChartSpec {
  const rows = result.rows.map((r) => ({ layer: `${r.layer} (${r.units})`, activeFraction: r.activeFraction, deadShare: r.deadUnits / r.units }));
  return barChart(rows, { x: 'layer', y: 'activeFraction', title: options.title ?? 'Active units per encoder layer', xTitle: 'layer (units)', yTitle: 'share of activations > 0' });
}
