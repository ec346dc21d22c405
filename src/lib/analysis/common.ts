/**
 * Shared plumbing of the analyses: point sets (codes or inputs as host matrices), image
 * batches in a drawable layout, PNG grids, and the colour map of feature-map pictures.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Rng } from '../random';
import { GridOptions, encodePng, imageGrid } from '../viz/image';

/** `n` points of `d` values each, row-major on the host: `codes[i * d + j]`. */
export interface PointSet {
  /** `[n * d]` row-major values. */
  codes: Float32Array;
  /** Number of points (rows). */
  n: number;
  /** Values per point (columns). */
  d: number;
}

/** Points as a tensor `[n, ...]` (each example flattened to one row) or a host `PointSet`. */
export type Points = tf.Tensor | PointSet;

/**
 * Points as a host `PointSet`; a tensor `[n, ...]` is read (one sync) and each example
 * flattened, e.g. `[n, 28, 28, 1]` -> `n x 784`.
 */
export function toPointSet(p: Points, argument = 'points'): PointSet {
  if (p instanceof tf.Tensor) {
    if (p.rank < 1 || p.shape[0] < 1) throw new ArgumentError(argument, p, 'a tensor [n, ...] with n >= 1');
    const n = p.shape[0];
    const codes = p.dtype === 'float32' ? (p.dataSync() as Float32Array) : Float32Array.from(p.dataSync());
    return { codes, n, d: p.size / n };
  }
  if (!p || !(p.codes instanceof Float32Array) || !Number.isInteger(p.n) || !Number.isInteger(p.d) || p.n < 1 || p.d < 1 || p.codes.length !== p.n * p.d) {
    throw new ArgumentError(argument, p, 'a tensor [n, ...] or { codes: Float32Array [n * d], n, d } with n, d >= 1');
  }
  return p;
}

/** The rows `indices` of a point set, as a new point set. */
export function selectPoints(p: PointSet, indices: ArrayLike<number>): PointSet {
  const out = new Float32Array(indices.length * p.d);
  for (let r = 0; r < indices.length; r++) out.set(p.codes.subarray(indices[r] * p.d, (indices[r] + 1) * p.d), r * p.d);
  return { codes: out, n: indices.length, d: p.d };
}

/** `k` distinct indices in [0, n), drawn with `seed`, in increasing order (all of them when k >= n). */
export function sampleIndices(n: number, k: number, seed: number): Int32Array {
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  return new Rng(seed).permutation(n).subarray(0, k).sort();
}

/**
 * An image batch in the NHWC layout image grids draw: `[n, h, w, c]` is kept, `[n, h, w]`
 * gets a channel, a flat `[n, side * side]` becomes `[n, side, side, 1]`. Returns a new
 * tensor (or the same one when the layout already fits); throws when the examples are not
 * images.
 */
export function toImageBatch(t: tf.Tensor, argument = 'images'): tf.Tensor4D {
  const s = t.shape;
  if (s.length === 4 && (s[3] === 1 || s[3] === 3)) return t as tf.Tensor4D;
  if (s.length === 3) return t.reshape([s[0], s[1], s[2], 1]);
  if (s.length === 2) {
    const side = Math.round(Math.sqrt(s[1]));
    if (side * side === s[1]) return t.reshape([s[0], side, side, 1]);
  }
  throw new ArgumentError(argument, t, 'images [n, h, w, 1|3], [n, h, w] or [n, side*side]');
}

/** True when examples of this shape (one example, no batch axis) can be drawn as images. */
export function isImageShape(shape: readonly number[]): boolean {
  if (shape.length === 3) return shape[2] === 1 || shape[2] === 3;
  if (shape.length === 2) return true;
  if (shape.length === 1) return Number.isInteger(Math.sqrt(shape[0]));
  return false;
}

/**
 * A batch of images as one PNG grid (torchvision's `save_image` layout).
 * @param images any layout `toImageBatch` accepts, values in [0, 1]
 * @returns PNG bytes
 */
export function imagesPng(images: tf.Tensor, options: GridOptions = {}): Buffer {
  return tf.tidy(() => encodePng(imageGrid(toImageBatch(images), options)));
}

/**
 * Viridis (matplotlib's default colour map, which the seeds' feature-map figures use) of
 * values in [0, 1], as RGB in [0, 1]: a polynomial fit, within 1/255 of the table.
 */
export function viridis(t: number): [number, number, number] {
  const x = t <= 0 ? 0 : t >= 1 ? 1 : t;
  const c = VIRIDIS;
  const out: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    let v = c[6][k];
    for (let p = 5; p >= 0; p--) v = c[p][k] + x * v;
    out[k] = v <= 0 ? 0 : v >= 1 ? 1 : v;
  }
  return out;
}

const VIRIDIS = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055662738243],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

/**
 * Maps each image of `[n, h, w, 1]` (any range) to viridis colours `[n, h, w, 3]` in [0, 1],
 * each image scaled to its own minimum and maximum (a constant image is drawn at the
 * bottom colour), as matplotlib's `imshow` does per axis.
 */
export function colorize(maps: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w] = maps.shape;
  const src = maps.dataSync();
  const out = new Float32Array(n * h * w * 3);
  const per = h * w;
  for (let i = 0; i < n; i++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < per; p++) {
      const v = src[i * per + p];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    for (let p = 0; p < per; p++) {
      const [r, g, b] = viridis(span > 0 ? (src[i * per + p] - lo) / span : 0);
      const o = (i * per + p) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return tf.tensor4d(out, [n, h, w, 3]);
}

/** Checks a batch size option (default `fallback`) and caps it at the data size. */
export function resolveBatchSize(batchSize: number | undefined, n: number, fallback = 256): number {
  return Math.min(checkInteger('batchSize', batchSize ?? fallback, 1), Math.max(n, 1));
}

/** Mean and population standard deviation (NumPy's `np.std`, ddof 0) of some numbers. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(v / n) };
}

/** PSNR in dB of a mean squared error for data in [0, 1]: `10 * log10(1 / mse)` (Infinity at 0). */
export function psnrOf(mse: number): number {
  return 10 * Math.log10(1 / mse);
}
