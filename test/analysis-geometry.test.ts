import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { Rng } from '../src/lib/random';
import {
  analyzeLatentGeometry,
  explainedVarianceChart,
  geometryChart,
  geometryTable,
  intrinsicDimension,
  latentGeometry,
  pairwiseDistances,
  pcaFit,
  pcaTransform,
  PointSet,
  smallestIndices,
} from '../src/lib/analysis';
import { neighbourhoodChance } from '../src/lib/analysis/distances';

/** n points of d standard normal values. */
function gaussian(n: number, d: number, seed: number): PointSet {
  const rng = new Rng(seed);
  return { codes: Float32Array.from({ length: n * d }, () => rng.normal()), n, d };
}

/** Row-major product [n, k] x [k, d]. */
function matmul(a: PointSet, b: PointSet): PointSet {
  const out = new Float32Array(a.n * b.d);
  for (let i = 0; i < a.n; i++) for (let k = 0; k < a.d; k++) for (let j = 0; j < b.d; j++) out[i * b.d + j] += a.codes[i * a.d + k] * b.codes[k * b.d + j];
  return { codes: out, n: a.n, d: b.d };
}

describe('analysis: latent geometry (seed 000 analyze_latent_geometry)', () => {
  it('computes pairwise distances as scipy cdist does', () => {
    const a = gaussian(37, 13, 1);
    const b = gaussian(11, 13, 2);
    const d = pairwiseDistances(a, b);
    for (let i = 0; i < a.n; i += 5) {
      for (let j = 0; j < b.n; j++) {
        let s = 0;
        for (let k = 0; k < 13; k++) s += (a.codes[i * 13 + k] - b.codes[j * 13 + k]) ** 2;
        assert.ok(Math.abs(d[i * b.n + j] - Math.sqrt(s)) < 1e-4, `d[${i},${j}]`);
      }
    }
    const self = pairwiseDistances(a);
    for (let i = 0; i < a.n; i++) assert.equal(self[i * a.n + i], 0);
  });

  it('picks the k smallest values, ties to the lower index', () => {
    const row = Float32Array.from([5, 1, 3, 1, 0, 9, 3]);
    assert.deepEqual(Array.from(smallestIndices(row, 4)), [4, 1, 3, 2]);
    assert.deepEqual(Array.from(smallestIndices(row, 2, 2, 4)), [2, 1]); // values [3, 1, 0, 9] -> 0 at 2, 1 at 1
  });

  it('gives distance correlation 1 and neighbourhood preservation 1 for the identity encoder', () => {
    const x = gaussian(600, 20, 3);
    const g = latentGeometry(x, x);
    assert.ok(Math.abs(g.distanceCorrelation - 1) < 1e-9, `${g.distanceCorrelation}`);
    assert.equal(g.neighbourhoodPreservation, 1);
    assert.equal(g.neighbourhoodLift, 1);
    assert.equal(g.pairSamples, 500);
    assert.equal(g.queries, 100);
    // A scaled and rotated copy keeps every distance ratio: still 1 and 1.
    const q = tf.tidy(() => tf.linalg.qr(tf.randomNormal([20, 20], 0, 1, 'float32', 4))[0]);
    const rotated = matmul(x, { codes: q.dataSync() as Float32Array, n: 20, d: 20 });
    q.dispose();
    rotated.codes.forEach((v, i) => (rotated.codes[i] = 3 * v));
    const r = latentGeometry(x, rotated);
    assert.ok(r.distanceCorrelation > 0.99999, `${r.distanceCorrelation}`);
    assert.equal(r.neighbourhoodPreservation, 1);
  });

  it('gives values at chance for latent codes unrelated to the inputs, and for a random projection of random points', () => {
    const x = gaussian(1000, 50, 5);
    const unrelated = latentGeometry(x, gaussian(1000, 2, 6));
    const chance = neighbourhoodChance(500, 10);
    assert.ok(Math.abs(chance - (1 + 100 / 499) / 11) < 1e-12);
    assert.ok(Math.abs(unrelated.distanceCorrelation) < 0.05, `unrelated correlation ${unrelated.distanceCorrelation}`);
    assert.ok(Math.abs(unrelated.neighbourhoodPreservation - chance) < 0.03, `unrelated preservation ${unrelated.neighbourhoodPreservation} vs chance ${chance}`);
    assert.ok(Math.abs(unrelated.neighbourhoodLift) < 0.04, `lift ${unrelated.neighbourhoodLift}`);
    // Projecting 784-D Gaussian points onto 2 random directions keeps about sqrt(2/784) of the distance structure.
    const pixels = gaussian(1000, 784, 7);
    const proj = matmul(pixels, gaussian(784, 2, 8));
    const p = latentGeometry(pixels, proj);
    assert.ok(Math.abs(p.distanceCorrelation) < 0.15, `projection correlation ${p.distanceCorrelation}`);
    assert.ok(Math.abs(p.neighbourhoodLift) < 0.05, `projection lift ${p.neighbourhoodLift}`);
    assert.equal(p.intrinsicDim, 2);
  });

  it('finds the rank of data built with known rank r as its intrinsic dimension', () => {
    for (const r of [1, 3, 7]) {
      // Orthonormal directions with equal variance: each component holds 1/r of it.
      const basis = tf.tidy(() => tf.linalg.qr(tf.randomNormal([40, r], 0, 1, 'float32', r))[0].transpose());
      const x = matmul(gaussian(2000, r, 10 + r), { codes: basis.dataSync() as Float32Array, n: r, d: 40 });
      basis.dispose();
      const dim = intrinsicDimension(x);
      assert.equal(dim.dim, r, `rank ${r}: ${dim.cumulativeVarianceRatio.slice(0, r + 1)}`);
      assert.ok(dim.cumulativeVarianceRatio[r - 1] > 0.9999);
    }
    // Unequal variances: 95% may need fewer components than the rank (1, 1, 0.01: two hold 99.5%).
    const scaled = gaussian(2000, 3, 20);
    for (let i = 0; i < 2000; i++) scaled.codes[i * 3 + 2] *= 0.1;
    assert.equal(intrinsicDimension(scaled).dim, 2);
  });

  it('projects onto the principal axes', () => {
    const x = gaussian(500, 3, 30);
    for (let i = 0; i < 500; i++) {
      x.codes[i * 3] *= 5;
      x.codes[i * 3 + 1] *= 2;
    }
    const fit = pcaFit(x);
    assert.ok(Math.abs(fit.components[0]) > 0.99, 'first axis is x');
    assert.ok(Math.abs(fit.components[3 + 1]) > 0.99, 'second axis is y');
    const y = pcaTransform(fit, x, 2);
    assert.equal(y.d, 2);
    let v0 = 0;
    for (let i = 0; i < 500; i++) v0 += y.codes[2 * i] ** 2;
    assert.ok(Math.abs(v0 / 499 - fit.variances[0]) / fit.variances[0] < 1e-3);
  });

  describe('on MNIST', () => {
    let test: Dataset;
    before(async () => {
      ({ test } = await loadMnist({ testSize: 2000, trainSize: 1 }));
    });
    after(() => disposeDataset(test));

    it('analyses 2,000 test images in seconds, and 2,000 x 2,000 distances too', async function () {
      const ae = new AE({ latentDim: 2 });
      const start = tf.memory().numTensors;
      const t0 = performance.now();
      const g = await analyzeLatentGeometry(ae, test);
      const seed = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const codes = ae.encode(test.x);
      const full = latentGeometry(test.x, codes, { pairSamples: 2000, queries: 2000 });
      codes.dispose();
      const all = (performance.now() - t1) / 1000;
      ae.dispose();
      assert.equal(tf.memory().numTensors, start - 8); // only the model's 8 weights are gone
      if (process.env.AELAB_TEST_VERBOSE) console.log({ seedSettingsSeconds: seed, fullPairsSeconds: all, g, full: { ...full, explainedVarianceRatio: undefined } });
      assert.equal(g.samples, 2000);
      assert.equal(g.latentDim, 2);
      assert.ok(g.intrinsicDim >= 1 && g.intrinsicDim <= 2);
      assert.ok(g.distanceCorrelation > -1 && g.distanceCorrelation <= 1);
      assert.ok(seed < 10, `seed settings took ${seed} s`);
      assert.ok(all < 20, `2,000-point pairs took ${all} s`);
      assert.equal(full.pairSamples, 2000);
      const bars = geometryChart([{ name: 'untrained', geometry: g }]);
      assert.equal((bars.data as { values: unknown[] }).values.length, 4);
      assert.ok(explainedVarianceChart(g).mark);
      assert.deepEqual(geometryTable([{ name: 'untrained', geometry: g }]).rows[0], {
        model: 'untrained',
        distanceCorrelation: g.distanceCorrelation,
        neighbourhoodPreservation: g.neighbourhoodPreservation,
        neighbourhoodChance: g.neighbourhoodChance,
        neighbourhoodLift: g.neighbourhoodLift,
        intrinsicDim: g.intrinsicDim,
        latentDim: 2,
      });
    });
  });
});
