/**
 * Trustworthiness of an embedding (Venna & Kaski 2001; scikit-learn's
 * `sklearn.manifold.trustworthiness`, Euclidean): how far the embedding's nearest
 * neighbours are from being nearest neighbours in the original space.
 *
 * Also the point-matrix plumbing that `tsne` shares: reading points from arrays, flat typed
 * arrays or tensors, blocked squared distances and k-nearest-neighbour selection.
 */
import type * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';

/** A dense row-major matrix: `n` rows (points) of `dims` numbers, `data.length === n * dims`. */
export interface PointMatrix {
  data: Float32Array | Float64Array | readonly number[];
  n: number;
  dims: number;
}

/**
 * Points, one per row, in any of the forms the analyses take:
 * - `number[][]`: `n` rows of equal length;
 * - a `tf.Tensor2D` `[n, dims]` (read with `dataSync`; not disposed);
 * - a `PointMatrix` `{ data, n, dims }`, or a t-SNE result `{ embedding, n, dims }`;
 * - the analyses' `PointSet` `{ codes, n, d }`, e.g. `encodeDataset`'s codes or `pcaTransform`'s result;
 * - a bare `Float32Array` / `Float64Array`, row-major, when the row length is known from
 *   elsewhere (see the function taking it).
 */
export type PointsInput =
  | readonly (readonly number[])[]
  | tf.Tensor2D
  | PointMatrix
  | { embedding: Float32Array | Float64Array; n: number; dims: number }
  | { codes: Float32Array; n: number; d: number }
  | Float32Array
  | Float64Array;

/** Points read into float64, row-major `[n * dims]`. */
export interface Points {
  data: Float64Array;
  n: number;
  dims: number;
}

/**
 * Trustworthiness of `low` (an embedding) with respect to `high` (the original points), as
 * scikit-learn defines it with the Euclidean metric:
 *
 *   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_k(i)} max(0, r(i, j) - k)
 *
 * where `U_k(i)` are the `k` nearest neighbours of point `i` in `low` and `r(i, j)` the rank
 * (1 = nearest, the point itself excluded) of `j` among `i`'s neighbours in `high`. 1 means
 * every embedding neighbourhood is a true neighbourhood. Equal distances are ranked by point
 * index (scikit-learn leaves ties to its sort order; they change nothing on real data).
 *
 * Cost: `n^2 * dims` for the original distances, computed in blocks of rows (memory
 * `O(64 n)`), plus `n^2 * k` for the ranks: about a second for 5,000 points of 20 dims.
 *
 * @param high original points, `n` rows (a bare flat array takes its row length from `n` of `low`)
 * @param low embedded points, the same `n` rows (a bare flat array, e.g. `tsne(...).embedding`,
 *   takes its row length from `n` of `high`)
 * @param k neighbourhood size, an integer in [1, n / 2) (default 10; scikit-learn's default is 5)
 * @returns T(k) in [0, 1] (it can dip slightly below 0 only for adversarial embeddings)
 * @throws ArgumentError for mismatched or non-finite points, or a bad `k`
 */
export function trustworthiness(high: PointsInput, low: PointsInput, k = 10): number {
  const highIsFlat = isFlatArray(high);
  const lowIsFlat = isFlatArray(low);
  if (highIsFlat && lowIsFlat) {
    throw new ArgumentError(
      'high',
      'a bare flat array (and low is one too)',
      'a number[][], tensor or { data, n, dims } when low is a bare flat array (the row count must come from one of them)',
    );
  }
  let X: Points;
  let Y: Points;
  if (highIsFlat) {
    Y = readPoints('low', low);
    X = readPoints('high', high, { n: Y.n });
  } else {
    X = readPoints('high', high);
    Y = readPoints('low', low, { n: X.n });
  }
  const n = X.n;
  if (Y.n !== n) throw new ArgumentError('low', `${Y.n} points`, `the same number of points as high (${n})`);
  checkInteger('k', k, 1);
  if (k >= n / 2) throw new ArgumentError('k', k, `an integer below n / 2 = ${n / 2} (n = ${n} points)`);

  const ld = Y.dims;
  const block = Math.max(1, Math.min(64, n));
  const dist = new Float64Array(block * n);
  const norms = rowNorms(X);
  const lowRow = new Float64Array(n);
  const nbr = new Int32Array(k);
  const nbrDist = new Float64Array(k);
  const heap = new KSmallest(k);
  const thresholds = new Float64Array(k);
  const thresholdIdx = new Int32Array(k);
  const counts = new Int32Array(k);
  let penalty = 0;
  for (let r0 = 0; r0 < n; r0 += block) {
    const r1 = Math.min(n, r0 + block);
    squaredDistanceBlock(X, norms, r0, r1, dist);
    for (let i = r0; i < r1; i++) {
      // The k nearest neighbours of i in the embedding (itself excluded, ties by index).
      const yi = i * ld;
      for (let j = 0; j < n; j++) {
        let s = 0;
        const yj = j * ld;
        for (let f = 0; f < ld; f++) {
          const t = Y.data[yi + f] - Y.data[yj + f];
          s += t * t;
        }
        lowRow[j] = s;
      }
      heap.reset();
      for (let j = 0; j < n; j++) if (j !== i) heap.push(lowRow[j], j);
      heap.drain(nbrDist, nbr);
      // Their ranks among i's neighbours in the original space: 1 + the points closer to i.
      const off = (i - r0) * n;
      for (let t = 0; t < k; t++) {
        thresholds[t] = dist[off + nbr[t]];
        thresholdIdx[t] = nbr[t];
        counts[t] = 0;
      }
      for (let l = 0; l < n; l++) {
        if (l === i) continue;
        const v = dist[off + l];
        for (let t = 0; t < k; t++) {
          const th = thresholds[t];
          if (v < th || (v === th && l < thresholdIdx[t])) counts[t]++;
        }
      }
      for (let t = 0; t < k; t++) {
        const rank = counts[t] + 1;
        if (rank > k) penalty += rank - k;
      }
    }
  }
  return 1 - (penalty * 2) / (n * k * (2 * n - 3 * k - 1));
}

// ---------------------------------------------------------------------------------------
// Point matrices, shared with tsne.

function isFlatArray(x: unknown): x is Float32Array | Float64Array {
  return x instanceof Float32Array || x instanceof Float64Array;
}

function isTensor(x: unknown): x is tf.Tensor {
  return (
    typeof x === 'object' &&
    x !== null &&
    'shape' in x &&
    'dtype' in x &&
    typeof (x as { dataSync?: unknown }).dataSync === 'function'
  );
}

/**
 * Reads points into a float64 row-major matrix, checking shape and finiteness.
 *
 * @param argument the argument's name, for error messages
 * @param input the points (see `PointsInput`)
 * @param shape for a bare flat array: its row length `dims`, or the row count `n` to infer it from
 * @returns `{ data: Float64Array [n * dims], n, dims }` (always a fresh copy)
 * @throws ArgumentError naming `argument` for a ragged, empty or non-finite input, or a flat
 *   array whose row length is unknown or does not divide its length
 */
export function readPoints(argument: string, input: PointsInput, shape: { dims?: number; n?: number } = {}): Points {
  if (Array.isArray(input)) {
    const rows = input as readonly (readonly number[])[];
    const n = rows.length;
    if (n === 0) throw new ArgumentError(argument, input, 'a non-empty array of rows');
    const first = rows[0];
    if (!Array.isArray(first) || first.length === 0) {
      throw new ArgumentError(argument, input, 'an array of non-empty number arrays (one row per point)');
    }
    const dims = first.length;
    const data = new Float64Array(n * dims);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (!Array.isArray(row) || row.length !== dims) {
        throw new ArgumentError(argument, `row ${i} of length ${Array.isArray(row) ? row.length : typeof row}`, `rows of equal length ${dims}`);
      }
      for (let f = 0; f < dims; f++) data[i * dims + f] = row[f];
    }
    return checkFinite(argument, { data, n, dims });
  }
  if (isTensor(input)) {
    if (input.shape.length !== 2 || input.shape[0] === 0 || input.shape[1] === 0) {
      throw new ArgumentError(argument, input, 'a non-empty 2-D tensor [n, dims]');
    }
    const [n, dims] = input.shape;
    return checkFinite(argument, { data: Float64Array.from(input.dataSync() as ArrayLike<number>), n, dims });
  }
  if (isFlatArray(input)) {
    let dims = shape.dims;
    if (dims === undefined && shape.n !== undefined && shape.n > 0) dims = input.length / shape.n;
    if (dims === undefined) {
      throw new ArgumentError(argument, `a flat ${input.constructor.name} of length ${input.length}`, 'given with its row length (or as number[][], a tensor or { data, n, dims })');
    }
    if (!Number.isInteger(dims) || dims < 1 || input.length === 0 || input.length % dims !== 0) {
      throw new ArgumentError(
        argument,
        `a flat array of length ${input.length}`,
        shape.dims !== undefined
          ? `a length that is a positive multiple of its row length ${shape.dims}`
          : `a length that is a positive multiple of the point count ${shape.n}`,
      );
    }
    return checkFinite(argument, { data: Float64Array.from(input), n: input.length / dims, dims });
  }
  if (typeof input === 'object' && input !== null && ('data' in input || 'embedding' in input || 'codes' in input)) {
    const m = input as { data?: ArrayLike<number>; embedding?: ArrayLike<number>; codes?: ArrayLike<number>; n: unknown; dims?: unknown; d?: unknown };
    const values = m.data ?? m.embedding ?? m.codes;
    const n = m.n;
    const dims = 'codes' in input ? m.d : m.dims;
    if (
      !values ||
      typeof values.length !== 'number' ||
      typeof n !== 'number' ||
      typeof dims !== 'number' ||
      !Number.isInteger(n) ||
      !Number.isInteger(dims) ||
      n < 1 ||
      dims < 1 ||
      values.length !== n * dims
    ) {
      throw new ArgumentError(argument, input, 'a { data, n, dims } matrix with data.length === n * dims, n >= 1, dims >= 1 (or a point set { codes, n, d })');
    }
    return checkFinite(argument, { data: Float64Array.from(values), n, dims });
  }
  throw new ArgumentError(argument, input, 'points: number[][], a 2-D tensor, { data, n, dims }, { codes, n, d } or a flat Float32Array');
}

function checkFinite(argument: string, p: Points): Points {
  const { data, dims } = p;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new ArgumentError(
        argument,
        `${data[i]} at row ${Math.floor(i / dims)}, column ${i % dims}`,
        'finite numbers',
      );
    }
  }
  return p;
}

/** Squared Euclidean norm of every row, `[n]`. */
export function rowNorms(X: Points): Float64Array {
  const { data, n, dims } = X;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let f = i * dims, e = f + dims; f < e; f++) s += data[f] * data[f];
    out[i] = s;
  }
  return out;
}

/** Above this many dimensions distances come from dot products (`|a|^2 + |b|^2 - 2 a.b`). */
const DOT_PRODUCT_DIMS = 48;

/**
 * Squared Euclidean distances from rows `r0..r1-1` of `X` to every row:
 * `out[(i - r0) * n + j] = |x_i - x_j|^2`, exactly 0 on the diagonal (see `squaredDistanceTile`).
 *
 * @param norms `rowNorms(X)`
 * @param out at least `(r1 - r0) * n` long
 */
export function squaredDistanceBlock(X: Points, norms: Float64Array, r0: number, r1: number, out: Float64Array): void {
  squaredDistanceTile(X, norms, r0, r1, 0, X.n, out);
  for (let i = r0; i < r1; i++) out[(i - r0) * X.n + i] = 0;
}

/**
 * Squared Euclidean distances between rows `r0..r1-1` and rows `c0..c1-1` of `X`:
 * `out[(i - r0) * (c1 - c0) + (j - c0)] = |x_i - x_j|^2`, two rows by two columns at a time.
 * Up to 48 dimensions from differences (exact to rounding); above, from dot products
 * (`|x_i|^2 + |x_j|^2 - 2 x_i.x_j`, clamped at 0; the diagonal is then only near 0).
 *
 * @param norms `rowNorms(X)` (used above 48 dimensions)
 * @param out at least `(r1 - r0) * (c1 - c0)` long
 */
export function squaredDistanceTile(
  X: Points,
  norms: Float64Array,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  out: Float64Array,
): void {
  const { data, dims } = X;
  const w = c1 - c0;
  const dot = dims > DOT_PRODUCT_DIMS;
  const rEven = r0 + ((r1 - r0) & ~1);
  const cEven = c0 + ((c1 - c0) & ~1);
  for (let i = r0; i < rEven; i += 2) {
    const o = (i - r0) * w - c0;
    if (dot) dotRows2(data, dims, norms, i, c0, cEven, out, o, w);
    else diffRows2(data, dims, i, c0, cEven, out, o, w);
    for (let j = cEven; j < c1; j++) {
      out[o + j] = distance(data, dims, norms, dot, i, j);
      out[o + w + j] = distance(data, dims, norms, dot, i + 1, j);
    }
  }
  if (rEven < r1) {
    const o = (rEven - r0) * w - c0;
    for (let j = c0; j < c1; j++) out[o + j] = distance(data, dims, norms, dot, rEven, j);
  }
}

/** Rows i and i + 1 against columns c0..c1-1 (an even count), from differences. */
function diffRows2(data: Float64Array, dims: number, i: number, c0: number, c1: number, out: Float64Array, o: number, w: number): void {
  const a0 = i * dims;
  const a1 = a0 + dims;
  for (let j = c0; j < c1; j += 2) {
    const b0 = j * dims;
    const b1 = b0 + dims;
    let s00 = 0;
    let s01 = 0;
    let s10 = 0;
    let s11 = 0;
    for (let f = 0; f < dims; f++) {
      const x0 = data[a0 + f];
      const x1 = data[a1 + f];
      const y0 = data[b0 + f];
      const y1 = data[b1 + f];
      const t00 = x0 - y0;
      const t01 = x0 - y1;
      const t10 = x1 - y0;
      const t11 = x1 - y1;
      s00 += t00 * t00;
      s01 += t01 * t01;
      s10 += t10 * t10;
      s11 += t11 * t11;
    }
    out[o + j] = s00;
    out[o + j + 1] = s01;
    out[o + w + j] = s10;
    out[o + w + j + 1] = s11;
  }
}

/** Rows i and i + 1 against columns c0..c1-1 (an even count), from dot products. */
function dotRows2(
  data: Float64Array,
  dims: number,
  norms: Float64Array,
  i: number,
  c0: number,
  c1: number,
  out: Float64Array,
  o: number,
  w: number,
): void {
  const a0 = i * dims;
  const a1 = a0 + dims;
  const n0 = norms[i];
  const n1 = norms[i + 1];
  for (let j = c0; j < c1; j += 2) {
    const b0 = j * dims;
    const b1 = b0 + dims;
    let s00 = 0;
    let s01 = 0;
    let s10 = 0;
    let s11 = 0;
    for (let f = 0; f < dims; f++) {
      const x0 = data[a0 + f];
      const x1 = data[a1 + f];
      const y0 = data[b0 + f];
      const y1 = data[b1 + f];
      s00 += x0 * y0;
      s01 += x0 * y1;
      s10 += x1 * y0;
      s11 += x1 * y1;
    }
    const m0 = norms[j];
    const m1 = norms[j + 1];
    out[o + j] = Math.max(0, n0 + m0 - 2 * s00);
    out[o + j + 1] = Math.max(0, n0 + m1 - 2 * s01);
    out[o + w + j] = Math.max(0, n1 + m0 - 2 * s10);
    out[o + w + j + 1] = Math.max(0, n1 + m1 - 2 * s11);
  }
}

/** One squared distance, as the tile kernels compute it. */
function distance(data: Float64Array, dims: number, norms: Float64Array, dot: boolean, i: number, j: number): number {
  const a = i * dims;
  const b = j * dims;
  let s = 0;
  if (dot) {
    for (let f = 0; f < dims; f++) s += data[a + f] * data[b + f];
    return Math.max(0, norms[i] + norms[j] - 2 * s);
  }
  for (let f = 0; f < dims; f++) {
    const t = data[a + f] - data[b + f];
    s += t * t;
  }
  return s;
}

/**
 * The `k` smallest (value, index) pairs pushed into it, ordered by value then index: a
 * bounded max-heap. `drain` writes them in ascending order and empties it.
 */
class KSmallest {
  private readonly vals: Float64Array;
  private readonly idx: Int32Array;
  private size = 0;

  constructor(readonly k: number) {
    this.vals = new Float64Array(k);
    this.idx = new Int32Array(k);
  }

  /** Empties the heap. */
  reset(): void {
    this.size = 0;
  }

  /** Offers a pair; kept if it is among the k smallest so far. */
  push(v: number, id: number): void {
    const vals = this.vals;
    const idx = this.idx;
    if (this.size < this.k) {
      // Sift up.
      let c = this.size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (vals[p] > v || (vals[p] === v && idx[p] > id)) break;
        vals[c] = vals[p];
        idx[c] = idx[p];
        c = p;
      }
      vals[c] = v;
      idx[c] = id;
      return;
    }
    if (v > vals[0] || (v === vals[0] && id > idx[0])) return;
    this.siftDown(v, id, this.size);
  }

  private siftDown(v: number, id: number, size: number): void {
    const vals = this.vals;
    const idx = this.idx;
    let c = 0;
    for (;;) {
      let m = 2 * c + 1;
      if (m >= size) break;
      const r = m + 1;
      if (r < size && (vals[r] > vals[m] || (vals[r] === vals[m] && idx[r] > idx[m]))) m = r;
      if (vals[m] < v || (vals[m] === v && idx[m] < id)) break;
      vals[c] = vals[m];
      idx[c] = idx[m];
      c = m;
    }
    vals[c] = v;
    idx[c] = id;
  }

  /** Writes the kept pairs in ascending order into `outVals`/`outIdx` (from `offset`) and empties the heap. */
  drain(outVals: Float64Array, outIdx: Int32Array, offset = 0): number {
    const count = this.size;
    for (let s = count - 1; s >= 0; s--) {
      outVals[offset + s] = this.vals[0];
      outIdx[offset + s] = this.idx[0];
      const lastV = this.vals[s];
      const lastI = this.idx[s];
      this.siftDown(lastV, lastI, s);
    }
    this.size = 0;
    return count;
  }
}
