import assert from 'node:assert/strict';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { EncoderClassifier } from '../src/lib/models/classifier';
import { accuracy, fitClassifier } from '../src/lib/train/classifier';

describe('classifier on an encoder (seed 000 transfer_learning)', () => {
  let train: Dataset;
  let test: Dataset;
  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 1000, testSize: 500 }));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(test);
  });

  it("has the seed's head and trains only it when frozen, everything when fine-tuned", () => {
    const ae = new AE({ latentDim: 20 });
    const frozen = new EncoderClassifier(ae);
    // Linear(20, 128) + Linear(128, 10)
    assert.equal(frozen.paramCount(), 20 * 128 + 128 + 128 * 10 + 10);
    const tuned = new EncoderClassifier(ae, { frozen: false });
    assert.equal(tuned.paramCount(), frozen.paramCount() + 784 * 400 + 400 + 400 * 20 + 20);
    assert.throws(() => new EncoderClassifier(ae, { classes: 1 }), /classes/);
    [frozen, tuned, ae].forEach((m) => m.dispose());
  });

  it('learns digits from a frozen random encoder above chance, and leaves the encoder untouched', async () => {
    const ae = new AE({ latentDim: 32, seed: 2 });
    const before = ae.encoderWeights.map((w) => w.dataSync().slice());
    const clf = new EncoderClassifier(ae, { seed: 3 });
    const history = await fitClassifier(clf, train, { epochs: 3, batchSize: 64, lr: 3e-3, testData: test });
    assert.equal(history.length, 3);
    assert.ok(history[2].trainLoss < history[0].trainLoss, 'loss falls');
    // even an untrained encoder's 32-d code separates digits well above the 10% of chance
    // (measured 0.43 after 3 epochs on 1,000 images)
    assert.ok(history[2].testAccuracy! > 0.3, `test accuracy ${history[2].testAccuracy}`);
    ae.encoderWeights.forEach((w, i) => assert.deepEqual(w.dataSync(), before[i]));
    assert.equal(await accuracy(clf, test), history[2].testAccuracy);
    clf.dispose();
    ae.dispose();
  });
});
