/**
 * Passes over a dataset in inference mode: latent codes of every example, and the
 * per-example reconstruction error. Results come back to the host once, at the end.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Dataset, datasetSize, hostData, selectRows, disposeDataset } from '../data/dataset';
import { NoiseOptions, batches, disposeBatch } from '../data/batches';
import type { Autoencoder } from '../models/autoencoder';
import { LOSSES, LossName, perSampleLoss } from '../train/losses';
import { PointSet, resolveBatchSize, sampleIndices } from './common';

/** Latent codes of a dataset: `codes[i * d + j]` is unit `j` of example `i`. */
export interface LatentCodes extends PointSet {
  /** Shape of one code before flattening, e.g. `[2]`, `[20]` or `[3, 3, 64]`; `d` is its product. */
  latentShape: number[];
  /** Class of each example `[n]`, when the dataset has labels. */
  labels?: Int32Array;
  /** Class names by label, when the dataset has them. */
  classNames?: string[];
  /** Rows of the dataset that were encoded, when a subset was taken (`maxExamples`). */
  indices?: Int32Array;
}

/** Options of `encodeDataset`. */
export interface EncodeOptions {
  /** Examples per forward pass (default 256). */
  batchSize?: number;
  /** Encode at most this many examples: a seeded random subset (kept in dataset order) when the set is larger. */
  maxExamples?: number;
  /** Seed of the subset (default 0). */
  seed?: number;
}

/**
 * Encodes every example of `ds` (inference mode: no dropout, batch-norm running
 * statistics), seed 000's `visualize_latent_space` loop.
 * @param ds `x [n, ...inputShape]` (images `[n, 28, 28, 1]` are flattened for MLP models)
 * @returns codes `[n, d]` as a host `Float32Array` (`d` = product of `model.latentShape`;
 *   a VAE gives its means), with the labels when `ds` has them
 */
export async function encodeDataset(model: Autoencoder, ds: Dataset, options: EncodeOptions = {}): Promise<LatentCodes> {
  const n = datasetSize(ds);
  if (n === 0) throw new ArgumentError('ds', ds.x, 'a dataset with at least one example');
  let indices: Int32Array | undefined;
  let source = ds;
  if (options.maxExamples !== undefined) {
    checkInteger('maxExamples', options.maxExamples, 1);
    if (options.maxExamples < n) {
      indices = sampleIndices(n, options.maxExamples, checkInteger('seed', options.seed ?? 0));
      source = selectRows(ds, indices);
    }
  }
  try {
    const m = datasetSize(source);
    const parts: tf.Tensor[] = [];
    for (const batch of batches(source, { batchSize: resolveBatchSize(options.batchSize, m), shuffle: false })) {
      parts.push(tf.tidy(() => model.encode(batch.x, false).reshape([batch.size, -1])));
      disposeBatch(batch);
    }
    const all = parts.length === 1 ? parts[0] : tf.concat(parts);
    const codes = (await all.data()) as Float32Array;
    const d = all.shape[1]!;
    tf.dispose(parts);
    if (all !== parts[0]) all.dispose();
    const out: LatentCodes = { codes, n: m, d, latentShape: [...model.latentShape] };
    if (source.y) out.labels = Int32Array.from(hostData(source.y));
    if (ds.classNames) out.classNames = [...ds.classNames];
    if (indices) out.indices = indices;
    return out;
  } finally {
    if (source !== ds) disposeDataset(source);
  }
}

/** Options of `perSampleErrors`. */
export interface ErrorOptions {
  /** Element-wise error averaged over each example's values (default `mse`, seed 000's failure analysis). */
  loss?: LossName;
  /** Examples per forward pass (default 256). */
  batchSize?: number;
  /** Corrupt the inputs (seeded Gaussian noise, clamped); the error is against the clean example. */
  noise?: NoiseOptions;
  /** Seed of the noise (default 1). */
  seed?: number;
}

/**
 * Reconstruction error of every example, in inference mode: seed 000's
 * `torch.mean((x - recon) ** 2, dim=1)` with the default `mse` (`bce` and `mae` average those
 * element-wise losses instead).
 * @returns `[n]` errors, in dataset order (per value: pixel units squared for `mse`)
 */
export async function perSampleErrors(model: Autoencoder, ds: Dataset, options: ErrorOptions = {}): Promise<Float32Array> {
  const n = datasetSize(ds);
  if (n === 0) throw new ArgumentError('ds', ds.x, 'a dataset with at least one example');
  const loss = options.loss ?? 'mse';
  if (!LOSSES.includes(loss)) throw new ArgumentError('loss', loss, `one of ${LOSSES.join(', ')}`);
  const parts: tf.Tensor[] = [];
  for (const batch of batches(ds, { batchSize: resolveBatchSize(options.batchSize, n), shuffle: false, noise: options.noise, seed: options.seed ?? 1 })) {
    parts.push(
      tf.tidy(() => {
        const out = model.forward(batch.x, false);
        return perSampleLoss(loss, out.target ?? batch.target, out);
      }),
    );
    disposeBatch(batch);
  }
  const all = parts.length === 1 ? parts[0] : tf.concat(parts);
  const errors = Float32Array.from(await all.data());
  if (all !== parts[0]) all.dispose();
  tf.dispose(parts);
  return errors;
}

/**
 * Reconstructions of a batch in inference mode, in the layout of `x`.
 * @param x `[b, ...]` examples the model accepts
 * @returns `[b, ...]` like `x`; the caller disposes it
 */
export function reconstruct(model: Autoencoder, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => model.forward(x, false).recon.reshape(x.shape));
}
