/**
 * Latent arithmetic, interpolation, random samples and latent grids (seed 000
 * `latent_arithmetic` and Exercise 5, seed 001 Exercises 2 and 3): what decoding points
 * between, beyond and around the codes of real images gives.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import type { Autoencoder } from '../models/autoencoder';
import { prod } from '../models/autoencoder';
import { ChartSpec, heatmapChart, lineChart } from '../viz/charts';
import { StripOptions, imageStrip } from '../viz/strip';
import { Points, imagesPng, toPointSet } from './common';
import type { LatentCodes } from './encode';

/** The mean code of one class. */
export interface ClassMean {
  /** Class index. */
  label: number;
  /** Class name (the label as text when the codes have no names). */
  name: string;
  /** Codes averaged. */
  count: number;
  /** Mean code, `[d]` flattened (reshape to `latentShape` to decode, or pass it to `decodeCodes`). */
  mean: Float32Array;
}

/**
 * Mean code of each class (seed 000's `digit_z`, which averages 5 examples a class).
 * @param codes `encodeDataset`'s result, with labels
 * @param options.perClass average only the first `perClass` examples of each class (default: all)
 * @returns one entry per class present, by increasing label
 */
export function classMeans(codes: LatentCodes, options: { perClass?: number } = {}): ClassMean[] {
  if (!codes.labels) throw new ArgumentError('codes', 'no labels', 'codes of a labelled dataset (encodeDataset of a dataset with y)');
  const cap = options.perClass === undefined ? Infinity : checkInteger('perClass', options.perClass, 1);
  const sums = new Map<number, { n: number; s: Float64Array }>();
  const { d, codes: z, labels } = codes;
  for (let i = 0; i < codes.n; i++) {
    const c = labels[i];
    let e = sums.get(c);
    if (!e) sums.set(c, (e = { n: 0, s: new Float64Array(d) }));
    if (e.n >= cap) continue;
    e.n++;
    for (let j = 0; j < d; j++) e.s[j] += z[i * d + j];
  }
  return [...sums.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([label, e]) => ({ label, name: codes.classNames?.[label] ?? String(label), count: e.n, mean: Float32Array.from(e.s, (v) => v / e.n) }));
}

/** The mean of class `label` in `means`; throws when the class is missing. */
export function meanOf(means: ClassMean[], label: number): Float32Array {
  const m = means.find((e) => e.label === label);
  if (!m) throw new ArgumentError('label', label, `one of the classes present (${means.map((e) => e.label).join(', ')})`);
  return m.mean;
}

/**
 * Decodes flat codes (inference mode).
 * @param codes `[k, d]` as a tensor, a point set, or one code `Float32Array [d]`
 * @returns `[k, ...inputShape]`; the caller disposes it
 */
export function decodeCodes(model: Autoencoder, codes: tf.Tensor | Float32Array | Points): tf.Tensor {
  const d = prod(model.latentShape);
  return tf.tidy(() => {
    let z: tf.Tensor;
    if (codes instanceof Float32Array) z = tf.tensor2d(codes, [1, codes.length]);
    else if (codes instanceof tf.Tensor) z = codes;
    else {
      const p = toPointSet(codes, 'codes');
      z = tf.tensor2d(p.codes, [p.n, p.d]);
    }
    const k = z.shape[0];
    if (z.size !== k * d) throw new ArgumentError('codes', z, `codes of ${d} values each (latent shape [${model.latentShape}])`);
    return model.decode(z.reshape([k, ...model.latentShape]), false);
  });
}

/** What latent arithmetic gives. */
export interface ArithmeticResult {
  /** `base + (plus - minus)`, `[d]`. */
  z: Float32Array;
  /** Decoded `base`, `plus`, `minus` and the result, `[4, ...inputShape]` in that order; the caller disposes it. */
  images: tf.Tensor;
}

/**
 * Latent vector arithmetic, seed 000's `z_0 + (z_8 - z_1)` (seed 001 Exercise 2d's
 * `z1 + z2 - z3`): decodes `base + (plus - minus)`, and the three terms for comparison.
 * @param base, plus, minus codes `[d]` (e.g. class means from `classMeans`)
 */
export function latentArithmetic(model: Autoencoder, base: Float32Array, plus: Float32Array, minus: Float32Array): ArithmeticResult {
  const d = prod(model.latentShape);
  for (const [name, v] of [['base', base], ['plus', plus], ['minus', minus]] as const) {
    if (!(v instanceof Float32Array) || v.length !== d) throw new ArgumentError(name, v, `a Float32Array code of ${d} values`);
  }
  const z = Float32Array.from(base, (v, j) => v + (plus[j] - minus[j]));
  const all = new Float32Array(4 * d);
  [base, plus, minus, z].forEach((v, i) => all.set(v, i * d));
  return { z, images: decodeCodes(model, tf.tidy(() => tf.tensor2d(all, [4, d]))) };
}

/**
 * The arithmetic as a labelled picture: the decoded `base`, `plus`, `minus` and the result,
 * captioned with `names` (e.g. `['0', '8', '1']` gives `0`, `+ 8`, `- 1`, `= 0 + 8 - 1`).
 * @returns PNG bytes
 */
export function arithmeticStrip(result: ArithmeticResult, names: [string, string, string] = ['base', 'plus', 'minus'], options: StripOptions = {}): Uint8Array {
  const [a, b, c] = names;
  return imageStrip([{ label: `${a} + (${b} - ${c})`, images: result.images }], { columnLabels: [a, `+ ${b}`, `- ${c}`, '='], ...options });
}

/** How to move between two codes. */
export type InterpolationMethod = 'linear' | 'slerp';

/** Options of `interpolate` and `interpolateCodes`. */
export interface InterpolationOptions {
  /** Points on the path, both ends included (default 10, the seed's `num_steps`); at least 2. */
  steps?: number;
  /**
   * `linear` (default): `z_t = (1 - t) z_a + t z_b`, seed 001 Exercise 3. `slerp`: along the
   * great circle between the directions of `z_a` and `z_b`, with the norm moving linearly
   * from `|z_a|` to `|z_b|` (so codes of equal norm keep it; the path never cuts through the
   * low-norm centre, where a VAE's prior has little mass in many dimensions).
   */
  method?: InterpolationMethod;
}

/** An interpolation path and its decoded images. */
export interface Interpolation {
  /** Positions along the path, `[steps]`, from 0 to 1. */
  t: number[];
  /** Codes on the path, `[steps, ...latentShape]`; the caller disposes them. */
  codes: tf.Tensor;
  /** Decoded codes, `[steps, ...inputShape]`; the caller disposes them. */
  images: tf.Tensor;
}

/**
 * Interpolates between two codes and decodes every step (seed 000's 0 -> 8 walk between
 * class means). Ends: `t = 0` is exactly `za` and `t = 1` exactly `zb`.
 * @param za, zb codes `[d]` (`Float32Array`) or tensors of `d` values
 */
export function interpolateCodes(model: Autoencoder, za: Float32Array | tf.Tensor, zb: Float32Array | tf.Tensor, options: InterpolationOptions = {}): Interpolation {
  const steps = checkInteger('steps', options.steps ?? 10, 2);
  const method = options.method ?? 'linear';
  if (method !== 'linear' && method !== 'slerp') throw new ArgumentError('method', method, 'linear or slerp');
  const d = prod(model.latentShape);
  const a = za instanceof tf.Tensor ? (za.dataSync() as Float32Array) : za;
  const b = zb instanceof tf.Tensor ? (zb.dataSync() as Float32Array) : zb;
  if (a.length !== d) throw new ArgumentError('za', a.length, `a code of ${d} values`);
  if (b.length !== d) throw new ArgumentError('zb', b.length, `a code of ${d} values`);
  const t = Array.from({ length: steps }, (_, i) => i / (steps - 1));
  const path = new Float32Array(steps * d);
  t.forEach((ti, i) => path.set(method === 'slerp' ? slerp(a, b, ti) : lerp(a, b, ti), i * d));
  const codes = tf.tensor(path, [steps, ...model.latentShape]);
  return { t, codes, images: decodeCodes(model, codes) };
}

/**
 * Interpolates between two examples (seed 001 Exercise 3): encodes both (inference mode),
 * then `interpolateCodes`. The first image is `xa`'s reconstruction, the last `xb`'s.
 * @param xa, xb one example each: `[...inputShape]` or `[1, ...inputShape]` (images `[28, 28, 1]` fit MLP models too)
 */
export function interpolate(model: Autoencoder, xa: tf.Tensor, xb: tf.Tensor, options: InterpolationOptions = {}): Interpolation {
  const per = prod(model.inputShape);
  const code = (x: tf.Tensor, name: string) => {
    if (x.size !== per) throw new ArgumentError(name, x, `one example of ${per} values (input [${model.inputShape}])`);
    return tf.tidy(() => model.encode(x.reshape([1, ...model.inputShape]), false).dataSync() as Float32Array);
  };
  return interpolateCodes(model, code(xa, 'xa'), code(xb, 'xb'), options);
}

function lerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  return Float32Array.from(a, (v, j) => (1 - t) * v + t * b[j]);
}

/** Great-circle interpolation of directions, linear in norm; linear when an end is 0 or the directions (anti)coincide. */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  if (t === 0) return Float32Array.from(a);
  if (t === 1) return Float32Array.from(b);
  let na = 0;
  let nb = 0;
  let dot = 0;
  for (let j = 0; j < a.length; j++) {
    na += a[j] * a[j];
    nb += b[j] * b[j];
    dot += a[j] * b[j];
  }
  na = Math.sqrt(na);
  nb = Math.sqrt(nb);
  if (na === 0 || nb === 0) return lerp(a, b, t);
  const cos = Math.max(-1, Math.min(1, dot / (na * nb)));
  const omega = Math.acos(cos);
  const so = Math.sin(omega);
  if (so < 1e-6) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / so / na;
  const wb = Math.sin(t * omega) / so / nb;
  const norm = (1 - t) * na + t * nb;
  return Float32Array.from(a, (v, j) => norm * (wa * v + wb * b[j]));
}

/**
 * Interpolations as a labelled picture: one row per interpolation (e.g. linear and slerp,
 * or AE and VAE), one column per step, captioned with `t`.
 * @returns PNG bytes
 */
export function interpolationStrip(rows: { label: string; interpolation: Interpolation }[], options: StripOptions = {}): Uint8Array {
  if (!Array.isArray(rows) || rows.length === 0) throw new ArgumentError('rows', rows, 'a non-empty list of { label, interpolation }');
  const t = rows[0].interpolation.t;
  return imageStrip(
    rows.map((r) => ({ label: r.label, images: r.interpolation.images })),
    { columnLabels: t.map((v) => `t=${Number(v.toFixed(2))}`), ...options },
  );
}

/** How evenly an interpolation changes the image. */
export interface InterpolationSmoothness {
  /** Mean absolute pixel change between consecutive steps, `[steps - 1]` (pixel units, images in [0, 1]). */
  stepDistances: number[];
  /** Mean of `stepDistances`. */
  meanStep: number;
  /** Largest of `stepDistances`. */
  maxStep: number;
  /** `maxStep / meanStep`: 1 when every step changes the image equally, large when one step jumps. */
  maxOverMean: number;
  /** Sum of `stepDistances`: the path's length in image space. */
  pathLength: number;
  /** Mean absolute pixel difference between the first and last images. */
  endpointDistance: number;
  /** `endpointDistance / pathLength` in (0, 1]: 1 for a path that never doubles back. */
  straightness: number;
}

/**
 * Smoothness of an interpolation for the study report: the mean absolute pixel distance
 * between consecutive decoded images, and how unevenly it is spread (max / mean).
 * @param images `[steps, ...]` decoded images (e.g. `Interpolation.images`), steps >= 2
 */
export function interpolationSmoothness(images: tf.Tensor): InterpolationSmoothness {
  const steps = images.shape[0];
  if (images.rank < 2 || steps < 2) throw new ArgumentError('images', images, 'a batch of at least 2 images [steps, ...]');
  const both = tf.tidy(() => {
    const x = images.reshape([steps, -1]);
    const dd = tf.abs(x.slice(1).sub(x.slice(0, steps - 1))).mean(1);
    const e = tf.abs(x.slice(steps - 1, 1).sub(x.slice(0, 1))).mean().reshape([1]);
    return tf.concat([dd, e]);
  });
  const values = Array.from(both.dataSync());
  both.dispose();
  const ends = values.pop()!;
  const stepDistances = values;
  const pathLength = stepDistances.reduce((s, v) => s + v, 0);
  const meanStep = pathLength / stepDistances.length;
  const maxStep = Math.max(...stepDistances);
  return {
    stepDistances,
    meanStep,
    maxStep,
    maxOverMean: meanStep > 0 ? maxStep / meanStep : 1,
    pathLength,
    endpointDistance: ends,
    straightness: pathLength > 0 ? ends / pathLength : 1,
  };
}

/** Step distances of several interpolations as one line chart (x: step, y: mean absolute pixel change). */
export function smoothnessChart(results: { name: string; smoothness: InterpolationSmoothness }[], options: { title?: string } = {}): ChartSpec {
  const rows = results.flatMap(({ name, smoothness }) => smoothness.stepDistances.map((v, i) => ({ step: i + 1, change: v, model: name })));
  return lineChart(rows, { x: 'step', y: 'change', color: 'model', points: true, title: options.title ?? 'Interpolation smoothness', xTitle: 'step (between images i-1 and i)', yTitle: 'mean |pixel change|' });
}

/**
 * Decodes `n` random latent codes (standard normal, seeded) with `model.sample`: the
 * seed's `sample_{epoch}.png`, and seed 001 Exercise 2c.
 * @returns `[n, ...inputShape]`; the caller disposes it
 */
export function randomSamples(model: Autoencoder, options: { n?: number; seed?: number } = {}): tf.Tensor {
  return model.sample(checkInteger('n', options.n ?? 64, 1), checkInteger('seed', options.seed ?? 1));
}

/** A rectangle of 2-D latent space: `[[xMin, xMax], [yMin, yMax]]`. */
export type LatentRange = [[number, number], [number, number]];

/** A grid of decoded 2-D codes. */
export interface LatentGrid {
  /** Points per side. */
  n: number;
  /** The rectangle covered. */
  range: LatentRange;
  /** Codes `[n * n * 2]`, row-major: row `r` (top to bottom) has `z2` falling from `yMax` to `yMin`, column `c` has `z1` rising. */
  points: Float32Array;
  /** Decoded codes `[n * n, ...inputShape]` in the same order (draw with `nrow: n`); the caller disposes them. */
  images: tf.Tensor;
}

/**
 * Decodes an `n x n` grid of points of a 2-D latent space (seed 000 Exercise 5: does every
 * region decode to a plausible digit? compare an AE with a VAE).
 * @param options.range the rectangle, or one `[lo, hi]` for both axes (default `[-3, 3]`,
 *   the bulk of a VAE's standard normal prior; for an AE pass `latentRange(codes)`)
 */
export function latentGrid(model: Autoencoder, options: { n?: number; range?: LatentRange | [number, number] } = {}): LatentGrid {
  if (prod(model.latentShape) !== 2) throw new ArgumentError('model', model.latentShape, 'a model with a 2-D latent code (latentDim: 2)');
  const n = checkInteger('n', options.n ?? 15, 2);
  const range = resolveRange(options.range ?? [-3, 3]);
  const [[x0, x1], [y0, y1]] = range;
  const points = new Float32Array(n * n * 2);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      points[2 * (r * n + c)] = x0 + ((x1 - x0) * c) / (n - 1);
      points[2 * (r * n + c) + 1] = y1 - ((y1 - y0) * r) / (n - 1);
    }
  }
  const images = decodeCodes(model, { codes: points, n: n * n, d: 2 });
  return { n, range, points, images };
}

/**
 * A latent grid as one picture, `n` images a row (row 0 = the largest z2), as the seed's
 * completeness figure. Pass `scale` etc. as for `imageGrid`.
 * @returns PNG bytes
 */
export function latentGridImage(grid: LatentGrid, options: { scale?: number; padding?: number } = {}): Buffer {
  return imagesPng(grid.images, { nrow: grid.n, ...options });
}

/**
 * The rectangle holding 2-D codes, between their `quantile` and `1 - quantile` on each
 * axis (default 0.01: outliers do not stretch it), widened by `margin` (default 0.05) of
 * its size on each side.
 */
export function latentRange(codes: Points, options: { quantile?: number; margin?: number } = {}): LatentRange {
  const p = toPointSet(codes, 'codes');
  if (p.d !== 2) throw new ArgumentError('codes', p.d, '2-D codes');
  const q = checkNumber('quantile', options.quantile ?? 0.01, 0, 0.5);
  const margin = checkNumber('margin', options.margin ?? 0.05, 0);
  const axis = (j: number): [number, number] => {
    const v = Float64Array.from({ length: p.n }, (_, i) => p.codes[i * 2 + j]).sort();
    const lo = v[Math.floor(q * (p.n - 1))];
    const hi = v[Math.ceil((1 - q) * (p.n - 1))];
    const pad = (hi - lo || 1) * margin;
    return [lo - pad, hi + pad];
  };
  return [axis(0), axis(1)];
}

/** How much of a latent rectangle the data's codes occupy. */
export interface LatentOccupancy {
  /** Cells per side. */
  n: number;
  range: LatentRange;
  /** Codes per cell `[n * n]`, in `latentGrid`'s order (row 0 at the top, highest z2). */
  counts: Int32Array;
  /** Share of cells holding at least one code: low values mean holes that decode to nothing the data has. */
  coverage: number;
  /** Codes inside the rectangle / all codes. */
  inside: number;
}

/**
 * Occupancy of an `n x n` partition of a 2-D latent rectangle by encoded data (seed 000
 * Exercise 5, completeness): a VAE's codes fill its prior's square far more evenly than a
 * plain AE's, whose empty cells decode to images no digit resembles.
 * @param codes 2-D codes of a dataset
 */
export function latentOccupancy(codes: Points, options: { n?: number; range?: LatentRange | [number, number] } = {}): LatentOccupancy {
  const p = toPointSet(codes, 'codes');
  if (p.d !== 2) throw new ArgumentError('codes', p.d, '2-D codes');
  const n = checkInteger('n', options.n ?? 15, 1);
  const range = resolveRange(options.range ?? [-3, 3]);
  const [[x0, x1], [y0, y1]] = range;
  const counts = new Int32Array(n * n);
  let inside = 0;
  for (let i = 0; i < p.n; i++) {
    const x = p.codes[2 * i];
    const y = p.codes[2 * i + 1];
    if (!(x >= x0 && x <= x1 && y >= y0 && y <= y1)) continue;
    const c = Math.min(n - 1, Math.floor(((x - x0) / (x1 - x0)) * n));
    const r = Math.min(n - 1, Math.floor(((y1 - y) / (y1 - y0)) * n));
    counts[r * n + c]++;
    inside++;
  }
  let filled = 0;
  for (const c of counts) if (c > 0) filled++;
  return { n, range, counts, coverage: filled / (n * n), inside: inside / p.n };
}

/** The occupancy as a heatmap (cells labelled by their centre's z1 and z2). */
export function occupancyChart(occ: LatentOccupancy, options: { title?: string } = {}): ChartSpec {
  const [[x0, x1], [y0, y1]] = occ.range;
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < occ.n; r++) {
    for (let c = 0; c < occ.n; c++) {
      rows.push({ z1: Number((x0 + ((c + 0.5) * (x1 - x0)) / occ.n).toFixed(2)), z2: Number((y1 - ((r + 0.5) * (y1 - y0)) / occ.n).toFixed(2)), codes: occ.counts[r * occ.n + c] });
    }
  }
  return heatmapChart(rows, { x: 'z1', y: 'z2', value: 'codes', title: options.title ?? `Latent occupancy (${(100 * occ.coverage).toFixed(0)}% of cells used)` });
}

function resolveRange(range: LatentRange | [number, number]): LatentRange {
  const pair = (v: unknown, name: string): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || !(v[0] < v[1])) {
      throw new ArgumentError(name, v, '[lo, hi] with lo < hi');
    }
    return [v[0], v[1]];
  };
  if (Array.isArray(range) && typeof range[0] === 'number') {
    const p = pair(range, 'range');
    return [p, [...p]];
  }
  return [pair((range as LatentRange)[0], 'range[0]'), pair((range as LatentRange)[1], 'range[1]')];
}
