import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset, hostData, takeRows } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { ConvAutoencoder, StridedConvAutoencoder } from '../src/lib/models/conv';
import { DeepAutoencoder } from '../src/lib/models/mlp';
import { fit } from '../src/lib/train/fit';
import { decodePng } from '../src/lib/viz/image';
import {
  compareNoiseLevels,
  errorHistogramChart,
  failureImages,
  failureModes,
  FailureModes,
  featureMapImages,
  layerActivationChart,
  layerActivations,
  ModelComparator,
  noiseLevelChart,
  noiseLevelImages,
  perClassErrorChart,
  perSampleErrors,
  reconstructionGrid,
  sparseCodeChart,
  sparseCodeStrip,
  sparseCodeSweep,
} from '../src/lib/analysis';

const isPng = (bytes: Uint8Array) => {
  const img = decodePng(bytes);
  assert.ok(img.width > 28 && img.height > 28, `${img.width} x ${img.height}`);
  return img;
};

describe('analysis: failure modes, reconstructions, noise, feature maps, comparison, sparse codes (seed 000 Parts 2, 5, 7, Ex. 6; seed 001)', () => {
  let train: Dataset;
  let test: Dataset;
  let ae: AE;
  let result: FailureModes;
  before(async function () {
    this.timeout(60000);
    ({ train, test } = await loadMnist({ trainSize: 1000, testSize: 300 }));
    ae = new AE({ latentDim: 16 });
    await fit(ae, train, { epochs: 1, batchSize: 64, loss: 'bce', reduction: 'sum', seed: 1 });
    result = await failureModes(ae, test, { numShow: 6 });
  });
  after(() => {
    ae.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it('gives per-example errors, best and worst examples, and a 10-row per-class table matching a direct computation', () => {
    const recon = tf.tidy(() => ae.forward(test.x).recon);
    const direct = tf.tidy(() => tf.squaredDifference(recon, test.x.reshape([300, 784])).mean(1).dataSync());
    recon.dispose();
    assert.equal(result.errors.length, 300);
    for (let i = 0; i < 300; i += 17) assert.ok(Math.abs(result.errors[i] - direct[i]) < 1e-6);
    const labels = hostData(test.y!);
    assert.equal(result.rows.length, 10);
    for (const row of result.rows) {
      const e = Array.from(direct).filter((_, i) => labels[i] === row.label);
      const mean = e.reduce((a, b) => a + b, 0) / e.length;
      const std = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / e.length);
      assert.equal(row.count, e.length);
      assert.ok(Math.abs(row.mean - mean) < 1e-6, `class ${row.label}: ${row.mean} vs ${mean}`);
      assert.ok(Math.abs(row.std - std) < 1e-6);
    }
    assert.equal(result.best.indices.length, 6);
    assert.ok(Math.max(...result.best.errors) <= Math.min(...result.worst.errors));
    for (let i = 1; i < 6; i++) {
      assert.ok(result.best.errors[i - 1] <= result.best.errors[i]);
      assert.ok(result.worst.errors[i - 1] >= result.worst.errors[i]);
    }
    assert.equal(result.best.errors[0], Math.min(...result.errors));
    assert.equal(result.worst.errors[0], Math.max(...result.errors));
    assert.ok(Math.abs(result.meanError - Array.from(direct).reduce((a, b) => a + b, 0) / 300) < 1e-6);
    // Plain data: JSON shows no frame.
    assert.ok(!('frame' in JSON.parse(JSON.stringify({ rows: result.rows, best: result.best }))));
  });

  it('draws the best and worst reconstructions and the per-class bar chart with error bars', () => {
    const start = tf.memory().numTensors;
    const im = failureImages(ae, test, result);
    assert.deepEqual(im.worstRecon.shape, [6, 28, 28, 1]); // the dataset's layout
    tf.dispose([im.best, im.bestRecon, im.worst, im.worstRecon]);
    assert.equal(tf.memory().numTensors, start);
    const spec = perClassErrorChart(result);
    const layers = spec.layer as { mark: { type: string } }[];
    assert.deepEqual(layers.map((l) => l.mark.type), ['bar', 'errorbar']);
    const hist = errorHistogramChart(result, { labels: hostData(test.y!) });
    assert.ok(hist.mark);
    // the legend follows data order: the rows come sorted by class, so it reads 0, 1, ..., 9
    const classes = (hist.data as { values: { class: string }[] }).values.map((r) => r.class);
    assert.deepEqual([...new Set(classes)], ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('shows the per-class table as a danfojs DataFrame', function () {
    this.timeout(30000);
    const df = result.frame();
    assert.deepEqual(df.shape, [10, 5]);
    assert.deepEqual(df.columns, ['label', 'name', 'count', 'mean', 'std']);
    assert.ok(Math.abs((df.column('mean').values as number[])[3] - result.rows[3].mean) < 1e-12);
  });

  it('does not load danfojs or vega when the analysis module is only imported', function () {
    this.timeout(30000);
    const probe =
      "require('./src/lib/analysis/index.ts');" +
      "process.stdout.write(String(Object.keys(require.cache).filter((k) => /danfojs|[\\/]vega/.test(k)).length))";
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', probe], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
    assert.equal(out, '0');
  });

  it('shows originals above reconstructions', () => {
    const x = test.x.slice(0, 10);
    const g = reconstructionGrid(ae, x, { n: 8 });
    assert.deepEqual(g.images.shape, [16, 28, 28, 1]);
    const top = tf.tidy(() => g.images.slice(0, 8).reshape([8, 784]).sub(x.slice(0, 8).reshape([8, 784])).abs().max().dataSync()[0]);
    assert.equal(top, 0);
    isPng(g.png);
    tf.dispose([x, g.images]);
  });

  it('compares noise levels: noisy input error grows with the level; the output error is measured against clean images', async () => {
    const small = takeRows(test, 100);
    const table = await compareNoiseLevels(ae, small, [0, 0.1, 0.3, 0.5, 0.7]);
    assert.equal(table.rows.length, 5);
    assert.equal(table.rows[0].noisyMse, 0);
    for (let i = 1; i < 5; i++) assert.ok(table.rows[i].noisyMse > table.rows[i - 1].noisyMse);
    const plain = await perSampleErrors(ae, small);
    const plainMse = plain.reduce((a, b) => a + b, 0) / plain.length;
    assert.ok(Math.abs(table.rows[0].denoisedMse - plainMse) < 1e-6);
    assert.ok(table.rows[4].gain > table.rows[1].gain);
    assert.ok(noiseLevelChart(table).mark);
    const x = small.x.slice(0, 2);
    const pics = noiseLevelImages(ae, x, [0, 0.3, 0.7]);
    assert.deepEqual(pics.noisy.shape, [6, 28, 28, 1]);
    close(tf.tidy(() => pics.noisy.slice(0, 2).dataSync()), x.dataSync());
    isPng(pics.png);
    tf.dispose([x, pics.noisy, pics.denoised]);
    disposeDataset(small);
  });

  it('draws the feature maps of convolutional encoders with per-channel statistics', () => {
    const x = test.x.slice(0, 1);
    const conv = new ConvAutoencoder();
    const fm = featureMapImages(conv, x);
    assert.deepEqual(fm.shape, [28, 28, 16]);
    assert.deepEqual(fm.maps.shape, [16, 28, 28, 3]);
    assert.equal(fm.rows.length, 16);
    const direct = conv.featureMaps(x);
    const ch3 = tf.tidy(() => direct.slice([0, 0, 0, 3], [1, 28, 28, 1]).mean().dataSync()[0]);
    assert.ok(Math.abs(fm.rows[3].mean - ch3) < 1e-5);
    assert.ok(fm.rows.every((r) => r.min >= 0 && r.activeFraction >= 0 && r.activeFraction <= 1)); // after ReLU
    isPng(fm.png);
    const strided = new StridedConvAutoencoder();
    const latent = featureMapImages(strided, x, { layer: -1, maxMaps: 8 });
    assert.deepEqual(latent.shape, [7, 7, 32]);
    assert.deepEqual(latent.maps.shape, [8, 7, 7, 3]);
    tf.dispose([x, direct, fm.maps, latent.maps]);
    conv.dispose();
    strided.dispose();
    assert.throws(() => featureMapImages(ae, test.x.slice(0, 1)), /convolutional/);
  });

  it('summarises the layer activations of the deep autoencoder', () => {
    const deep = new DeepAutoencoder();
    const x = test.x.slice(0, 32);
    const acts = layerActivations(deep, x);
    assert.deepEqual(acts.rows.map((r) => r.units), [512, 256, 128, 32]);
    const first = deep.layerOutputs(x);
    const active = tf.tidy(() => first[0].greater(0).mean().dataSync()[0]);
    assert.ok(Math.abs(acts.rows[0].activeFraction - active) < 1e-6);
    assert.ok(acts.rows.every((r) => r.deadUnits >= 0 && r.deadUnits <= r.units));
    isPng(acts.png);
    assert.equal((layerActivationChart(acts).data as { values: unknown[] }).values.length, 4);
    tf.dispose([x, ...first]);
    deep.dispose();
  });

  it('compares models: MSE, PyTorch parameter counts and timed milliseconds per batch', async () => {
    const small = takeRows(test, 200);
    const conv = new ConvAutoencoder();
    const deep = new DeepAutoencoder();
    const cmp = new ModelComparator().add('ae-16', ae).add('conv', conv).add('deep', deep);
    assert.throws(() => cmp.add('conv', conv), /not added before/);
    const table = await cmp.evaluate(small, { batchSize: 100 });
    assert.deepEqual(table.rows.map((r) => r.name), ['ae-16', 'conv', 'deep']);
    const linear = (i: number, o: number) => i * o + o;
    assert.equal(table.rows[0].params, linear(784, 400) + linear(400, 16) + linear(16, 400) + linear(400, 784));
    assert.equal(table.rows[1].params, 225);
    const bn = (n: number) => 2 * n;
    const deepParams = linear(784, 512) + linear(512, 256) + linear(256, 128) + linear(128, 32) + linear(32, 128) + linear(128, 256) + linear(256, 512) + linear(512, 784) + 2 * (bn(512) + bn(256) + bn(128));
    assert.equal(table.rows[2].params, deepParams);
    const errors = await perSampleErrors(ae, small);
    assert.ok(Math.abs(table.rows[0].mse - errors.reduce((a, b) => a + b, 0) / 200) < 1e-6);
    assert.ok(table.rows.every((r) => r.msPerBatch > 0 && r.examples === 200 && r.batchSize === 100));
    assert.equal(table.rows[0].latentSize, 16);
    assert.match(cmp.summary(), /ae-16\s+0\.\d{6}\s+641,600/);
    assert.equal((cmp.chart('params').layer as unknown[]).length, 1);
    assert.ok(cmp.efficiencyChart().mark);
    conv.dispose();
    deep.dispose();
    disposeDataset(small);
  });

  it('reconstructs from sparse codes: the error rises as more units are zeroed', () => {
    const x = test.x.slice(0, 50);
    const sweep = sparseCodeSweep(ae, x);
    assert.equal(sweep.latentSize, 16);
    assert.deepEqual(sweep.rows.map((r) => r.zeroed), [0, 2, 3, 5, 6, 8, 10, 11, 13, 14, 16]);
    const mse = sweep.rows.map((r) => r.mse);
    if (process.env.AELAB_TEST_VERBOSE) console.log(mse.map((v) => v.toFixed(4)).join(' '));
    const plain = tf.tidy(() => tf.squaredDifference(ae.forward(x).recon, x.reshape([50, 784])).mean().dataSync()[0]);
    assert.ok(Math.abs(mse[0] - plain) < 1e-6);
    // Zeroing a few small units can help or hurt a little (0 is not a neutral value of a
    // linear code); the trend is up: the error rank-correlates with the share zeroed, and
    // the emptier half of the sweep is worse than the fuller half.
    assert.ok(spearman(sweep.rows.map((r) => r.fraction), mse) > 0.7, `${mse}`);
    assert.ok(mse.slice(6).reduce((a, b) => a + b) / 5 > mse.slice(0, 5).reduce((a, b) => a + b) / 5);
    assert.ok(mse[10] > 1.5 * mse[0]);
    assert.ok(mse[10] === Math.max(...mse));
    assert.ok(sweep.rows[10].psnr < sweep.rows[0].psnr);
    assert.ok(sparseCodeChart(sweep, { metric: 'psnr' }).mark);
    isPng(sparseCodeStrip(ae, x, { fractions: [0, 0.5, 1] }));
    x.dispose();
  });
});

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
}

/** Spearman rank correlation (no ties in x). */
function spearman(x: number[], y: number[]): number {
  const rank = (v: number[]) => {
    const order = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array<number>(v.length);
    order.forEach((i, k) => (r[i] = k));
    return r;
  };
  const rx = rank(x);
  const ry = rank(y);
  const n = x.length;
  const d2 = rx.reduce((s, r, i) => s + (r - ry[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}
