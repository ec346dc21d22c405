/**
 * Pairwise Euclidean distances on the backend (one matrix product per block of rows), and
 * the host-side statistics of seed 000's `analyze_latent_geometry`: Pearson correlation of
 * distances and k-nearest-neighbour sets.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { PointSet, Points, toPointSet } from './common';

/** Rows of the distance matrix computed per backend call (bounds the memory of one block). */
const BLOCK_ROWS = 1024;

/**
 * Euclidean distances between every point of `a` and every point of `b` (scipy's `cdist`),
 * computed as `sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))` with one matrix product per block of
 * rows, after centring both sets on the mean of `a` (distances do not change; float32
 * cancellation does). Without `b`, the distances within `a`, with an exact 0 diagonal.
 * @param a `n` points of `d` values
 * @param b `m` points of the same `d` values (default: `a`)
 * @returns row-major `[n * m]`: `distances[i * m + j] = |a_i - b_j|` (same units as the points)
 */
export function pairwiseDistances(a: Points, b?: Points): Float32Array {
  const pa = toPointSet(a, 'a');
  const pb = b === undefined ? pa : toPointSet(b, 'b');
  if (pb.d !== pa.d) throw new ArgumentError('b', b, `points of ${pa.d} values each (as a)`);
  const { n, d } = pa;
  const m = pb.n;
  const out = new Float32Array(n * m);
  const mean = columnMeans(pa);
  tf.tidy(() => {
    const mu = tf.tensor2d(mean, [1, d]);
    const B = tf.tensor2d(pb.codes, [m, d]).sub(mu);
    const bt = B.transpose();
    const sqB = B.square().sum(1).reshape([1, m]);
    for (let start = 0; start < n; start += BLOCK_ROWS) {
      const rows = Math.min(BLOCK_ROWS, n - start);
      const block = tf.tidy(() => {
        const A = tf.tensor2d(pa.codes.subarray(start * d, (start + rows) * d), [rows, d]).sub(mu);
        const sqA = A.square().sum(1).reshape([rows, 1]);
        return tf.relu(sqA.add(sqB).sub(tf.matMul(A, bt).mul(2))).sqrt();
      });
      out.set(block.dataSync() as Float32Array, start * m);
      block.dispose();
    }
  });
  if (b === undefined) for (let i = 0; i < n; i++) out[i * n + i] = 0;
  return out;
}

/** Mean of each column of a point set (float64 sums), as float32. */
export function columnMeans(p: PointSet): Float32Array {
  const acc = new Float64Array(p.d);
  for (let i = 0; i < p.n; i++) {
    const row = i * p.d;
    for (let j = 0; j < p.d; j++) acc[j] += p.codes[row + j];
  }
  return Float32Array.from(acc, (s) => s / p.n);
}

/**
 * Pearson correlation of two equally long series (float64 sums); NaN when either is constant.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (y.length !== n) throw new ArgumentError('y', y, `a series as long as x (${n})`);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let cxy = 0;
  let cxx = 0;
  let cyy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    cxy += dx * dy;
    cxx += dx * dx;
    cyy += dy * dy;
  }
  return cxy / Math.sqrt(cxx * cyy);
}

/**
 * Pearson correlation of the upper triangles (pairs i < j) of two `n x n` distance
 * matrices: seed 000's distance correlation, `np.corrcoef(d_orig[triu], d_lat[triu])[0, 1]`.
 */
export function upperTriangleCorrelation(dx: Float32Array, dz: Float32Array, n: number): number {
  if (dx.length !== n * n || dz.length !== n * n) throw new ArgumentError('distances', dx.length, `two ${n} x ${n} matrices`);
  const pairs = (n * (n - 1)) / 2;
  const a = new Float64Array(pairs);
  const b = new Float64Array(pairs);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++, k++) {
      a[k] = dx[i * n + j];
      b[k] = dz[i * n + j];
    }
  }
  return pearson(a, b);
}

/**
 * Indices of the `count` smallest values of `row[offset .. offset + length)` (positions
 * relative to `offset`), nearest first; ties go to the lower index, so the result is
 * deterministic (as a stable `np.argsort(row)[:count]`).
 */
export function smallestIndices(row: Float32Array, count: number, offset = 0, length = row.length - offset): Int32Array {
  checkInteger('count', count, 0, length);
  const idx = new Int32Array(count);
  const val = new Float64Array(count);
  let filled = 0;
  for (let j = 0; j < length; j++) {
    const v = row[offset + j];
    if (filled === count && !(v < val[count - 1])) continue;
    let p = filled < count ? filled++ : count - 1;
    while (p > 0 && v < val[p - 1]) {
      val[p] = val[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    val[p] = v;
    idx[p] = j;
  }
  return idx;
}

/**
 * Seed 000's neighbourhood preservation: for each query point `i`, the share of its `k + 1`
 * nearest points in the input distances (itself included, as `argsort(d[i])[:k+1]`) that
 * are also among its `k + 1` nearest in the latent distances; averaged over the queries.
 * @param dx `n x n` input distances; `dz` the latent ones
 * @param queries rows to score (the seed scores the first 100)
 * @returns the mean share in [0, 1] (1 = every neighbourhood kept) and each query's share
 */
export function neighbourhoodOverlap(dx: Float32Array, dz: Float32Array, n: number, k: number, queries: ArrayLike<number>): { mean: number; perQuery: Float64Array } {
  checkInteger('k', k, 1, n - 1);
  const perQuery = new Float64Array(queries.length);
  const seen = new Uint8Array(n);
  let total = 0;
  for (let q = 0; q < queries.length; q++) {
    const i = queries[q];
    const nx = smallestIndices(dx, k + 1, i * n, n);
    const nz = smallestIndices(dz, k + 1, i * n, n);
    for (const j of nx) seen[j] = 1;
    let common = 0;
    for (const j of nz) common += seen[j];
    for (const j of nx) seen[j] = 0;
    perQuery[q] = common / (k + 1);
    total += perQuery[q];
  }
  return { mean: total / queries.length, perQuery };
}

/**
 * Expected neighbourhood preservation of a latent space unrelated to the input, among `n`
 * points: each point is its own nearest neighbour in both spaces, and `k` of the other
 * `n - 1` points drawn at random share `k * k / (n - 1)` on average, so
 * `(1 + k^2 / (n - 1)) / (k + 1)` (0.109 for the seed's k = 10 among 500 points).
 */
export function neighbourhoodChance(n: number, k: number): number {
  return (1 + (k * k) / (n - 1)) / (k + 1);
}
