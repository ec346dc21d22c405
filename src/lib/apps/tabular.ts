/**
 * Seed 003's signal-versus-background study on a table: an autoencoder learns the
 * background class only; the other class (the signal) should reconstruct worse, so the
 * per-row MSE separates them. On `data/wdbc.csv` the background is `benign` and the
 * signal `malignant`.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Dataset, disposeDataset, labelsOf, selectRows, splitIndices } from '../data/dataset';
import { Standardizer, loadCsv } from '../data/csv';
import type { MLPConfig } from '../models/mlp';
import { TabularAutoencoder } from '../models/mlp';
import { fit, type History } from '../train/fit';
import { ChartSpec, histogramChart, learningCurves, rocChart } from '../viz/charts';
import { reconstructionErrors } from './anomaly';
import { RocCurve, RocPoint, ThresholdMetrics, auc, bestF1Point, rocAuc, metricsAtThresholds, percentile, rocCurve, thresholdForTpr } from './roc';

/** Options of `tabularAnomalyStudy`. */
export interface TabularAnomalyOptions {
  /** CSV file with a header line (default `data/wdbc.csv`). */
  file?: string;
  /** Label column (default `diagnosis`). */
  label?: string;
  /** Class the autoencoder learns (default `benign`). */
  background?: string;
  /** Class to detect (default `malignant`). */
  signal?: string;
  /** Background rows held out of training for validation, fraction or count (default 0.2). */
  validation?: number;
  /** Background rows held out for the test, fraction or count (default 0.2). */
  test?: number;
  /** Training epochs (default 100). */
  epochs?: number;
  /** Rows per step (default 32). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3, as the seed). */
  lr?: number;
  /** Seed of the split, the weights and the shuffles (default 1). */
  seed?: number;
  /** Architecture overrides of `TabularAutoencoder` (default 30-20-10-5, LeakyReLU, linear output). */
  model?: MLPConfig;
  /** Target TPR of the operating point (default 0.3, seed 003's `closest_point`). */
  targetTpr?: number;
  /**
   * Standardise every column with the mean and std of the background training rows
   * (default true). `false` trains on the raw values, whose scales differ by orders of
   * magnitude (areas in the hundreds, smoothness around 0.1): the MSE is then dominated by a
   * few large columns.
   */
  standardize?: boolean;
  /** Percentiles of the validation (background) errors used as thresholds (default 90, 95, 99). */
  thresholdPercentiles?: number[];
  /** Called after every training epoch. */
  onEpochEnd?: (record: History['epochs'][number]) => void | Promise<void>;
}

/** What `tabularAnomalyStudy` returns. Errors are MSE per standardised feature (per raw feature with `standardize: false`). */
export interface TabularAnomalyResult {
  /** The trained autoencoder (the caller disposes it). */
  model: TabularAutoencoder;
  /** Standardisation fitted on the background training rows; apply it to new rows before scoring (`undefined` with `standardize: false`). */
  scaler: Standardizer | undefined;
  /** Training history (train and validation MSE per epoch). */
  history: History;
  /** Row counts: background train / validation / test, and signal rows. */
  counts: { train: number; validation: number; test: number; signal: number };
  /** MSE per row of the held-out background test rows, of every signal row, and of the background validation rows (empty without validation rows). */
  errors: { background: Float32Array; signal: Float32Array; validation: Float32Array };
  /** ROC of the errors, signal = positive, over background test + all signal rows. */
  roc: RocCurve;
  /** Its area in [0, 1]. */
  auc: number;
  /** The operating point closest to `targetTpr`. */
  operatingPoint: RocPoint;
  /**
   * Thresholds chosen without looking at the test rows: percentiles of the validation
   * (background) errors; precision, recall, F1 and FPR of `error > threshold` on the test
   * rows (background test + signal). Empty without validation rows.
   */
  thresholds: (ThresholdMetrics & { percentile: number })[];
  /** The best F1 any threshold reaches on the test rows (chosen after the fact: an upper bound). */
  bestF1: ThresholdMetrics;
  /**
   * AUC of a model-free baseline score: each row's mean squared distance from the mean of
   * the background training rows (what an autoencoder that always outputs that mean would
   * score), on the same test rows. What the autoencoder adds is `auc - baselineAuc`.
   */
  baselineAuc: number;
  /** Medians of the two error distributions. */
  medianError: { background: number; signal: number };
  /** Charts: ROC, error histograms of the two classes (log10 MSE), learning curves. */
  charts: { roc: ChartSpec; histogram: ChartSpec; learning: ChartSpec };
}

/**
 * Runs seed 003's study: load the CSV, split the background rows into train / validation
 * / test, standardise every row with statistics of the background training rows, train a
 * `TabularAutoencoder` with MSE on background only, then score held-out background and all
 * signal rows by per-row MSE. Thresholds are percentiles of the validation errors (never
 * the test rows), reported with precision, recall and F1 on the test rows.
 */
export async function tabularAnomalyStudy(options: TabularAnomalyOptions = {}): Promise<TabularAnomalyResult> {
  await initBackend();
  const file = options.file ?? 'data/wdbc.csv';
  const seed = checkInteger('seed', options.seed ?? 1);
  const table = await loadCsv(file, { label: options.label ?? 'diagnosis' });
  const parts: Dataset[] = [];
  try {
    const names = table.classNames ?? [];
    const bgName = options.background ?? 'benign';
    const sigName = options.signal ?? 'malignant';
    const bg = names.indexOf(bgName);
    const sig = names.indexOf(sigName);
    if (bg < 0) throw new ArgumentError('background', bgName, `a class of ${file}: ${names.join(', ')}`);
    if (sig < 0 || sig === bg) throw new ArgumentError('signal', sigName, `another class of ${file}: ${names.join(', ')}`);
    const labels = labelsOf(table);
    const bgRows = [...labels.keys()].filter((i) => labels[i] === bg);
    const sigRows = [...labels.keys()].filter((i) => labels[i] === sig);
    const idx = splitIndices(bgRows.length, { validation: options.validation ?? 0.2, test: options.test ?? 0.2, seed });
    if (!idx.test) throw new ArgumentError('test', options.test, 'a non-zero share of the background rows (they are the negatives of the ROC)');
    const pick = (a: Int32Array | undefined) => Array.from(a ?? [], (i) => bgRows[i]);
    const trainRaw = selectRows(table, pick(idx.train));
    parts.push(trainRaw);
    const scaler = options.standardize === false ? undefined : Standardizer.fit(trainRaw.x as tf.Tensor2D);
    const scaled = (rows: number[]): Dataset => {
      const raw = selectRows(table, rows);
      if (!scaler) {
        parts.push(raw);
        return { x: raw.x };
      }
      const ds = { x: scaler.transform(raw.x as tf.Tensor2D) };
      disposeDataset(raw);
      parts.push(ds);
      return ds;
    };
    const train = scaled(pick(idx.train));
    const validation = idx.validation ? scaled(pick(idx.validation)) : undefined;
    const testBg = scaled(pick(idx.test));
    const signal = scaled(sigRows);

    const model = new TabularAutoencoder({ inputDim: table.featureNames.length, seed, ...options.model });
    let history: History;
    try {
      history = await fit(model, train, {
        epochs: checkInteger('epochs', options.epochs ?? 100, 1),
        batchSize: Math.min(options.batchSize ?? 32, datasetRows(train)),
        lr: checkNumber('lr', options.lr ?? 1e-3, Number.MIN_VALUE),
        loss: 'mse',
        seed,
        validationData: validation,
        onEpochEnd: options.onEpochEnd,
      });
    } catch (err) {
      model.dispose();
      throw err;
    }
    const background = await reconstructionErrors(model, testBg, 'mse');
    const sigErrors = await reconstructionErrors(model, signal, 'mse');
    const baselineAuc = rocAuc([...distanceFromMean(train, testBg), ...distanceFromMean(train, signal)], [
      ...new Array<number>(background.length).fill(0),
      ...new Array<number>(sigErrors.length).fill(1),
    ]);
    const valErrors = validation ? await reconstructionErrors(model, validation, 'mse') : new Float32Array(0);
    const scores = [...background, ...sigErrors];
    const truth = [...new Array<number>(background.length).fill(0), ...new Array<number>(sigErrors.length).fill(1)];
    const roc = rocCurve(scores, truth);
    const area = auc(roc);
    const percentiles = options.thresholdPercentiles ?? [90, 95, 99];
    const thresholds = valErrors.length
      ? metricsAtThresholds(scores, truth, percentiles.map((p) => percentile(valErrors, p))).map((m, i) => ({ percentile: percentiles[i], ...m }))
      : [];
    const { index: _bestIndex, ...bestF1 } = bestF1Point(roc);
    const histRows = [
      ...Array.from(background, (e) => ({ log10Mse: Math.log10(e), class: `${bgName} (background)` })),
      ...Array.from(sigErrors, (e) => ({ log10Mse: Math.log10(e), class: `${sigName} (signal)` })),
    ];
    return {
      model,
      scaler,
      history,
      counts: { train: datasetRows(train), validation: validation ? datasetRows(validation) : 0, test: background.length, signal: sigErrors.length },
      errors: { background, signal: sigErrors, validation: valErrors },
      roc,
      auc: area,
      operatingPoint: thresholdForTpr(roc, options.targetTpr ?? 0.3),
      thresholds,
      bestF1,
      baselineAuc,
      medianError: { background: percentile(background, 50), signal: percentile(sigErrors, 50) },
      charts: {
        roc: rocChart([{ name: `${sigName} vs ${bgName}`, fpr: roc.fpr, tpr: roc.tpr, auc: area }], { title: `${file}: signal vs background` }),
        histogram: histogramChart(histRows, { field: 'log10Mse', color: 'class', bins: 30, density: true, title: 'Reconstruction error per row', xTitle: scaler ? 'log10(MSE per standardised feature)' : 'log10(MSE per raw feature)' }),
        learning: learningCurves(history, { title: 'Autoencoder on background rows (MSE)', logY: true }),
      },
    };
  } finally {
    parts.forEach(disposeDataset);
    table.dispose();
  }
}

/** Mean squared distance of each row of `ds` from the column means of `reference`, `[rows]`. */
function distanceFromMean(reference: Dataset, ds: Dataset): Float32Array {
  const t = tf.tidy(() => tf.squaredDifference(ds.x, reference.x.mean(0)).mean(1));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

function datasetRows(ds: Dataset): number {
  return ds.x.shape[0];
}
