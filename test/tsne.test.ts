import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../src/lib/errors';
import { Rng } from '../src/lib/random';
import { loadMnist } from '../src/lib/data/mnist';
import { disposeDataset } from '../src/lib/data/dataset';
import { tsne, TsneOptions } from '../src/lib/analysis/tsne';
import { trustworthiness } from '../src/lib/analysis/trustworthiness';

/** `n` points in `c` Gaussian clusters (unit variance, centres ~N(0, sep^2)) in `d` dimensions; label = i % c. */
function clusters(n: number, c: number, d: number, sep: number, seed: number): { rows: number[][]; labels: number[] } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: c }, () => Array.from({ length: d }, () => rng.normal() * sep));
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    labels.push(i % c);
    rows.push(centres[i % c].map((m) => m + rng.normal()));
  }
  return { rows, labels };
}

/** Fraction of each point's k nearest neighbours in the 2-D embedding that share its label. */
function knnLabelAgreement(embedding: Float32Array, labels: ArrayLike<number>, k: number): number {
  const n = labels.length;
  let agree = 0;
  const d = new Float64Array(n);
  const idx = Array.from({ length: n }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) d[j] = (embedding[2 * i] - embedding[2 * j]) ** 2 + (embedding[2 * i + 1] - embedding[2 * j + 1]) ** 2;
    d[i] = Infinity;
    idx.sort((a, b) => d[a] - d[b]);
    for (let t = 0; t < k; t++) if (labels[idx[t]] === labels[i]) agree++;
  }
  return agree / (n * k);
}

/** Trustworthiness straight from its definition (full sort of every row), for cross-checks. */
function naiveTrustworthiness(high: number[][], low: number[][], k: number): number {
  const n = high.length;
  const dist = (a: number[], b: number[]) => a.reduce((s, v, f) => s + (v - b[f]) ** 2, 0);
  const order = (rows: number[][], i: number) =>
    rows
      .map((r, j) => ({ j, d: dist(rows[i], r) }))
      .filter((e) => e.j !== i)
      .sort((a, b) => a.d - b.d || a.j - b.j)
      .map((e) => e.j);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const rank = new Map(order(high, i).map((j, r) => [j, r + 1]));
    for (const j of order(low, i).slice(0, k)) sum += Math.max(0, (rank.get(j) as number) - k);
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * sum;
}

const isArgumentError = (name: string) => (e: unknown) =>
  e instanceof ArgumentError && e.argument === name && e.message.startsWith(`${name} must be`);

describe('trustworthiness', () => {
  // Values checked against sklearn.manifold.trustworthiness 1.2.1.
  const high = [[0], [1], [3], [7], [12]];
  const low = [[0], [11], [1], [3], [6.5]];

  it('matches hand-computed tiny cases exactly', () => {
    // k = 2: penalties (rank - 2) 1 + 3 + 1 + 2 + 1 = 8; T = 1 - 2 * 8 / (5 * 2 * 3) = 7/15.
    assert.equal(trustworthiness(high, low, 2), 1 - 16 / 30);
    // k = 1: penalties 1 + 3 + 1 + 0 + 0 = 5; T = 1 - 2 * 5 / (5 * 1 * 6) = 2/3.
    assert.equal(trustworthiness(high, low, 1), 1 - 10 / 30);
    // Reversing a line keeps every neighbourhood.
    assert.equal(trustworthiness(high, high.map(([v]) => [-3 * v]), 2), 1);
  });

  it('is 1 for an identity embedding and agrees with the definition on random data', () => {
    const { rows } = clusters(60, 3, 5, 2, 7);
    assert.equal(trustworthiness(rows, rows, 10), 1);
    const rng = new Rng(3);
    const low = rows.map((r) => [r[0] + 0.5 * rng.normal(), r[1] + 0.5 * rng.normal()]);
    for (const k of [1, 5, 10]) {
      const t = trustworthiness(rows, low, k);
      assert.ok(Math.abs(t - naiveTrustworthiness(rows, low, k)) < 1e-12, `k=${k}: ${t}`);
      assert.ok(t > 0 && t < 1);
    }
    // Above 48 dimensions distances come from dot products: same ranks.
    const wide = rows.map((r) => [...r, ...r, ...r, ...r, ...r, ...r, ...r, ...r, ...r, ...r, ...r]);
    assert.ok(Math.abs(trustworthiness(wide, low, 5) - naiveTrustworthiness(wide, low, 5)) < 1e-12);
  });

  it('takes arrays, tensors, { data, n, dims }, point sets { codes, n, d } and a bare flat embedding alike', () => {
    const flatHigh = Float32Array.from(high.flat());
    const flatLow = Float32Array.from(low.flat());
    const expected = trustworthiness(high, low, 2);
    const t = tf.tensor2d(high);
    assert.equal(trustworthiness(t, flatLow, 2), expected);
    assert.equal(trustworthiness(flatHigh, { data: flatLow, n: 5, dims: 1 }, 2), expected);
    assert.equal(trustworthiness({ data: flatHigh, n: 5, dims: 1 }, { embedding: flatLow, n: 5, dims: 1 }, 2), expected);
    assert.equal(trustworthiness({ codes: flatHigh, n: 5, d: 1 }, { codes: flatLow, n: 5, d: 1 }, 2), expected);
    assert.throws(() => trustworthiness({ codes: flatHigh, n: 5, d: 2 }, low, 2), isArgumentError('high'));
    t.dispose();
  });

  it('rejects bad input with ArgumentError', () => {
    assert.throws(() => trustworthiness(high, low, 3), isArgumentError('k')); // k >= n / 2
    assert.throws(() => trustworthiness(high, low, 0), isArgumentError('k'));
    assert.throws(() => trustworthiness(high, low.slice(0, 4), 1), isArgumentError('low'));
    assert.throws(() => trustworthiness([[0], [1, 2], [3]], low, 1), isArgumentError('high'));
    assert.throws(() => trustworthiness(high, [[0], [NaN], [1], [3], [6]], 1), isArgumentError('low'));
    assert.throws(() => trustworthiness(new Float32Array(5), new Float32Array(10), 1), isArgumentError('high'));
  });
});

describe('tsne', () => {
  it('separates Gaussian clusters with high trustworthiness (500 points, Barnes-Hut)', () => {
    const { rows, labels } = clusters(500, 5, 10, 4, 1);
    const res = tsne(rows);
    assert.equal(res.n, 500);
    assert.equal(res.dims, 2);
    assert.ok(res.embedding instanceof Float32Array && res.embedding.length === 1000);
    assert.equal(res.iterations, 1000);
    assert.ok(res.embedding.every(Number.isFinite));
    const t = trustworthiness(rows, res.embedding, 10);
    const agreement = knnLabelAgreement(res.embedding, labels, 10);
    if (process.env.AELAB_TEST_VERBOSE) console.log({ t, agreement, kl: res.klDivergence, seconds: res.seconds });
    // Measured: T = 0.973, agreement 1.000, KL 0.62.
    assert.ok(t > 0.96, `trustworthiness ${t}`);
    assert.ok(agreement >= 0.99, `kNN label agreement ${agreement}`);
    assert.ok(res.klDivergence !== undefined && res.klDivergence > 0 && res.klDivergence < 1, `KL ${res.klDivergence}`);
  });

  it('embeds 500 MNIST test images (pixels, from a tensor) as well as scikit-learn does', async () => {
    const { train, test } = await loadMnist({ trainSize: 16, testSize: 500 });
    const x = tf.tidy(() => test.x.reshape([500, 784]) as tf.Tensor2D);
    const labels = test.y!.dataSync();
    try {
      const res = tsne(x);
      const t = trustworthiness(x, res.embedding, 10);
      const agreement = knnLabelAgreement(res.embedding, labels, 10);
      if (process.env.AELAB_TEST_VERBOSE) console.log({ t, agreement, kl: res.klDivergence, seconds: res.seconds });
      // Measured: T = 0.931, 10-NN label agreement 0.697 (in pixel space: 0.662). scikit-learn
      // 1.2.1 on the same images: T = 0.940 (0.938 and 0.941 from random starts), agreement 0.690.
      assert.ok(t > 0.92, `trustworthiness ${t}`);
      assert.ok(agreement > 0.66, `kNN label agreement ${agreement}`);
    } finally {
      x.dispose();
      disposeDataset(train);
      disposeDataset(test);
    }
  });

  it('gives the same embedding for the same seed, and takes every input form alike', () => {
    const { rows } = clusters(150, 4, 6, 3, 2);
    const options: TsneOptions = { init: 'random', iterations: 200, seed: 5 };
    const a = tsne(rows, options);
    const b = tsne(Float32Array.from(rows.flat()), { ...options, inputDims: 6 });
    const t = tf.tensor2d(rows);
    const c = tsne(t, options);
    t.dispose();
    // The rows are float64 from number[][] and float32 from the other two: compare like with like.
    assert.deepEqual(b.embedding, c.embedding);
    assert.deepEqual(tsne({ codes: Float32Array.from(rows.flat()), n: rows.length, d: 6 }, options).embedding, c.embedding);
    const a2 = tsne(rows, options);
    assert.deepEqual(a.embedding, a2.embedding);
    const other = tsne(rows, { ...options, seed: 6 });
    assert.notDeepEqual(other.embedding, a.embedding);
    // PCA initialisation is deterministic too.
    assert.deepEqual(tsne(rows, { iterations: 60 }).embedding, tsne(rows, { iterations: 60 }).embedding);
  });

  it('exact and Barnes-Hut gradients reach the same quality', () => {
    const { rows } = clusters(250, 3, 8, 4, 3);
    const bh = tsne(rows, { method: 'barnes-hut' });
    const exact = tsne(rows, { method: 'exact' });
    const tBh = trustworthiness(rows, bh.embedding, 10);
    const tExact = trustworthiness(rows, exact.embedding, 10);
    if (process.env.AELAB_TEST_VERBOSE) console.log({ tBh, tExact, klBh: bh.klDivergence, klExact: exact.klDivergence });
    assert.ok(Math.abs(tBh - tExact) < 0.01, `T ${tBh} vs ${tExact}`);
    assert.ok(tExact > 0.95);
    assert.ok(Math.abs(bh.klDivergence! - exact.klDivergence!) < 0.05 * exact.klDivergence!, `KL ${bh.klDivergence} vs ${exact.klDivergence}`);
  });

  it('reports progress every iteration and the KL every 50 and at the end of each phase', () => {
    const { rows } = clusters(120, 3, 5, 4, 4);
    const calls: [number, number | undefined][] = [];
    const res = tsne(rows, { perplexity: 10, iterations: 120, exaggerationIterations: 40, onProgress: (it, kl) => calls.push([it, kl]) });
    assert.deepEqual(
      calls.map(([it]) => it),
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      calls.filter(([, kl]) => kl !== undefined).map(([it]) => it),
      [40, 50, 100, 120],
    );
    // With exaggerated affinities the reported KL is far larger than after.
    assert.ok(calls[39][1]! > 2 * calls[119][1]!);
    assert.ok(Math.abs(res.klDivergence! - calls[119][1]!) < 0.1);
  });

  it('rejects bad points and options with ArgumentError', () => {
    const { rows } = clusters(40, 2, 3, 3, 5);
    const bad: [TsneOptions, string][] = [
      [{ perplexity: 40 }, 'perplexity'], // not below n = 40
      [{ perplexity: 0 }, 'perplexity'],
      [{ iterations: 0 }, 'iterations'],
      [{ iterations: 2.5 }, 'iterations'],
      [{ earlyExaggeration: 0.5 }, 'earlyExaggeration'],
      [{ exaggerationIterations: -1 }, 'exaggerationIterations'],
      [{ learningRate: -1 }, 'learningRate'],
      [{ learningRate: 'fast' as unknown as number }, 'learningRate'],
      [{ theta: 1.5 }, 'theta'],
      [{ seed: 0.5 }, 'seed'],
      [{ init: 'spectral' as 'pca' }, 'init'],
      [{ init: new Float32Array(10) }, 'init'],
      [{ method: 'fft' as 'exact' }, 'method'],
      [{ perplexty: 5 } as TsneOptions, 'options'],
    ];
    for (const [options, name] of bad) {
      assert.throws(() => tsne(rows, { perplexity: 5, ...options }), isArgumentError(name), JSON.stringify(options));
    }
    assert.throws(() => tsne([[0, 1], [2]], { perplexity: 1 }), isArgumentError('x'));
    assert.throws(() => tsne([[0, 1], [2, Infinity], [3, 3]], { perplexity: 1 }), isArgumentError('x'));
    assert.throws(() => tsne(new Float32Array(12), { perplexity: 1 }), isArgumentError('x')); // no inputDims
    assert.throws(() => tsne(new Float32Array(12), { perplexity: 1, inputDims: 5 }), isArgumentError('x'));
    assert.throws(() => tsne([[1, 2]]), isArgumentError('x'));
    const big = Array.from({ length: 2001 }, (_, i) => [i, -i]);
    assert.throws(() => tsne(big, { method: 'exact' }), isArgumentError('method'));
  });
});
