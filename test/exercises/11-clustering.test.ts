// Grading tests for notebook 11 (seed 000 Part 6 `evaluate_clustering` and Final project
// "feature extraction", seed 004 Questions 1 and 3): the claims the notebook makes about
// clustering autoencoder codes, checked on small real MNIST subsets.
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset, labelsOf } from '../../src/lib/data/dataset';
import { AE } from '../../src/lib/models/ae';
import { VAE } from '../../src/lib/models/vae';
import { evaluate, fit } from '../../src/lib/train/fit';
import { PointSet, encodeDataset, pcaFit, pcaTransform, toPointSet } from '../../src/lib/analysis';
import { ClusteringScores, clusterConfusion, clusteringScores, knnLabelAgreement } from '../../src/lib/apps/clustering';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};

describe('exercises 11: clustering in latent space (seed 000 Part 6 and Final project, seed 004 Q1, Q3)', () => {
  let train: Dataset;
  let test: Dataset;
  let ae: AE;
  let vae: VAE;
  let labels: Int32Array;
  const spaces: Record<string, PointSet> = {};
  const scores: Record<string, ClusteringScores & { clusters: Int32Array }> = {};
  const psnr: Record<string, number> = {};
  before(async function () {
    this.timeout(240000);
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 1000, seed: 1 }));
    ae = new AE({ latentDim: 20, seed: 1 });
    vae = new VAE({ latentDim: 20, seed: 1 });
    for (const m of [ae, vae]) await fit(m, train, { epochs: 3, batchSize: 64, lr: 2e-3, loss: 'bce', reduction: 'sum', seed: 1 });
    labels = labelsOf(test);
    spaces.pixels = toPointSet(test.x);
    spaces.pca = pcaTransform(pcaFit(spaces.pixels), spaces.pixels, 20);
    spaces.ae = await encodeDataset(ae, test);
    spaces.vae = await encodeDataset(vae, test);
    for (const [name, points] of Object.entries(spaces)) scores[name] = await clusteringScores(points, labels, { restarts: 3, seed: 42 });
    for (const [name, model] of [['ae', ae], ['vae', vae]] as const) psnr[name] = (await evaluate(model, test, { loss: 'bce', reduction: 'sum' })).psnr;
    log(Object.fromEntries(Object.entries(scores).map(([k, s]) => [k, { sil: s.silhouette, ari: s.ari, nmi: s.nmi, purity: s.purity, knn: s.knnAgreement }])), psnr);
  });
  after(() => {
    ae.dispose();
    vae.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it("Part 6: k-means on the 20-D codes has a higher silhouette than on the pixels (the seed's claim), and so do 20 principal components", () => {
    const { pixels, pca, ae: latent } = scores;
    // Measured (1,000 test images, k = 10, 3 restarts): silhouette pixels 0.068, PCA 20 0.138,
    // AE 20 0.199, VAE 20 0.237 (the notebook's full run: 0.060, 0.123, 0.134, 0.083).
    assert.ok(latent.silhouette > 2 * pixels.silhouette, `AE ${latent.silhouette} vs pixels ${pixels.silhouette}`);
    assert.ok(scores.vae.silhouette > pixels.silhouette, `VAE ${scores.vae.silhouette} vs pixels ${pixels.silhouette}`);
    assert.ok(pca.silhouette > 1.5 * pixels.silhouette, `PCA ${pca.silhouette} vs pixels ${pixels.silhouette}`);
    assert.equal(latent.dims, 20);
    assert.equal(pixels.dims, 784);
  });

  it('Final project and seed 004 Q3: 20 code values match the digits about as well as 784 pixels (the VAE code best at medium scale), though the AE reconstructs better', () => {
    const { pixels, ae: a, vae: v } = scores;
    // Measured: NMI VAE 0.529, pixels 0.492, AE 0.481 on wasm; the VAE's 0.485 with the native
    // kernels' different float sums: at this size the VAE's lead over the pixels is within its
    // run-to-run spread, so the test holds the codes to 90% of the pixels' NMI (full run of
    // the notebook: NMI 0.548 / 0.508 / 0.539, PSNR 20.79 / 20.18 dB). Test PSNR AE 14.31 dB, VAE 13.67 dB.
    assert.ok(v.nmi > 0.9 * pixels.nmi, `NMI: VAE ${v.nmi} vs pixels ${pixels.nmi}`);
    assert.ok(a.nmi > 0.9 * pixels.nmi, `NMI: AE ${a.nmi} vs pixels ${pixels.nmi}`);
    assert.ok(psnr.ae > psnr.vae + 0.2, `PSNR: AE ${psnr.ae} vs VAE ${psnr.vae}`);
  });

  it('neighbours share the digit far above chance in every space, 1s most of all; k-means on pixels splits the 1s and gives the 5s no cluster', () => {
    for (const [name, points] of Object.entries(spaces)) {
      const a = knnLabelAgreement(points, labels, { k: 10 });
      // Measured overall agreement: pixels 0.78, PCA 0.81, AE 0.71, VAE 0.70; chance 0.10. Digit 1: 0.94-0.98.
      assert.ok(a.chance > 0.09 && a.chance < 0.11, `chance ${a.chance}`);
      assert.ok(a.overall > 5 * a.chance, `${name}: ${a.overall}`);
      assert.equal(a.overall, scores[name].knnAgreement);
      const best = a.perClass.reduce((x, y) => (y.agreement > x.agreement ? y : x));
      assert.equal(best.label, 1, `${name}: ${JSON.stringify(a.perClass)}`);
    }
    const conf = clusterConfusion(labels, scores.pixels.clusters);
    // Measured: purity 0.571; two clusters of 1s (and two of 0s); digits 3 and 5 are the majority
    // of no cluster (the notebook's full run, pixels: purity 0.600, two clusters of 1s, 5 and 9 unclaimed).
    assert.ok(conf.unclaimed.includes(5), `unclaimed ${conf.unclaimed}`);
    assert.equal(conf.majority.filter((d) => d === 1).length, 2, `majorities ${conf.majority}`);
    assert.ok(conf.purity > 0.5 && conf.purity < 0.7, `purity ${conf.purity}`);
    assert.equal(conf.purity, scores.pixels.purity);
  });
});
