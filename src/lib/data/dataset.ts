import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Rng } from '../random';

/**
 * A dataset held in memory. Images are NHWC `[n, 28, 28, 1]` float32 in [0, 1]; tabular
 * data is `[n, features]` float32. Labels, when present, are int32 class indices `[n]`.
 */
export interface Dataset {
  /** Inputs, first axis = examples. */
  x: tf.Tensor;
  /** Class index of each example, `[n]` int32. */
  y?: tf.Tensor1D;
  /** Names of the classes, indexed by label (e.g. `['0', ..., '9']` or `['benign', 'malignant']`). */
  classNames?: string[];
}

const hostCache = new WeakMap<tf.Tensor, Float32Array | Int32Array | Uint8Array>();

/**
 * The values of a tensor on the host, read once and cached. Tensors are immutable, so the
 * cache is always valid; batching reads rows from it instead of slicing on the backend
 * (slicing a batch out of a 60,000-row tensor on `wasm` costs more than a training step).
 */
export function hostData(t: tf.Tensor): Float32Array | Int32Array | Uint8Array {
  let data = hostCache.get(t);
  if (!data) {
    data = t.dataSync() as Float32Array | Int32Array | Uint8Array;
    hostCache.set(t, data);
  }
  return data;
}

/** Number of examples in a dataset. */
export function datasetSize(ds: Dataset): number {
  return ds.x.shape[0];
}

/**
 * A new dataset made of the rows `indices` of `ds` (in that order). The caller owns the
 * returned tensors; `ds` is left as it is.
 */
export function selectRows(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = datasetSize(ds);
  const idx = Int32Array.from(indices as ArrayLike<number>);
  for (const i of idx) {
    if (i < 0 || i >= n) throw new ArgumentError('indices', i, `row indices in [0, ${n - 1}]`);
  }
  const rowSize = ds.x.size / Math.max(n, 1);
  const src = hostData(ds.x);
  const out = new Float32Array(idx.length * rowSize);
  for (let r = 0; r < idx.length; r++) {
    out.set(src.subarray(idx[r] * rowSize, (idx[r] + 1) * rowSize), r * rowSize);
  }
  const result: Dataset = { x: tf.tensor(out, [idx.length, ...ds.x.shape.slice(1)], 'float32') };
  if (ds.y) {
    const ys = hostData(ds.y);
    const yo = new Int32Array(idx.length);
    for (let r = 0; r < idx.length; r++) yo[r] = ys[idx[r]];
    result.y = tf.tensor1d(yo, 'int32');
  }
  if (ds.classNames) result.classNames = ds.classNames;
  return result;
}

/** The labels of a dataset as a host array; throws if it has none. */
export function labelsOf(ds: Dataset, argument = 'dataset'): Int32Array {
  if (!ds.y) throw new ArgumentError(argument, ds.x, 'a dataset with labels (y)');
  return Int32Array.from(hostData(ds.y));
}

/** The first `n` examples (or all, if there are fewer), optionally after a seeded shuffle. */
export function takeRows(ds: Dataset, n: number, seed?: number): Dataset {
  checkInteger('n', n, 1);
  const size = datasetSize(ds);
  const order = seed === undefined ? identity(size) : new Rng(seed).permutation(size);
  return selectRows(ds, order.subarray(0, Math.min(n, size)));
}

/** The examples whose label is one of `classes`, in their original order. */
export function filterClasses(ds: Dataset, classes: readonly number[]): Dataset {
  const labels = labelsOf(ds, 'filterClasses dataset');
  const keep = new Set(classes);
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (keep.has(labels[i])) idx.push(i);
  if (idx.length === 0) {
    throw new ArgumentError('classes', classes, 'class labels that occur in the dataset');
  }
  return selectRows(ds, idx);
}

/** Fractions (in (0, 1)) or counts (integers >= 1) of a dataset to hold out. */
export interface SplitOptions {
  /** Validation part: a fraction of the examples or a count. Default 0. */
  validation?: number;
  /** Test part: a fraction of the examples or a count. Default 0. */
  test?: number;
  /** Shuffle with this seed before splitting; without it the split keeps the order. */
  seed?: number;
}

/** The parts of a split dataset; `validation` and `test` exist only when asked for. */
export interface Splits {
  train: Dataset;
  validation?: Dataset;
  test?: Dataset;
}

/** Row indices of the parts of a split; `validation` and `test` exist only when asked for. */
export interface SplitIndices {
  train: Int32Array;
  validation?: Int32Array;
  test?: Int32Array;
}

/**
 * Chooses which of `n` rows go to train / validation / test (the counting rules and the
 * seeded order of `splitDataset`), without touching any data.
 */
export function splitIndices(n: number, options: SplitOptions): SplitIndices {
  const count = (name: string, v: number | undefined) => {
    if (v === undefined || v === 0) return 0;
    if (v > 0 && v < 1) return Math.round(v * n);
    if (Number.isInteger(v) && v >= 1) return v;
    throw new ArgumentError(name, v, 'a fraction in (0, 1) or a whole number of examples');
  };
  const nVal = count('validation', options.validation);
  const nTest = count('test', options.test);
  if (nVal + nTest >= n) {
    throw new ArgumentError('validation + test', nVal + nTest, `fewer than the ${n} examples, leaving some to train on`);
  }
  const order = options.seed === undefined ? identity(n) : new Rng(options.seed).permutation(n);
  const out: SplitIndices = { train: order.slice(nVal + nTest) };
  if (nVal > 0) out.validation = order.slice(0, nVal);
  if (nTest > 0) out.test = order.slice(nVal, nVal + nTest);
  return out;
}

/**
 * Splits a dataset into train / validation / test parts (the three-way split: fit on
 * train, choose hyperparameters and stop on validation, report once on test).
 */
export function splitDataset(ds: Dataset, options: SplitOptions): Splits {
  const idx = splitIndices(datasetSize(ds), options);
  const out: Splits = { train: selectRows(ds, idx.train) };
  if (idx.validation) out.validation = selectRows(ds, idx.validation);
  if (idx.test) out.test = selectRows(ds, idx.test);
  return out;
}

/** Frees the tensors of a dataset. */
export function disposeDataset(ds: Dataset | undefined): void {
  if (!ds) return;
  ds.x.dispose();
  ds.y?.dispose();
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
