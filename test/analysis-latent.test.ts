import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset, hostData } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { VAE } from '../src/lib/models/vae';
import { fit } from '../src/lib/train/fit';
import { decodePng } from '../src/lib/viz/image';
import { imagesPng } from '../src/lib/analysis/common';
import {
  arithmeticStrip,
  interpolationStrip,
  latentGridImage,
  classMeans,
  decodeCodes,
  encodeDataset,
  interpolate,
  interpolateCodes,
  interpolationSmoothness,
  LatentCodes,
  latentArithmetic,
  latentGrid,
  latentOccupancy,
  latentProjection,
  latentRange,
  latentScatterChart,
  meanOf,
  occupancyChart,
  randomSamples,
  slerp,
  smoothnessChart,
} from '../src/lib/analysis';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= tol, `max difference ${worst} > ${tol}`);
};
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

describe('analysis: latent space, arithmetic, interpolation, grids (seed 000 Part 4, Ex. 5; seed 001 Ex. 2-3)', () => {
  let train: Dataset;
  let test: Dataset;
  let ae: AE;
  let codes: LatentCodes;
  before(async function () {
    this.timeout(60000);
    ({ train, test } = await loadMnist({ trainSize: 1000, testSize: 500 }));
    ae = new AE({ latentDim: 2 });
    await fit(ae, train, { epochs: 2, batchSize: 64, loss: 'bce', reduction: 'sum', seed: 1 });
    codes = await encodeDataset(ae, test);
  });
  after(() => {
    ae.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it('encodes a dataset to host codes [n, d] with its labels, and a seeded subset', async () => {
    assert.equal(codes.n, 500);
    assert.equal(codes.d, 2);
    assert.equal(codes.codes.length, 1000);
    assert.deepEqual(Array.from(codes.labels!), Array.from(hostData(test.y!)));
    const direct = tf.tidy(() => ae.encode(test.x.slice(0, 5)).dataSync());
    close(codes.codes.subarray(0, 10), direct, 1e-5);
    const sub = await encodeDataset(ae, test, { maxExamples: 50, seed: 3 });
    assert.equal(sub.n, 50);
    assert.equal(sub.indices!.length, 50);
    const i = sub.indices![7];
    close(sub.codes.subarray(14, 16), codes.codes.subarray(2 * i, 2 * i + 2), 1e-5);
    assert.equal(sub.labels![7], codes.labels![i]);
  });

  it('projects codes to 2-D directly, by PCA and by t-SNE, with a scatter chart coloured by class', async () => {
    const direct = await latentProjection(codes);
    assert.equal(direct.method, 'direct');
    assert.equal(direct.rows.length, 500);
    assert.deepEqual(direct.rows[3], { x: codes.codes[6], y: codes.codes[7], label: String(codes.labels![3]), index: 3 });
    const spec = latentScatterChart(direct);
    assert.equal((spec.encoding as Record<string, { field: string }>).color.field, 'label');
    assert.equal((spec.data as { values: unknown[] }).values.length, 500);

    const pca = await latentProjection(codes, { method: 'pca', maxPoints: 300 });
    assert.equal(pca.rows.length, 300);
    assert.ok(pca.explainedVarianceRatio![0] >= pca.explainedVarianceRatio![1]);
    // PCA of 2-D codes is a rotation: distances are kept.
    const [a, b] = [pca.rows[0], pca.rows[1]];
    const za = codes.codes.subarray(2 * a.index, 2 * a.index + 2);
    const zb = codes.codes.subarray(2 * b.index, 2 * b.index + 2);
    assert.ok(Math.abs(Math.hypot(a.x - b.x, a.y - b.y) - Math.hypot(za[0] - zb[0], za[1] - zb[1])) < 1e-4);

    const t = await latentProjection(codes, { method: 'tsne', maxPoints: 150, tsne: { iterations: 300 } });
    assert.equal(t.method, 'tsne');
    assert.equal(t.rows.length, 150);
    assert.ok(t.rows.every((r) => Number.isFinite(r.x) && Number.isFinite(r.y)));
    await assert.rejects(latentProjection({ codes: new Float32Array(30), n: 10, d: 3 }, { method: 'direct' }), /pca or tsne for 3-D codes/);
  });

  it('averages codes per class and decodes z0 + (z8 - z1)', () => {
    const means = classMeans(codes);
    assert.equal(means.length, 10);
    const labels = codes.labels!;
    for (const m of means) {
      let sx = 0;
      let sy = 0;
      let n = 0;
      for (let i = 0; i < codes.n; i++) {
        if (labels[i] !== m.label) continue;
        sx += codes.codes[2 * i];
        sy += codes.codes[2 * i + 1];
        n++;
      }
      assert.equal(m.count, n);
      close(m.mean, [sx / n, sy / n], 1e-5);
    }
    assert.ok(classMeans(codes, { perClass: 5 }).every((m) => m.count === 5));
    const [z0, z8, z1] = [meanOf(means, 0), meanOf(means, 8), meanOf(means, 1)];
    const r = latentArithmetic(ae, z0, z8, z1);
    close(r.z, [z0[0] + z8[0] - z1[0], z0[1] + z8[1] - z1[1]], 1e-6);
    assert.deepEqual(r.images.shape, [4, 784]);
    const direct = decodeCodes(ae, r.z);
    close(tf.tidy(() => r.images.slice(3, 1).dataSync()), direct.dataSync(), 1e-6);
    const png = decodePng(arithmeticStrip(r, ['0', '8', '1']));
    assert.ok(png.width > 4 * 56 && png.height > 56);
    tf.dispose([r.images, direct]);
  });

  it('interpolates between two images: the ends decode to their reconstructions', () => {
    const xa = test.x.slice(0, 1);
    const xb = test.x.slice(1, 1);
    const start = tf.memory().numTensors;
    for (const method of ['linear', 'slerp'] as const) {
      const it = interpolate(ae, xa, xb, { steps: 7, method });
      assert.deepEqual(it.t, [0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1]);
      assert.deepEqual(it.images.shape, [7, 784]);
      const ra = tf.tidy(() => ae.forward(xa).recon);
      const rb = tf.tidy(() => ae.forward(xb).recon);
      close(tf.tidy(() => it.images.slice(0, 1).dataSync()), ra.dataSync(), 1e-5);
      close(tf.tidy(() => it.images.slice(6, 1).dataSync()), rb.dataSync(), 1e-5);
      const strip = decodePng(interpolationStrip([{ label: method, interpolation: it }]));
      assert.ok(strip.width > 7 * 56, `${strip.width}`);
      tf.dispose([it.images, it.codes, ra, rb]);
    }
    assert.equal(tf.memory().numTensors, start);
    tf.dispose([xa, xb]);
  });

  it('slerp keeps the norm of codes of equal norm, and moves it linearly otherwise', () => {
    const a = Float32Array.from([3, 4, 0, 0]);
    const b = Float32Array.from([0, 0, 5, 0]);
    for (let i = 0; i <= 10; i++) assert.ok(Math.abs(norm(slerp(a, b, i / 10)) - 5) < 1e-5);
    // Halfway between orthogonal unit directions: equal weights.
    close(slerp(a, b, 0.5), [3 / Math.SQRT2, 4 / Math.SQRT2, 5 / Math.SQRT2, 0].map((v) => v), 1e-5);
    const c = Float32Array.from([0, 0, 10, 0]);
    assert.ok(Math.abs(norm(slerp(a, c, 0.25)) - 6.25) < 1e-5);
    // Through a model: every decoded step comes from a code on the arc.
    const it = interpolateCodes(ae, Float32Array.from([2, 0]), Float32Array.from([0, 2]), { steps: 5, method: 'slerp' });
    const z = it.codes.dataSync();
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(Math.hypot(z[2 * i], z[2 * i + 1]) - 2) < 1e-5);
    tf.dispose([it.codes, it.images]);
  });

  it('measures interpolation smoothness: equal steps give max/mean 1 and a straight path', () => {
    const a = tf.zeros([1, 16]);
    const b = tf.ones([1, 16]);
    const lin = tf.tidy(() => tf.concat([0, 0.25, 0.5, 0.75, 1].map((t) => a.mul(1 - t).add(b.mul(t)))));
    const s = interpolationSmoothness(lin);
    close(s.stepDistances, [0.25, 0.25, 0.25, 0.25], 1e-6);
    assert.ok(Math.abs(s.maxOverMean - 1) < 1e-6 && Math.abs(s.straightness - 1) < 1e-6);
    const jump = tf.tidy(() => tf.concat([a, a, a, b]));
    const j = interpolationSmoothness(jump);
    assert.ok(Math.abs(j.maxOverMean - 3) < 1e-6, `${j.maxOverMean}`);
    const means = classMeans(codes);
    const it = interpolateCodes(ae, meanOf(means, 0), meanOf(means, 8), { steps: 10 });
    const m = interpolationSmoothness(it.images);
    assert.equal(m.stepDistances.length, 9);
    assert.ok(m.maxOverMean >= 1 && m.pathLength >= m.endpointDistance - 1e-7);
    assert.ok(smoothnessChart([{ name: 'ae', smoothness: m }]).mark);
    tf.dispose([a, b, lin, jump, it.codes, it.images]);
  });

  it('decodes random codes and a 2-D latent grid, and measures how much of the latent square an AE and a VAE fill', async function () {
    this.timeout(60000);
    const samples = randomSamples(ae, { n: 16, seed: 2 });
    assert.deepEqual(samples.shape, [16, 784]);
    const sv = samples.dataSync();
    assert.ok(sv.every((v) => v >= 0 && v <= 1));
    samples.dispose();

    const range = latentRange(codes);
    const grid = latentGrid(ae, { n: 5, range });
    assert.deepEqual(grid.images.shape, [25, 784]);
    // Row 0 is the top (largest z2), column 0 the left (smallest z1).
    close(grid.points.subarray(0, 2), [range[0][0], range[1][1]], 1e-5);
    close(grid.points.subarray(48, 50), [range[0][1], range[1][0]], 1e-5);
    const fromPoints = decodeCodes(ae, { codes: grid.points.slice(12, 14), n: 1, d: 2 });
    close(tf.tidy(() => grid.images.slice(6, 1).dataSync()), fromPoints.dataSync(), 1e-6);
    const png = decodePng(imagesPng(grid.images, { nrow: 5 }));
    assert.equal(png.width, 5 * 30 + 2);
    assert.deepEqual(decodePng(latentGridImage(grid)), png);
    tf.dispose([grid.images, fromPoints]);

    const vae = new VAE({ latentDim: 2 });
    await fit(vae, train, { epochs: 2, batchSize: 64, loss: 'bce', reduction: 'sum', seed: 1 });
    const vaeCodes = await encodeDataset(vae, test);
    const occAe = latentOccupancy(codes, { n: 10 });
    const occVae = latentOccupancy(vaeCodes, { n: 10 });
    let total = 0;
    for (const c of occAe.counts) total += c;
    assert.equal(total, Math.round(occAe.inside * 500));
    if (process.env.AELAB_TEST_VERBOSE) console.log({ ae: [occAe.coverage, occAe.inside], vae: [occVae.coverage, occVae.inside] });
    // The KL term pulls a VAE's codes into its prior's [-3, 3] square; an AE's drift where they like.
    assert.ok(occVae.inside > occAe.inside, `VAE ${occVae.inside} vs AE ${occAe.inside}`);
    const vgrid = latentGrid(vae, { n: 4 });
    assert.deepEqual(vgrid.images.shape, [16, 784]);
    vgrid.images.dispose();
    assert.equal((occupancyChart(occVae).data as { values: unknown[] }).values.length, 100);
    vae.dispose();
    assert.throws(() => latentGrid(new AE({ latentDim: 3 })), /2-D latent/);
  });
});
