import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { AelabError, ArgumentError, checkInteger, checkNumber } from '../errors';
import { Dataset, datasetSize } from '../data/dataset';
import { Batch, NoiseOptions, batchCount, batches, disposeBatch } from '../data/batches';
import type { Autoencoder } from '../models/autoencoder';
import { LOSSES, LossName, Reduction, reconstructionLoss } from './losses';

/** Options of `fit`; every one has a default. */
export interface FitOptions {
  /** Passes over the training set (default 10). */
  epochs?: number;
  /** Examples per step, 1 to the training set size (default 128). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Reconstruction loss (default `bce`). */
  loss?: LossName;
  /** Loss reduction within a batch (default `mean`; seed 000 uses `sum` with BCE). */
  reduction?: Reduction;
  /** Seed of the shuffle and the input noise (default 1). */
  seed?: number;
  /** Shuffle the training set each epoch (default true). */
  shuffle?: boolean;
  /** Denoising: Gaussian noise on the input, loss against the clean target. */
  noise?: NoiseOptions;
  /** Evaluated after every epoch; its loss is recorded as `valLoss`. */
  validationData?: Dataset;
  /** Called after every epoch with that epoch's record. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** Called every `logInterval` batches with the running mean loss (reads the loss then only). */
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number }) => void;
  /** Batches between `onBatch` calls (default 10, as the seeds' `log_interval`). */
  logInterval?: number;
}

/** One epoch of a training history. Losses are per example (see `lossPerExample`). */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  lr: number;
  seconds: number;
}

/** What `fit` returns. */
export interface History {
  epochs: EpochRecord[];
}

/**
 * Trains an autoencoder. Reported losses are averages per example: with `reduction: 'sum'`
 * the summed loss over the epoch divided by its examples (the seeds' "Average loss"), with
 * `mean` the mean of batch means weighted by batch size.
 */
export async function fit(model: Autoencoder, trainSet: Dataset, options: FitOptions = {}): Promise<History> {
  await initBackend();
  const o = resolve(options, trainSet);
  const optimizer = tf.train.adam(o.lr);
  const vars = model.trainableWeights;
  const history: History = { epochs: [] };
  const nBatches = batchCount(trainSet, o.batchSize);
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const t0 = performance.now();
      let total = tf.scalar(0);
      for (const batch of batches(trainSet, { batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, epoch, noise: o.noise })) {
        const loss = optimizer.minimize(() => batchLoss(model, batch, o.loss, o.reduction, true), true, vars) as tf.Scalar;
        const next = tf.tidy(() => total.add(loss.mul(o.reduction === 'sum' ? 1 : batch.size)) as tf.Scalar);
        total.dispose();
        loss.dispose();
        total = next;
        disposeBatch(batch);
        if (o.onBatch && (batch.index % o.logInterval === 0 || batch.index === nBatches - 1)) {
          const seen = Math.min((batch.index + 1) * o.batchSize, datasetSize(trainSet));
          const running = (await total.data())[0] / seen;
          checkFinite(running, epoch, batch.index);
          o.onBatch({ epoch, batch: batch.index, batches: nBatches, loss: running });
        }
        // Yield so a notebook or terminal can redraw progress and signals get through.
        if (batch.index % 50 === 49) await new Promise((r) => setImmediate(r));
      }
      const trainLoss = (await total.data())[0] / datasetSize(trainSet);
      total.dispose();
      checkFinite(trainLoss, epoch, nBatches - 1);
      const record: EpochRecord = { epoch, trainLoss, lr: o.lr, seconds: 0 };
      if (o.validationData) {
        record.valLoss = await evaluateLoss(model, o.validationData, { loss: o.loss, reduction: o.reduction, batchSize: Math.max(o.batchSize, 256) });
      }
      record.seconds = (performance.now() - t0) / 1000;
      history.epochs.push(record);
      await o.onEpochEnd?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}

/**
 * Mean loss per example of `model` on `ds` in inference mode (no dropout, batch-norm running
 * statistics), with the same per-example convention as `fit`'s history.
 */
export async function evaluateLoss(model: Autoencoder, ds: Dataset, options: { loss?: LossName; reduction?: Reduction; batchSize?: number } = {}): Promise<number> {
  const loss = options.loss ?? 'bce';
  const reduction = options.reduction ?? 'mean';
  const batchSize = Math.min(options.batchSize ?? 512, datasetSize(ds));
  let total = tf.scalar(0);
  for (const batch of batches(ds, { batchSize, shuffle: false })) {
    const next = tf.tidy(() => total.add(batchLoss(model, batch, loss, reduction, false).mul(reduction === 'sum' ? 1 : batch.size)) as tf.Scalar);
    total.dispose();
    total = next;
    disposeBatch(batch);
  }
  const value = (await total.data())[0] / datasetSize(ds);
  total.dispose();
  return value;
}

function batchLoss(model: Autoencoder, batch: Batch, loss: LossName, reduction: Reduction, training: boolean): tf.Scalar {
  const out = model.forward(batch.x, training);
  let l = reconstructionLoss(loss, reduction, batch.target, out);
  if (out.penalty) l = l.add(out.penalty) as tf.Scalar;
  return l;
}

function checkFinite(loss: number, epoch: number, batch: number): void {
  if (!Number.isFinite(loss)) {
    throw new AelabError(`training diverged: the loss became ${loss} in epoch ${epoch} at batch ${batch}; lower the learning rate or clip gradients`);
  }
}

function resolve(options: FitOptions, trainSet: Dataset) {
  const n = datasetSize(trainSet);
  if (n === 0) throw new ArgumentError('trainSet', trainSet.x, 'a dataset with at least one example');
  const o = {
    epochs: checkInteger('epochs', options.epochs ?? 10, 1),
    batchSize: checkInteger('batchSize', options.batchSize ?? 128, 1),
    lr: checkNumber('lr', options.lr ?? 1e-3, Number.MIN_VALUE),
    loss: options.loss ?? 'bce',
    reduction: options.reduction ?? 'mean',
    seed: checkInteger('seed', options.seed ?? 1),
    shuffle: options.shuffle ?? true,
    noise: options.noise,
    validationData: options.validationData,
    onEpochEnd: options.onEpochEnd,
    onBatch: options.onBatch,
    logInterval: checkInteger('logInterval', options.logInterval ?? 10, 1),
  };
  if (o.batchSize > n) throw new ArgumentError('batchSize', o.batchSize, `at most the training set size (${n})`);
  if (!LOSSES.includes(o.loss)) throw new ArgumentError('loss', o.loss, `one of ${LOSSES.join(', ')}`);
  if (o.reduction !== 'mean' && o.reduction !== 'sum') throw new ArgumentError('reduction', o.reduction, 'mean or sum');
  return o;
}
