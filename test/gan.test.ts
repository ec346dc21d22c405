import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { disposeDataset } from '../src/lib/data/dataset';
import { GAN } from '../src/lib/models/gan';
import { fitGan, sampleDiversity } from '../src/lib/train/gan';

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
    const plainCount = gan.paramCount();
    gan.dispose();
    // Minibatch std: the head also sees the 784 pixels' spread across the batch.
    const mb = new GAN({ minibatchStd: true });
    assert.equal(mb.paramCount(), plainCount + 784);
    const real = tf.randomUniform([16, 784], 0, 1, 'float32', 5);
    const same = tf.tidy(() => real.slice(0, 1).tile([16, 1]));
    const logits = tf.tidy(() => tf.concat([mb.discriminate(real), mb.discriminate(same)], 1).arraySync() as number[][]);
    // Image 0 is in both batches; its logit differs only through the batch's spread.
    assert.notEqual(logits[0][0], logits[0][1]);
    tf.dispose([real, same]);
    mb.dispose();
  });

  it('sampleDiversity: classes covered, entropy, confidence and distances', () => {
    const x = tf.tidy(() => tf.concat([tf.zeros([10, 784]), tf.ones([10, 784])]));
    // Labels by first pixel: 0 for the black images, 1 for the white ones; logits make the judge sure.
    const d = sampleDiversity(x, (b) => tf.tidy(() => tf.oneHot(b.slice([0, 0], [-1, 1]).reshape([-1]).toInt(), 10).mul(20)));
    assert.deepEqual(d.classCounts, [10, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(d.classesCovered, 2);
    assert.equal(d.topClassShare, 0.5);
    assert.ok(Math.abs(d.classEntropy - 1) < 1e-9);
    assert.ok(d.meanConfidence > 0.99);
    // 90 of the 190 pairs are 28 apart (sqrt(784)), the others 0.
    assert.ok(Math.abs(d.meanPairwiseDistance - (100 * 28) / 190) < 1e-2, `${d.meanPairwiseDistance}`);
    const one = sampleDiversity(tf.zeros([5, 784]), () => tf.zeros([5], 'int32'));
    assert.equal(one.classesCovered, 1);
    assert.equal(one.classEntropy, 0);
    assert.ok(Number.isNaN(one.meanConfidence));
    assert.ok(one.meanPairwiseDistance < 1e-3);
    x.dispose();
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
    // 1024 images in batches of 64: 16 steps per epoch, each step's losses recorded.
    for (const h of history) {
      assert.equal(h.dSteps.length, 16);
      assert.equal(h.gSteps.length, 16);
      assert.ok(Math.abs(h.dSteps.reduce((a, b) => a + b) / 16 - h.dLoss) < 1e-5);
    }
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
