import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { fit, evaluate, evaluateLoss } from '../src/lib/train/fit';

describe('AE training on MNIST (first slice of the loop)', () => {
  let train: Dataset;
  let test: Dataset;
  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 500 }));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(test);
  });

  it('has the seed model’s 644,804 parameters', () => {
    const ae = new AE();
    // (784*400 + 400) + (400*20 + 20) + (20*400 + 400) + (400*784 + 784)
    assert.equal(ae.paramCount(), 784 * 400 + 400 + 400 * 20 + 20 + 20 * 400 + 400 + 400 * 784 + 784);
    assert.equal(ae.paramCount(), 644804);
    ae.dispose();
  });

  it('lowers the test BCE, repeats exactly with the same seed, and leaks no tensors', async () => {
    const run = async () => {
      const ae = new AE({ seed: 3 });
      const before = await evaluateLoss(ae, test, { loss: 'bce', reduction: 'sum' });
      const h = await fit(ae, train, { epochs: 2, batchSize: 64, loss: 'bce', reduction: 'sum', seed: 3 });
      const after = await evaluateLoss(ae, test, { loss: 'bce', reduction: 'sum' });
      ae.dispose();
      if (process.env.AELAB_TEST_VERBOSE) console.log({ before, after, epochs: h.epochs });
      return { before, after, h };
    };
    const start = tf.memory().numTensors;
    const a = await run();
    assert.equal(tf.memory().numTensors, start);
    // An untrained sigmoid output gives about 784 * ln 2 = 543 nats per image; two short
    // epochs on 2,000 images bring it well under 250 (measured: about 180).
    assert.ok(a.before > 500, `initial BCE ${a.before}`);
    assert.ok(a.after < 250, `trained BCE ${a.after}`);
    assert.ok(a.h.epochs[1].trainLoss < a.h.epochs[0].trainLoss);
    const b = await run();
    assert.deepEqual(b.h.epochs.map((e) => e.trainLoss), a.h.epochs.map((e) => e.trainLoss));
  });

  it('trains seed 001’s AE for 3 epochs on 5,000 images to a test BCE below 150 per image, as PyTorch does', async function () {
    // Seed 000's main() setting (Adam 1e-3, batch 128, shuffled, BCE with reduction='sum',
    // reported per image) on the first 5,000 training images for 3 epochs (120 steps), then the
    // test BCE per image on the first 1,000 test images.
    //
    // Where the bound comes from. The seeds print no loss for this model (seeds 000 and 001
    // show the code that prints "Average loss" but no output; the only printed losses, in
    // seed 004, are the MSE of a different, convolutional model), so the reference is a
    // PyTorch run of the same setting on the same images: Debian's python3-torch 1.13.1
    // (/usr/bin/python3 here; it was not installed when this test was first planned),
    // seed 001's AE with PyTorch's default init, torch.manual_seed 1..10, one thread. Its test
    // BCE per image: 139.9, 140.7, 136.8, 135.8, 140.9, 137.4, 138.0, 136.8, 138.4, 137.7
    // (mean 138.2, max 140.9). This loop on tfjs wasm measured 138.2, 136.5, 136.5 for model
    // seeds 1, 2, 3 (138.2 for the seed below). 150 is PyTorch's worst seed plus about 6.5%.
    // For scale: an untrained model scores 784 ln 2 = 543, and predicting the mean training
    // image for every test image scores 200.8.
    const data = await loadMnist({ trainSize: 5000, testSize: 1000 });
    try {
      const ae = new AE({ seed: 1 });
      const h = await fit(ae, data.train, { epochs: 3, lr: 1e-3, batchSize: 128, loss: 'bce', reduction: 'sum', seed: 1 });
      const e = await evaluate(ae, data.test, { loss: 'bce', reduction: 'sum' });
      ae.dispose();
      if (process.env.AELAB_TEST_VERBOSE) console.log({ train: h.epochs.map((r) => r.trainLoss), test: e });
      assert.ok(e.loss < 150, `test BCE per image ${e.loss} (PyTorch: 135.8 to 140.9)`);
      assert.ok(h.epochs[2].trainLoss < h.epochs[1].trainLoss && h.epochs[1].trainLoss < h.epochs[0].trainLoss);
    } finally {
      disposeDataset(data.train);
      disposeDataset(data.test);
    }
  });
});
