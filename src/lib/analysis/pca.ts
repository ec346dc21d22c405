/**
 * Principal component analysis of point sets (latent codes, pixels): explained variance,
 * the number of components holding 95% of it (seed 000's intrinsic dimension), and
 * projections onto the leading components. The covariance matrix is built on the backend
 * (one matrix product); `ml-pca` diagonalises it.
 */
import * as tf from '@tensorflow/tfjs';
import { PCA } from 'ml-pca';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { PointSet, Points, toPointSet } from './common';
import { columnMeans } from './distances';

/** A fitted PCA. */
export interface PcaFit {
  /** Values per point. */
  d: number;
  /** Column means `[d]` (the centre). */
  mean: Float32Array;
  /** Variance along each principal axis (eigenvalues of the covariance, `n - 1` divisor), largest first, `[d]`. */
  variances: number[];
  /** Share of the total variance along each axis, largest first; sums to 1 (all 0 when the points do not vary). */
  explainedVarianceRatio: number[];
  /** Running sum of `explainedVarianceRatio`. */
  cumulativeVarianceRatio: number[];
  /** Principal axes as rows, `[d * d]` row-major (`components[c * d + j]`), each of unit length, its largest entry positive. */
  components: Float32Array;
}

/**
 * Fits a PCA (centred, not scaled: scikit-learn's `PCA()`).
 * @param points `n >= 2` points of `d` values
 */
export function pcaFit(points: Points): PcaFit {
  const p = toPointSet(points);
  if (p.n < 2) throw new ArgumentError('points', p.n, 'at least 2 points');
  const mean = columnMeans(p);
  const cov = tf.tidy(() => {
    const x = tf.tensor2d(p.codes, [p.n, p.d]).sub(tf.tensor2d(mean, [1, p.d]));
    return tf.matMul(x.transpose(), x).div(p.n - 1);
  });
  const c = cov.dataSync();
  cov.dispose();
  const rows: number[][] = [];
  for (let i = 0; i < p.d; i++) {
    const r = new Array<number>(p.d);
    // Symmetrise: the float32 product is symmetric only up to rounding.
    for (let j = 0; j < p.d; j++) r[j] = (c[i * p.d + j] + c[j * p.d + i]) / 2;
    rows.push(r);
  }
  const pca = new PCA(rows, { isCovarianceMatrix: true });
  const variances = pca.getEigenvalues().map((v) => Math.max(v, 0));
  const vectors = pca.getEigenvectors(); // columns are the axes, in the order of the eigenvalues
  const components = new Float32Array(p.d * p.d);
  for (let k = 0; k < p.d; k++) {
    let big = 0;
    for (let j = 0; j < p.d; j++) if (Math.abs(vectors.get(j, k)) > Math.abs(big)) big = vectors.get(j, k);
    const sign = big < 0 ? -1 : 1;
    for (let j = 0; j < p.d; j++) components[k * p.d + j] = sign * vectors.get(j, k);
  }
  const total = variances.reduce((a, b) => a + b, 0);
  const explainedVarianceRatio = variances.map((v) => (total > 0 ? v / total : 0));
  let run = 0;
  const cumulativeVarianceRatio = explainedVarianceRatio.map((v) => (run += v));
  return { d: p.d, mean, variances, explainedVarianceRatio, cumulativeVarianceRatio, components };
}

/**
 * Coordinates of points on the first `nComponents` principal axes of `fit`.
 * @returns `[n, nComponents]` as a point set (axes beyond `d` are 0)
 */
export function pcaTransform(fit: PcaFit, points: Points, nComponents = 2): PointSet {
  const p = toPointSet(points);
  checkInteger('nComponents', nComponents, 1);
  if (p.d !== fit.d) throw new ArgumentError('points', p.d, `points of ${fit.d} values (what the PCA was fitted on)`);
  const k = Math.min(nComponents, fit.d);
  const proj = tf.tidy(() => {
    const x = tf.tensor2d(p.codes, [p.n, p.d]).sub(tf.tensor2d(fit.mean, [1, p.d]));
    const w = tf.tensor2d(fit.components.subarray(0, k * p.d), [k, p.d]).transpose();
    const y = tf.matMul(x, w);
    return k < nComponents ? tf.pad(y, [[0, 0], [0, nComponents - k]]) : y;
  });
  const codes = proj.dataSync() as Float32Array;
  proj.dispose();
  return { codes, n: p.n, d: nComponents };
}

/** Intrinsic dimension of a point set. */
export interface IntrinsicDimension {
  /** Fewest principal components whose variance reaches `threshold` of the total (0 when the points do not vary). */
  dim: number;
  /** Values per point. */
  d: number;
  /** The threshold used (share of variance, e.g. 0.95). */
  threshold: number;
  /** Share of variance per component, largest first. */
  explainedVarianceRatio: number[];
  /** Running sum of the shares. */
  cumulativeVarianceRatio: number[];
}

/**
 * Seed 000's intrinsic dimensionality: the number of principal components that explain
 * `threshold` (95%) of the variance, `argmax(cumsum(explained_variance_ratio_) >= 0.95) + 1`.
 * @param points `n >= 2` points of `d` values
 */
export function intrinsicDimension(points: Points, threshold = 0.95): IntrinsicDimension {
  checkNumber('threshold', threshold, Number.MIN_VALUE, 1);
  const fit = pcaFit(points);
  const cum = fit.cumulativeVarianceRatio;
  // A relative tolerance so that data of exact rank r reaches 100% at r despite rounding.
  let dim = cum[cum.length - 1] === 0 ? 0 : cum.findIndex((c) => c >= threshold - 1e-6) + 1;
  if (dim === 0 && cum[cum.length - 1] > 0) dim = fit.d;
  return { dim, d: fit.d, threshold, explainedVarianceRatio: fit.explainedVarianceRatio, cumulativeVarianceRatio: cum };
}
