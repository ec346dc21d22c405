// Grading tests for notebook 12 (seed 000 Exercise 4 and Part 6 `transfer_learning`, seed 004
// Question 2): pretraining an autoencoder on unlabelled images helps a classifier that has
// few labels; with many labels the frozen encoder falls behind. Checked on small real MNIST subsets.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import { AE } from '../../src/lib/models/ae';
import { SemiSupervisedResult, semiSupervisedStudy } from '../../src/lib/apps/semisupervised';
import { TransferComparison, compareTransfer, snapshotWeights } from '../../src/lib/apps/transfer';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};

describe('exercises 12: transfer and semi-supervised learning (seed 000 Ex. 4 and Part 6, seed 004 Q2)', () => {
  let semi: SemiSupervisedResult;
  let transfer: TransferComparison;
  let train: Dataset;
  let test: Dataset;
  let encoderUnchanged = false;
  before(async function () {
    this.timeout(900000); // about 45 s of work on an idle machine; minutes when it is shared
    // (a) pretraining without labels on 3,000 images; (b, c) 100 class-balanced labels, two runs
    // on different subsets, about 300 classifier steps each; tested on 2,000 images
    semi = await semiSupervisedStudy({
      labelCounts: [100],
      repeats: 2,
      pretrainSize: 3000,
      pretrainEpochs: 4,
      pretrainLr: 3e-3,
      pretrainBatchSize: 64,
      testSize: 2000,
      seed: 1,
      dataFrame: false,
    });
    // the seed's transfer_learning with many labels: 2,000 labelled images, 3 epochs, three arms
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 1000, seed: 1 }));
    const before = snapshotWeights(semi.model);
    const scratch = new AE({ seed: 1 });
    transfer = await compareTransfer(semi.model, train, test, { epochs: 3, seed: 1, scratch });
    encoderUnchanged = semi.model.weights.every((w, i) => tf.equal(w.read(), before[i]).all().dataSync()[0] === 1);
    scratch.dispose();
    tf.dispose(before);
    log(semi.rows.map((r) => [r.method, r.repeat, r.testAccuracy]), semi.table, transfer.final);
  });
  after(() => {
    semi?.model.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it('Ex. 4: with 100 labels, the classifier on the pretrained encoder beats the same network trained on the labels alone', () => {
    const row = semi.table[0];
    // Measured (mean of 2 runs, 2,000 test images): frozen 0.739, fine-tuned 0.737, from scratch
    // 0.710; run by run 0.744 / 0.731 / 0.726 and 0.734 / 0.743 / 0.693.
    assert.equal(row.labels, 100);
    assert.ok(row['pretrained-frozen'] > row.supervised + 0.01, JSON.stringify(row));
    assert.ok(row['pretrained-finetuned'] > row.supervised + 0.01, JSON.stringify(row));
    assert.equal(row.gain, row['pretrained-finetuned'] - row.supervised);
    // every run fits its 100 labels perfectly: the gap is generalisation, not fitting
    for (const r of semi.rows) assert.ok(r.trainAccuracy > 0.95, JSON.stringify(r));
  });

  it('Ex. 4: repeated runs draw different class-balanced subsets; the table holds their mean and spread', () => {
    assert.equal(semi.rows.length, 6);
    for (const m of ['pretrained-frozen', 'pretrained-finetuned', 'supervised'] as const) {
      const runs = semi.rows.filter((r) => r.method === m).map((r) => r.testAccuracy);
      assert.deepEqual(semi.rows.filter((r) => r.method === m).map((r) => r.repeat), [0, 1]);
      assert.ok(Math.abs(semi.table[0][m] - (runs[0] + runs[1]) / 2) < 1e-12);
      assert.ok(Math.abs(semi.table[0][`${m} sd`] - Math.abs(runs[0] - runs[1]) / Math.SQRT2) < 1e-12);
    }
  });

  it("Part 6: with 2,000 labels the seed's frozen encoder falls behind fine-tuning and training from scratch, and accuracy rises with labels", () => {
    const f = transfer.final;
    // Measured (1,000 test images, after 3 epochs): frozen 0.826, fine-tuned 0.891, from scratch 0.876.
    assert.ok(f['pretrained-finetuned']! > f['pretrained-frozen']! + 0.03, JSON.stringify(f));
    assert.ok(f.supervised! > f['pretrained-frozen']! + 0.02, JSON.stringify(f));
    // more labels, better classifiers: every arm beats its 100-label accuracy (0.71-0.74)
    for (const m of ['pretrained-frozen', 'pretrained-finetuned', 'supervised'] as const) assert.ok(f[m]! > semi.table[0][m] + 0.05, `${m}: ${f[m]} vs ${semi.table[0][m]}`);
    assert.equal(transfer.rows.length, 9);
    // fine-tuning trained the pretrained encoder in place; compareTransfer put it back
    assert.ok(encoderUnchanged);
  });
});
