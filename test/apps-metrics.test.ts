// Exact checks of the metrics the applications are built on: ROC/AUC (ties included),
// percentiles, silhouette, adjusted Rand index, NMI, quantisation. Hand-computed values;
// the NumPy/scikit-learn values quoted were computed with NumPy 2.4 or come from
// scikit-learn's documentation.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/lib/random';
import { auc, bestF1Point, metricsAtThresholds, percentile, ratesAtPercentiles, rocAuc, rocCurve, thresholdForTpr } from '../src/lib/apps/roc';
import { adjustedRandIndex, clusterConfusion, clusterConfusionRows, contingencyTable, kmeansBest, knnLabelAgreement, normalizedMutualInfo, silhouetteSamples, silhouetteScore } from '../src/lib/apps/clustering';
import { fitQuantizer, psnr, quantizeCodes } from '../src/lib/apps/compression';
import { balancedIndices } from '../src/lib/apps/semisupervised';

/** Mann-Whitney U / (P N) by brute force over all positive-negative pairs, ties counted 1/2 (numerator kept in integers). */
function mannWhitney(scores: number[], labels: number[]): number {
  let twice = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((t, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      twice += s > t ? 2 : s === t ? 1 : 0;
    });
  });
  return twice / (2 * pairs);
}

/** The silhouette by its definition: a direct double loop over all pairs, float64. */
function silhouetteDirect(points: number[][], labels: number[]): number[] {
  const clusters = [...new Set(labels)];
  return points.map((p, i) => {
    const mean: Record<number, number> = {};
    for (const c of clusters) {
      let sum = 0;
      let count = 0;
      points.forEach((q, j) => {
        if (labels[j] !== c || j === i) return;
        let acc = 0;
        for (let t = 0; t < p.length; t++) acc += (p[t] - q[t]) * (p[t] - q[t]);
        sum += Math.sqrt(acc);
        count++;
      });
      mean[c] = sum / count; // own cluster: count = size - 1
    }
    const own = labels[i];
    const size = labels.filter((l) => l === own).length;
    if (size === 1) return 0;
    const a = mean[own];
    const b = Math.min(...clusters.filter((c) => c !== own).map((c) => mean[c]));
    return (b - a) / Math.max(a, b);
  });
}

describe('apps: ROC and AUC', () => {
  it("reproduces scikit-learn's roc_curve example exactly", () => {
    // sklearn.metrics.roc_curve docs: y = [0,0,1,1] (as 1,1,2,2 with pos_label 2), scores below
    const c = rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    assert.deepEqual(c.fpr, [0, 0, 0.5, 0.5, 1]);
    assert.deepEqual(c.tpr, [0, 0.5, 0.5, 1, 1]);
    assert.deepEqual(c.thresholds, [Infinity, 0.8, 0.4, 0.35, 0.1]);
    assert.equal(auc(c), 0.75);
    assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });

  it('makes tied scores one step and gives them half credit', () => {
    // 3(+) 2(-) 2(+) 1(-): the tie at 2 is one diagonal step from (0, 1/2) to (1/2, 1)
    const c = rocCurve([1, 2, 2, 3], [0, 0, 1, 1]);
    assert.deepEqual(c.fpr, [0, 0, 0.5, 1]);
    assert.deepEqual(c.tpr, [0, 0.5, 1, 1]);
    assert.deepEqual(c.thresholds, [Infinity, 3, 2, 1]);
    // pairs: 3>2, 3>1, 2=2 (1/2), 2>1 -> 3.5 / 4
    assert.equal(auc(c), 0.875);
    // all scores tied: one step from (0, 0) to (1, 1)
    const flat = rocCurve([0.5, 0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1, 1]);
    assert.deepEqual(flat.fpr, [0, 1]);
    assert.deepEqual(flat.tpr, [0, 1]);
    assert.equal(auc(flat), 0.5);
    assert.equal(rocAuc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
    assert.equal(rocAuc([1, 2, 3, 4], [1, 1, 0, 0]), 0);
  });

  it('equals the Mann-Whitney statistic exactly on data full of ties, and the float trapezoid closely', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 30 + rng.int(200);
      const scores = Array.from({ length: n }, () => rng.int(12)); // many ties
      const labels = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2)));
      const c = rocCurve(scores, labels);
      assert.equal(auc(c), mannWhitney(scores, labels));
      // sklearn's auc(fpr, tpr): the same area from the float rates
      assert.ok(Math.abs(auc({ fpr: c.fpr, tpr: c.tpr }) - auc(c)) < 1e-12);
    }
  });

  it('takes tensors and booleans, and rejects one-class labels, NaN and length mismatches', () => {
    const c = rocCurve(tf.tensor1d([0.2, 0.9]), [false, true]);
    assert.equal(auc(c), 1);
    assert.throws(() => rocCurve([1, 2], [1, 1]), /both classes/);
    assert.throws(() => rocCurve([1, NaN], [0, 1]), /finite/);
    assert.throws(() => rocCurve([1, 2, 3], [0, 1]), /3 labels/);
    assert.throws(() => rocCurve([1, 2], [0, 2]), /binary/);
  });

  it("picks seed 003's closest_point at TPR 0.3", () => {
    const c = rocCurve([0.1, 0.4, 0.35, 0.8, 0.7, 0.2], [0, 0, 1, 1, 1, 0]);
    // tpr steps 0, 1/3 (at 0.8), 2/3, ...: 1/3 is closest to 0.3
    const p = thresholdForTpr(c, 0.3);
    assert.equal(p.threshold, 0.8);
    assert.equal(p.tpr, 1 / 3);
    assert.equal(p.fpr, 0);
    assert.equal(p.index, 1);
  });

  it('computes percentiles as np.percentile (to the last bit) and rates at percentile thresholds', () => {
    // values from NumPy 2.4: np.percentile([1,2,3,4,5], 90) = 4.6, ([0.1,0.7,0.2,0.35], 95) = 0.6474999999999999, ([3,1,2], 33) = 1.6600000000000001
    assert.equal(percentile([1, 2, 3, 4, 5], 90), 4.6);
    assert.equal(percentile([0.1, 0.7, 0.2, 0.35], 95), 0.6474999999999999);
    assert.equal(percentile([3, 1, 2], 33), 1.6600000000000001);
    assert.equal(percentile([5], 50), 5);
    // reference errors 1..10: 50th percentile 5.5, 90th 9.1; flagged when > threshold
    const reference = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const rows = ratesAtPercentiles([5, 6, 9.5, 2, 11, 12], [0, 0, 0, 1, 1, 1], [50, 90], reference);
    assert.deepEqual(rows.map((r) => r.threshold), [5.5, 9.1]);
    assert.deepEqual(rows.map((r) => [r.tpr, r.fpr]), [[2 / 3, 2 / 3], [2 / 3, 1 / 3]]);
  });
});

describe('apps: precision, recall and F1 at thresholds', () => {
  // scores and labels: positives at 0.9, 0.8, 0.4; negatives at 0.7, 0.3, 0.2, 0.1
  const scores = [0.9, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1];
  const labels = [1, 1, 0, 1, 0, 0, 0];

  it('counts flags strictly above each threshold and derives precision, recall, F1, FPR and accuracy', () => {
    const [a, b, c] = metricsAtThresholds(scores, labels, [0.75, 0.35, 1]);
    // > 0.75: TP 2, FP 0 -> precision 1, recall 2/3, F1 0.8
    assert.deepEqual([a.truePositives, a.falsePositives, a.falseNegatives, a.trueNegatives], [2, 0, 1, 4]);
    assert.equal(a.precision, 1);
    assert.equal(a.recall, 2 / 3);
    assert.ok(Math.abs(a.f1 - 0.8) < 1e-12);
    assert.equal(a.accuracy, 6 / 7);
    // > 0.35: TP 3, FP 1 -> precision 3/4, recall 1, F1 6/7, FPR 1/4
    assert.deepEqual([b.precision, b.recall, b.fpr], [0.75, 1, 0.25]);
    assert.ok(Math.abs(b.f1 - 6 / 7) < 1e-12);
    // nothing flagged: no false alarm (precision 1), nothing found (recall 0, F1 0)
    assert.deepEqual([c.precision, c.recall, c.f1], [1, 0, 0]);
    assert.throws(() => metricsAtThresholds(scores, [1, 1, 1, 1, 1, 1, 1], [0.5]), /both classes/);
  });

  it('finds the best F1 over every ROC threshold', () => {
    const best = bestF1Point(rocCurve(scores, labels));
    // flagging >= 0.4 (TP 3, FP 1) gives F1 6/7, the best; >= 0.8 gives 0.8
    assert.equal(best.threshold, 0.4);
    assert.ok(Math.abs(best.f1 - 6 / 7) < 1e-12);
    assert.equal(best.truePositives, 3);
    assert.equal(best.falsePositives, 1);
  });
});

describe('apps: clustering metrics', () => {
  it('silhouette: a textbook example on a line, value by value', async () => {
    // A = {1, 2}, B = {5, 6, 7}: s = (b - a) / max(a, b) with mean distances
    const points = [[1], [2], [5], [6], [7]];
    const labels = [0, 0, 1, 1, 1];
    const s = await silhouetteSamples(points, labels);
    const expected = [(5 - 1) / 5, (4 - 1) / 4, (3.5 - 1.5) / 3.5, (4.5 - 1) / 4.5, (5.5 - 1.5) / 5.5];
    assert.deepEqual(Array.from(s), expected); // 4/5, 3/4, 4/7, 7/9, 8/11
    assert.equal(await silhouetteScore(points, labels), (0.8 + 0.75 + 4 / 7 + 7 / 9 + 8 / 11) / 5);
    // a point alone in its cluster scores 0 (sklearn's convention)
    const single = await silhouetteSamples([[0], [1], [10]], [0, 0, 1]);
    assert.equal(single[2], 0);
    await assert.rejects(silhouetteScore([[0], [1], [2]], [0, 0, 0]), /between 2 and n - 1/);
    await assert.rejects(silhouetteScore([[0], [1], [2]], [0, 1, 2]), /between 2 and n - 1/);
  });

  it('silhouette: the float64 path equals a direct O(n^2) loop exactly, the blocked float32 path within 1e-5', async () => {
    const rng = new Rng(3);
    const n = 257;
    const labels = Array.from({ length: n }, (_, i) => i % 4);
    const points = labels.map((l) => Array.from({ length: 6 }, (_, t) => (t === l ? 3 : 0) + rng.normal()));
    const direct = silhouetteDirect(points, labels);
    const exact = await silhouetteSamples(points, labels, { precision: 'float64' });
    assert.deepEqual(Array.from(exact), direct);
    // blocks of 50 that do not divide n, rows in several blocks
    const fast = await silhouetteSamples(tf.tensor2d(points), labels, { precision: 'float32', blockSize: 50 });
    const worst = Math.max(...direct.map((v, i) => Math.abs(v - fast[i])));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
  });

  it('adjusted Rand index: identical partitions 1, the documented values, exact', () => {
    assert.equal(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 1]), 1);
    assert.equal(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 1); // renaming does not matter
    // scikit-learn's documentation: 0.57 for these two (4/7 exactly)
    assert.equal(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), 4 / 7);
    assert.equal(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), 4 / 7);
    assert.equal(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), 0);
    assert.equal(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]), -0.5);
    assert.equal(adjustedRandIndex([3, 3, 3], [7, 7, 7]), 1);
    assert.deepEqual(contingencyTable([0, 0, 1, 2], [5, 5, 6, 6]), [[2, 0], [0, 1], [0, 1]]);
  });

  it('normalised mutual information: identical partitions exactly 1, independent 0, a hand-computed case', () => {
    assert.equal(normalizedMutualInfo([0, 0, 1, 1, 2], [4, 4, 9, 9, 1]), 1);
    assert.equal(normalizedMutualInfo([0, 0, 0], [1, 1, 1]), 1);
    assert.equal(normalizedMutualInfo([0, 0, 1, 1], [0, 1, 0, 1]), 0);
    // H(true) = ln 2, H(pred) = 1.5 ln 2, MI = ln 2: NMI = ln 2 / 1.25 ln 2 = 0.8
    assert.ok(Math.abs(normalizedMutualInfo([0, 0, 1, 1], [0, 0, 1, 2]) - 0.8) < 4e-16);
    const rng = new Rng(5);
    const a = Array.from({ length: 500 }, () => rng.int(5));
    const b = Array.from({ length: 500 }, () => rng.int(5));
    assert.ok(normalizedMutualInfo(a, b) < 0.02);
    assert.ok(Math.abs(adjustedRandIndex(a, b)) < 0.02);
  });

  it('k-means keeps the restart of lowest inertia and finds well separated blobs', async () => {
    const rng = new Rng(11);
    const centres = [[0, 0], [10, 0], [0, 10]];
    const truth = Array.from({ length: 150 }, (_, i) => i % 3);
    const points = truth.map((c) => centres[c].map((v) => v + rng.normal()));
    const km = await kmeansBest(points, 3, { restarts: 4, seed: 1 });
    assert.equal(km.inertias.length, 4);
    assert.equal(km.inertia, Math.min(...km.inertias));
    assert.equal(adjustedRandIndex(truth, km.labels), 1);
    const again = await kmeansBest(points, 3, { restarts: 4, seed: 1 });
    assert.deepEqual(again.labels, km.labels);
    // Lloyd's iterations on the backend (float32) from the same seeded starts: same clustering
    assert.equal(km.engine, 'ml-kmeans');
    const fast = await kmeansBest(points, 3, { restarts: 4, seed: 1, engine: 'tfjs' });
    assert.equal(fast.engine, 'tfjs');
    assert.deepEqual(fast.labels, km.labels);
    assert.ok(Math.abs(fast.inertia - km.inertia) < 1e-6 * km.inertia);
  });
});

describe('apps: neighbour agreement and cluster confusion', () => {
  it('kNN label agreement: a hand-computed case on a line, per class and against chance', () => {
    // 0, 1, 2 | 10, 11, 12.5 with labels 0 0 1 | 1 1 1, k = 2: the hits are 1, 1, 0 | 2, 2, 2
    const a = knnLabelAgreement([[0], [1], [2], [10], [11], [12.5]], [0, 0, 1, 1, 1, 1], { k: 2 });
    assert.equal(a.overall, 8 / 12);
    assert.deepEqual(a.perClass, [
      { label: 0, count: 2, agreement: 2 / 4 },
      { label: 1, count: 4, agreement: 6 / 8 },
    ]);
    // random neighbours: (2/6)(1/5) + (4/6)(3/5) = 7/15
    assert.ok(Math.abs(a.chance - 7 / 15) < 1e-15);
    assert.equal(a.k, 2);
    assert.equal(a.n, 6);
  });

  it('kNN label agreement: a point is never its own neighbour, even next to an exact duplicate', () => {
    // each point's only neighbour at distance 0 is its duplicate, which has the other label
    const a = knnLabelAgreement([[0], [0], [5], [5]], [0, 1, 1, 0], { k: 1 });
    assert.equal(a.overall, 0);
    assert.throws(() => knnLabelAgreement([[0], [1]], [0, 1], { k: 2 }), /k/);
    assert.throws(() => knnLabelAgreement([[0], [1], [2]], [0, 1]), /labels/);
  });

  it('kNN label agreement: blocks that do not divide n give the brute-force float64 answer', () => {
    const rng = new Rng(7);
    const n = 101;
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const points = labels.map((l) => Array.from({ length: 5 }, (_, t) => (t === l ? 1.5 : 0) + rng.normal()));
    const k = 5;
    let hits = 0;
    points.forEach((p, i) => {
      const order = points
        .map((q, j) => ({ j, d: q.reduce((s, v, t) => s + (v - p[t]) ** 2, 0) }))
        .filter((e) => e.j !== i)
        .sort((x, y) => x.d - y.d || x.j - y.j);
      for (const e of order.slice(0, k)) if (labels[e.j] === labels[i]) hits++;
    });
    const a = knnLabelAgreement(tf.tensor2d(points), labels, { k, blockSize: 16 });
    assert.equal(a.overall, hits / (n * k));
    assert.ok(a.overall > a.chance + 0.1, `${a.overall} vs chance ${a.chance}`);
  });

  it('cluster confusion: clusters ordered by their majority class, purity, unclaimed classes', () => {
    const c = clusterConfusion([0, 0, 0, 1, 1, 2, 2, 2], [5, 5, 7, 7, 7, 3, 3, 5]);
    assert.deepEqual(c.classes, [0, 1, 2]);
    assert.deepEqual(c.clusters, [5, 7, 3]);
    assert.deepEqual(c.majority, [0, 1, 2]);
    assert.deepEqual(c.counts, [[2, 1, 0], [0, 2, 0], [1, 0, 2]]);
    assert.deepEqual(c.sizes, [3, 3, 2]);
    assert.equal(c.purity, 6 / 8);
    assert.deepEqual(c.unclaimed, []);
    assert.deepEqual(clusterConfusionRows(c, ['zero', 'one', 'two'])[2], { class: 'two', 'c5→zero': 1, 'c7→one': 0, 'c3→two': 2 });
    // two classes merged into one cluster (a tie goes to the lower class): class 1 is claimed by none
    const merged = clusterConfusion([0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1]);
    assert.deepEqual(merged.majority, [0, 2]);
    assert.deepEqual(merged.unclaimed, [1]);
    assert.equal(merged.purity, 4 / 6);
  });
});

describe('apps: quantisation and balanced subsets', () => {
  it('quantises each code unit linearly between its min and max', () => {
    // two units: [0, 1, 0.5] and [2, 2, 2] (constant)
    const codes = Float32Array.from([0, 2, 1, 2, 0.5, 2]);
    const q = fitQuantizer(codes, 2, 8);
    assert.deepEqual(Array.from(q.min), [0, 2]);
    assert.deepEqual(Array.from(q.max), [1, 2]);
    const { levels, dequantized } = quantizeCodes(codes, q);
    assert.deepEqual(Array.from(levels), [0, 0, 255, 0, 128, 0]); // round(0.5 * 255) = 128
    assert.equal(dequantized[4], Math.fround(128 / 255));
    assert.equal(dequantized[1], 2);
    assert.equal(psnr(0.01), 20);
  });

  it('draws class-balanced subsets, giving what small classes lack to the others', () => {
    // labels: class 0 x 50, class 1 x 3, class 2 x 50
    const y = [...new Array(50).fill(0), 1, 1, 1, ...new Array(50).fill(2)];
    const ds = { x: tf.zeros([y.length, 1]), y: tf.tensor1d(y, 'int32') };
    const idx = balancedIndices(ds, 30, 4);
    const counts = [0, 0, 0];
    idx.forEach((i) => counts[y[i]]++);
    assert.deepEqual(counts.sort((a, b) => a - b), [3, 13, 14]);
    assert.equal(new Set(idx).size, 30);
    assert.deepEqual(balancedIndices(ds, 30, 4), idx);
    tf.dispose([ds.x, ds.y]);
  });
});
