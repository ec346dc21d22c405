// Semi-supervised learning (seed 000 Exercise 4), then compression, clustering and transfer
// learning (seed 000 Part 6) on real MNIST subsets, all with the autoencoder that the
// semi-supervised study pretrains (trained once for the whole file).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset, takeRows } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { fit } from '../src/lib/train/fit';
import { encodeAll, evaluateCompression, rateDistortion } from '../src/lib/apps/compression';
import { evaluateClustering, silhouetteScore } from '../src/lib/apps/clustering';
import { restoreWeights, snapshotWeights, transferLearning } from '../src/lib/apps/transfer';
import { SemiSupervisedResult, semiSupervisedStudy } from '../src/lib/apps/semisupervised';
import type { Autoencoder } from '../src/lib/models/autoencoder';
import { renderSvg } from '../src/lib/viz/charts';

describe('apps on MNIST: semi-supervised, compression, clustering, transfer', function () {
  this.timeout(120000);
  let train: Dataset;
  let test: Dataset;
  let semi: SemiSupervisedResult;
  let ae: Autoencoder;

  before(async () => {
    // Pretraining without labels on 3,000 images (4 epochs, lr 3e-3, batch 64), then the
    // seed's classifier on 100 class-balanced labels (300 steps), tested on 2,000 images.
    semi = await semiSupervisedStudy({
      labelCounts: [100],
      pretrainSize: 3000,
      pretrainEpochs: 4,
      pretrainLr: 3e-3,
      pretrainBatchSize: 64,
      testSize: 2000,
      seed: 1,
    });
    ae = semi.model;
    // the first 2,000 / 1,000 images of the same seeded orders: inside what it was pretrained / tested on
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 1000, seed: 1 }));
  });
  after(() => {
    ae?.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it('semi-supervised: at 100 labels the pretrained encoder beats the same network trained on the labels alone', async () => {
    const acc = (method: string) => semi.rows.find((r) => r.method === method)!.testAccuracy;
    // measured (seed 1): test accuracy 0.743 with the frozen pretrained encoder, 0.733
    // fine-tuned, 0.726 from the same initial weights without pretraining (pretraining loss
    // 0.289 -> 0.132 per pixel). Seeds 2 and 3 gave 0.796 / 0.777 / 0.730 and 0.807 / 0.780 /
    // 0.750: the seed's claim holds in every run, by 1 to 7 points, frozen gaining most.
    // With only 25 classifier epochs it did not hold for seed 1 (0.669 / 0.712 / 0.721).
    assert.deepEqual(semi.rows.map((r) => r.method), ['pretrained-frozen', 'pretrained-finetuned', 'supervised']);
    assert.ok(acc('pretrained-frozen') > acc('supervised'), JSON.stringify(semi.rows));
    assert.ok(acc('pretrained-finetuned') > acc('supervised'), JSON.stringify(semi.rows));
    assert.equal(semi.table[0].gain, acc('pretrained-finetuned') - acc('supervised'));
    assert.deepEqual(semi.dataFrame!.shape, [1, 5]);
    assert.ok(semi.pretrainHistory.epochs[3].trainLoss < semi.pretrainHistory.epochs[0].trainLoss);
    assert.match(await renderSvg(semi.chart), /^<svg/);
  });

  it('compression: ratios from the sizes, MSE and PSNR equal to a direct computation over the whole set', async () => {
    const r = await evaluateCompression(ae, test, { batchSize: 300 }); // batches that do not divide 1,000
    assert.equal(r.ratio, 784 / 20); // 39.2, the seed's 784 * 4 / (20 * 4)
    assert.equal(r.inputBytes, 3136);
    assert.equal(r.quantized.ratio, 3136 / 20); // 156.8 with one byte per code value
    assert.equal(r.quantized.ratioWithSide, (1000 * 3136) / (1000 * 20 + 8 * 20));
    assert.equal(r.examples, 1000);

    const n = 1000;
    const x = test.x.reshape([n, 784]);
    const z = ae.encode(test.x);
    const recon = ae.decode(z).reshape([n, 784]);
    // summed on the host in float64 (a float32 mean over 784,000 values is off by ~1e-4)
    const [xv, rv] = [x.dataSync(), recon.dataSync()];
    let se = 0;
    for (let i = 0; i < xv.length; i++) se += (xv[i] - rv[i]) ** 2;
    const mse = se / xv.length;
    // batches of 300 against one of 1,000: float32 products in another order differ by ~1e-4
    // relative (measured 8e-5); a wrong reduction would be off by far more
    assert.ok(Math.abs(r.mse - mse) / mse < 1e-3, `mse ${r.mse} vs direct ${mse}`);
    assert.ok(Math.abs(r.psnr - 10 * Math.log10(1 / mse)) < 5e-3, `psnr ${r.psnr}`);

    // the 8-bit code, quantised per unit between its min and max, straight in tensor ops
    const zq = tf.tidy(() => {
      const lo = z.min(0);
      const range = z.max(0).sub(lo);
      return lo.add(tf.round(z.sub(lo).div(range).mul(255)).div(255).mul(range));
    });
    const rq = ae.decode(zq).dataSync();
    let seQ = 0;
    for (let i = 0; i < xv.length; i++) seQ += (xv[i] - rq[i]) ** 2;
    const mseQ = seQ / xv.length;
    assert.ok(Math.abs(r.quantized.mse - mseQ) / mseQ < 1e-4, `quantised mse ${r.quantized.mse} vs direct ${mseQ}`);
    // measured: MSE 0.0213 (PSNR 16.71 dB); the 8-bit code adds 1.8e-6, i.e. nothing visible
    assert.ok(Math.abs(r.quantized.addedMse) < 0.01 * r.mse, `added mse ${r.quantized.addedMse}`);
    tf.dispose([x, z, recon, zq]);
    const codes = await encodeAll(ae, test);
    assert.equal(codes.length, 1000 * 20);
  });

  it('rate-distortion: one row per model, a larger code reconstructs better', async () => {
    const small = new AE({ latentDim: 2, hiddenDim: 128, seed: 2 });
    const large = new AE({ latentDim: 32, hiddenDim: 128, seed: 2 });
    for (const m of [small, large]) await fit(m, train, { epochs: 3, batchSize: 64, lr: 3e-3, seed: 2 });
    const rd = await rateDistortion([small, large], test);
    assert.deepEqual(rd.rows.map((r) => r.latentDim), [2, 32]);
    assert.deepEqual(rd.rows.map((r) => r.bitsFloat), [64, 1024]);
    assert.deepEqual(rd.rows.map((r) => r.bitsQuantized), [16, 256]);
    // measured: PSNR 12.35 dB with 2 units, 13.32 dB with 32 (784-128-d, 3 epochs on 2,000 images)
    assert.ok(rd.rows[1].psnr > rd.rows[0].psnr + 0.5, JSON.stringify(rd.rows));
    const svg = await renderSvg(rd.chart);
    assert.match(svg, /^<svg/);
    small.dispose();
    large.dispose();
    // a factory per latent size: its models are measured in order, then disposed
    const made: AE[] = [];
    const fromFactory = await rateDistortion((d) => {
      const m = new AE({ latentDim: d, hiddenDim: 16, seed: 3 });
      made.push(m);
      return m;
    }, test, { latentDims: [3, 6] });
    assert.deepEqual(fromFactory.rows.map((r) => [r.latentDim, r.ratio]), [[3, 784 / 3], [6, 784 / 6]]);
    assert.throws(() => made[0].encode(test.x), /disposed/i);
  });

  it('clustering: silhouette, ARI and NMI of k-means in pixel and latent space, as measured', async () => {
    const r = await evaluateClustering(ae, test, { maxPoints: 1000, restarts: 3, seed: 42 });
    assert.equal(r.n, 1000);
    assert.equal(r.pixel.dims, 784);
    assert.equal(r.latent.dims, 20);
    for (const s of [r.pixel, r.latent]) {
      assert.ok(s.silhouette > -1 && s.silhouette < 1);
      assert.ok(s.nmi >= 0 && s.nmi <= 1);
    }
    // measured on this model, 1,000 test images, k = 10, 3 restarts (pixels / latent): k-means
    // silhouette 0.068 / 0.159; silhouette of the digit labels 0.053 / 0.113; ARI 0.349 /
    // 0.415; NMI 0.492 / 0.549. The seed's "latent features cluster better" holds here, by
    // 2.3x in silhouette and in agreement with the digits too. (With an AE trained 2 epochs at
    // lr 1e-3 on 2,000 images the latent silhouette was 0.27 but its ARI 0.015: a high
    // silhouette alone does not mean digit clusters.)
    assert.ok(r.latent.silhouette > 2 * r.pixel.silhouette, `latent ${r.latent.silhouette} vs pixel ${r.pixel.silhouette}`);
    assert.ok(r.latent.labelSilhouette! > r.pixel.labelSilhouette!, `labels: latent ${r.latent.labelSilhouette} vs pixel ${r.pixel.labelSilhouette}`);
    assert.ok(r.pixel.ari > 0.25 && r.latent.ari > r.pixel.ari, `ARI ${r.pixel.ari} / ${r.latent.ari}`);
    // the library's silhouette of the digit labels agrees with the one evaluateClustering reports
    assert.equal(await silhouetteScore(test.x, test.y!), r.pixel.labelSilhouette);
    assert.match(await renderSvg(r.chart), /^<svg/);
  });

  it('silhouette of 5,000 MNIST images (784 values each) takes seconds, not minutes', async () => {
    const { test: big } = await loadMnist({ trainSize: 1, testSize: 5000, seed: 3 });
    const t0 = performance.now();
    const s = await silhouetteScore(big.x, big.y!);
    const seconds = (performance.now() - t0) / 1000;
    // measured: 1.3 s (up to 3.1 s while the shared 2-core machine was loaded) for 12.5 million
    // pairs in blocked float32 products; the silhouette of the digit labels is 0.047
    assert.ok(seconds < 20, `${seconds} s`);
    assert.ok(s > 0 && s < 0.15, `silhouette ${s}`);
    disposeDataset(big);
  });

  it('transfer learning: a frozen encoder stays as it was, fine-tuning changes it; accuracy per epoch', async () => {
    const before = snapshotWeights(ae);
    const labelled = takeRows(train, 1000);
    const frozen = await transferLearning(ae, labelled, test, { frozen: true, epochs: 3, seed: 1 });
    assert.equal(frozen.history.length, 3);
    assert.equal(frozen.testAccuracy, frozen.history[2].testAccuracy);
    ae.encoderWeights.forEach((w, i) => assert.deepEqual(w.dataSync(), before[i].dataSync()));
    const tuned = await transferLearning(ae, labelled, test, { frozen: false, epochs: 3, seed: 1 });
    assert.notDeepEqual(ae.encoderWeights[0].dataSync(), before[0].dataSync());
    // measured: test accuracy frozen 0.493, 0.674, 0.725 over the 3 epochs; fine-tuned 0.645,
    // 0.745, 0.818 (1,000 labelled images, 1,000 test)
    assert.ok(frozen.testAccuracy > 0.6, `frozen ${frozen.testAccuracy}`);
    assert.ok(tuned.testAccuracy > frozen.testAccuracy, `fine-tuned ${tuned.testAccuracy} vs frozen ${frozen.testAccuracy}`);
    assert.match(await renderSvg(tuned.chart), /^<svg/);
    restoreWeights(ae, before);
    ae.encoderWeights.forEach((w, i) => assert.deepEqual(w.dataSync(), before[i].dataSync()));
    frozen.classifier.dispose();
    tuned.classifier.dispose();
    tf.dispose(before);
    disposeDataset(labelled);
  });
});
