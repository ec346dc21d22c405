// Anomaly detection by reconstruction error: seed 000 Exercise 3 (digit 9 against 0-8 on
// real MNIST) and seed 003's signal-vs-background study on data/wdbc.csv.
import assert from 'node:assert/strict';
import { loadMnist } from '../src/lib/data/mnist';
import { disposeDataset } from '../src/lib/data/dataset';
import { AnomalyDetector, DigitAnomalyResult, digitAnomalyStudy, reconstructionErrors } from '../src/lib/apps/anomaly';
import { percentile, rocCurve } from '../src/lib/apps/roc';
import { tabularAnomalyStudy } from '../src/lib/apps/tabular';
import { renderSvg } from '../src/lib/viz/charts';

describe('apps: anomaly detection', function () {
  this.timeout(120000);

  describe('digit 9 against digits 0-8 (seed 000 Exercise 3)', () => {
    let short: DigitAnomalyResult;
    let longer: DigitAnomalyResult;
    before(async () => {
      // the seed's AE (784-400-20), 2,000 training images of 0-8, 2,000 test images of 0-9
      short = await digitAnomalyStudy({ trainSize: 2000, testSize: 2000, epochs: 2, seed: 1 });
      // the same model trained further (short's numbers were computed before and stay as they are)
      longer = await digitAnomalyStudy({ trainSize: 2000, testSize: 2000, epochs: 6, lr: 3e-3, batchSize: 64, seed: 1, model: short.model });
    });
    after(() => short.model.dispose());

    it('does not flag 9s after two epochs: the error follows the ink, and a 9 has little (AUC below 0.5)', () => {
      // The seed expects the anomaly to reconstruct worse. Measured here: AUC 0.331 (0.353 and
      // 0.384 with seeds 2 and 3). A briefly trained AE reproduces a blurred average digit,
      // so its error grows with the number of lit pixels; 9s have fewer than 0s, 2s or 8s.
      // The claim does not hold in this setting, so this asserts what does.
      assert.ok(short.auc < 0.45, `AUC ${short.auc}`);
      const normalMean = short.perDigit.filter((p) => p.digit !== 9).reduce((s, p) => s + p.meanError * p.count, 0) / short.perDigit.filter((p) => p.digit !== 9).reduce((s, p) => s + p.count, 0);
      assert.ok(short.perDigit.find((p) => p.digit === 9)!.meanError < normalMean);
    });

    it('flags 9s better than chance once the AE has learned the digits (AUC above 0.5)', () => {
      // Six more epochs (lr 3e-3, batch 64) on the same 2,000 images. Measured: AUC 0.598
      // (0.553 and 0.617 with seeds 2 and 3); 10,000 images x 10 epochs at lr 1e-3 gave 0.588.
      // Digit 9 resembles 4 and 7, so it stays a hard anomaly: well above chance, far from 1.
      assert.ok(longer.auc > 0.53, `AUC ${longer.auc}`);
      assert.ok(longer.auc > short.auc + 0.15, `AUC ${short.auc} -> ${longer.auc}`);
    });

    it('thresholds at the 95th percentile of the training errors, and its table matches direct counts', async () => {
      const { detector, errors, isAnomaly } = longer;
      assert.equal(detector.thresholdPercentile, 95);
      const { train } = await loadMnist({ classes: [0, 1, 2, 3, 4, 5, 6, 7, 8], trainSize: 2000, testSize: 1, seed: 1 });
      const trainErrors = await detector.scores(train);
      assert.equal(detector.threshold, percentile(trainErrors, 95));
      const above = trainErrors.filter((e) => e > detector.threshold!).length;
      assert.equal(above, Math.floor(0.05 * 2000)); // 100 of 2,000 lie above the interpolated 95th percentile
      disposeDataset(train);

      const row = longer.table.find((r) => r.percentile === 95)!;
      assert.equal(row.threshold, detector.threshold);
      let tp = 0;
      let fp = 0;
      errors.forEach((e, i) => {
        if (e > row.threshold) isAnomaly[i] ? tp++ : fp++;
      });
      assert.equal(row.truePositives, tp);
      assert.equal(row.falsePositives, fp);
      const positives = isAnomaly.reduce((s, v) => s + v, 0);
      assert.equal(row.tpr, tp / positives);
      // measured: TPR 0.089, FPR 0.105 at this threshold (test normals reconstruct worse than
      // the 2,000 training images, so more than 5% of them are flagged)
      assert.ok(row.fpr > 0.05 && row.fpr < 0.2, `FPR ${row.fpr}`);
      // the seed's closest_point: the ROC point nearest TPR 0.3
      assert.ok(Math.abs(longer.atTpr30.tpr - 0.3) <= 1 / positives);
      assert.deepEqual(rocCurve(errors, isAnomaly).tpr, longer.roc.tpr);
    });

    it('predict flags exactly the errors above the threshold; a detector needs fit first', async () => {
      const { test } = await loadMnist({ trainSize: 1, testSize: 300, seed: 9 });
      const { errors, flags } = await longer.detector.predict(test);
      assert.equal(errors.length, 300);
      errors.forEach((e, i) => assert.equal(flags[i], e > longer.detector.threshold! ? 1 : 0));
      const again = await reconstructionErrors(longer.model, test, 'mse', 128); // other batches, same errors
      errors.forEach((e, i) => assert.ok(Math.abs(e - again[i]) < 1e-6));
      const fresh = new AnomalyDetector(longer.model);
      await assert.rejects(fresh.predict(test), /call fit/);
      assert.throws(() => new AnomalyDetector(longer.model, { thresholdPercentile: 120 }), /thresholdPercentile/);
      disposeDataset(test);
    });

    it('draws the ROC curve and the error histograms', async () => {
      for (const spec of [longer.charts.roc, longer.charts.histogram]) assert.match(await renderSvg(spec), /^<svg/);
    });
  });

  it('wdbc: an autoencoder of benign rows separates malignant rows by their MSE (seed 003)', async () => {
    const r = await tabularAnomalyStudy({ file: 'data/wdbc.csv', epochs: 30, seed: 1 });
    // 357 benign rows: 215 train, 71 validation, 71 test; 212 malignant rows
    assert.deepEqual(r.counts, { train: 215, validation: 71, test: 71, signal: 212 });
    assert.equal(r.model.inputShape[0], 30);
    // measured: AUC 0.947 (0.916 and 0.937 with seeds 2 and 3; 0.89-0.93 after 50-100 epochs);
    // median MSE per standardised feature 0.56 benign, 4.9 malignant
    assert.ok(r.auc > 0.82, `AUC ${r.auc}`);
    assert.ok(r.medianError.signal > 2 * r.medianError.background);
    // seed 003's closest_point at TPR 0.3 lies far left of the diagonal
    assert.ok(Math.abs(r.operatingPoint.tpr - 0.3) < 0.01 && r.operatingPoint.fpr < 0.1, JSON.stringify(r.operatingPoint));
    assert.equal(r.history.epochs.length, 30);
    assert.ok(r.history.epochs[29].valLoss! < r.history.epochs[0].valLoss!);
    for (const spec of [r.charts.roc, r.charts.histogram, r.charts.learning]) assert.match(await renderSvg(spec), /^<svg/);
    r.model.dispose();
  });
});
