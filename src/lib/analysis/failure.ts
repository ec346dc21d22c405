/**
 * Failure mode analysis (seed 000 Part 5, `analyze_failure_modes`): the error of every
 * example, the best and worst reconstructions, and the error per class.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Dataset, datasetSize, disposeDataset, hostData, selectRows } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import type { LossName } from '../train/losses';
import { ChartSpec, barChart, histogramChart } from '../viz/charts';
import { StripOptions, imageStrip } from '../viz/strip';
import { meanStd } from './common';
import { perSampleErrors, reconstruct } from './encode';
import { Table, withFrame } from './table';

/** Error statistics of one class. */
export interface ClassErrorRow {
  /** Class index. */
  label: number;
  /** Class name (the label as text when the dataset has no names). */
  name: string;
  /** Examples of the class. */
  count: number;
  /** Mean per-example error of the class (the error's units, e.g. squared pixel units for MSE). */
  mean: number;
  /** Population standard deviation of the per-example errors (NumPy's `np.std`). */
  std: number;
}

/** Indices of examples with their errors. */
export interface RankedExamples {
  /** Dataset rows. */
  indices: number[];
  /** Their errors, in the same order. */
  errors: number[];
}

/** What `failureModes` finds. */
export interface FailureModes extends Table<ClassErrorRow> {
  /** Per-example error `[n]` in dataset order: the mean over values of the element-wise `loss`. */
  errors: Float32Array;
  /** The loss the errors use (`mse` by default). */
  loss: LossName;
  /** The `numShow` lowest errors, lowest first. */
  best: RankedExamples;
  /** The `numShow` highest errors, highest first. */
  worst: RankedExamples;
  /** Mean of `errors`. */
  meanError: number;
  /** Per-class rows (`rows`), by increasing label; empty when the dataset has no labels. */
  rows: ClassErrorRow[];
}

/**
 * Seed 000's failure analysis: per-example reconstruction error (inference mode), the
 * `numShow` best and worst examples, and mean and standard deviation of the error per class.
 * @param ds `x [n, ...inputShape]` with labels `y` for the per-class table
 */
export async function failureModes(model: Autoencoder, ds: Dataset, options: { numShow?: number; loss?: LossName; batchSize?: number } = {}): Promise<FailureModes> {
  const n = datasetSize(ds);
  const numShow = Math.min(checkInteger('numShow', options.numShow ?? 10, 1), n);
  const loss = options.loss ?? 'mse';
  const errors = await perSampleErrors(model, ds, { loss, batchSize: options.batchSize });
  // Stable: equal errors keep dataset order.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => errors[a] - errors[b] || a - b);
  const pick = (idx: number[]): RankedExamples => ({ indices: idx, errors: idx.map((i) => errors[i]) });
  const rows: ClassErrorRow[] = [];
  if (ds.y) {
    const labels = hostData(ds.y);
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!byClass.has(c)) byClass.set(c, []);
      byClass.get(c)!.push(errors[i]);
    }
    for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
      const e = byClass.get(label)!;
      rows.push({ label, name: ds.classNames?.[label] ?? String(label), count: e.length, ...meanStd(e) });
    }
  }
  return withFrame({
    errors,
    loss,
    best: pick(order.slice(0, numShow)),
    worst: pick(order.slice(n - numShow).reverse()),
    meanError: meanStd(errors).mean,
    rows,
  });
}

/** The examples of a `FailureModes` result and their reconstructions, as image tensors. */
export interface FailureImages {
  /** Best examples and their reconstructions, `[numShow, ...]` each, in the dataset's layout. */
  best: tf.Tensor;
  bestRecon: tf.Tensor;
  /** Worst examples (worst first) and their reconstructions. */
  worst: tf.Tensor;
  worstRecon: tf.Tensor;
}

/**
 * The best and worst examples of `result` and their reconstructions (the seed's 4-row
 * figure); the caller disposes the four tensors.
 */
export function failureImages(model: Autoencoder, ds: Dataset, result: Pick<FailureModes, 'best' | 'worst'>): FailureImages {
  const get = (idx: number[]) => {
    const sub = selectRows(ds, idx);
    try {
      return [sub.x.clone(), reconstruct(model, sub.x)];
    } finally {
      disposeDataset(sub);
    }
  };
  const [best, bestRecon] = get(result.best.indices);
  const [worst, worstRecon] = get(result.worst.indices);
  return { best, bestRecon, worst, worstRecon };
}

/**
 * The seed's `failure_analysis.png`: rows Best, Best recon, Worst, Worst recon, each image
 * captioned with its error.
 * @returns PNG bytes
 */
export function failureStrip(model: Autoencoder, ds: Dataset, result: Pick<FailureModes, 'best' | 'worst'>, options: StripOptions = {}): Uint8Array {
  const im = failureImages(model, ds, result);
  try {
    return imageStrip(
      [
        { label: 'Best', images: im.best },
        { label: 'Best recon', images: im.bestRecon, captions: result.best.errors.map(formatError) },
        { label: 'Worst', images: im.worst },
        { label: 'Worst recon', images: im.worstRecon, captions: result.worst.errors.map(formatError) },
      ],
      { title: 'Best vs worst reconstructions', ...options },
    );
  } finally {
    tf.dispose([im.best, im.bestRecon, im.worst, im.worstRecon]);
  }
}

/** An error as a short caption: 3 significant digits, exponent form below 0.001. */
function formatError(e: number): string {
  return Math.abs(e) >= 1e-3 || e === 0 ? e.toPrecision(3) : e.toExponential(1);
}

/** Mean error per class with ±1 standard deviation error bars (the seed's per-class printout as a chart). */
export function perClassErrorChart(result: Pick<FailureModes, 'rows' | 'loss'>, options: { title?: string } = {}): ChartSpec {
  if (result.rows.length === 0) throw new ArgumentError('result', 'no per-class rows', 'failure modes of a labelled dataset');
  return barChart(result.rows as unknown as Record<string, unknown>[], { x: 'name', y: 'mean', error: 'std', title: options.title ?? 'Reconstruction error per class', xTitle: 'class', yTitle: `mean ${result.loss.toUpperCase()} per example (±1 sd)` });
}

/**
 * Histogram of the per-example errors; with `labels` (`[n]`, e.g. the dataset's), one
 * translucent histogram per class, each scaled to unit area so classes of different sizes
 * compare.
 */
export function errorHistogramChart(result: Pick<FailureModes, 'errors' | 'loss'>, options: { labels?: ArrayLike<number>; title?: string; bins?: number } = {}): ChartSpec {
  const labels = options.labels;
  const rows = Array.from(result.errors, (e, i) => (labels ? { error: e, class: String(labels[i]), label: Number(labels[i]) } : { error: e }));
  // The legend lists classes in data order: sort so it reads 0, 1, 2, ... whatever the dataset's order.
  if (labels) rows.sort((a, b) => (a as { label: number }).label - (b as { label: number }).label);
  return histogramChart(rows, { field: 'error', color: options.labels ? 'class' : undefined, bins: options.bins ?? 40, density: !!options.labels, title: options.title ?? 'Per-example reconstruction error', xTitle: `${result.loss.toUpperCase()} per example` });
}
