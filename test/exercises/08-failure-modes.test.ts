// Grading tests for notebook 08 (seed 000 Part 5, failure modes): the claims the notebook
// makes about which digits are hard, checked on a small real MNIST subset.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import { AE } from '../../src/lib/models/ae';
import { fit } from '../../src/lib/train/fit';
import { FailureModes, failureModes, pearson } from '../../src/lib/analysis';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};

describe('exercises 08: failure modes (seed 000 Part 5)', () => {
  let train: Dataset;
  let test: Dataset;
  let ae: AE;
  let fm: FailureModes;
  before(async function () {
    this.timeout(120000);
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 1000, seed: 1 }));
    ae = new AE({ seed: 1 });
    await fit(ae, train, { epochs: 3, batchSize: 64, lr: 1e-3, loss: 'bce', reduction: 'sum', seed: 1 });
    fm = await failureModes(ae, test, { numShow: 10 });
    log(fm.rows.map((r) => `${r.name}: ${r.mean.toFixed(4)} +/- ${r.std.toFixed(4)}`).join('\n'));
  });
  after(() => {
    ae.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it('per-class errors differ: digit 1 is the easiest by a wide margin, the hardest class has twice its error or more', () => {
    const means = fm.rows.map((r) => r.mean);
    const sorted = [...means].sort((a, b) => a - b);
    // Measured: 1: 0.023, next 9: 0.038, hardest 2: 0.061 (full MNIST in the notebook: 1: 0.0021, next 7: 0.0062, hardest 8: 0.0121).
    assert.equal(means.indexOf(sorted[0]), 1, `per digit ${means.map((m) => m.toFixed(4)).join(' ')}`);
    assert.ok(sorted[0] < 0.8 * sorted[1], `digit 1 ${sorted[0]} vs next ${sorted[1]}`);
    assert.ok(sorted[9] > 2 * sorted[0], `hardest ${sorted[9]} vs easiest ${sorted[0]}`);
    assert.equal(fm.rows.length, 10);
    for (const r of fm.rows) assert.ok(r.std > 0 && r.count > 50, `digit ${r.name}: std ${r.std}, ${r.count} images`);
  });

  it('best and worst reconstructions lie far apart: the worst ten are well above the mean error', () => {
    log({ best: fm.best.errors, worst: fm.worst.errors, mean: fm.meanError });
    // Measured: best 0.0082, worst 0.114, 10th worst 0.083, mean 0.047.
    assert.ok(fm.worst.errors[0] > 10 * fm.best.errors[0], `worst ${fm.worst.errors[0]} vs best ${fm.best.errors[0]}`);
    assert.ok(fm.worst.errors[9] > 1.5 * fm.meanError, `10th worst ${fm.worst.errors[9]} vs mean ${fm.meanError}`);
    assert.ok(fm.best.errors.every((e, i) => i === 0 || e >= fm.best.errors[i - 1]));
  });

  it('ink explains much of it: the error grows with the amount of ink in the image', () => {
    const inkTensor = tf.tidy(() => test.x.mean([1, 2, 3]));
    const ink = inkTensor.dataSync() as Float32Array;
    inkTensor.dispose();
    const r = pearson(ink, fm.errors);
    log('ink/error correlation', r);
    // Measured: 0.61 here; 0.34 in the notebook's full-MNIST run (the relation is real but loose).
    assert.ok(r > 0.3, `correlation ${r}`);
  });
});
