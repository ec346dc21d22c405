import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batches, batchCount, disposeBatch, noisyCopy } from '../src/lib/data/batches';
import { Dataset, disposeDataset, hostData } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { ArgumentError } from '../src/lib/errors';

describe('batches', () => {
  let train: Dataset;
  let test: Dataset;
  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 1000, testSize: 10 }));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(test);
  });

  /** The labels of one epoch, in batch order, and the batch sizes. */
  function epochLabels(seed: number, epoch: number, batchSize = 128) {
    const labels: number[] = [];
    const sizes: number[] = [];
    for (const b of batches(train, { batchSize, seed, epoch })) {
      labels.push(...Array.from(b.y!.dataSync()));
      sizes.push(b.size);
      disposeBatch(b);
    }
    return { labels, sizes };
  }

  it('covers every example once per epoch and keeps the last partial batch', () => {
    const { labels, sizes } = epochLabels(1, 1);
    assert.deepEqual(sizes, [128, 128, 128, 128, 128, 128, 128, 104]);
    assert.equal(batchCount(train, 128), 8);
    const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);
    assert.deepEqual(sorted(labels), sorted(hostData(train.y!)));
  });

  it('shuffles reproducibly per seed and epoch', () => {
    const a = epochLabels(1, 1).labels;
    assert.deepEqual(epochLabels(1, 1).labels, a);
    assert.notDeepEqual(epochLabels(1, 2).labels, a);
    assert.notDeepEqual(epochLabels(2, 1).labels, a);
  });

  it('keeps the order without shuffle and copies the right rows', () => {
    const first = batches(test, { batchSize: 4, shuffle: false }).next().value!;
    const expected = test.x.slice([0, 0, 0, 0], [4, 28, 28, 1]);
    assert.deepEqual(Array.from(first.x.dataSync()), Array.from(expected.dataSync()));
    assert.deepEqual(first.x.shape, [4, 28, 28, 1]);
    assert.equal(first.x, first.target);
    expected.dispose();
    disposeBatch(first);
  });

  it('adds seeded Gaussian noise to the input only, clamped to [0, 1]', () => {
    const std = 0.3;
    const b = batches(test, { batchSize: 10, shuffle: false, noise: { std }, seed: 5 }).next().value!;
    const clean = b.target.dataSync();
    const noisy = b.x.dataSync();
    assert.deepEqual(Array.from(clean), Array.from(hostData(test.x)));
    let inside = 0, sum = 0, sum2 = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < clean.length; i++) {
      min = Math.min(min, noisy[i]);
      max = Math.max(max, noisy[i]);
      // where clamping cannot have acted, the difference is the raw noise
      if (clean[i] > 0.45 && clean[i] < 0.55) {
        const d = noisy[i] - clean[i];
        if (noisy[i] > 0 && noisy[i] < 1) { inside++; sum += d; sum2 += d * d; }
      }
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    assert.ok(inside > 50, `only ${inside} mid-grey pixels`);
    // truncated by the clamp at about 1.5 sd, so the spread is a bit under std
    const sd = Math.sqrt(sum2 / inside - (sum / inside) ** 2);
    assert.ok(sd > 0.2 && sd < 0.33, `noise sd ${sd}`);
    const again = batches(test, { batchSize: 10, shuffle: false, noise: { std }, seed: 5 }).next().value!;
    assert.deepEqual(Array.from(again.x.dataSync()), Array.from(noisy));
    disposeBatch(b);
    disposeBatch(again);
  });

  it('noisyCopy: one fixed noisy copy with the batches\' seeded noise, labels kept, the original untouched', () => {
    const clean = Array.from(test.x.dataSync());
    const copy = noisyCopy(test, { std: 0.3 }, 5);
    const b = batches(test, { batchSize: 10, shuffle: false, noise: { std: 0.3 }, seed: 5 }).next().value!;
    assert.deepEqual(Array.from(copy.x.dataSync()), Array.from(b.x.dataSync()));
    assert.notDeepEqual(Array.from(copy.x.dataSync()), clean);
    assert.deepEqual(Array.from(test.x.dataSync()), clean);
    assert.deepEqual(Array.from(copy.y!.dataSync()), Array.from(test.y!.dataSync()));
    disposeBatch(b);
    disposeDataset(copy);
    assert.ok(!test.y!.isDisposed, 'the copy owns its labels');
  });

  it('allows batch size 1 and the whole set, and rejects larger or fractional sizes', () => {
    assert.equal(batchCount(test, 1), 10);
    const whole = [...batches(test, { batchSize: 10 })];
    assert.equal(whole.length, 1);
    whole.forEach(disposeBatch);
    assert.throws(() => batches(test, { batchSize: 11 }).next(), (e: unknown) => e instanceof ArgumentError && /batchSize must be at most the dataset size \(10\); got 11/.test(e.message));
    assert.throws(() => batches(test, { batchSize: 2.5 }).next(), /batchSize must be an integer >= 1; got 2.5/);
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    for (const b of batches(train, { batchSize: 100, noise: { std: 0.1 } })) disposeBatch(b);
    assert.equal(tf.memory().numTensors, before);
  });
});
