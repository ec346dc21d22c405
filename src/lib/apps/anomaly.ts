/**
 * Anomaly detection by reconstruction error (seed 000 Part 6 `AnomalyDetector` and
 * Exercise 3): train on normal data, set the threshold at a percentile of the training
 * errors, flag what reconstructs worse.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Dataset, datasetSize, disposeDataset, labelsOf } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import { loadMnist } from '../data/mnist';
import type { Autoencoder } from '../models/autoencoder';
import { AE } from '../models/ae';
import { fit, type History } from '../train/fit';
import { LOSSES, LossName, perSampleLoss } from '../train/losses';
import { ChartSpec, histogramChart, rocChart } from '../viz/charts';
import { pearson } from '../analysis/distances';
import { PercentileRates, RocCurve, RocPoint, auc, percentile, ratesAtPercentiles, rocCurve, thresholdForTpr } from './roc';

/** Options of `AnomalyDetector`. */
export interface AnomalyDetectorOptions {
  /** Percentile of the training errors used as the threshold, in [0, 100] (default 95, as the seed). */
  thresholdPercentile?: number;
  /** Per-sample error: `mse` (default, the seed's mean squared error per value), `mae` or `bce`. */
  loss?: LossName;
  /** Examples per forward pass (default 512). */
  batchSize?: number;
}

/** What `AnomalyDetector.predict` returns. */
export interface AnomalyPrediction {
  /** Reconstruction error of each example, `[n]` (mean over its values, e.g. MSE per pixel). */
  errors: Float32Array;
  /** 1 where `error > threshold` (an anomaly), else 0, `[n]`. */
  flags: Uint8Array;
}

/**
 * Per-example reconstruction errors of `model` on `ds`, in inference mode (no dropout,
 * batch-norm running statistics).
 * @param ds `x [n, ...inputShape]` (images `[n, 28, 28, 1]` in [0, 1], or standardised rows)
 * @param loss `mse` (default): mean squared error over each example's values; `mae`, `bce` likewise
 * @returns `[n]` float32 errors, in dataset order
 */
export async function reconstructionErrors(model: Autoencoder, ds: Dataset, loss: LossName = 'mse', batchSize = 512): Promise<Float32Array> {
  await initBackend();
  if (!LOSSES.includes(loss)) throw new ArgumentError('loss', loss, `one of ${LOSSES.join(', ')}`);
  const n = datasetSize(ds);
  const out = new Float32Array(n);
  let offset = 0;
  for (const b of batches(ds, { batchSize: Math.min(checkInteger('batchSize', batchSize, 1), n), shuffle: false })) {
    const e = tf.tidy(() => perSampleLoss(loss, b.target, model.forward(b.x, false)));
    out.set(await e.data(), offset);
    offset += b.size;
    e.dispose();
    disposeBatch(b);
  }
  return out;
}

/**
 * Seed 000's `AnomalyDetector`: `fit` on normal data sets the threshold at the
 * `thresholdPercentile`-th percentile of the training errors (NumPy's linear
 * interpolation); `predict` flags examples whose error is above it.
 *
 * ```ts
 * const det = new AnomalyDetector(ae, { thresholdPercentile: 95 });
 * await det.fit(normalTrain);
 * const { errors, flags } = await det.predict(test);
 * ```
 */
export class AnomalyDetector {
  readonly thresholdPercentile: number;
  readonly loss: LossName;
  readonly batchSize: number;
  /** The threshold in error units (e.g. MSE per pixel); `undefined` until `fit`. */
  threshold: number | undefined;

  /** @param model a trained autoencoder (the detector does not train it) */
  constructor(
    readonly model: Autoencoder,
    options: AnomalyDetectorOptions = {},
  ) {
    this.thresholdPercentile = checkNumber('thresholdPercentile', options.thresholdPercentile ?? 95, 0, 100);
    this.loss = options.loss ?? 'mse';
    if (!LOSSES.includes(this.loss)) throw new ArgumentError('loss', this.loss, `one of ${LOSSES.join(', ')}`);
    this.batchSize = checkInteger('batchSize', options.batchSize ?? 512, 1);
  }

  /**
   * Sets `threshold` from normal data.
   * @param ds normal examples `x [n, ...]` (labels ignored)
   * @returns the training errors `[n]`
   */
  async fit(ds: Dataset): Promise<Float32Array> {
    const errors = await this.scores(ds);
    this.threshold = percentile(errors, this.thresholdPercentile);
    return errors;
  }

  /** Per-example reconstruction errors `[n]` (the anomaly scores: higher = more anomalous). */
  scores(ds: Dataset): Promise<Float32Array> {
    return reconstructionErrors(this.model, ds, this.loss, this.batchSize);
  }

  /** Errors and flags (`error > threshold`) for every example of `ds`; needs `fit` first. */
  async predict(ds: Dataset): Promise<AnomalyPrediction> {
    const threshold = this.threshold;
    if (threshold === undefined) throw new ArgumentError('threshold', threshold, 'set: call fit(normalData) before predict');
    const errors = await this.scores(ds);
    return { errors, flags: Uint8Array.from(errors, (e) => (e > threshold ? 1 : 0)) };
  }
}

/** Options of `digitAnomalyStudy` (seed 000 Exercise 3). */
export interface DigitAnomalyOptions {
  /** Digits the autoencoder learns as normal (default 0-8). */
  normalClasses?: number[];
  /** The anomalous digit (default 9). */
  anomalyClass?: number;
  /** Training images of the normal digits (default 10,000; the whole split is ~54,000). */
  trainSize?: number;
  /** Test images of all the digits in `normalClasses` and `anomalyClass` (default 5,000). */
  testSize?: number;
  /** Training epochs (default 5). */
  epochs?: number;
  /** Examples per step (default 128). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Training loss (default `bce`, seed 000's); the anomaly score is `scoreLoss`. */
  loss?: LossName;
  /** Anomaly score (default `mse`, as the seed's detector). */
  scoreLoss?: LossName;
  /** Latent units of the default `AE` (default 20). */
  latentDim?: number;
  /** Seed of the data subset, the weights and the shuffles (default 1). */
  seed?: number;
  /** Threshold percentile of the detector (default 95). */
  thresholdPercentile?: number;
  /** Percentiles for the TPR/FPR table (default 50, 75, 90, 95, 99). */
  percentiles?: number[];
  /** Use this (trained or untrained) model instead of a fresh `AE`; it is trained unless `train: false`. */
  model?: Autoencoder;
  /** Train the model first (default true). */
  train?: boolean;
  /** Called after every training epoch (progress). */
  onEpochEnd?: (record: History['epochs'][number]) => void | Promise<void>;
}

/** What `digitAnomalyStudy` returns. Scores are MSE per pixel unless `scoreLoss` says otherwise. */
export interface DigitAnomalyResult {
  /** The autoencoder (owned by the caller: dispose it). */
  model: Autoencoder;
  /** The detector, fitted on the training errors. */
  detector: AnomalyDetector;
  /** Training history (empty when `train: false`). */
  history?: History;
  /** Test-set errors `[n]`, digit labels `[n]` and anomaly flags (1 = the anomalous digit) `[n]`. */
  errors: Float32Array;
  digits: Int32Array;
  isAnomaly: Uint8Array;
  /** ROC of the errors against `isAnomaly`. */
  roc: RocCurve;
  /** Its area, in [0, 1]. */
  auc: number;
  /** TPR and FPR with the threshold at percentiles of the training errors. */
  table: PercentileRates[];
  /** The curve point closest to TPR 0.3 (seed 003's `closest_point`). */
  atTpr30: RocPoint;
  /** Mean error and mean ink (mean pixel value) per digit, normal digits and the anomaly. */
  perDigit: { digit: number; meanError: number; meanInk: number; count: number }[];
  /** Ink of each test image: its mean pixel value `[n]` (0 = black, 1 = white). */
  ink: Float32Array;
  /** Pearson correlation of `errors` with `ink` over the test images, in [-1, 1]. */
  inkCorrelation: number;
  /** Charts: the ROC curve and the error histograms (normal vs anomaly). */
  charts: { roc: ChartSpec; histogram: ChartSpec };
}

/**
 * Seed 000 Exercise 3: train an autoencoder on digits 0-8 of MNIST, treat digit 9 as the
 * anomaly, and measure how well the reconstruction error separates them: ROC, AUC, TPR/FPR
 * at percentile thresholds of the training errors, the TPR-0.3 operating point.
 */
export async function digitAnomalyStudy(options: DigitAnomalyOptions = {}): Promise<DigitAnomalyResult> {
  await initBackend();
  const normal = options.normalClasses ?? [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const anomaly = checkInteger('anomalyClass', options.anomalyClass ?? 9, 0, 9);
  if (normal.includes(anomaly)) throw new ArgumentError('normalClasses', normal, `digits other than the anomaly ${anomaly}`);
  const seed = options.seed ?? 1;
  const { train, test: unusedTest } = await loadMnist({ classes: normal, trainSize: options.trainSize ?? 10000, testSize: 1, seed });
  disposeDataset(unusedTest);
  const { test, train: unusedTrain } = await loadMnist({ classes: [...normal, anomaly], trainSize: 1, testSize: options.testSize ?? 5000, seed: seed + 1 });
  disposeDataset(unusedTrain);
  const model = options.model ?? new AE({ latentDim: options.latentDim ?? 20, seed });
  try {
    let history: History | undefined;
    if (options.train !== false) {
      history = await fit(model, train, {
        epochs: options.epochs ?? 5,
        batchSize: options.batchSize ?? 128,
        lr: options.lr ?? 1e-3,
        loss: options.loss ?? 'bce',
        seed,
        onEpochEnd: options.onEpochEnd,
      });
    }
    const detector = new AnomalyDetector(model, { thresholdPercentile: options.thresholdPercentile, loss: options.scoreLoss ?? 'mse' });
    const trainErrors = await detector.fit(train);
    const errors = await detector.scores(test);
    const digits = labelsOf(test);
    // The error grows with the ink of an image (how many pixels are lit): kept so a score can be normalised by it.
    const inkT = tf.tidy(() => test.x.reshape([test.x.shape[0], -1]).mean(1));
    const ink = (await inkT.data()) as Float32Array;
    inkT.dispose();
    const isAnomaly = Uint8Array.from(digits, (d) => (d === anomaly ? 1 : 0));
    const roc = rocCurve(errors, isAnomaly);
    const area = auc(roc);
    const perDigit = [...normal, anomaly].map((digit) => {
      let sum = 0;
      let inkSum = 0;
      let count = 0;
      digits.forEach((d, i) => {
        if (d === digit) {
          sum += errors[i];
          inkSum += ink[i];
          count++;
        }
      });
      return { digit, meanError: count ? sum / count : NaN, meanInk: count ? inkSum / count : NaN, count };
    });
    const histRows = Array.from(errors, (e, i) => ({ error: e, class: isAnomaly[i] ? `anomaly (${anomaly})` : 'normal' }));
    return {
      model,
      detector,
      history,
      errors,
      digits,
      isAnomaly,
      roc,
      auc: area,
      table: ratesAtPercentiles(errors, isAnomaly, options.percentiles ?? [50, 75, 90, 95, 99], trainErrors),
      atTpr30: thresholdForTpr(roc, 0.3),
      perDigit,
      ink,
      inkCorrelation: pearson(errors, ink),
      charts: {
        roc: rocChart([{ name: `digit ${anomaly} vs ${normal.join('')}`, fpr: roc.fpr, tpr: roc.tpr, auc: area }], { title: 'Anomaly detection by reconstruction error' }),
        histogram: histogramChart(histRows, { field: 'error', color: 'class', bins: 40, density: true, title: 'Reconstruction error per test image', xTitle: `${options.scoreLoss ?? 'mse'} per pixel` }),
      },
    };
  } catch (err) {
    if (!options.model) model.dispose();
    throw err;
  } finally {
    disposeDataset(train);
    disposeDataset(test);
  }
}
