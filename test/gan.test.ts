import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { disposeDataset } from '../src/lib/data/dataset';
import { GAN } from '../src/lib/models/gan';
import { fitGan } from '../src/lib/train/gan';

describe('GAN (seed 004 Q7-Q8)', () => {
  it('has the expected parameter count and generates images in [0, 1]', () => {
    const gan = new GAN();
    const lin = (a: number, b: number) => a * b + b;
    assert.equal(gan.paramCount(), lin(64, 256) + lin(256, 512) + lin(512, 784) + lin(784, 512) + lin(512, 256) + lin(256, 1));
    const x = gan.generate(8, 3);
    assert.deepEqual(x.shape, [8, 784]);
    const v = x.dataSync();
    assert.ok(v.every((p) => p >= 0 && p <= 1));
    assert.deepEqual(Array.from(gan.generate(8, 3).dataSync()), Array.from(v), 'seeded codes');
    assert.throws(() => new GAN({ latentDim: 0 }), /latentDim/);
    gan.dispose();
  });

  it('trains adversarially: the discriminator tells real from fake, and the generator moves towards the data', async () => {
    const { train } = await loadMnist({ trainSize: 1024, testSize: 16 });
    const gan = new GAN({ hidden: [128, 256], seed: 2 });
    const meanPixel = (t: tf.Tensor) => t.mean().dataSync()[0];
    const before = meanPixel(gan.generate(256));
    const before0 = tf.memory().numTensors;
    const history = await fitGan(gan, train, { epochs: 3, batchSize: 64 });
    assert.equal(tf.memory().numTensors, before0, 'no tensors leak across epochs');
    assert.equal(history.length, 3);
    for (const h of history) assert.ok(Number.isFinite(h.dLoss) && Number.isFinite(h.gLoss));
    const last = history.at(-1)!;
    assert.ok(last.dReal > last.dFake, `D believes real ${last.dReal} > fake ${last.dFake}`);
    // MNIST is mostly black (mean pixel 0.13); an untrained sigmoid generator sits near 0.5
    const after = meanPixel(gan.generate(256));
    const data = meanPixel(train.x);
    assert.ok(Math.abs(after - data) < Math.abs(before - data), `mean pixel ${before} -> ${after} (data ${data})`);
    gan.dispose();
    disposeDataset(train);
  });
});
