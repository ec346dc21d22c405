// Grading tests for notebook 09 (seed 000 Exercise 3, seed 003 on data/wdbc.csv): the claims
// the notebook makes, checked on small real data (MNIST subsets, the shipped wdbc.csv).
import assert from 'node:assert/strict';
import { DigitAnomalyResult, digitAnomalyStudy } from '../../src/lib/apps/anomaly';
import { TabularAnomalyResult, tabularAnomalyStudy } from '../../src/lib/apps/tabular';
import { rocAuc } from '../../src/lib/apps/roc';
import { loadCsv } from '../../src/lib/data/csv';
import { labelsOf } from '../../src/lib/data/dataset';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};
const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const perInk = (r: DigitAnomalyResult) => Array.from(r.errors, (e, i) => e / r.ink[i]);

describe('exercises 09: anomaly detection (seed 000 Exercise 3, seed 003)', function () {
  this.timeout(600000);

  describe('MNIST: one digit held out as the anomaly', () => {
    const runs: Record<number, DigitAnomalyResult> = {};
    before(async () => {
      // The seed's AE (784-400-20, BCE), 1,500 training images of the normal digits, 3 epochs
      // at lr 3e-3 and batch 64; 1,500 test images of all ten digits.
      for (const anomaly of [9, 1, 0]) {
        runs[anomaly] = await digitAnomalyStudy({ normalClasses: digits.filter((d) => d !== anomaly), anomalyClass: anomaly, trainSize: 1500, testSize: 1500, epochs: 3, lr: 3e-3, batchSize: 64, seed: 1 });
        runs[anomaly].model.dispose();
      }
      log(Object.entries(runs).map(([d, r]) => `${d}: AUC ${r.auc.toFixed(3)}, per ink ${rocAuc(perInk(r), r.isAnomaly).toFixed(3)}, corr ${r.inkCorrelation.toFixed(3)}, p95 FPR ${r.table.find((t) => t.percentile === 95)!.fpr.toFixed(3)}, 9: ${r.perDigit.map((p) => p.meanError.toFixed(4)).join(' ')}`).join('\n'));
    });

    it('digit 9 is a hard anomaly: its AUC stays far from 1, since 9s reconstruct about as well as 4s and 7s', () => {
      // measured: AUC 0.460 (0.583 in the notebook's medium run); the 9s' mean error 0.036 lies
      // inside the normal digits' range, 0.014 (1s) to 0.050 (2s)
      const r = runs[9];
      assert.ok(r.auc > 0.35 && r.auc < 0.7, `AUC ${r.auc}`);
      const normal = r.perDigit.filter((p) => p.digit !== 9).map((p) => p.meanError);
      const nine = r.perDigit.find((p) => p.digit === 9)!.meanError;
      assert.ok(nine > Math.min(...normal) && nine < Math.max(...normal), `9: ${nine}, normal ${normal}`);
    });

    it('the error follows the ink: correlated with the mean pixel value of the image', () => {
      // measured: correlation 0.57 (held-out 9), 0.43 (held-out 1), 0.65 (held-out 0)
      for (const d of [9, 1, 0]) assert.ok(runs[d].inkCorrelation > 0.3, `held-out ${d}: ${runs[d].inkCorrelation}`);
    });

    it('so a digit with much ink (0) is easy to flag and one with little ink (1) is flagged below chance', () => {
      // measured: AUC 0.906 for held-out 0, 0.274 for held-out 1 (0.87 and 0.42 in the notebook's medium run)
      assert.ok(runs[0].auc > 0.8, `0: ${runs[0].auc}`);
      assert.ok(runs[1].auc < 0.45, `1: ${runs[1].auc}`);
    });

    it('dividing the error by the ink flags the 1s well above chance and helps the 9s', () => {
      // measured: held-out 1: 0.274 -> 0.796; held-out 9: 0.460 -> 0.543
      const one = rocAuc(perInk(runs[1]), runs[1].isAnomaly);
      const nine = rocAuc(perInk(runs[9]), runs[9].isAnomaly);
      assert.ok(one > 0.65 && one > runs[1].auc + 0.25, `1: ${runs[1].auc} -> ${one}`);
      assert.ok(nine > runs[9].auc + 0.02, `9: ${runs[9].auc} -> ${nine}`);
    });

    it('a threshold at the 95th percentile of the training errors flags more than 5% of unseen normal digits', () => {
      // measured: FPR 0.061 at p95 (test normals reconstruct worse than training images)
      const row = runs[9].table.find((t) => t.percentile === 95)!;
      assert.ok(row.fpr > 0.05 && row.fpr < 0.25, `FPR ${row.fpr}`);
    });
  });

  describe('wdbc.csv: benign rows as background, malignant as signal (seed 003)', () => {
    let std: TabularAnomalyResult;
    let fast: TabularAnomalyResult;
    let raw: TabularAnomalyResult;
    before(async () => {
      std = await tabularAnomalyStudy({ file: 'data/wdbc.csv', epochs: 40, seed: 1 });
      fast = await tabularAnomalyStudy({ file: 'data/wdbc.csv', epochs: 40, lr: 1e-2, seed: 1 });
      raw = await tabularAnomalyStudy({ file: 'data/wdbc.csv', epochs: 40, seed: 1, standardize: false });
      [std, fast, raw].forEach((r) => r.model.dispose());
      const f = (m: { precision: number; recall: number; f1: number; fpr: number }) => [m.precision, m.recall, m.f1, m.fpr].map((v) => v.toFixed(3)).join('/');
      log({ std: [std.auc, std.baselineAuc, std.medianError, std.history.epochs.at(-1)!.valLoss, std.operatingPoint.fpr, ...std.thresholds.map(f), f(std.bestF1)], fast: [fast.auc, fast.history.epochs.at(-1)!.valLoss], raw: [raw.auc, raw.baselineAuc] });
    });

    it('malignant rows reconstruct much worse than held-out benign rows: AUC well above chance', () => {
      // measured: AUC 0.940, median MSE 0.48 benign vs 3.87 malignant (per standardised feature)
      assert.ok(std.auc > 0.85, `AUC ${std.auc}`);
      assert.ok(std.medianError.signal > 3 * std.medianError.background, JSON.stringify(std.medianError));
      assert.deepEqual(std.counts, { train: 215, validation: 71, test: 71, signal: 212 });
    });

    it('a threshold at the 95th percentile of the validation errors gives high precision and a moderate recall', () => {
      // measured: precision 0.956, recall 0.811, F1 0.878, FPR 0.113 (best F1 after the fact 0.943);
      // FPR 0 at TPR 0.3
      const p95 = std.thresholds.find((m) => m.percentile === 95)!;
      assert.ok(p95.precision > 0.9, `precision ${p95.precision}`);
      assert.ok(p95.recall > 0.5 && p95.recall < 0.95, `recall ${p95.recall}`);
      assert.ok(std.bestF1.f1 >= p95.f1, 'the after-the-fact best F1 bounds every threshold');
      assert.ok(std.operatingPoint.fpr < 0.05, `FPR at TPR 0.3: ${std.operatingPoint.fpr}`);
    });

    it('a larger learning rate (1e-2) reaches a lower validation MSE in the same epochs, and the better fit detects worse', () => {
      // measured after 40 epochs: validation MSE 0.37 at lr 1e-2 vs 0.64 at lr 1e-3; AUC 0.884 vs 0.940
      assert.ok(fast.history.epochs.at(-1)!.valLoss! < 0.8 * std.history.epochs.at(-1)!.valLoss!);
      assert.ok(fast.auc < std.auc - 0.02, `AUC ${fast.auc} (lr 1e-2) vs ${std.auc}`);
    });

    it('a model-free score, the distance from the benign training mean, separates the classes at least as well', () => {
      // measured: baseline AUC 0.956 vs 0.940 for the autoencoder (0.888 after 100 epochs in the notebook)
      assert.ok(std.baselineAuc > 0.9, `baseline ${std.baselineAuc}`);
      assert.ok(std.baselineAuc > std.auc, `baseline ${std.baselineAuc} vs AE ${std.auc}`);
    });

    it('without standardisation the score is dominated by the area columns, which alone separate the classes', async () => {
      // measured: raw-feature AUC 0.961; worst_area alone as the score 0.970
      assert.ok(raw.auc > 0.9, `raw AUC ${raw.auc}`);
      const table = await loadCsv('data/wdbc.csv', { label: 'diagnosis' });
      const x = table.x.arraySync() as number[][];
      const col = table.featureNames.indexOf('worst_area');
      const y = Array.from(labelsOf(table), (v) => (table.classNames![v] === 'malignant' ? 1 : 0));
      table.dispose();
      const areaAuc = rocAuc(x.map((r) => r[col]), y);
      assert.ok(areaAuc > 0.9, `worst_area AUC ${areaAuc}`);
      assert.ok(Math.abs(raw.auc - areaAuc) < 0.05, `raw AE ${raw.auc} vs worst_area ${areaAuc}`);
    });
  });
});
