/**
 * Hyperparameter and architecture sweeps: train several configurations on the same data
 * with `fit` and tabulate what each reaches on a test set (seed 001 Exercises 1 and 5:
 * latent sizes, depths; seed 002: optimizers, learning rates, batch sizes).
 */
import { ArgumentError } from '../errors';
import { Dataset } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import { AE } from '../models/ae';
import { MLPAutoencoder, MLPConfig } from '../models/mlp';
import { DivergenceError, FitCallbacks, FitOptions, History, evaluate, fit } from '../train/fit';
import type { LossName, Reduction } from '../train/losses';
import type { OptimizerName } from '../train/optimizers';
import { ChartSpec, barChart, lineChart } from '../viz/charts';
import { compareCurvesChart } from './curves';
import { Table, withFrame } from './table';

/** One configuration of a sweep. */
export interface SweepConfig {
  /** Unique name (the table's first column). */
  name: string;
  /** Builds a fresh, untrained model. */
  make: () => Autoencoder;
  /** Fit options of this configuration, over the sweep's shared `fit` options. */
  fit?: FitOptions;
  /** Values describing the configuration (e.g. `{ latentDim: 16 }`), copied into its row: what a chart puts on the x axis. */
  params?: Record<string, number | string>;
}

/** What a sweep reports as it goes. */
export interface SweepProgress {
  /** Configuration number, from 0, and how many there are. */
  index: number;
  total: number;
  name: string;
  /** `start` before training, `epoch` after each epoch, `done` with the row. */
  phase: 'start' | 'epoch' | 'done';
  /** The epoch just finished (phase `epoch`). */
  epoch?: number;
  trainLoss?: number;
  /** The finished row (phase `done`). */
  row?: SweepRow;
}

/** Options of `sweep`. */
export interface SweepOptions {
  /** Fit options shared by every configuration (each config's own `fit` wins). */
  fit?: FitOptions;
  /** Test loss (default: the fit loss, else `bce`) and its reduction (default: the fit's, else `mean`). */
  loss?: LossName;
  reduction?: Reduction;
  /** Examples per forward pass on the test set (default 512). */
  batchSize?: number;
  /** Called at the start and end of each configuration and after each of its epochs. */
  onProgress?: (p: SweepProgress) => void;
  /** Keep the trained models in the result (default false: each is disposed once measured). */
  keepModels?: boolean;
}

/** One configuration's results. */
export interface SweepRow {
  name: string;
  /** `ok`, or `diverged` when training hit a NaN or infinite loss (the metrics are then NaN). */
  status: 'ok' | 'diverged';
  /** Test loss per example (fit's convention for `loss` and `reduction`). */
  testLoss: number;
  /** Test MSE per value and its PSNR in dB. */
  mse: number;
  psnr: number;
  /** Trainable parameters. */
  params: number;
  /** Wall-clock seconds of training. */
  seconds: number;
  /** Epochs trained, the last training loss and the best epoch by the monitored loss. */
  epochs: number;
  finalTrainLoss: number;
  bestEpoch: number;
  /** The configuration's `params`, spread into the row. */
  [param: string]: number | string;
}

/** A sweep's table, histories and (with `keepModels`) models. */
export interface SweepResult extends Table<SweepRow> {
  /** Each configuration's training history, in order (empty epochs when it diverged before finishing one). */
  histories: { name: string; history: Pick<History, 'epochs'> }[];
  /** The trained models, with `keepModels`; the caller disposes them. */
  models?: { name: string; model: Autoencoder }[];
}

/**
 * Trains each configuration with `fit` on `trainSet` and measures it on `testSet`. A
 * configuration that diverges is recorded (`status: 'diverged'`) and the sweep goes on.
 * @returns one row per configuration: test loss, MSE, PSNR, parameters, seconds, ...
 */
export async function sweep(configs: SweepConfig[], trainSet: Dataset, testSet: Dataset, options: SweepOptions = {}): Promise<SweepResult> {
  if (!Array.isArray(configs) || configs.length === 0) throw new ArgumentError('configs', configs, 'a non-empty list of { name, make, fit? }');
  const names = new Set<string>();
  configs.forEach((c, i) => {
    if (!c || typeof c.name !== 'string' || c.name === '' || typeof c.make !== 'function') throw new ArgumentError(`configs[${i}]`, c, '{ name: string, make: () => Autoencoder, fit? }');
    if (names.has(c.name)) throw new ArgumentError(`configs[${i}].name`, c.name, 'a name no other configuration has');
    names.add(c.name);
  });
  const rows: SweepRow[] = [];
  const histories: SweepResult['histories'] = [];
  const models: { name: string; model: Autoencoder }[] = [];
  const report = options.onProgress ?? (() => {});
  for (const [index, config] of configs.entries()) {
    const fitOptions: FitOptions = { ...options.fit, ...config.fit };
    const loss = options.loss ?? fitOptions.loss ?? 'bce';
    const reduction = options.reduction ?? fitOptions.reduction ?? 'mean';
    const tracker: FitCallbacks = { onEpochEnd: (r) => report({ index, total: configs.length, name: config.name, phase: 'epoch', epoch: r.epoch, trainLoss: r.trainLoss }) };
    const progress = fitOptions.progress === undefined ? [] : Array.isArray(fitOptions.progress) ? fitOptions.progress : [fitOptions.progress];
    report({ index, total: configs.length, name: config.name, phase: 'start' });
    const model = config.make();
    const t0 = performance.now();
    let history: Pick<History, 'epochs' | 'bestEpoch'>;
    let status: SweepRow['status'] = 'ok';
    try {
      history = await fit(model, trainSet, { ...fitOptions, progress: [...progress, tracker] });
    } catch (err) {
      if (!(err instanceof DivergenceError)) {
        model.dispose();
        throw err;
      }
      status = 'diverged';
      history = err.history;
    }
    const seconds = (performance.now() - t0) / 1000;
    const ev = status === 'ok' ? await evaluate(model, testSet, { loss, reduction, batchSize: options.batchSize }) : { loss: NaN, mse: NaN, psnr: NaN };
    const last = history.epochs.at(-1);
    const row: SweepRow = {
      name: config.name,
      status,
      testLoss: ev.loss,
      mse: ev.mse,
      psnr: ev.psnr,
      params: model.paramCount(),
      seconds,
      epochs: history.epochs.length,
      finalTrainLoss: last?.trainLoss ?? NaN,
      bestEpoch: history.bestEpoch,
      ...config.params,
    };
    rows.push(row);
    histories.push({ name: config.name, history: { epochs: history.epochs } });
    if (options.keepModels) models.push({ name: config.name, model });
    else model.dispose();
    report({ index, total: configs.length, name: config.name, phase: 'done', row });
  }
  const result: Omit<SweepResult, 'frame'> = { rows, histories };
  if (options.keepModels) result.models = models;
  return withFrame(result);
}

/**
 * The sweep as a chart of one column (default `mse`): a line against a numeric parameter
 * `x` (e.g. `latentDim`, `lr` with `logX`), else one bar per configuration.
 */
export function sweepChart(result: Pick<SweepResult, 'rows'>, options: { metric?: 'testLoss' | 'mse' | 'psnr' | 'seconds' | 'params'; x?: string; logX?: boolean; logY?: boolean; title?: string } = {}): ChartSpec {
  const metric = options.metric ?? 'mse';
  const titles = { testLoss: 'test loss per example', mse: 'test MSE per value', psnr: 'test PSNR (dB)', seconds: 'training seconds', params: 'trainable parameters' };
  const rows = result.rows.filter((r) => r.status === 'ok') as unknown as Record<string, unknown>[];
  const title = options.title ?? `Sweep: ${titles[metric]}`;
  if (options.x !== undefined) {
    if (!rows.every((r) => typeof r[options.x!] === 'number')) throw new ArgumentError('x', options.x, 'a numeric parameter every row has');
    return lineChart(rows, { x: options.x, y: metric, points: true, logX: options.logX, logY: options.logY, title, yTitle: titles[metric] });
  }
  return barChart(rows, { x: 'name', y: metric, logY: options.logY, title, xTitle: 'configuration', yTitle: titles[metric] });
}

/** Every configuration's learning curve on one chart (training loss by default). */
export function sweepCurvesChart(result: Pick<SweepResult, 'histories'>, options: { metric?: 'trainLoss' | 'valLoss'; logY?: boolean; title?: string } = {}): ChartSpec {
  return compareCurvesChart(result.histories, options);
}

// ------------------------------------------------------------------------------------
// The seeds' sweeps as configuration lists.

/**
 * Seed 001 Exercise 1a: the seed's AE (784-400-latent-400-784) at latent sizes 2, 16, 32, 128.
 * Rows carry `latentDim` (chart with `x: 'latentDim', logX: true`).
 */
export function latentSizeConfigs(sizes: number[] = [2, 16, 32, 128], base: Omit<MLPConfig, 'latentDim'> = {}): SweepConfig[] {
  return sizes.map((latentDim) => ({ name: `latent ${latentDim}`, make: () => new AE({ ...base, latentDim }), params: { latentDim } }));
}

/**
 * Seed 001 Exercise 5: depths at `latentDim` 32 — shallow 784-128-32, medium
 * 784-512-256-32, deep 784-512-384-256-128-32, each mirrored. Rows carry `hiddenLayers`.
 */
export function depthConfigs(latentDim = 32, base: Omit<MLPConfig, 'latentDim' | 'hidden' | 'decoderHidden'> = {}): SweepConfig[] {
  const depths: [string, number[]][] = [
    ['shallow', [128]],
    ['medium', [512, 256]],
    ['deep', [512, 384, 256, 128]],
  ];
  return depths.map(([name, hidden]) => ({ name, make: () => new MLPAutoencoder({ ...base, hidden, latentDim }), params: { hiddenLayers: hidden.length } }));
}

/** Seed 002 Q5.2: one model trained with each optimizer (default SGD, momentum, RMSprop, Adam, Rprop at the seed's lr 5e-4). Rows carry `optimizer`. */
export function optimizerConfigs(make: () => Autoencoder, optimizers: OptimizerName[] = ['sgd', 'momentum', 'rmsprop', 'adam', 'rprop'], lr = 5e-4): SweepConfig[] {
  return optimizers.map((optimizer) => ({ name: optimizer, make, fit: { optimizer, lr }, params: { optimizer, lr } }));
}

/** Learning rates (seed 002: 1e-4, 5e-4, 1e-2, ...). Rows carry `lr` (chart with `x: 'lr', logX: true`). */
export function learningRateConfigs(make: () => Autoencoder, lrs: number[] = [1e-4, 5e-4, 1e-3, 1e-2]): SweepConfig[] {
  return lrs.map((lr) => ({ name: `lr ${lr}`, make, fit: { lr }, params: { lr } }));
}

/** Batch sizes (seed 002 Q5.3: 128 against the full training set). Rows carry `batchSize`. */
export function batchSizeConfigs(make: () => Autoencoder, sizes: number[] = [32, 128, 512]): SweepConfig[] {
  return sizes.map((batchSize) => ({ name: `batch ${batchSize}`, make, fit: { batchSize }, params: { batchSize } }));
}
