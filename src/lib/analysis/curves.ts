/**
 * Learning curves and "when is training done" (seed 002 Q6.1: when the loss plateaus,
 * ideally the validation loss, stopping where it is lowest).
 */
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import type { History } from '../train/fit';
import { ChartSpec, ChartOptions, learningCurves, lineChart } from '../viz/charts';
import { Table, withFrame } from './table';

/** One epoch of a history as a flat table row. */
export interface CurveRow {
  epoch: number;
  /** Mean training loss per example over the epoch (fit's convention). */
  trainLoss: number;
  /** Validation loss per example after the epoch (NaN when not recorded). */
  valLoss: number;
  /** Learning rate used in the epoch. */
  lr: number;
  /** Wall-clock seconds of the epoch. */
  seconds: number;
}

type HistoryLike = Pick<History, 'epochs'>;

/** A training history as table rows (one per epoch) and DataFrame. */
export function learningCurveTable(history: HistoryLike): Table<CurveRow> {
  checkHistory(history);
  return withFrame({ rows: history.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, valLoss: e.valLoss ?? NaN, lr: e.lr, seconds: e.seconds })) });
}

/**
 * Training and validation loss per epoch, with the learning rate on a second log axis
 * when it changed (a plateau schedule) or `showLr` is set: `viz.learningCurves`.
 */
export function learningCurveChart(history: HistoryLike, options: ChartOptions & { showLr?: boolean } = {}): ChartSpec {
  checkHistory(history);
  const lrs = new Set(history.epochs.map((e) => e.lr));
  return learningCurves(history, { showLr: options.showLr ?? lrs.size > 1, ...options });
}

/**
 * Several runs' curves on one chart (seed 002's optimizer, learning-rate and batch-size
 * figures): one line per run of its training loss (default) or validation loss.
 */
export function compareCurvesChart(runs: { name: string; history: HistoryLike }[], options: ChartOptions & { metric?: 'trainLoss' | 'valLoss' } = {}): ChartSpec {
  if (!Array.isArray(runs) || runs.length === 0) throw new ArgumentError('runs', runs, 'a non-empty list of { name, history }');
  const metric = options.metric ?? 'trainLoss';
  const rows = runs.flatMap(({ name, history }) => history.epochs.filter((e) => Number.isFinite(e[metric])).map((e) => ({ epoch: e.epoch, loss: e[metric] as number, run: name })));
  const { metric: _, ...chart } = options;
  return lineChart(rows, { ...chart, x: 'epoch', y: 'loss', color: 'run', points: rows.length <= 120, title: options.title ?? (metric === 'trainLoss' ? 'Training loss' : 'Validation loss'), xTitle: options.xTitle ?? 'epoch', yTitle: options.yTitle ?? 'loss per example' });
}

/** Options of `isConverged` and `convergenceReport`. */
export interface ConvergenceOptions {
  /** Recent epochs looked at (default 5). */
  window?: number;
  /** Relative improvement below which the loss has plateaued (default 0.001 = 0.1%). */
  tol?: number;
  /** Loss watched: `valLoss` when every epoch has one (default), else `trainLoss`. */
  monitor?: 'trainLoss' | 'valLoss';
}

/** Why training is, or is not, done. */
export interface ConvergenceReport {
  /** True when the monitored loss has stopped improving (plateau or rising). */
  converged: boolean;
  /** The loss looked at. */
  monitor: 'trainLoss' | 'valLoss';
  /** Epochs in the history. */
  epochs: number;
  /** Epoch with the lowest monitored loss: the weights to keep. */
  bestEpoch: number;
  /** Epochs since then. */
  epochsSinceBest: number;
  /**
   * `(best before the window - best within it) / |best before the window|`: how much the last
   * `window` epochs improved on everything before (negative when they got worse). NaN with
   * too few epochs.
   */
  relativeImprovement: number;
  /** True when the validation loss has been rising for the window while the training loss still falls. */
  overfitting: boolean;
  /** One sentence saying why. */
  reason: string;
}

/**
 * Whether training is done: the monitored loss (validation when recorded, else training)
 * improved by less than `tol` (relative) over the last `window` epochs compared with its
 * best before them. Needs at least `window + 1` epochs; a non-finite loss is not convergence.
 */
export function isConverged(history: HistoryLike, options: ConvergenceOptions = {}): boolean {
  return convergenceReport(history, options).converged;
}

/** `isConverged` with the numbers behind it: best epoch, recent improvement, overfitting. */
export function convergenceReport(history: HistoryLike, options: ConvergenceOptions = {}): ConvergenceReport {
  checkHistory(history);
  const window = checkInteger('window', options.window ?? 5, 1);
  const tol = checkNumber('tol', options.tol ?? 1e-3, 0);
  const epochs = history.epochs;
  const hasVal = epochs.length > 0 && epochs.every((e) => typeof e.valLoss === 'number');
  const monitor = options.monitor ?? (hasVal ? 'valLoss' : 'trainLoss');
  if (monitor === 'valLoss' && !hasVal) throw new ArgumentError('monitor', monitor, 'trainLoss for a history without a validation loss in every epoch');
  const loss = epochs.map((e) => e[monitor] as number);
  const n = loss.length;
  let best = 0;
  loss.forEach((v, i) => {
    if (v < loss[best]) best = i;
  });
  const base = { monitor, epochs: n, bestEpoch: n ? epochs[best].epoch : 0, epochsSinceBest: n ? n - 1 - best : 0 };
  if (loss.some((v) => !Number.isFinite(v))) {
    return { ...base, converged: false, relativeImprovement: NaN, overfitting: false, reason: `the ${monitor} is not finite: training diverged` };
  }
  if (n < window + 1) {
    return { ...base, converged: false, relativeImprovement: NaN, overfitting: false, reason: `${n} epochs: at least ${window + 1} are needed to judge a ${window}-epoch window` };
  }
  const before = Math.min(...loss.slice(0, n - window));
  const recent = Math.min(...loss.slice(n - window));
  const relativeImprovement = (before - recent) / Math.abs(before);
  const converged = relativeImprovement < tol;
  const train = epochs.map((e) => e.trainLoss);
  const overfitting = monitor === 'valLoss' && recent > before && Math.min(...train.slice(n - window)) < Math.min(...train.slice(0, n - window));
  const pct = (100 * relativeImprovement).toPrecision(3);
  const reason = overfitting
    ? `the validation loss rose over the last ${window} epochs while the training loss fell: overfitting, keep epoch ${base.bestEpoch}`
    : converged
      ? `the ${monitor} improved by ${pct}% over the last ${window} epochs (below ${100 * tol}%): plateau, best epoch ${base.bestEpoch}`
      : `the ${monitor} still improved by ${pct}% over the last ${window} epochs: keep training`;
  return { ...base, converged, relativeImprovement, overfitting, reason };
}

function checkHistory(history: HistoryLike): void {
  if (!history || !Array.isArray(history.epochs)) throw new ArgumentError('history', history, 'a training history { epochs: [...] } (what fit returns)');
}
