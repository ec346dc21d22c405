// Seed 001, Part 2 and Exercise 4, checked on a small real MNIST subset. Bounds are set
// from measured values with margins (the measured values are in the comments).
// notebooks/02-convolutional.ipynb runs the exercise at a larger scale.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset, takeRows } from '../../src/lib/data/dataset';
import { AE, Autoencoder, ConvAutoencoder, DeepConvAutoencoder, SimpleAutoencoder, StridedConvAutoencoder } from '../../src/lib/models';
import { evaluate, fit } from '../../src/lib/train';

/**
 * Checkerboard strength of a decoded image: the standard deviation of the mean brightness
 * of its four pixel phases (even/odd row x even/odd column), 4-pixel border left out.
 */
function checkerboard(img: tf.Tensor): number {
  return tf.tidy(() => tf.moments(img.reshape([28, 28]).slice([4, 4], [20, 20]).reshape([10, 2, 10, 2]).mean([0, 2])).variance.sqrt().dataSync()[0]);
}

/** The model's decoding of a flat code: the mean code value of the first 100 images of `x` at every latent position. */
function decodeFlatCode(model: Autoencoder, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => model.decode(tf.fill([1, ...model.latentShape], model.encode(x.slice(0, 100)).mean().dataSync()[0])));
}

describe('exercise 02: convolutional autoencoders (seed 001 Part 2, Exercise 4)', function () {
  this.timeout(300_000);
  let train: Dataset;
  let test: Dataset;

  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 500, seed: 1 }));
  });

  after(() => {
    disposeDataset(train);
    disposeDataset(test);
  });

  it('convolutional autoencoders have far fewer parameters than the fully connected ones', () => {
    const conv = new ConvAutoencoder();
    const deep = new DeepConvAutoencoder();
    const ae = new AE();
    const simple = new SimpleAutoencoder();
    try {
      assert.equal(conv.paramCount(), 225);
      // The deeper model as its code builds it (16/32/64 channels), not as its docstring says (32/64/128).
      assert.equal(deep.paramCount(), 83_905);
      assert.ok(deep.paramCount() < simple.paramCount() / 5 && simple.paramCount() < ae.paramCount());
      assert.ok(conv.paramCount() < deep.paramCount());
    } finally {
      [conv, deep, ae, simple].forEach((m) => m.dispose());
    }
  });

  it('stride and pooling have equal parameter counts, and the strided encoder reconstructs better', async () => {
    const pool = new ConvAutoencoder({ downsample: 'pool' });
    const stride = new ConvAutoencoder({ downsample: 'stride' });
    try {
      assert.equal(pool.paramCount(), 225); // pooling has no weights
      assert.equal(stride.paramCount(), 225);
      const mse: number[] = [];
      for (const model of [pool, stride]) {
        // A 225-parameter model needs Adam's larger steps (lr 1e-2) to get far in 125 steps.
        await fit(model, train, { epochs: 4, batchSize: 64, lr: 1e-2, loss: 'bce' });
        mse.push((await evaluate(model, test, { loss: 'mse' })).mse);
      }
      // measured: pool 0.0023, stride 0.0016 (seed 2: 0.0029, 0.0019). The notebook's
      // full run (60,000 images, 10 epochs, 3 seeds) finds the same: 0.00084 against 0.00042.
      assert.ok(mse[0] < 0.006 && mse[1] < 0.006, `MSE pool ${mse[0]}, stride ${mse[1]}`);
      assert.ok(mse[1] < 0.85 * mse[0], `stride MSE ${mse[1]} vs pool MSE ${mse[0]}`);
    } finally {
      pool.dispose();
      stride.dispose();
    }
  });

  it('early in training a stride-2 transposed convolution paints a checkerboard that upsampling + convolution does not', async () => {
    const small = takeRows(train, 512);
    const strength: Record<string, number> = {};
    for (const upsample of ['transpose', 'upsample-conv'] as const) {
      const model = new StridedConvAutoencoder({ upsample });
      await fit(model, small, { epochs: 1, batchSize: 64, loss: 'bce' });
      const flat = decodeFlatCode(model, test.x);
      strength[upsample] = checkerboard(flat);
      flat.dispose();
      model.dispose();
    }
    disposeDataset(small);
    // measured: transposed 0.028, upsample + conv 0.0000 (a flat code stays flat inside the
    // border). The uneven overlap of a 3x3, stride-2 kernel is structural; longer training can
    // learn to cancel it (the notebook's medium run shows how far).
    assert.ok(strength.transpose > 0.005, `transposed ${strength.transpose}`);
    assert.ok(strength['upsample-conv'] < 1e-4, `upsample-conv ${strength['upsample-conv']}`);
  });
});
