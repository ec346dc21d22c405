/**
 * Clustering in latent space versus pixel space (seed 000 `evaluate_clustering`): k-means
 * with several seeded restarts (`ml-kmeans`, best inertia kept), the silhouette
 * coefficient (written here, blocked and vectorised), and, as extras, agreement with the
 * true labels by the adjusted Rand index and normalised mutual information (sklearn's
 * definitions), the cluster-by-class confusion table, and the k-nearest-neighbour label
 * agreement of a space (how often a point's nearest neighbours share its label).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArgumentError, checkInteger } from '../errors';
import { Rng, mixSeed } from '../random';
import { Dataset, datasetSize, hostData, labelsOf, takeRows, disposeDataset } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import { ChartSpec, barChart, heatmapChart } from '../viz/charts';
import { pairwiseDistances, smallestIndices } from '../analysis/distances';
import { encodeAll } from './compression';

/**
 * Points to cluster: a tensor `[n, ...]` (each example flattened to one row), rows as
 * arrays, a flat row-major buffer with its row count, or a point set `{ codes, n, d }`
 * (what `analysis.encodeDataset` and `analysis.pcaTransform` return).
 */
export type Points = tf.Tensor | number[][] | { data: Float32Array | Float64Array; rows: number } | { codes: Float32Array; n: number; d: number };

/** Cluster or class labels, one integer per point (any integers; only equality matters). */
export type Labels = ArrayLike<number> | tf.Tensor;

/** A flat row-major matrix on the host. */
interface Matrix {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

// ---------------------------------------------------------------------------------------
// k-means

/** Options of `kmeansBest`. */
export interface KMeansOptions {
  /** Independent k-means++ runs; the one with the lowest inertia is kept (default 10, sklearn's `n_init`). */
  restarts?: number;
  /** Seed of the first run; run r uses a seed mixed from it and r (default 42, the seed's `random_state`). */
  seed?: number;
  /** Iterations per run (default 300, as sklearn). */
  maxIterations?: number;
  /** Stop a run when no centre moves by more than this squared distance (default 1e-6). */
  tolerance?: number;
  /**
   * Who runs Lloyd's iterations from the k-means++ start: `ml-kmeans` (float64, one distance
   * call per point and centre), `tfjs` (float32 matrix products on the backend, one sync per
   * iteration: many times faster on wide data such as pixels), or `auto` (default):
   * `ml-kmeans` while `n * d * k <= 2e5`, else `tfjs`. Both follow the same algorithm from the
   * same start and stop on the same criterion; the labels are the nearest final centroid
   * (found in float64 on the host for `ml-kmeans`, in float32 on the backend for `tfjs`) and the
   * inertia is always summed on the host in float64.
   */
  engine?: 'auto' | 'ml-kmeans' | 'tfjs';
}

/** What `kmeansBest` returns. */
export interface KMeansFit {
  /** Cluster of each point `[n]`, 0..k-1: the nearest final centroid. */
  labels: Int32Array;
  /** Final centroids, `k` rows of `cols` numbers. */
  centroids: number[][];
  /** Sum of squared distances of the points to their centroid (the run's objective, in squared input units). */
  inertia: number;
  /** Inertia of every run, in run order. */
  inertias: number[];
  /** Index of the kept run. */
  bestRun: number;
  /** Iterations the kept run took. */
  iterations: number;
  /** The engine that ran the iterations. */
  engine: 'ml-kmeans' | 'tfjs';
}

const importKmeans = () => import('ml-kmeans');

/**
 * k-means restarted `restarts` times from seeded greedy k-means++ starts (sklearn's:
 * `2 + floor(ln k)` candidates per new centre, the one that lowers the potential most is
 * kept), Lloyd's iterations by `ml-kmeans` or on the tfjs backend (see `engine`); keeps the
 * run of lowest inertia, as sklearn's `KMeans(n_init=...)`. The seeding is done here
 * rather than by `ml-kmeans`, whose own k-means++ takes seconds per run on wide data.
 * @param points `[n, d]` (tensors of any rank are flattened per example)
 * @param k clusters, 1..n
 */
export async function kmeansBest(points: Points, k: number, options: KMeansOptions = {}): Promise<KMeansFit> {
  const m = toMatrix(points);
  checkInteger('k', k, 1, m.rows);
  const restarts = checkInteger('restarts', options.restarts ?? 10, 1);
  const seed = checkInteger('seed', options.seed ?? 42);
  const maxIterations = checkInteger('maxIterations', options.maxIterations ?? 300, 1);
  const tolerance = options.tolerance ?? 1e-6;
  const choice = options.engine ?? 'auto';
  if (!['auto', 'ml-kmeans', 'tfjs'].includes(choice)) throw new ArgumentError('engine', choice, 'auto, ml-kmeans or tfjs');
  const engine = choice === 'auto' ? (m.rows * m.cols * k <= 2e5 ? 'ml-kmeans' : 'tfjs') : choice;
  let lloyd: (start: number[][]) => Promise<{ centroids: number[][]; iterations: number; labels?: Int32Array }>;
  let distances: CandidateDistances = hostDistances(m);
  let cleanup = () => {};
  if (engine === 'ml-kmeans') {
    const { kmeans } = await importKmeans();
    const rows = toRows(m);
    lloyd = async (start) => kmeans(rows, k, { initialization: start, maxIterations, tolerance });
  } else {
    await initBackend();
    const x = tf.tensor2d(m.data instanceof Float32Array ? m.data : Float32Array.from(m.data), [m.rows, m.cols]);
    const [sq, xt] = tf.tidy(() => [x.square().sum(1, true), x.transpose()]);
    cleanup = () => tf.dispose([x, sq, xt]);
    lloyd = (start) => lloydTf(x, xt, sq, start, maxIterations, tolerance);
    distances = tfDistances(m, x, sq);
  }
  let best: KMeansFit | undefined;
  const inertias: number[] = [];
  try {
    for (let r = 0; r < restarts; r++) {
      const result = await lloyd(await kmeansPlusPlus(m, k, new Rng(mixSeed(seed, r)), distances));
      const { labels, inertia } = assign(m, result.centroids, result.labels);
      inertias.push(inertia);
      if (!best || inertia < best.inertia) {
        best = { labels, centroids: result.centroids, inertia, inertias, bestRun: r, iterations: result.iterations, engine };
      }
      // let a notebook or terminal breathe between restarts
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    cleanup();
  }
  return best!;
}

/**
 * Lloyd's iterations on the backend: assign every point to its nearest centre (squared
 * distances `|x|^2 + |c|^2 - 2 x.c` from one `[n, d] x [d, k]` product), move every centre to
 * the mean of its points (a one-hot product; an empty cluster keeps its centre, as
 * `ml-kmeans` does), until no centre moves by more than `tolerance` (squared distance).
 */
async function lloydTf(
  x: tf.Tensor2D,
  xt: tf.Tensor,
  sq: tf.Tensor,
  start: number[][],
  maxIterations: number,
  tolerance: number,
): Promise<{ centroids: number[][]; iterations: number; labels: Int32Array }> {
  const k = start.length;
  let centres = tf.tensor2d(start);
  let iterations = 0;
  try {
    while (iterations < maxIterations) {
      iterations++;
      const [next, shift] = tf.tidy(() => {
        const ct = centres.transpose();
        const d2 = sq.add(ct.square().sum(0, true)).sub(tf.matMul(x, ct).mul(2)); // [n, k]
        const onehot = tf.oneHot(d2.argMin(1), k).toFloat(); // [n, k]
        const counts = onehot.sum(0).reshape([k, 1]);
        // [d, n] x [n, k], then transposed: the orientation in which the wasm kernel packs the small operand
        const sums = tf.matMul(xt, onehot).transpose(); // [k, d]
        const moved = tf.where(counts.greater(0).tile([1, x.shape[1]]), sums.div(counts.maximum(1)), centres);
        return [moved, tf.squaredDifference(moved, centres).sum(1).max()];
      });
      const s = (await shift.data())[0];
      shift.dispose();
      centres.dispose();
      centres = next as tf.Tensor2D;
      if (s <= tolerance) break;
    }
    // the nearest final centre of every point
    const nearest = tf.tidy(() => {
      const ct = centres.transpose();
      return sq.add(ct.square().sum(0, true)).sub(tf.matMul(x, ct).mul(2)).argMin(1);
    });
    const labels = Int32Array.from(await nearest.data());
    nearest.dispose();
    return { centroids: (await centres.array()) as number[][], iterations, labels };
  } finally {
    centres.dispose();
  }
}

/** Squared distances from the points to each of some candidate rows: one `Float64Array(n)` per candidate. */
type CandidateDistances = (candidates: number[]) => Promise<Float64Array[]>;

/** Exact squared distances on the host, in float64. */
function hostDistances(m: Matrix): CandidateDistances {
  const { data, rows: n, cols: d } = m;
  return async (candidates) =>
    candidates.map((c) => {
      const out = new Float64Array(n);
      const co = c * d;
      for (let i = 0; i < n; i++) {
        let acc = 0;
        const off = i * d;
        for (let t = 0; t < d; t++) {
          const diff = data[off + t] - data[co + t];
          acc += diff * diff;
        }
        out[i] = acc;
      }
      return out;
    });
}

/** Squared distances as one `[n, d] x [d, candidates]` product on the backend (float32, clamped at 0). */
function tfDistances(m: Matrix, x: tf.Tensor2D, sq: tf.Tensor): CandidateDistances {
  const { data, rows: n, cols: d } = m;
  return async (candidates) => {
    const buf = new Float32Array(candidates.length * d);
    candidates.forEach((c, j) => buf.set(data.subarray(c * d, (c + 1) * d), j * d));
    const d2 = tf.tidy(() => {
      const ct = tf.tensor2d(buf, [candidates.length, d]).transpose();
      return tf.relu(sq.add(ct.square().sum(0, true)).sub(tf.matMul(x, ct).mul(2)));
    });
    const v = await d2.data();
    d2.dispose();
    const t = candidates.length;
    return candidates.map((_, j) => Float64Array.from({ length: n }, (_, i) => v[i * t + j]));
  };
}

/**
 * Greedy k-means++ seeding (Arthur & Vassilvitskii; sklearn's variant): each new centre is
 * the best of `2 + floor(ln k)` points drawn with probability proportional to their squared
 * distance to the centres so far, "best" meaning the lowest resulting potential.
 * @returns `k` starting centres (rows of the data)
 */
async function kmeansPlusPlus(m: Matrix, k: number, rng: Rng, distances: CandidateDistances): Promise<number[][]> {
  const { data, rows: n, cols: d } = m;
  const row = (i: number) => Array.from(data.subarray(i * d, (i + 1) * d));
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(n);
  const centres = [row(first)];
  let closest = (await distances([first]))[0];
  for (let c = 1; c < k; c++) {
    let potential = 0;
    for (let i = 0; i < n; i++) potential += closest[i];
    const picks: number[] = [];
    for (let t = 0; t < trials; t++) {
      // a point with probability proportional to its squared distance to the centres
      let target = rng.next() * potential;
      let idx = 0;
      while (idx < n - 1 && target >= closest[idx]) target -= closest[idx++];
      picks.push(idx);
    }
    const dists = await distances(picks);
    let bestPot = Infinity;
    let best = 0;
    dists.forEach((dist, t) => {
      let pot = 0;
      for (let i = 0; i < n; i++) pot += Math.min(closest[i], dist[i]);
      if (pot < bestPot) {
        bestPot = pot;
        best = t;
      }
    });
    centres.push(row(picks[best]));
    closest = Float64Array.from(closest, (v, i) => Math.min(v, dists[best][i]));
  }
  return centres;
}

/**
 * Nearest centroid of every point (unless `given`) and the total squared distance to it,
 * in float64 on the host.
 */
function assign(m: Matrix, centroids: number[][], given?: Int32Array): { labels: Int32Array; inertia: number } {
  const sqDist = (off: number, cen: number[]) => {
    let d = 0;
    for (let j = 0; j < m.cols; j++) {
      const t = m.data[off + j] - cen[j];
      d += t * t;
    }
    return d;
  };
  const labels = given ?? new Int32Array(m.rows);
  let inertia = 0;
  for (let i = 0; i < m.rows; i++) {
    const off = i * m.cols;
    if (given) {
      inertia += sqDist(off, centroids[given[i]]);
      continue;
    }
    let bestD = Infinity;
    for (let c = 0; c < centroids.length; c++) {
      const d = sqDist(off, centroids[c]);
      if (d < bestD) {
        bestD = d;
        labels[i] = c;
      }
    }
    inertia += bestD;
  }
  return { labels, inertia };
}

// ---------------------------------------------------------------------------------------
// silhouette

/** Options of `silhouetteSamples` and `silhouetteScore`. */
export interface SilhouetteOptions {
  /**
   * `float64`: exact pairwise Euclidean distances summed on the host in float64 (the result
   * equals a direct double loop); `float32`: blocked matrix products on the tfjs backend
   * (`|a|^2 + |b|^2 - 2 a.b`, float32), for large sets; `auto` (default): float64 when
   * `n^2 * d <= 5e7`, else float32.
   */
  precision?: 'auto' | 'float32' | 'float64';
  /** Rows per block of the distance matrix (default 512): memory is `blockSize * n` floats. */
  blockSize?: number;
}

/**
 * Silhouette coefficient of every point, `(b - a) / max(a, b)`, where `a` is the mean
 * Euclidean distance to the other points of its cluster and `b` the smallest mean distance
 * to the points of another cluster; 0 for a point alone in its cluster (sklearn's
 * convention). The distance matrix is computed `blockSize` rows at a time and reduced to
 * per-cluster sums at once (a matrix product with the one-hot labels on the float32 path),
 * so memory stays `O(blockSize * n)`.
 * @param points `[n, d]`
 * @param labels `[n]` cluster of each point; between 2 and n - 1 distinct clusters
 * @returns `[n]` values in [-1, 1]
 */
export async function silhouetteSamples(points: Points, labels: Labels, options: SilhouetteOptions = {}): Promise<Float64Array> {
  const m = toMatrix(points);
  const { codes, k, sizes } = encodeLabels(labels, m.rows);
  if (k < 2 || k > m.rows - 1) throw new ArgumentError('labels', k, `between 2 and n - 1 = ${m.rows - 1} distinct clusters (silhouette is undefined otherwise)`);
  const blockSize = checkInteger('blockSize', options.blockSize ?? 512, 1);
  const precision = options.precision ?? 'auto';
  if (!['auto', 'float32', 'float64'].includes(precision)) throw new ArgumentError('precision', precision, 'auto, float32 or float64');
  const exact = precision === 'float64' || (precision === 'auto' && m.rows * m.rows * m.cols <= 5e7);
  const sums = exact ? clusterDistanceSumsF64(m, codes, k) : await clusterDistanceSumsTf(m, codes, k, blockSize);
  const s = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const own = codes[i];
    if (sizes[own] === 1) continue; // s = 0
    const a = sums[i * k + own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[i * k + c] / sizes[c]);
    const denom = Math.max(a, b);
    s[i] = denom > 0 ? (b - a) / denom : 0;
  }
  return s;
}

/** Mean silhouette coefficient over all points (sklearn's `silhouette_score`), in [-1, 1]. See `silhouetteSamples`. */
export async function silhouetteScore(points: Points, labels: Labels, options: SilhouetteOptions = {}): Promise<number> {
  const s = await silhouetteSamples(points, labels, options);
  let sum = 0;
  for (const v of s) sum += v;
  return sum / s.length;
}

/** `[n * k]` sums of exact Euclidean distances from each point to each cluster, host float64. */
function clusterDistanceSumsF64(m: Matrix, codes: Int32Array, k: number): Float64Array {
  const { rows: n, cols: d } = m;
  const x = Float64Array.from(m.data);
  const sums = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const oj = j * d;
      let acc = 0;
      for (let t = 0; t < d; t++) {
        const diff = x[oi + t] - x[oj + t];
        acc += diff * diff;
      }
      sums[i * k + codes[j]] += Math.sqrt(acc);
    }
  }
  return sums;
}

/**
 * `[n * k]` sums of distances from each point to each cluster: blocked float32 matrix
 * products on the backend, each pair of points computed once. For a block of `blockSize`
 * points starting at row `s`, the distances to the rows `s..n-1` come from one
 * `[n - s, d] x [d, blockSize]` product (the fast orientation of the wasm kernel: the small
 * operand is the packed one); a `[k, n - s] x [n - s, blockSize]` product with the one-hot
 * labels gives the block points' sums over those rows, and a `[n - s, blockSize] x
 * [blockSize, k]` product gives the later rows' sums over the block (the symmetric half).
 * Columns that are constant over all points are dropped first: they add nothing to any
 * distance (MNIST's border pixels).
 */
async function clusterDistanceSumsTf(m: Matrix, codes: Int32Array, k: number, blockSize: number): Promise<Float64Array> {
  await initBackend();
  const { data: x, cols: d } = dropConstantColumns(m);
  const n = m.rows;
  const sums = new Float64Array(n * k);
  if (d === 0) return sums; // every point is the same point: all distances are 0
  const sq = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let t = 0; t < d; t++) acc += x[i * d + t] * x[i * d + t];
    sq[i] = acc;
  }
  const onehotT = new Float32Array(k * n); // [k, n]
  for (let i = 0; i < n; i++) onehotT[codes[i] * n + i] = 1;
  for (let start = 0; start < n; start += blockSize) {
    const size = Math.min(blockSize, n - start);
    const rows = n - start;
    const [colPart, rowPart, diag] = tf.tidy(() => {
      const xr = tf.tensor2d(x.subarray(start * d), [rows, d]);
      const xbt = tf.tensor2d(x.subarray(start * d, (start + size) * d), [size, d]).transpose();
      const sqr = tf.tensor2d(sq.subarray(start), [rows, 1]);
      const sqb = tf.tensor2d(sq.subarray(start, start + size), [1, size]);
      const dist = tf.sqrt(tf.relu(sqr.add(sqb).sub(tf.matMul(xr, xbt).mul(2)))); // [rows, size]
      const ohT = tf.tensor2d(sliceColumns(onehotT, k, n, start), [k, rows]);
      const ohBlock = ohT.slice([0, 0], [k, size]).transpose(); // [size, k]
      // the distance of each block point to itself: 0 exactly, but the expansion leaves
      // rounding noise there; read it out (one gather) and take it off the sums below
      const selfAt = Int32Array.from({ length: size }, (_, b) => b * size + b);
      return [
        tf.matMul(ohT, dist), // [k, size]: block points' sums over rows start..n-1
        tf.matMul(dist, ohBlock), // [rows, k]: each row's sums over the block
        tf.gather(dist.reshape([-1]), tf.tensor1d(selfAt, 'int32')),
      ];
    });
    const [cv, rv, noise] = await Promise.all([colPart.data(), rowPart.data(), diag.data()]);
    tf.dispose([colPart, rowPart, diag]);
    for (let b = 0; b < size; b++) {
      for (let c = 0; c < k; c++) sums[(start + b) * k + c] += cv[c * size + b];
      sums[(start + b) * k + codes[start + b]] -= noise[b];
    }
    // rows after the block: their pairs with the block (earlier rows got them as block points)
    for (let r = size; r < rows; r++) for (let c = 0; c < k; c++) sums[(start + r) * k + c] += rv[r * k + c];
  }
  return sums;
}

/** Columns `from..cols-1` of a row-major `[rows, cols]` matrix. */
function sliceColumns(a: Float32Array, rows: number, cols: number, from: number): Float32Array {
  const w = cols - from;
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * cols + from, (r + 1) * cols), r * w);
  return out;
}

/** The matrix without its constant columns, as float32. */
function dropConstantColumns(m: Matrix): { data: Float32Array; cols: number } {
  const { data, rows, cols } = m;
  const keep: number[] = [];
  for (let j = 0; j < cols; j++) {
    const first = data[j];
    for (let i = 1; i < rows; i++) {
      if (data[i * cols + j] !== first) {
        keep.push(j);
        break;
      }
    }
  }
  if (keep.length === cols) return { data: data instanceof Float32Array ? data : Float32Array.from(data), cols };
  const out = new Float32Array(rows * keep.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < keep.length; j++) out[i * keep.length + j] = data[i * cols + keep[j]];
  return { data: out, cols: keep.length };
}

// ---------------------------------------------------------------------------------------
// agreement with true labels

/**
 * Contingency table of two labelings: `table[i][j]` = points in class `i` of `a` and
 * cluster `j` of `b` (classes in order of first appearance).
 */
export function contingencyTable(a: Labels, b: Labels): number[][] {
  const la = toInts('labelsTrue', a);
  const lb = toInts('labelsPred', b, la.length);
  const ca = encodeLabels(la, la.length);
  const cb = encodeLabels(lb, lb.length);
  const table = Array.from({ length: ca.k }, () => new Array<number>(cb.k).fill(0));
  for (let i = 0; i < la.length; i++) table[ca.codes[i]][cb.codes[i]]++;
  return table;
}

/**
 * Adjusted Rand index (sklearn's `adjusted_rand_score`): pair-counting agreement between two
 * partitions, corrected for chance; 1 for identical partitions (up to renaming), about 0 for
 * independent ones, can be negative. Computed in exact integer arithmetic (BigInt) from the
 * pair confusion matrix, then divided once.
 * @param labelsTrue `[n]` reference classes; @param labelsPred `[n]` clusters
 */
export function adjustedRandIndex(labelsTrue: Labels, labelsPred: Labels): number {
  const table = contingencyTable(labelsTrue, labelsPred);
  const n = BigInt(table.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0));
  const rowSums = table.map((r) => BigInt(r.reduce((a, b) => a + b, 0)));
  const colSums = table[0].map((_, j) => BigInt(table.reduce((s, r) => s + r[j], 0)));
  let sumSquares = 0n;
  let rowWeighted = 0n; // sum_ij n_ij * colSum_j
  let colWeighted = 0n; // sum_ij n_ij * rowSum_i
  table.forEach((r, i) =>
    r.forEach((v, j) => {
      const nij = BigInt(v);
      sumSquares += nij * nij;
      rowWeighted += nij * colSums[j];
      colWeighted += nij * rowSums[i];
    }),
  );
  // sklearn's pair_confusion_matrix (ordered pairs)
  const tp = sumSquares - n;
  const fp = rowWeighted - sumSquares;
  const fn = colWeighted - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0n && fp === 0n) return 1; // identical partitions, including the trivial ones
  const num = 2n * (tp * tn - fn * fp);
  const den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return ratio(num, den);
}

/**
 * Normalised mutual information (sklearn's `normalized_mutual_info_score`, arithmetic mean):
 * `MI(a, b) / ((H(a) + H(b)) / 2)` with natural logarithms, in [0, 1]. Exactly 1 when the
 * partitions are identical up to renaming (each class is exactly one cluster); 1 when both
 * put everything in one cluster; 0 when the mutual information is 0.
 */
export function normalizedMutualInfo(labelsTrue: Labels, labelsPred: Labels): number {
  const table = contingencyTable(labelsTrue, labelsPred);
  const rows = table.length;
  const cols = table[0].length;
  if (rows === 1 && cols === 1) return 1;
  // identical up to renaming: a permutation matrix pattern
  const nonzero = table.map((r) => r.filter((v) => v > 0).length);
  const colNonzero = table[0].map((_, j) => table.filter((r) => r[j] > 0).length);
  if (rows === cols && nonzero.every((c) => c === 1) && colNonzero.every((c) => c === 1)) return 1;
  const n = table.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0);
  const a = table.map((r) => r.reduce((x, y) => x + y, 0));
  const b = table[0].map((_, j) => table.reduce((s, r) => s + r[j], 0));
  let mi = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const nij = table[i][j];
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (a[i] * b[j]));
    }
  }
  mi = Math.max(mi, 0);
  if (mi === 0) return 0;
  const entropy = (c: number[]) => -c.reduce((s, v) => (v > 0 ? s + (v / n) * Math.log(v / n) : s), 0);
  return mi / ((entropy(a) + entropy(b)) / 2);
}

// ---------------------------------------------------------------------------------------
// neighbours and confusion

/** Options of `knnLabelAgreement`. */
export interface KnnAgreementOptions {
  /** Neighbours per point, the point itself excluded (default 10). */
  k?: number;
  /** Rows of the distance matrix per block (default 512): memory is `blockSize * n` floats. */
  blockSize?: number;
}

/** What `knnLabelAgreement` returns. Shares are fractions in [0, 1]. */
export interface KnnAgreement {
  /** Neighbours per point and points scored. */
  k: number;
  n: number;
  /** Share of all neighbour pairs (point, one of its k nearest) whose labels agree. */
  overall: number;
  /**
   * The same share for neighbours drawn at random among the other points:
   * `sum_c (n_c / n) (n_c - 1) / (n - 1)` (about 0.1 for ten balanced classes).
   */
  chance: number;
  /** Per label, in increasing label order: its points, and the share of their neighbours that carry it. */
  perClass: { label: number; count: number; agreement: number }[];
}

/**
 * k-nearest-neighbour label agreement of a space: for every point, the share of its `k`
 * nearest other points (Euclidean) that carry its label, averaged over all points and per
 * label. A leave-one-out kNN classifier's view of the space: high when the classes form
 * tight groups, whatever their shape (unlike k-means, which wants round, equal clusters).
 * Distances are computed a block of rows at a time on the backend (float32); ties go to the
 * lower index.
 * @param points `[n, d]`, n > k
 * @param labels `[n]` integers
 */
export function knnLabelAgreement(points: Points, labels: Labels, options: KnnAgreementOptions = {}): KnnAgreement {
  const m = toMatrix(points);
  const n = m.rows;
  const y = toInts('labels', labels, n);
  const k = checkInteger('k', options.k ?? 10, 1, n - 1);
  const blockSize = checkInteger('blockSize', options.blockSize ?? 512, 1);
  const all = { codes: m.data instanceof Float32Array ? m.data : Float32Array.from(m.data), n, d: m.cols };
  const hits = new Float64Array(n);
  for (let start = 0; start < n; start += blockSize) {
    const rows = Math.min(blockSize, n - start);
    const block = { codes: all.codes.subarray(start * m.cols, (start + rows) * m.cols), n: rows, d: m.cols };
    const dist = pairwiseDistances(block, all); // [rows * n]
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      // the point itself goes first whatever duplicates it has, and is skipped
      dist[r * n + i] = -Infinity;
      const nearest = smallestIndices(dist, k + 1, r * n, n);
      let same = 0;
      for (let t = 1; t <= k; t++) if (y[nearest[t]] === y[i]) same++;
      hits[i] = same;
    }
  }
  const byLabel = new Map<number, { count: number; hits: number }>();
  y.forEach((label, i) => {
    const e = byLabel.get(label) ?? { count: 0, hits: 0 };
    e.count++;
    e.hits += hits[i];
    byLabel.set(label, e);
  });
  let total = 0;
  let chance = 0;
  const perClass = [...byLabel.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([label, e]) => {
      total += e.hits;
      chance += (e.count / n) * ((e.count - 1) / (n - 1));
      return { label, count: e.count, agreement: e.hits / (e.count * k) };
    });
  return { k, n, overall: total / (n * k), chance, perClass };
}

/** What `clusterConfusion` returns: true classes against clusters. */
export interface ClusterConfusion {
  /** The true classes, in increasing order (the table's rows). */
  classes: number[];
  /** The cluster ids, ordered by their majority class, then by size (largest first): the table's columns. */
  clusters: number[];
  /** `counts[i][j]`: points of class `classes[i]` in cluster `clusters[j]`. */
  counts: number[][];
  /** Majority class of each cluster, in `clusters` order. */
  majority: number[];
  /** Share of the points whose cluster's majority class is their own class (purity), in [0, 1]. */
  purity: number;
  /** Classes that are the majority of no cluster (k-means merged them into others). */
  unclaimed: number[];
  /** Points per cluster, in `clusters` order. */
  sizes: number[];
}

/**
 * The confusion table of a clustering against the true classes, laid out for reading:
 * one row per class (sorted), one column per cluster, the clusters ordered by the class
 * they mostly hold, so that a good clustering shows a near-diagonal. Also each cluster's
 * majority class and the purity (the accuracy of labelling every point with its cluster's
 * majority class).
 * @param labelsTrue `[n]` classes; @param clusters `[n]` cluster ids
 */
export function clusterConfusion(labelsTrue: Labels, clusters: Labels): ClusterConfusion {
  const a = toInts('labelsTrue', labelsTrue);
  const b = toInts('clusters', clusters, a.length);
  const classes = [...new Set(a)].sort((x, y) => x - y);
  const ids = [...new Set(b)].sort((x, y) => x - y);
  const ci = new Map(classes.map((c, i) => [c, i]));
  const ki = new Map(ids.map((c, i) => [c, i]));
  const byCluster = ids.map(() => new Array<number>(classes.length).fill(0)); // [cluster][class]
  a.forEach((c, i) => byCluster[ki.get(b[i])!][ci.get(c)!]++);
  const info = ids.map((id, j) => {
    const col = byCluster[j];
    let best = 0;
    for (let i = 1; i < col.length; i++) if (col[i] > col[best]) best = i;
    return { id, col, best, size: col.reduce((s, v) => s + v, 0) };
  });
  info.sort((x, y) => x.best - y.best || y.size - x.size || x.id - y.id);
  const counts = classes.map((_, i) => info.map((c) => c.col[i]));
  const claimed = new Set(info.map((c) => c.best));
  return {
    classes,
    clusters: info.map((c) => c.id),
    counts,
    majority: info.map((c) => classes[c.best]),
    purity: info.reduce((s, c) => s + c.col[c.best], 0) / a.length,
    unclaimed: classes.filter((_, i) => !claimed.has(i)),
    sizes: info.map((c) => c.size),
  };
}

/**
 * `clusterConfusion` as rows for `console.table`: one per class, one column per cluster
 * named `c<id>→<majority>` (cluster id, then the class it mostly holds).
 */
export function clusterConfusionRows(conf: ClusterConfusion, classNames?: string[]): Record<string, string | number>[] {
  const name = (c: number) => classNames?.[c] ?? String(c);
  const cols = conf.clusters.map((id, j) => `c${id}→${name(conf.majority[j])}`);
  return conf.classes.map((c, i) => ({ class: name(c), ...Object.fromEntries(cols.map((col, j) => [col, conf.counts[i][j]])) }));
}

/** `clusterConfusion` as a heatmap (classes down, clusters across, ordered as in the table). */
export function clusterConfusionChart(conf: ClusterConfusion, options: { title?: string; classNames?: string[] } = {}): ChartSpec {
  const name = (c: number) => options.classNames?.[c] ?? String(c);
  const rows = conf.classes.flatMap((c, i) =>
    conf.clusters.map((id, j) => ({ cluster: `c${id}→${name(conf.majority[j])}`, class: name(c), count: conf.counts[i][j] })),
  );
  return heatmapChart(rows, { x: 'cluster', y: 'class', value: 'count', title: options.title ?? `Clusters against classes (purity ${conf.purity.toFixed(3)})`, xTitle: 'cluster → its majority class', yTitle: 'true class' });
}

// ---------------------------------------------------------------------------------------
// seed 000's evaluate_clustering

/** Options of `clusteringScores`. */
export interface ScoreOptions extends KMeansOptions, SilhouetteOptions {
  /** Clusters (default 10, the digits). */
  nClusters?: number;
  /** Also compute the silhouette of the true labels in the space (default true). */
  labelSilhouette?: boolean;
  /** Neighbours of the kNN label agreement (default 10); `false` skips it. */
  knn?: number | false;
}

/** Options of `evaluateClustering`. */
export interface ClusteringOptions extends ScoreOptions {
  /** Use at most this many examples, the first ones (default 5,000, as the seed). */
  maxPoints?: number;
}

/** Clustering quality in one space. */
export interface ClusteringScores {
  /** Dimensions of the space (784 for pixels, the code size for latents). */
  dims: number;
  /** Mean silhouette of the k-means clusters, in [-1, 1] (the seed's number). */
  silhouette: number;
  /** Mean silhouette of the true classes in that space (how well the classes are separated). */
  labelSilhouette?: number;
  /** Adjusted Rand index of the k-means clusters against the labels. */
  ari: number;
  /** Normalised mutual information of the clusters against the labels, in [0, 1]. */
  nmi: number;
  /** Purity of the clusters: share of points whose cluster's majority class is theirs, in [0, 1]. */
  purity: number;
  /** kNN label agreement (`knnLabelAgreement().overall`), unless `knn: false`. */
  knnAgreement?: number;
  /** k-means inertia (squared units of the space). */
  inertia: number;
  /** Seconds spent in k-means (all restarts), in the silhouette(s) and in the kNN agreement. */
  seconds: { kmeans: number; silhouette: number; knn?: number };
}

/**
 * Everything `evaluateClustering` measures, for one space: k-means (`kmeansBest`) with
 * `nClusters`, the silhouette of its clusters (and of the true labels), ARI, NMI and purity
 * of the clusters against the labels, and the kNN label agreement.
 * @param points `[n, d]`
 * @param labels `[n]` true classes
 * @returns the scores and the k-means cluster of every point `[n]`
 */
export async function clusteringScores(points: Points, labels: Labels, options: ScoreOptions = {}): Promise<ClusteringScores & { clusters: Int32Array }> {
  const m = toMatrix(points);
  const y = toInts('labels', labels, m.rows);
  const k = checkInteger('nClusters', options.nClusters ?? 10, 2, m.rows - 1);
  let t0 = performance.now();
  const km = await kmeansBest(m, k, options);
  const kmSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const silhouette = await silhouetteScore(m, km.labels, options);
  const labelSilhouette = options.labelSilhouette === false ? undefined : await silhouetteScore(m, y, options);
  const silSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const knn = options.knn === false ? undefined : knnLabelAgreement(m, y, { k: options.knn ?? 10 }).overall;
  const knnSeconds = (performance.now() - t0) / 1000;
  return {
    dims: m.cols,
    silhouette,
    ...(labelSilhouette === undefined ? {} : { labelSilhouette }),
    ari: adjustedRandIndex(y, km.labels),
    nmi: normalizedMutualInfo(y, km.labels),
    purity: clusterConfusion(y, km.labels).purity,
    ...(knn === undefined ? {} : { knnAgreement: knn }),
    inertia: km.inertia,
    seconds: { kmeans: kmSeconds, silhouette: silSeconds, ...(knn === undefined ? {} : { knn: knnSeconds }) },
    clusters: km.labels,
  };
}

/**
 * Scores of several spaces side by side: one group of bars per measure (k-means
 * silhouette, ARI, NMI, purity, kNN agreement where present), one bar per space.
 */
export function clusteringChart(spaces: { space: string; scores: ClusteringScores }[], options: { title?: string } = {}): ChartSpec {
  const measures: [keyof ClusteringScores, string][] = [
    ['silhouette', 'silhouette'],
    ['ari', 'ARI'],
    ['nmi', 'NMI'],
    ['purity', 'purity'],
    ['knnAgreement', 'kNN agreement'],
  ];
  const rows = measures.flatMap(([key, metric]) =>
    spaces.filter((s) => typeof s.scores[key] === 'number').map((s) => ({ metric, space: s.space, value: s.scores[key] as number })),
  );
  return barChart(rows, { x: 'metric', y: 'value', color: 'space', title: options.title ?? 'k-means clusters and neighbours by space', yTitle: 'score' });
}

/** What `evaluateClustering` returns. */
export interface ClusteringResult {
  /** Points used. */
  n: number;
  pixel: ClusteringScores;
  latent: ClusteringScores;
  /** The scores of both spaces side by side. */
  chart: ChartSpec;
}

/**
 * Seed 000's `evaluate_clustering`: k-means with `nClusters` on the raw pixels and on the
 * encoder's codes of the same examples; silhouette of each clustering (plus ARI, NMI,
 * purity and kNN label agreement against the labels, see `clusteringScores`). "Latent
 * features often cluster better than raw pixels."
 * @param ds `x [n, ...inputShape]`, `y [n]` labels
 */
export async function evaluateClustering(model: Autoencoder, ds: Dataset, options: ClusteringOptions = {}): Promise<ClusteringResult> {
  await initBackend();
  const k = checkInteger('nClusters', options.nClusters ?? 10, 2);
  const maxPoints = checkInteger('maxPoints', options.maxPoints ?? 5000, k + 1);
  const subset = datasetSize(ds) > maxPoints ? takeRows(ds, maxPoints) : ds;
  try {
    const labels = labelsOf(subset);
    const n = labels.length;
    const pixels: Matrix = { data: hostData(subset.x) as Float32Array, rows: n, cols: subset.x.size / n };
    const codes = await encodeAll(model, subset);
    const latents: Matrix = { data: codes, rows: n, cols: codes.length / n };
    const strip = ({ clusters: _, ...scores }: ClusteringScores & { clusters: Int32Array }): ClusteringScores => scores;
    const pixel = strip(await clusteringScores(pixels, labels, options));
    const latent = strip(await clusteringScores(latents, labels, options));
    const chart = clusteringChart(
      [
        { space: `pixels (${pixel.dims}-d)`, scores: pixel },
        { space: `latent (${latent.dims}-d)`, scores: latent },
      ],
      { title: `k-means (k = ${k}) on ${n} examples` },
    );
    return { n, pixel, latent, chart };
  } finally {
    if (subset !== ds) disposeDataset(subset);
  }
}

// ---------------------------------------------------------------------------------------

function toMatrix(points: Points): Matrix {
  if (points instanceof tf.Tensor) {
    if (points.rank < 2 || points.shape[0] < 1) throw new ArgumentError('points', points, 'a tensor [n, d] (or [n, ...], flattened per example)');
    const rows = points.shape[0];
    const data = points.dtype === 'float32' ? (hostData(points) as Float32Array) : Float32Array.from(points.dataSync());
    return check({ data, rows, cols: points.size / rows });
  }
  if (Array.isArray(points)) {
    if (points.length === 0 || !Array.isArray(points[0])) throw new ArgumentError('points', points, 'a non-empty array of rows');
    const cols = points[0].length;
    const data = new Float64Array(points.length * cols);
    points.forEach((r, i) => {
      if (r.length !== cols) throw new ArgumentError('points', points, `rows of equal length (row 0 has ${cols}, row ${i} has ${r.length})`);
      data.set(r, i * cols);
    });
    return check({ data, rows: points.length, cols });
  }
  if (points && 'codes' in points && points.codes instanceof Float32Array && Number.isInteger(points.n) && points.n > 0) {
    if (points.codes.length !== points.n * points.d || !(points.d >= 1)) throw new ArgumentError('points', points, '{ codes: Float32Array [n * d], n, d } with n, d >= 1');
    return check({ data: points.codes, rows: points.n, cols: points.d });
  }
  if (points && 'data' in points && (points.data instanceof Float32Array || points.data instanceof Float64Array) && Number.isInteger(points.rows) && points.rows > 0) {
    const cols = points.data.length / points.rows;
    if (!Number.isInteger(cols) || cols < 1) throw new ArgumentError('points.rows', points.rows, `a divisor of the ${points.data.length} values`);
    return check({ data: points.data, rows: points.rows, cols });
  }
  throw new ArgumentError('points', points, 'a tensor [n, d], an array of rows, { data, rows } or { codes, n, d }');
}

function check(m: Matrix): Matrix {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) throw new ArgumentError('points', `value ${m.data[i]} at row ${Math.floor(i / m.cols)}`, 'finite numbers');
  }
  return m;
}

function toRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
}

function toInts(name: string, labels: Labels, n?: number): number[] {
  const arr = labels instanceof tf.Tensor ? Array.from(labels.dataSync()) : Array.from(labels as ArrayLike<number>);
  if (n !== undefined && arr.length !== n) throw new ArgumentError(name, labels, `${n} labels (one per point)`);
  if (arr.length === 0) throw new ArgumentError(name, labels, 'at least one label');
  if (!arr.every((v) => Number.isInteger(v))) throw new ArgumentError(name, labels, 'integer labels');
  return arr;
}

/** Labels renamed 0..k-1 in order of first appearance, with cluster sizes. */
function encodeLabels(labels: Labels, n: number): { codes: Int32Array; k: number; sizes: number[] } {
  const arr = toInts('labels', labels, n);
  const index = new Map<number, number>();
  const codes = new Int32Array(n);
  const sizes: number[] = [];
  arr.forEach((v, i) => {
    let c = index.get(v);
    if (c === undefined) {
      c = index.size;
      index.set(v, c);
      sizes.push(0);
    }
    codes[i] = c;
    sizes[c]++;
  });
  return { codes, k: index.size, sizes };
}

/** num / den for BigInts, as the correctly rounded double when both fit in 2^53, else nearly so. */
function ratio(num: bigint, den: bigint): number {
  const limit = 2n ** 53n;
  const abs = (v: bigint) => (v < 0n ? -v : v);
  if (abs(num) < limit && abs(den) < limit) return Number(num) / Number(den);
  // scale both down together to keep 53+ significant bits of each
  let shift = 0n;
  while (abs(num) >> shift >= limit * 1024n || abs(den) >> shift >= limit * 1024n) shift++;
  return Number(num >> shift) / Number(den >> shift);
}
