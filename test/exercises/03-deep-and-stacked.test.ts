// Seed 001, Part 3 and Exercise 5, and seed 004 Question 5 (tied weights), checked on a
// small real MNIST subset (2,000 training and 500 test images; Adam 3e-3, batches of 64,
// BCE). Bounds are set from measured values with margins (the measured values are in the
// comments). notebooks/03-deep-and-stacked.ipynb runs them at a larger scale.
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import { Autoencoder, StackedAutoencoder } from '../../src/lib/models';
import { depthConfigs } from '../../src/lib/analysis/sweep';
import { FitOptions, evaluate, fit, greedyPretrain } from '../../src/lib/train';

const FIT: FitOptions = { batchSize: 64, lr: 3e-3, loss: 'bce' };

describe('exercise 03: deep and stacked autoencoders (seed 001 Part 3, Exercise 5; seed 004 Q5)', function () {
  this.timeout(300_000);
  let train: Dataset;
  let test: Dataset;
  const testMse = async (model: Autoencoder) => (await evaluate(model, test, { loss: 'mse' })).mse;

  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 500, seed: 1 }));
  });

  after(() => {
    disposeDataset(train);
    disposeDataset(test);
  });

  it('tied weights halve the stack: the decoder keeps only its biases', () => {
    const untied = new StackedAutoencoder();
    const tied = new StackedAutoencoder({ tied: true });
    try {
      assert.equal(untied.paramCount(), 1_141_296);
      assert.equal(tied.paramCount(), 571_952);
      // what tying saves is exactly the decoder's four weight matrices
      assert.equal(untied.paramCount() - tied.paramCount(), 784 * 512 + 512 * 256 + 256 * 128 + 128 * 32);
    } finally {
      untied.dispose();
      tied.dispose();
    }
  });

  it('greedy pretraining then fine-tuning ends no worse than training from scratch, and tied weights cost little', async () => {
    const pretrained = new StackedAutoencoder();
    const scratch = new StackedAutoencoder();
    const tied = new StackedAutoencoder({ tied: true });
    try {
      await greedyPretrain(pretrained, train, { epochsPerLayer: 1, batchSize: 64, lr: 3e-3 });
      await fit(pretrained, train, { ...FIT, epochs: 3 });
      await fit(scratch, train, { ...FIT, epochs: 3 });
      await fit(tied, train, { ...FIT, epochs: 3 });
      const [p, s, t] = [await testMse(pretrained), await testMse(scratch), await testMse(tied)];
      // measured: pretrained + fine-tuned 0.0564, from scratch 0.0642, tied 0.0621
      assert.ok(p < 0.062, `pretrained + fine-tuned MSE ${p}`);
      assert.ok(p <= 1.02 * s, `pretrained + fine-tuned MSE ${p} vs from scratch ${s}`);
      assert.ok(t < 1.15 * s, `tied MSE ${t} vs untied ${s}`);
    } finally {
      [pretrained, scratch, tied].forEach((m) => m.dispose());
    }
  });

  it('deeper is not always better: on 2,000 images the deep network reconstructs worse than the shallow one', async () => {
    const mse: Record<string, number> = {};
    for (const config of depthConfigs(32).filter((c) => c.name !== 'medium')) {
      const model = config.make();
      await fit(model, train, { ...FIT, epochs: 3 });
      mse[config.name] = await testMse(model);
      model.dispose();
    }
    // measured: shallow (784-128-32) 0.0428, deep (784-512-384-256-128-32) 0.0650
    assert.ok(mse.deep > 1.2 * mse.shallow, `deep MSE ${mse.deep} vs shallow MSE ${mse.shallow}`);
  });
});
