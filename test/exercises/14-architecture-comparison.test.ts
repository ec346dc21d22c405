// Grading tests for notebook 14 (seed 000 Exercise 2): five architectures trained on the
// same data and compared with ModelComparator, checked on a small real MNIST subset.
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import type { Autoencoder } from '../../src/lib/models/autoencoder';
import { ComparisonRow, LatentQualityRow, ModelComparator, sweep } from '../../src/lib/analysis';
import { architecture } from '../../src/lib/study/architectures';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};

describe('exercises 14: architecture comparison (seed 000 Exercise 2)', () => {
  let train: Dataset;
  let test: Dataset;
  let models: { name: string; model: Autoencoder }[] = [];
  const rows: Record<string, ComparisonRow> = {};
  const latent: Record<string, LatentQualityRow> = {};
  before(async function () {
    this.timeout(300000);
    ({ train, test } = await loadMnist({ trainSize: 1500, testSize: 400, seed: 1 }));
    const names = ['shallow', 'deep', 'conv', 'sparse', 'denoising'];
    const result = await sweep(
      names.map((n) => {
        const a = architecture(n)!;
        return { name: n, make: () => a.create(1), fit: { noise: a.recipe.noise === undefined ? undefined : { std: a.recipe.noise }, clipNorm: a.recipe.clipNorm, plateau: a.recipe.plateau } };
      }),
      train,
      test,
      { fit: { epochs: 2, batchSize: 32, lr: 3e-3, loss: 'bce', reduction: 'mean', seed: 1 }, keepModels: true },
    );
    models = result.models!;
    const cmp = new ModelComparator();
    for (const m of models) cmp.add(m.name, m.model);
    for (const r of (await cmp.evaluate(test)).rows) rows[r.name] = r;
    for (const r of (await cmp.evaluateLatent(test, { numSamples: 400, pairs: 8, seed: 1 })).rows) latent[r.name] = r;
    log(Object.values(rows).map((r) => `${r.name} mse ${r.mse.toFixed(5)} params ${r.params} ms ${r.msPerBatch.toFixed(1)}`).join('\n'));
    log(Object.values(latent).map((r) => `${r.name} smooth ${r.smoothness.toFixed(3)} straight ${r.straightness.toFixed(3)} dc ${r.distanceCorrelation.toFixed(3)} np ${r.neighbourhoodPreservation.toFixed(3)} agree ${r.labelAgreement.toFixed(3)}`).join('\n'));
  });
  after(() => {
    models.forEach((m) => m.model.dispose());
    disposeDataset(train);
    disposeDataset(test);
  });

  // Measured on this subset (1,500 images, 2 epochs, lr 3e-3, batch 32; 400 test images):
  //   MSE: shallow 0.0400, sparse 0.0448, deep 0.0457, denoising 0.0541, conv 0.0619;
  //   params: conv 111,521, shallow/sparse/denoising 419,120, deep 1,144,880;
  //   smoothness (max/mean step): shallow 1.25, denoising 1.26, conv 1.29, sparse 1.30, deep 1.33;
  //   distance correlation: deep 0.62, conv 0.56, shallow 0.55, denoising 0.44, sparse 0.35;
  //   label agreement (10-NN): 0.45 (conv) to 0.65 (shallow).
  // The deep model's smoothness moves with the order of float sums in training (1.43 before
  // batch norm's kernels were fused, 1.33 after; at full scale in notebook 14 it is level with
  // the denoising model's), so which model interpolates least evenly is not asserted.
  it('parameter efficiency: the convolutional model has by far the fewest parameters and the lowest MSE x parameters', () => {
    const eff = (n: string) => rows[n].mse * rows[n].params;
    const others = Object.keys(rows).filter((n) => n !== 'conv');
    assert.ok(others.every((n) => rows[n].params > 3 * rows.conv.params), 'conv params');
    assert.ok(rows.deep.params > 2 * rows.shallow.params, 'deep params');
    const best = Math.min(...others.map(eff));
    assert.ok(eff('conv') < 0.6 * best, `conv ${eff('conv')} vs best other ${best}`);
    for (const r of Object.values(rows)) assert.ok(r.mse > 0 && r.msPerBatch > 0 && r.latentSize === 32, r.name);
  });

  it('the L1 penalty and the input noise cost clean reconstruction: sparse and denoising reconstruct worse than the same shallow network', () => {
    assert.ok(rows.sparse.mse > 1.03 * rows.shallow.mse, `sparse ${rows.sparse.mse} vs shallow ${rows.shallow.mse}`);
    assert.ok(rows.denoising.mse > 1.1 * rows.shallow.mse, `denoising ${rows.denoising.mse} vs shallow ${rows.shallow.mse}`);
  });

  it('latent quality: the deep model keeps pixel distances best; every code groups digits far above chance and interpolates unevenly', () => {
    const others = Object.keys(latent).filter((n) => n !== 'deep');
    const maxCorr = Math.max(...others.map((n) => latent[n].distanceCorrelation));
    assert.ok(latent.deep.distanceCorrelation > maxCorr + 0.03, `deep distance correlation ${latent.deep.distanceCorrelation} vs others up to ${maxCorr}`);
    for (const r of Object.values(latent)) {
      assert.ok(r.labelAgreement > 0.3, `${r.name} label agreement ${r.labelAgreement}`);
      // The largest step of a linear walk in the code is 1.2-1.4 times the mean step (1: even).
      assert.ok(r.smoothness > 1.1 && r.smoothness < 1.6, `${r.name} max/mean step ${r.smoothness}`);
      assert.ok(r.neighbourhoodPreservation > 2 * r.neighbourhoodChance, `${r.name} preservation ${r.neighbourhoodPreservation}`);
      assert.equal(r.pairs, 8);
    }
  });
});
