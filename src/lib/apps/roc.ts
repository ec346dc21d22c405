/**
 * Receiver operating characteristic for score-based detectors (seed 000 Exercise 3, seed
 * 003's `roc_curve`, `roc_auc_score` and `closest_point`). A higher score means "more
 * likely positive" (an anomaly, the signal); label 1 is positive, 0 negative.
 *
 * Every rate is computed from integer counts, and the area from the counts too, so results
 * are exact up to one final rounding: tied scores form one step of the curve (a diagonal
 * segment), and the trapezoid under it gives ties half credit, exactly the Mann-Whitney U
 * statistic with mid-ranks.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkNumber } from '../errors';

/** Numbers as a plain array, a typed array or a 1-D tensor. */
export type NumberArray = ArrayLike<number> | tf.Tensor;
/** Binary labels: 1/true positive, 0/false negative. */
export type BinaryLabels = ArrayLike<number> | ArrayLike<boolean> | tf.Tensor;

/** A ROC curve, one point per distinct score plus the origin; sklearn's `roc_curve` without `drop_intermediate`. */
export interface RocCurve {
  /** False-positive rate at each threshold, non-decreasing from 0 to 1. */
  fpr: number[];
  /** True-positive rate at each threshold, non-decreasing from 0 to 1. */
  tpr: number[];
  /**
   * Score thresholds, decreasing: point `i` flags every example with `score >= thresholds[i]`.
   * The first is `Infinity` (nothing flagged: the origin).
   */
  thresholds: number[];
  /** Positives flagged at each threshold (integer counts behind `tpr`). */
  tps: number[];
  /** Negatives flagged at each threshold (integer counts behind `fpr`). */
  fps: number[];
  /** Number of positive examples. */
  positives: number;
  /** Number of negative examples. */
  negatives: number;
}

/** A point of a ROC curve picked by `thresholdForTpr`. */
export interface RocPoint {
  /** Index into the curve's arrays. */
  index: number;
  /** Score threshold (flag when `score >= threshold`). */
  threshold: number;
  /** True-positive rate there, in [0, 1]. */
  tpr: number;
  /** False-positive rate there, in [0, 1]. */
  fpr: number;
}

/** One row of `ratesAtPercentiles`. */
export interface PercentileRates {
  /** Percentile of the reference scores used as threshold, in [0, 100]. */
  percentile: number;
  /** The threshold: that percentile of the reference scores (score units, e.g. MSE per pixel). */
  threshold: number;
  /** Fraction of positives with `score > threshold`, in [0, 1]. */
  tpr: number;
  /** Fraction of negatives with `score > threshold`, in [0, 1]. */
  fpr: number;
  /** Positives flagged (count behind `tpr`). */
  truePositives: number;
  /** Negatives flagged (count behind `fpr`). */
  falsePositives: number;
}

/**
 * The ROC curve of a score: for every distinct score value, from the highest down, the
 * fraction of positives and negatives whose score reaches it.
 * @param scores `[n]` finite scores, higher = more positive (e.g. reconstruction MSE)
 * @param labels `[n]` 1 (positive) or 0 (negative); both classes must occur
 */
export function rocCurve(scores: NumberArray, labels: BinaryLabels): RocCurve {
  const s = toNumbers('scores', scores);
  const y = toBinary('labels', labels, s.length);
  const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
  const positives = y.reduce((n, v) => n + v, 0);
  const negatives = s.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new ArgumentError('labels', labels, 'both classes: at least one 1 (positive) and one 0 (negative)');
  }
  const tps = [0];
  const fps = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (y[i] === 1) tp++;
    else fp++;
    // one point per distinct score: tied scores are a single step
    if (k === order.length - 1 || s[order[k + 1]] !== s[i]) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(s[i]);
    }
  }
  return {
    fpr: fps.map((f) => f / negatives),
    tpr: tps.map((t) => t / positives),
    thresholds,
    tps,
    fps,
    positives,
    negatives,
  };
}

/**
 * Area under a ROC curve by the trapezoid rule, in [0, 1] (0.5 = chance). For a curve from
 * `rocCurve` the area is summed in integers from its counts and divided once, so it is
 * exact up to that rounding; for bare `{ fpr, tpr }` arrays (sklearn's `auc(fpr, tpr)`) the
 * trapezoids are summed in floating point.
 */
export function auc(curve: Pick<RocCurve, 'fpr' | 'tpr'> & Partial<RocCurve>): number {
  const { fpr, tpr } = curve;
  if (!fpr || !tpr || fpr.length !== tpr.length || fpr.length < 2) {
    throw new ArgumentError('curve', curve, 'a ROC curve { fpr, tpr } with at least two points of equal length');
  }
  if (curve.tps && curve.fps && curve.positives && curve.negatives && curve.tps.length === fpr.length) {
    // 2 * area * P * N = sum over steps of (fp_i - fp_{i-1}) * (tp_i + tp_{i-1}): integers.
    let twice = 0;
    for (let i = 1; i < curve.tps.length; i++) twice += (curve.fps[i] - curve.fps[i - 1]) * (curve.tps[i] + curve.tps[i - 1]);
    return twice / (2 * curve.positives * curve.negatives);
  }
  let area = 0;
  for (let i = 1; i < fpr.length; i++) {
    const dx = fpr[i] - fpr[i - 1];
    if (dx < 0) throw new ArgumentError('curve.fpr', fpr, 'non-decreasing false-positive rates');
    area += (dx * (tpr[i] + tpr[i - 1])) / 2;
  }
  return area;
}

/**
 * `roc_auc_score`: the area under the ROC curve of `scores` (the probability that a random
 * positive scores above a random negative, ties counted as one half).
 * @param scores `[n]` finite, higher = more positive
 * @param labels `[n]` 1 positive, 0 negative
 */
export function rocAuc(scores: NumberArray, labels: BinaryLabels): number {
  return auc(rocCurve(scores, labels));
}

/**
 * Seed 003's `closest_point(tpr, 0.3)`: the curve point whose true-positive rate is closest
 * to `targetTpr` (the first such point on ties, i.e. the highest threshold), with its
 * threshold and false-positive rate.
 * @param targetTpr wanted true-positive rate in [0, 1] (default 0.3, as the seed)
 */
export function thresholdForTpr(curve: RocCurve, targetTpr = 0.3): RocPoint {
  checkNumber('targetTpr', targetTpr, 0, 1);
  let best = 0;
  for (let i = 1; i < curve.tpr.length; i++) {
    if (Math.abs(curve.tpr[i] - targetTpr) < Math.abs(curve.tpr[best] - targetTpr)) best = i;
  }
  return { index: best, threshold: curve.thresholds[best], tpr: curve.tpr[best], fpr: curve.fpr[best] };
}

/**
 * NumPy's `np.percentile` with its default linear interpolation: the value at fractional
 * rank `p / 100 * (n - 1)` of the sorted values.
 * @param values `[n]` finite numbers, n >= 1
 * @param p percentile in [0, 100]
 */
export function percentile(values: NumberArray, p: number): number {
  const v = toNumbers('values', values);
  if (v.length === 0) throw new ArgumentError('values', values, 'at least one number');
  checkNumber('p', p, 0, 100);
  return percentileOfSorted(Float64Array.from(v).sort(), p);
}

/**
 * `percentile` on values already sorted ascending, with NumPy's exact arithmetic: index
 * `(n - 1) * (p / 100)`, then `a + (b - a) * t` below the midpoint and `b - (b - a) * (1 - t)`
 * from it on (NumPy's `_lerp`), so results agree with `np.percentile` to the last bit.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const index = (sorted.length - 1) * (p / 100);
  const lo = Math.floor(index);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = index - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * True- and false-positive rates when the threshold is a percentile of reference scores
 * (seed 000 Exercise 3: "TPR and FPR across different threshold percentiles"). An example is
 * flagged when its score is strictly above the threshold, as the seed's `errors > threshold`.
 * @param scores `[n]` scores of the evaluated examples
 * @param labels `[n]` 1 positive (anomaly), 0 negative (normal)
 * @param percentiles percentiles in [0, 100] (default 50, 75, 90, 95, 99)
 * @param reference scores whose percentiles are the thresholds: the training errors of an
 *   `AnomalyDetector` (what `fit` thresholds on). Default: the negatives among `scores`.
 * @returns one row per percentile, in the given order
 */
export function ratesAtPercentiles(
  scores: NumberArray,
  labels: BinaryLabels,
  percentiles: readonly number[] = [50, 75, 90, 95, 99],
  reference?: NumberArray,
): PercentileRates[] {
  const s = toNumbers('scores', scores);
  const y = toBinary('labels', labels, s.length);
  const positives = y.reduce((n, v) => n + v, 0);
  const negatives = s.length - positives;
  if (positives === 0 || negatives === 0) throw new ArgumentError('labels', labels, 'both classes: at least one 1 and one 0');
  const ref = reference === undefined ? s.filter((_, i) => y[i] === 0) : toNumbers('reference', reference);
  if (ref.length === 0) throw new ArgumentError('reference', reference, 'at least one score');
  const sorted = Float64Array.from(ref).sort();
  return percentiles.map((p) => {
    checkNumber('percentile', p, 0, 100);
    const threshold = percentileOfSorted(sorted, p);
    const { tp, fp } = flagged(s, y, threshold);
    return { percentile: p, threshold, tpr: tp / positives, fpr: fp / negatives, truePositives: tp, falsePositives: fp };
  });
}

/** Positives and negatives flagged by the rule `score > threshold`. */
function flagged(s: ArrayLike<number>, y: ArrayLike<number>, threshold: number): { tp: number; fp: number } {
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] > threshold) {
      if (y[i] === 1) tp++;
      else fp++;
    }
  }
  return { tp, fp };
}

/** Detection counts and rates at one threshold (flag when `score > threshold`). */
export interface ThresholdMetrics {
  /** The threshold in score units (e.g. MSE per value). */
  threshold: number;
  /** Positives flagged, negatives flagged, positives missed, negatives passed. */
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  /** Flagged examples that are positive, `tp / (tp + fp)`, in [0, 1] (1 when nothing is flagged, as there is no false alarm). */
  precision: number;
  /** Positives flagged, `tp / (tp + fn)`, in [0, 1] (the TPR). */
  recall: number;
  /** Harmonic mean of precision and recall, in [0, 1] (0 when both are 0). */
  f1: number;
  /** Negatives flagged, `fp / (fp + tn)`, in [0, 1]. */
  fpr: number;
  /** Share of all examples classified correctly, in [0, 1]. */
  accuracy: number;
}

/**
 * Precision, recall, F1 and FPR of the rule `score > threshold` (the seed's `errors >
 * threshold`), for each threshold.
 * @param scores `[n]` finite, higher = more positive
 * @param labels `[n]` 1 positive (anomaly, signal), 0 negative
 * @param thresholds one or more thresholds in score units
 * @returns one row per threshold, in the given order
 */
export function metricsAtThresholds(scores: NumberArray, labels: BinaryLabels, thresholds: readonly number[]): ThresholdMetrics[] {
  const s = toNumbers('scores', scores);
  const y = toBinary('labels', labels, s.length);
  const positives = y.reduce((n, v) => n + v, 0);
  const negatives = s.length - positives;
  if (positives === 0 || negatives === 0) throw new ArgumentError('labels', labels, 'both classes: at least one 1 and one 0');
  return thresholds.map((threshold) => {
    if (typeof threshold !== 'number' || Number.isNaN(threshold)) throw new ArgumentError('thresholds', thresholds, 'numbers');
    const { tp, fp } = flagged(s, y, threshold);
    return countsToMetrics(threshold, tp, fp, positives, negatives);
  });
}

/**
 * The point of a ROC curve with the highest F1 (the first on ties, i.e. the highest
 * threshold). Points flag `score >= threshold`, so this is the best F1 any threshold can
 * reach on these examples: an optimistic, after-the-fact choice, not one made on held-out data.
 */
export function bestF1Point(curve: RocCurve): ThresholdMetrics & { index: number } {
  let best: (ThresholdMetrics & { index: number }) | undefined;
  for (let i = 0; i < curve.tps.length; i++) {
    const m = countsToMetrics(curve.thresholds[i], curve.tps[i], curve.fps[i], curve.positives, curve.negatives);
    if (!best || m.f1 > best.f1) best = { ...m, index: i };
  }
  return best!;
}

function countsToMetrics(threshold: number, tp: number, fp: number, positives: number, negatives: number): ThresholdMetrics {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 1;
  const recall = tp / positives;
  return {
    threshold,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: positives - tp,
    trueNegatives: negatives - fp,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    fpr: fp / negatives,
    accuracy: (tp + negatives - fp) / (positives + negatives),
  };
}

// ---------------------------------------------------------------------------------------

/** Host copy of a number array or tensor as float64, checked finite. */
function toNumbers(name: string, values: NumberArray): number[] {
  const arr = values instanceof tf.Tensor ? Array.from(values.dataSync()) : Array.from(values as ArrayLike<number>);
  for (const v of arr) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(name, values, 'finite numbers (found NaN, Infinity or a non-number)');
  }
  return arr;
}

function toBinary(name: string, labels: BinaryLabels, n: number): number[] {
  const arr = labels instanceof tf.Tensor ? Array.from(labels.dataSync()) : Array.from(labels as ArrayLike<number | boolean>);
  if (arr.length !== n) throw new ArgumentError(name, labels, `${n} labels, one per score`);
  return arr.map((v) => {
    if (v === 1 || v === true) return 1;
    if (v === 0 || v === false) return 0;
    throw new ArgumentError(name, labels, 'binary labels: 1/true (positive) or 0/false (negative)');
  });
}
