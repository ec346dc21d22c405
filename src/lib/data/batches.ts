import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Rng, mixSeed } from '../random';
import { Dataset, datasetSize, hostData } from './dataset';

/** Gaussian noise added to the inputs of a batch (denoising training, seed 000 Part 2). */
export interface NoiseOptions {
  /** Standard deviation of the noise, in pixel units (the seeds' `noise_factor`, e.g. 0.1). */
  std: number;
  /** Clamp the noisy input to this range (default `[0, 1]`, as `torch.clamp(x, 0, 1)`); `null` for none. */
  clamp?: [number, number] | null;
}

export interface BatchOptions {
  /** Examples per batch, 1 to the dataset size (the last partial batch is kept). */
  batchSize: number;
  /** Shuffle the order each epoch (default true); the test set is usually not shuffled. */
  shuffle?: boolean;
  /** Seed of the shuffle and noise; with `epoch`, each epoch gets its own reproducible order. */
  seed?: number;
  /** Epoch number, mixed into the seed so epochs differ but a resumed run repeats them exactly. */
  epoch?: number;
  /** Add Gaussian noise to `x` (the target stays clean). */
  noise?: NoiseOptions;
}

/** One batch. The caller owns the tensors and disposes them (or runs inside `tf.tidy`). */
export interface Batch {
  /** Model input `[b, ...]` float32: noisy when noise was asked for, else the clean examples. */
  x: tf.Tensor;
  /** Clean examples `[b, ...]`, the reconstruction target (the same tensor as `x` without noise). */
  target: tf.Tensor;
  /** Labels `[b]` int32, when the dataset has them. */
  y?: tf.Tensor1D;
  /** Batch number within the epoch, from 0. */
  index: number;
  /** Number of examples in this batch (the last one may be short). */
  size: number;
}

/** Number of batches in one epoch (the last partial batch counts). */
export function batchCount(ds: Dataset, batchSize: number): number {
  return Math.ceil(datasetSize(ds) / batchSize);
}

/**
 * Iterates over one epoch of `ds` in batches: seeded shuffle, last partial batch kept,
 * optional Gaussian input noise with clamping. Rows are copied from a host copy of the
 * data (read once per tensor), which is far cheaper than slicing on the backend.
 */
export function* batches(ds: Dataset, options: BatchOptions): Generator<Batch> {
  const n = datasetSize(ds);
  if (n === 0) throw new ArgumentError('dataset', ds.x, 'a dataset with at least one example');
  const batchSize = checkInteger('batchSize', options.batchSize, 1);
  if (batchSize > n) throw new ArgumentError('batchSize', batchSize, `at most the dataset size (${n})`);
  if (options.noise) {
    checkNumber('noise.std', options.noise.std, 0);
    const c = options.noise.clamp;
    if (c && !(c[0] < c[1])) throw new ArgumentError('noise.clamp', c, '[low, high] with low < high');
  }
  const seed = options.seed ?? 0;
  const rng = new Rng(mixSeed(seed, options.epoch ?? 0));
  const order = options.shuffle === false ? null : rng.permutation(n);
  const noiseRng = new Rng(mixSeed(seed, options.epoch ?? 0, 0x6e6f6973));
  const rowShape = ds.x.shape.slice(1);
  const rowSize = ds.x.size / n;
  const src = hostData(ds.x);
  const labels = ds.y ? hostData(ds.y) : undefined;
  const [lo, hi] = options.noise?.clamp === null ? [-Infinity, Infinity] : (options.noise?.clamp ?? [0, 1]);

  for (let start = 0, index = 0; start < n; start += batchSize, index++) {
    const size = Math.min(batchSize, n - start);
    const clean = new Float32Array(size * rowSize);
    const y = labels ? new Int32Array(size) : undefined;
    if (order) {
      for (let r = 0; r < size; r++) {
        const row = order[start + r];
        clean.set(src.subarray(row * rowSize, (row + 1) * rowSize), r * rowSize);
        if (y && labels) y[r] = labels[row];
      }
    } else {
      clean.set(src.subarray(start * rowSize, (start + size) * rowSize));
      if (y && labels) y.set(labels.subarray(start, start + size));
    }
    const target = tf.tensor(clean, [size, ...rowShape], 'float32');
    let x = target;
    if (options.noise && options.noise.std > 0) {
      const noisy = new Float32Array(clean.length);
      const std = options.noise.std;
      for (let i = 0; i < clean.length; i++) {
        const v = clean[i] + std * noiseRng.normal();
        noisy[i] = v < lo ? lo : v > hi ? hi : v;
      }
      x = tf.tensor(noisy, [size, ...rowShape], 'float32');
    }
    yield { x, target, y: y ? tf.tensor1d(y, 'int32') : undefined, index, size };
  }
}

/** Frees the tensors of a batch (`x` and `target` may be the same tensor). */
export function disposeBatch(b: Batch): void {
  if (b.x !== b.target) b.x.dispose();
  b.target.dispose();
  b.y?.dispose();
}

/**
 * One fixed noisy copy of every example (`x` `[n, ...]` -> `[n, ...]`, labels kept): the
 * same seeded noise and clamping as `batches(ds, { noise, seed })` in dataset order. For a
 * noisy test set, or to train on purpose against a noisy "clean" image (the mistake seed
 * 000 Part 2 warns about: `fit`'s `noise` option always keeps the clean target). The
 * caller disposes the copy (`disposeDataset`).
 */
export function noisyCopy(ds: Dataset, noise: NoiseOptions, seed = 1): Dataset {
  const n = datasetSize(ds);
  const parts = [...batches(ds, { batchSize: Math.min(n, 1000), shuffle: false, noise, seed })];
  const x = tf.concat(parts.map((b) => b.x));
  parts.forEach(disposeBatch);
  return ds.y ? { ...ds, x, y: ds.y.clone() } : { ...ds, x };
}
