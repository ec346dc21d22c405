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
import { RocCurve, RocPoint, auc, percentile, rocCurve, thresholdForTpr } from './roc';

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
  /** Called after every training epoch. */
  onEpochEnd?: (record: History['epochs'][number]) => void | Promise<void>;
}

/** What `tabularAnomalyStudy` returns. Errors are MSE per standardised feature. */
export interface TabularAnomalyResult {
  /** The trained autoencoder (the caller disposes it). */
  model: TabularAutoencoder;
  /** Standardisation fitted on the background training rows; apply it to new rows before scoring. */
  scaler: Standardizer;
  /** Training history (train and validation MSE per epoch). */
  history: History;
  /** Row counts: background train / validation / test, and signal rows. */
  counts: { train: number; validation: number; test: number; signal: number };
  /** MSE per row of the held-out background test rows, and of every signal row. */
  errors: { background: Float32Array; signal: Float32Array };
  /** ROC of the errors, signal = positive, over background test + all signal rows. */
  roc: RocCurve;
  /** Its area in [0, 1]. */
  auc: number;
  /** The operating point closest to `targetTpr`. */
  operatingPoint: RocPoint;
  /** Medians of the two error distributions. */
  medianError: { background: number; signal: number };
  /** Charts: ROC, error histograms of the two classes (log10 MSE), learning curves. */
  charts: { roc: ChartSpec; histogram: ChartSpec; learning: ChartSpec };
}

/**
 * Runs seed 003's study: load the CSV, split the background rows into train / validation
 * / test, standardise every row with statistics of the background training rows, train a
 * `TabularAutoencoder` with MSE on background only, then score held-out background and all
 * signal rows by per-row MSE.
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
    const scaler = Standardizer.fit(trainRaw.x as tf.Tensor2D);
    const scaled = (rows: number[]): Dataset => {
      const raw = selectRows(table, rows);
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
    const scores = [...background, ...sigErrors];
    const truth = [...new Array<number>(background.length).fill(0), ...new Array<number>(sigErrors.length).fill(1)];
    const roc = rocCurve(scores, truth);
    const area = auc(roc);
    const histRows = [
      ...Array.from(background, (e) => ({ log10Mse: Math.log10(e), class: `${bgName} (background)` })),
      ...Array.from(sigErrors, (e) => ({ log10Mse: Math.log10(e), class: `${sigName} (signal)` })),
    ];
    return {
      model,
      scaler,
      history,
      counts: { train: datasetRows(train), validation: validation ? datasetRows(validation) : 0, test: background.length, signal: sigErrors.length },
      errors: { background, signal: sigErrors },
      roc,
      auc: area,
      operatingPoint: thresholdForTpr(roc, options.targetTpr ?? 0.3),
      medianError: { background: percentile(background, 50), signal: percentile(sigErrors, 50) },
      charts: {
        roc: rocChart([{ name: `${sigName} vs ${bgName}`, fpr: roc.fpr, tpr: roc.tpr, auc: area }], { title: `${file}: signal vs background` }),
        histogram: histogramChart(histRows, { field: 'log10Mse', color: 'class', bins: 30, density: true, title: 'Reconstruction error per row', xTitle: 'log10(MSE per standardised feature)' }),
        learning: learningCurves(history, { title: 'Autoencoder on background rows (MSE)', logY: true }),
      },
    };
  } finally {
    parts.forEach(disposeDataset);
    table.dispose();
  }
}

function datasetRows(ds: Dataset): number {
  return ds.x.shape[0];
}
