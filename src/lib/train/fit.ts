/**
 * The training loop: one loop for every training procedure in the seeds. Options switch
 * behaviour in place (optimizer, denoising noise, gradient clipping, learning-rate plateau
 * schedule, early stopping, checkpoints, image snapshots, progress); they never fork it.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { AelabError, ArgumentError, checkInteger, checkNumber } from '../errors';
import { writeFileAtomic } from '../io';
import { mixSeed } from '../random';
import { Dataset, datasetSize } from '../data/dataset';
import { Batch, NoiseOptions, batchCount, batches, disposeBatch } from '../data/batches';
import type { Autoencoder } from '../models/autoencoder';
import { SaveError, readWeights, saveModel, loadWeights } from '../models/io';
import { saveImage } from '../viz/image';
import { CheckpointError, TrainingState, readCheckpoint, restoreTrainingState, saveCheckpoint } from './checkpoint';
import { clipByGlobalNorm } from './clip';
import { LOSSES, LossName, Reduction, reconstructionLoss } from './losses';
import { OPTIMIZERS, OptimizerName, OptimizerOptions, getLearningRate, makeOptimizer } from './optimizers';
import { EarlyStopping, EarlyStoppingOptions, PlateauOptions, ReduceLROnPlateau } from './schedule';

/** What `fit` tells `onTrainBegin` before the first step. */
export interface TrainBeginInfo {
  epochs: number;
  /** Batches per epoch. */
  batches: number;
  /** Training examples. */
  examples: number;
  /** Epochs completed before, restored from a checkpoint (`resume`); 0 for a fresh start. */
  initialEpoch?: number;
}

/** What `onBatch` gets every `logInterval` batches (and after the last batch of an epoch). */
export interface BatchInfo {
  /** Epoch, from 1. */
  epoch: number;
  /** Batch within the epoch, from 0. */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** Running mean loss per example over the epoch so far (the convention of `EpochRecord.trainLoss`). */
  loss: number;
  /** This batch's loss per example (the seeds' logged `loss.item() / len(data)` under `sum`). */
  batchLoss: number;
  /** Examples seen in this epoch so far. */
  seen: number;
}

/** Callbacks `fit` calls; every one is optional. A progress display is a set of these. */
export interface FitCallbacks {
  onTrainBegin?: (info: TrainBeginInfo) => void;
  /** Every `logInterval` batches; the loss is read from the backend only then. */
  onBatch?: (info: BatchInfo) => void;
  /** After every epoch, with that epoch's record (awaited). */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** After the last epoch (or the early stop), with the whole history. */
  onTrainEnd?: (history: History) => void;
}

/** Image grids written while training (seed 000's `test()` and `main()`). */
export interface SnapshotOptions {
  /** Directory of the PNG files (created when missing). */
  dir: string;
  /** Write after every `every`-th epoch (epochs every, 2*every, ...; default 1). */
  every?: number;
  /**
   * A fixed batch of images `[n, 28, 28, 1]` (or `[n, h, w, 1|3]`, `[n, 784]`) in [0, 1]:
   * `reconstruction_<epoch>.png` shows them in the top row and their reconstructions below
   * (seed 000 uses the first 8 test images). Without it only samples are written.
   */
  images?: tf.Tensor;
  /**
   * Latent codes drawn from a standard normal `[samples, ...latentShape]`, seeded by the
   * fit seed and the epoch, decoded into `sample_<epoch>.png` (seed 000 decodes 64; default
   * 64, 0 for none).
   */
  samples?: number;
  /** Pixel magnification of the grids (default 1). */
  scale?: number;
}

/** Early stopping, plus what to do with the weights when it stops. */
export interface FitEarlyStoppingOptions extends EarlyStoppingOptions {
  /** Put back the weights of the best epoch (`history.bestEpoch`) at the end (default true). */
  restoreBest?: boolean;
}

/** Options of `fit`; every one has a default. */
export interface FitOptions extends FitCallbacks {
  /** Passes over the training set (default 10). */
  epochs?: number;
  /** Examples per step, 1 to the training set size (default 128). */
  batchSize?: number;
  /** Learning rate of the named optimizer (default 1e-3). Not allowed with an optimizer instance (set its own). */
  lr?: number;
  /**
   * `adam` (default), `sgd`, `momentum`, `rmsprop`, `adagrad`, `rprop` (see `makeOptimizer`,
   * PyTorch's defaults), or a `tf.Optimizer` you made; an instance is yours to dispose and
   * keeps its state across `fit` calls.
   */
  optimizer?: OptimizerName | tf.Optimizer;
  /** Settings of the named optimizer (betas, momentum, alpha, etas, ...). */
  optimizerOptions?: OptimizerOptions;
  /** Reconstruction loss (default `bce`). */
  loss?: LossName;
  /** Loss reduction within a batch (default `mean`; seed 000 uses `sum` with BCE). */
  reduction?: Reduction;
  /** Seed of the shuffle, the input noise and the snapshot samples (default 1). */
  seed?: number;
  /** Shuffle the training set each epoch (default true). */
  shuffle?: boolean;
  /** Denoising (seed 000 Part 2): Gaussian noise on the input, loss against the clean input. */
  noise?: NoiseOptions;
  /** Evaluated after every epoch; its loss is recorded as `valLoss` and is what the options below monitor. */
  validationData?: Dataset;
  /**
   * Clip the gradients to this global L2 norm before each step (`clip_grad_norm_`, seed 000
   * Part 3 uses 1.0). Records the epoch's mean norm before clipping as `gradNorm`.
   */
  clipNorm?: number;
  /**
   * Lower the learning rate when the monitored loss (validation if given, else training)
   * stops improving: PyTorch's `ReduceLROnPlateau` (seed 000 Part 3: `{ factor: 0.5, patience: 2 }`).
   */
  plateau?: PlateauOptions;
  /** Stop when the monitored loss has not improved for `patience` epochs; restores the best weights by default. */
  earlyStopping?: FitEarlyStoppingOptions;
  /**
   * Save checkpoints here: `best/` (the model after its best epoch by the monitored loss,
   * rewritten when it improves), `last/` (after every epoch, and where `signal` stopped
   * training; also a resumable checkpoint: optimizer state, epoch, history, counters, see
   * `resume`), and `checkpoint.json` (which epochs they hold). Every save replaces the
   * previous one atomically; a save that fails throws a `SaveError` naming the path and
   * leaves the previous one intact.
   */
  checkpointDir?: string;
  /**
   * Continue from the checkpoint in `checkpointDir/last` when there is one (else start
   * afresh): the weights, optimizer state, learning rate, plateau and early-stopping
   * counters, best epoch and history are restored and training goes on from the epoch (and
   * batch) it reached, up to `epochs`. With the same options the result is bit-identical to
   * a run that was never interrupted. A checkpoint written with other settings (batch size,
   * seed, loss, optimizer, ...) is refused with a `CheckpointError`.
   */
  resume?: boolean;
  /**
   * Stops training when aborted (Ctrl-C in the command line): the batch in progress
   * finishes, a resumable checkpoint of that point is written into `checkpointDir/last`
   * (with `checkpointDir`), and `fit` throws an `InterruptedError`.
   */
  signal?: AbortSignal;
  /** Reconstruction and sample grids every few epochs. */
  snapshots?: SnapshotOptions;
  /** Progress displays or other callbacks (`terminalProgress()`, `notebookProgress()`, `autoProgress()`). */
  progress?: FitCallbacks | FitCallbacks[];
  /** Batches between `onBatch` calls and loss checks (default 10, as the seeds' `log_interval`). */
  logInterval?: number;
}

/** One epoch of a training history. Losses are per example (see `fit`). */
export interface EpochRecord {
  /** Epoch, from 1. */
  epoch: number;
  /** Mean training loss per example over the epoch (with the weights as they changed during it). */
  trainLoss: number;
  /** Loss per example on `validationData` after the epoch. */
  valLoss?: number;
  /** Learning rate used during the epoch (NaN for an optimizer instance that does not expose one). */
  lr: number;
  /** Wall-clock seconds of the epoch, validation, checkpoints and snapshots included. */
  seconds: number;
  /** With `clipNorm`: mean global gradient norm before clipping over the epoch's steps. */
  gradNorm?: number;
}

/** What `fit` returns. */
export interface History {
  epochs: EpochRecord[];
  /** The loss the best epoch, plateau and early stopping look at: `valLoss` with validation data, else `trainLoss`. */
  monitor: 'valLoss' | 'trainLoss';
  /** Epoch with the lowest monitored loss (the first one on ties). */
  bestEpoch: number;
  /** True when early stopping ended training before `epochs`. */
  stoppedEarly: boolean;
  /** Epoch whose weights the model holds at the end, when early stopping's `restoreBest` put them back. */
  restoredEpoch?: number;
}

/**
 * Training stopped because the loss became NaN or infinite. The model's weights are
 * unusable after this unless `earlyStopping.restoreBest` kept the best ones (then they are
 * back in the model); checkpoints written before are intact.
 */
export class DivergenceError extends AelabError {
  constructor(
    /** Epoch, from 1. */
    readonly epoch: number,
    /** Batch within the epoch, from 0; `undefined` when the validation loss diverged. */
    readonly batch: number | undefined,
    /** The loss value found (NaN, Infinity or -Infinity). */
    readonly value: number,
    /** The epochs completed before, with `bestEpoch` etc. */
    readonly history: History,
    note = '',
  ) {
    super(
      `training diverged: the ${batch === undefined ? 'validation loss' : 'loss'} became ${value} in epoch ${epoch}` +
        `${batch === undefined ? '' : ` at batch ${batch}`}; lower the learning rate or clip gradients (clipNorm)${note}`,
    );
  }
}

/**
 * Training was stopped on purpose (`signal` aborted, Ctrl-C). With `checkpoint`, training
 * can continue from it (`fit(..., { resume: true })`, `aelab train --resume`).
 */
export class InterruptedError extends AelabError {
  constructor(
    message: string,
    /** Where training stopped: epoch (from 1) and batches of it completed; absent outside training. */
    readonly epoch?: number,
    readonly batch?: number,
    /** The completed epochs. */
    readonly history?: History,
    /** Directory of the resumable checkpoint written, when there is one. */
    readonly checkpoint?: string,
  ) {
    super(message);
  }
}

/**
 * Trains an autoencoder, one loop for every procedure of the seeds:
 *
 * batch (shuffled, seeded; noisy input with `noise`) -> forward -> loss against the clean
 * batch (+ the model's penalty) -> gradients -> clip (`clipNorm`) -> optimizer step; after
 * each epoch: validation loss, best epoch, checkpoints, snapshots, plateau schedule, early
 * stopping, callbacks.
 *
 * Reported losses are per example: with `reduction: 'sum'` the summed loss over the epoch
 * divided by its examples (the seeds' "Average loss"), with `mean` the mean of batch means
 * weighted by batch size. The loss is read from the backend only every `logInterval`
 * batches and at the end of an epoch (no per-batch sync); all the batch values are read
 * then and summed in float64 on the host. A NaN or infinite loss stops training with a
 * `DivergenceError` naming the epoch and batch where it first appeared.
 *
 * With `checkpointDir` every epoch ends with a resumable checkpoint; `resume` continues
 * from it and `signal` stops training between two batches (see `InterruptedError`).
 *
 * @param model any aelab autoencoder; trained in place
 * @param trainSet `x [n, ...]` float32 (images `[n, 28, 28, 1]` in [0, 1])
 */
export async function fit(model: Autoencoder, trainSet: Dataset, options: FitOptions = {}): Promise<History> {
  await initBackend();
  const o = resolve(options, trainSet, model);
  const ownOptimizer = typeof o.optimizer === 'string';
  const optimizer = typeof o.optimizer === 'string' ? makeOptimizer(o.optimizer, o.lr, o.optimizerOptions) : o.optimizer;
  const plateau = o.plateau ? new ReduceLROnPlateau(optimizer, o.plateau) : undefined;
  const stopper = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
  const best = new BestEpoch(model, o.earlyStopping !== undefined && o.earlyStopping.restoreBest !== false);
  const callbacks: FitCallbacks[] = [...o.progress, { onTrainBegin: o.onTrainBegin, onBatch: o.onBatch, onEpochEnd: o.onEpochEnd, onTrainEnd: o.onTrainEnd }];
  const vars = model.trainableWeights;
  const n = datasetSize(trainSet);
  const nBatches = batchCount(trainSet, o.batchSize);
  const history: History = { epochs: [], monitor: o.validationData ? 'valLoss' : 'trainLoss', bestEpoch: 0, stoppedEarly: false };
  const meter = new LossMeter(o.reduction);
  const lastDir = o.checkpointDir && path.join(o.checkpointDir, 'last');
  const bestDir = o.checkpointDir && path.join(o.checkpointDir, 'best');
  const settings = trajectorySettings(o, model, n);
  /** The state a checkpoint written now records (`epoch` complete, `batch` batches of the next). */
  const stateAt = (epoch: number, batch: number, stopped = false): TrainingState => ({
    epoch,
    batch,
    meter: batch > 0 ? { total: meter.total, normTotal: meter.normTotal, seen: meter.seen, lastLoss: meter.lastLoss } : undefined,
    history,
    best: { epoch: best.epoch, value: best.value },
    stopped,
    lr: learningRateOf(optimizer),
    plateau: plateau && { best: plateau.best, numBadEpochs: plateau.numBadEpochs, cooldownCounter: plateau.cooldownCounter, lastEpoch: plateau.lastEpoch },
    earlyStopping: stopper && { best: stopper.best, bestEpoch: stopper.bestEpoch, wait: stopper.wait, epoch: stopper.epoch, stoppedEpoch: stopper.stoppedEpoch },
    settings,
  });
  let start = { epoch: 1, batch: 0 };
  let resumedMeter: TrainingState['meter'];
  /** True once `last/` holds a checkpoint of this training. */
  let checkpointed = false;
  try {
    const state = o.resume ? readCheckpoint(lastDir!) : undefined;
    if (lastDir && !state) {
      // A fresh start: a checkpoint of an earlier training here must not be resumed later.
      try {
        fs.rmSync(path.join(lastDir, 'training.json'), { force: true });
      } catch {
        // not writable: the first save says so, with the path
      }
    }
    if (state) {
      checkpointed = true;
      checkSettings(lastDir!, state.settings, settings);
      try {
        loadWeights(model, lastDir!);
      } catch (err) {
        throw new CheckpointError(lastDir!, (err as Error).message);
      }
      await restoreTrainingState(lastDir!, model, optimizer);
      if (plateau && state.plateau) Object.assign(plateau, state.plateau);
      if (stopper && state.earlyStopping) Object.assign(stopper, state.earlyStopping);
      history.epochs = state.history.epochs as EpochRecord[];
      history.bestEpoch = state.best.epoch;
      history.stoppedEarly = state.stopped;
      const atBest = state.best.epoch === state.epoch && state.batch === 0;
      best.resume(state.best.epoch, state.best.value, atBest ? undefined : () => readWeights(model, bestDir!));
      // A crash between the two saves of an epoch end can leave best/ behind last/.
      if (atBest && state.best.epoch > 0) await saveModel(model, bestDir!);
      start = state.stopped ? { epoch: o.epochs + 1, batch: 0 } : { epoch: state.epoch + 1, batch: state.batch };
      resumedMeter = state.meter;
    }
    callbacks.forEach((c) => c.onTrainBegin?.({ epochs: o.epochs, batches: nBatches, examples: n, initialEpoch: start.epoch - 1 }));
    for (let epoch = start.epoch; epoch <= o.epochs; epoch++) {
      if (o.signal?.aborted) throw interrupted(epoch, 0, history, checkpointed ? lastDir : undefined);
      const t0 = performance.now();
      const record: EpochRecord = { epoch, trainLoss: NaN, lr: learningRateOf(optimizer), seconds: 0 };
      meter.reset();
      const skip = epoch === start.epoch ? start.batch : 0;
      if (skip > 0 && resumedMeter) Object.assign(meter, resumedMeter);
      for (const batch of batches(trainSet, { batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, epoch, noise: o.noise })) {
        // Batches a resumed checkpoint already trained: drawn (the noise stream moves on) and dropped.
        if (batch.index < skip) {
          disposeBatch(batch);
          continue;
        }
        const step = trainStep(model, optimizer, vars, batch, o);
        disposeBatch(batch);
        meter.add(batch.index, batch.size, step.loss, step.norm);
        const last = batch.index === nBatches - 1;
        if (batch.index % o.logInterval === 0 || last) {
          await meter.read((b, value) => new DivergenceError(epoch, b, value, history, best.restoreNote()));
          const info: BatchInfo = { epoch, batch: batch.index, batches: nBatches, loss: meter.total / meter.seen, batchLoss: meter.lastLoss, seen: meter.seen };
          callbacks.forEach((c) => c.onBatch?.(info));
        }
        // Stopped mid-epoch: the pending losses are checked, then the exact point is saved.
        // (After the last batch the epoch completes; the next epoch's check stops.)
        if (o.signal?.aborted && !last) {
          await meter.read((b, value) => new DivergenceError(epoch, b, value, history, best.restoreNote()));
          if (lastDir) {
            await saveCheckpoint(lastDir, model, optimizer, stateAt(epoch - 1, batch.index + 1));
            checkpointed = true;
            writeCheckpointJson(o.checkpointDir!, history.monitor, best, epoch - 1, batch.index + 1);
          }
          throw interrupted(epoch, batch.index + 1, history, lastDir);
        }
        // Yield so a notebook or terminal can redraw progress and signals get through.
        if (batch.index % 10 === 9) await new Promise((r) => setImmediate(r));
      }
      record.trainLoss = meter.total / n;
      if (o.clipNorm !== undefined) record.gradNorm = meter.normTotal / nBatches;
      if (o.validationData) {
        record.valLoss = await evaluateLoss(model, o.validationData, { loss: o.loss, reduction: o.reduction, batchSize: Math.max(o.batchSize, 256) });
        if (!Number.isFinite(record.valLoss)) throw new DivergenceError(epoch, undefined, record.valLoss, history, best.restoreNote());
      }
      const monitored = record.valLoss ?? record.trainLoss;
      const improved = best.update(epoch, monitored);
      if (improved) history.bestEpoch = epoch;
      plateau?.step(monitored); // lowers the rate the next epoch uses
      const stop = stopper?.step(monitored) ?? false;
      record.seconds = (performance.now() - t0) / 1000;
      history.epochs.push(record);
      if (lastDir) {
        // last/ before best/: a crash between the two leaves a checkpoint whose best epoch is
        // itself, which a resume re-saves into best/.
        await saveCheckpoint(lastDir, model, optimizer, stateAt(epoch, 0, stop && epoch < o.epochs));
        checkpointed = true;
        if (improved) await saveModel(model, bestDir!);
        writeCheckpointJson(o.checkpointDir!, history.monitor, best, epoch, 0);
      }
      if (o.snapshots && epoch % o.snapshots.every === 0) writeSnapshots(model, o.snapshots, epoch, o.seed);
      record.seconds = (performance.now() - t0) / 1000;
      for (const c of callbacks) await c.onEpochEnd?.(record);
      if (stop) {
        history.stoppedEarly = epoch < o.epochs;
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    if (best.restore(history.epochs.at(-1)?.epoch ?? 0)) history.restoredEpoch = best.epoch;
    callbacks.forEach((c) => c.onTrainEnd?.(history));
  } catch (err) {
    if (err instanceof DivergenceError) best.restore(-1);
    for (const p of o.progress) (p as { stop?: () => void }).stop?.(); // close bars before the error is shown
    throw err;
  } finally {
    meter.reset();
    best.dispose();
    if (ownOptimizer) optimizer.dispose();
  }
  return history;
}

/** What `evaluate` returns, over a whole dataset. */
export interface Evaluation {
  /** Loss per example, with the same convention as `fit`'s history (`reduction`). */
  loss: number;
  /** Mean squared error per value (pixel), over every value of every example. */
  mse: number;
  /** Peak signal-to-noise ratio in dB for data in [0, 1]: `10 * log10(1 / mse)` from the set's mean MSE. */
  psnr: number;
  /** Examples evaluated. */
  examples: number;
}

/** Options of `evaluate` and `evaluateLoss`. */
export interface EvaluateOptions {
  /** Reconstruction loss (default `bce`). */
  loss?: LossName;
  /** `mean` (default) or `sum`; see `fit`. */
  reduction?: Reduction;
  /** Examples per forward pass (default 512). */
  batchSize?: number;
  /** Corrupt the inputs (denoising evaluation); the targets stay clean. */
  noise?: NoiseOptions;
  /** Seed of the noise (default 1). */
  seed?: number;
}

/**
 * Loss, MSE and PSNR of `model` on `ds` in inference mode (no dropout, batch-norm running
 * statistics), one pass. The loss follows `fit`'s per-example convention; MSE and PSNR are
 * over every value, so they compare across losses and reductions.
 */
export async function evaluate(model: Autoencoder, ds: Dataset, options: EvaluateOptions = {}): Promise<Evaluation> {
  await initBackend();
  const o = resolveEvaluate(options, ds);
  const n = datasetSize(ds);
  let totals = tf.zeros([2]); // [loss, squared error]
  let values = 0;
  for (const batch of batches(ds, { batchSize: o.batchSize, shuffle: false, noise: o.noise, seed: o.seed })) {
    const next = tf.tidy(() => {
      const out = model.forward(batch.x, false);
      const l = combineLoss(out, batch, o.loss, o.reduction).mul(o.reduction === 'sum' ? 1 : batch.size);
      const se = tf.squaredDifference(out.recon, (out.target ?? batch.target).reshape(out.recon.shape)).sum();
      values += out.recon.size;
      return totals.add(tf.stack([l, se]));
    });
    totals.dispose();
    totals = next;
    disposeBatch(batch);
  }
  const [loss, se] = await totals.data();
  totals.dispose();
  const mse = se / values;
  return { loss: loss / n, mse, psnr: 10 * Math.log10(1 / mse), examples: n };
}

/**
 * Mean loss per example of `model` on `ds` in inference mode (no dropout, batch-norm running
 * statistics), with the same per-example convention as `fit`'s history.
 */
export async function evaluateLoss(model: Autoencoder, ds: Dataset, options: EvaluateOptions = {}): Promise<number> {
  const o = resolveEvaluate(options, ds);
  let total = tf.scalar(0);
  for (const batch of batches(ds, { batchSize: o.batchSize, shuffle: false, noise: o.noise, seed: o.seed })) {
    const next = tf.tidy(() => total.add(batchLoss(model, batch, o.loss, o.reduction, false).mul(o.reduction === 'sum' ? 1 : batch.size)) as tf.Scalar);
    total.dispose();
    total = next;
    disposeBatch(batch);
  }
  const value = (await total.data())[0] / datasetSize(ds);
  total.dispose();
  return value;
}

/** Writes `history.json` (the whole history) and `history.csv` (one row per epoch) into `dir`, atomically. Returns the two paths. */
export function saveHistory(history: History, dir: string): { json: string; csv: string } {
  const json = path.join(dir, 'history.json');
  const csv = path.join(dir, 'history.csv');
  writeFileAtomic(json, JSON.stringify(history, null, 2));
  writeFileAtomic(csv, historyToCsv(history));
  return { json, csv };
}

/** The columns of `historyToCsv`, in order. */
export const HISTORY_COLUMNS = ['epoch', 'trainLoss', 'valLoss', 'lr', 'seconds', 'gradNorm'] as const;

/** The history as CSV: a header of `HISTORY_COLUMNS` and one row per epoch; absent values are empty cells. */
export function historyToCsv(history: History): string {
  const rows = history.epochs.map((r) => HISTORY_COLUMNS.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(','));
  return [HISTORY_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------

type Resolved = ReturnType<typeof resolve>;

/** One optimizer step; returns the batch's loss (and gradient norm) as scalars the caller disposes. */
function trainStep(model: Autoencoder, optimizer: tf.Optimizer, vars: tf.Variable[], batch: Batch, o: Resolved): { loss: tf.Scalar; norm?: tf.Scalar } {
  const { value, grads } = tf.variableGrads(() => batchLoss(model, batch, o.loss, o.reduction, true), vars);
  let applied = grads;
  let norm: tf.Scalar | undefined;
  if (o.clipNorm !== undefined) {
    ({ grads: applied, norm } = clipByGlobalNorm(grads, o.clipNorm));
    tf.dispose(grads);
  }
  // In the order of `vars` every step: optimizers keep their state by position.
  optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: applied[v.name] })));
  tf.dispose(applied);
  return { loss: value, norm };
}

/** The scalar loss of a batch: reconstruction against the clean target, plus the model's penalty. */
function batchLoss(model: Autoencoder, batch: Batch, loss: LossName, reduction: Reduction, training: boolean): tf.Scalar {
  return tf.tidy(() => combineLoss(model.forward(batch.x, training), batch, loss, reduction));
}

/**
 * Reconstruction loss of a forward output against the batch's clean target (or the
 * model's own target), plus its penalty, weighted as `ForwardOutput.penalty` says: the
 * penalty is a per-example mean, so it is multiplied by the batch size under `sum` and
 * divided by the values per example under `mean`.
 */
function combineLoss(out: ReturnType<Autoencoder['forward']>, batch: Batch, loss: LossName, reduction: Reduction): tf.Scalar {
  const target = out.target ?? batch.target;
  let l = reconstructionLoss(loss, reduction, target, out);
  if (out.penalty) {
    const perExample = out.recon.size / out.recon.shape[0];
    l = l.add(reduction === 'sum' ? out.penalty.mul(batch.size) : out.penalty.div(perExample)) as tf.Scalar;
  }
  return l;
}

/**
 * Keeps the batch losses of an epoch on the backend until `read` fetches them all at once
 * (every log interval), then sums them on the host in float64 and checks them.
 */
class LossMeter {
  private pending: { index: number; size: number; loss: tf.Scalar; norm?: tf.Scalar }[] = [];
  total = 0;
  normTotal = 0;
  seen = 0;
  lastLoss = NaN;

  constructor(private readonly reduction: Reduction) {}

  add(index: number, size: number, loss: tf.Scalar, norm?: tf.Scalar): void {
    this.pending.push({ index, size, loss, norm });
  }

  /** Reads the pending losses (one sync); throws `diverged(batch, value)` at the first non-finite one. */
  async read(diverged: (batch: number, value: number) => Error): Promise<void> {
    const p = this.pending;
    if (p.length === 0) return;
    const stacked = tf.tidy(() => tf.stack([...p.map((e) => e.loss), ...p.flatMap((e) => (e.norm ? [e.norm] : []))]));
    const values = await stacked.data();
    stacked.dispose();
    this.reset(false);
    let k = p.length;
    p.forEach((e, i) => {
      const v = values[i];
      if (!Number.isFinite(v)) throw diverged(e.index, v);
      this.total += this.reduction === 'sum' ? v : v * e.size;
      this.seen += e.size;
      this.lastLoss = this.reduction === 'sum' ? v / e.size : v;
      if (e.norm) this.normTotal += values[k++];
    });
  }

  /** Frees pending tensors; with `totals`, also zeroes the sums (start of an epoch). */
  reset(totals = true): void {
    for (const e of this.pending) {
      e.loss.dispose();
      e.norm?.dispose();
    }
    this.pending = [];
    if (totals) {
      this.total = 0;
      this.normTotal = 0;
      this.seen = 0;
      this.lastLoss = NaN;
    }
  }
}

/** Tracks the best epoch by the monitored loss and, for `restoreBest`, a copy of its weights. */
class BestEpoch {
  epoch = 0;
  value = Infinity;
  private weights: tf.Tensor[] | null = null;

  constructor(
    private readonly model: Autoencoder,
    private readonly keep: boolean,
  ) {}

  /** Records an epoch; true when it is the new best. */
  update(epoch: number, value: number): boolean {
    if (!(value < this.value)) return false;
    this.epoch = epoch;
    this.value = value;
    if (this.keep) {
      const copies = this.model.weights.map((w) => tf.clone(w.read()));
      if (this.weights) tf.dispose(this.weights);
      this.weights = copies;
    }
    return true;
  }

  /**
   * Takes the best epoch of a checkpoint; its weights (kept for `restoreBest`) are the
   * model's current ones, or `read()` when the best epoch is an earlier one.
   */
  resume(epoch: number, value: number, read?: () => tf.Tensor[]): void {
    this.epoch = epoch;
    this.value = value;
    if (!this.keep || epoch === 0) return;
    const copies = read ? read() : this.model.weights.map((w) => tf.clone(w.read()));
    if (this.weights) tf.dispose(this.weights);
    this.weights = copies;
  }

  /** Puts the best weights back unless `lastEpoch` is the best; true when it did. */
  restore(lastEpoch: number): boolean {
    if (!this.weights || this.epoch === lastEpoch) return false;
    this.model.weights.forEach((w, i) => w.write(tf.clone(this.weights![i])));
    return true;
  }

  restoreNote(): string {
    return this.weights ? `; the model holds the weights of its best epoch (${this.epoch}) again` : '';
  }

  dispose(): void {
    if (this.weights) tf.dispose(this.weights);
    this.weights = null;
  }
}

function writeSnapshots(model: Autoencoder, s: Required<Pick<SnapshotOptions, 'dir' | 'every' | 'samples' | 'scale'>> & SnapshotOptions, epoch: number, seed: number): void {
  tf.tidy(() => {
    if (s.images) {
      const x = s.images;
      const recon = model.forward(x, false).recon.reshape(x.shape);
      saveImage(tf.concat([x, recon]), path.join(s.dir, `reconstruction_${epoch}.png`), { nrow: x.shape[0], scale: s.scale });
    }
    if (s.samples > 0) {
      const z = tf.randomNormal([s.samples, ...model.latentShape], 0, 1, 'float32', mixSeed(seed, epoch, 0x73616d70));
      const decoded = model.decode(z);
      saveImage(decoded.reshape([s.samples, ...model.inputShape]), path.join(s.dir, `sample_${epoch}.png`), { nrow: 8, scale: s.scale });
    }
  });
}

/** The `InterruptedError` of a stop in `epoch` after `batch` batches. */
function interrupted(epoch: number, batch: number, history: History, checkpoint: string | undefined): InterruptedError {
  const where = batch > 0 ? `in epoch ${epoch} after batch ${batch}` : epoch > 1 ? `after epoch ${epoch - 1}` : 'before the first epoch ended';
  const saved = checkpoint ? `; a resumable checkpoint is in ${checkpoint}` : '; no checkpoint to resume from';
  return new InterruptedError(`training interrupted ${where}${saved}`, epoch, batch, history, checkpoint);
}

/** Writes `checkpoint.json`: which epochs `best/` and `last/` hold. */
function writeCheckpointJson(dir: string, monitor: History['monitor'], best: BestEpoch, lastEpoch: number, lastBatch: number): void {
  const file = path.join(dir, 'checkpoint.json');
  try {
    // lastBatch: batches of epoch lastEpoch + 1 that last/ holds too (after an interruption).
    writeFileAtomic(file, JSON.stringify({ monitor, bestEpoch: best.epoch, best: best.value, lastEpoch, lastBatch }, null, 2));
  } catch (err) {
    throw new SaveError(file, (err as Error).message.replace(/^could not write \S+: /, ''));
  }
}

/**
 * The options that fix the sequence of weights, recorded in a checkpoint and compared on
 * resume (`epochs` may grow, progress and snapshots may change).
 */
function trajectorySettings(o: Resolved, model: Autoencoder, n: number): Record<string, unknown> {
  const named = typeof o.optimizer === 'string';
  return {
    model: model.name,
    examples: n,
    batchSize: o.batchSize,
    loss: o.loss,
    reduction: o.reduction,
    seed: o.seed,
    shuffle: o.shuffle,
    noise: o.noise ?? null,
    clipNorm: o.clipNorm ?? null,
    optimizer: named ? o.optimizer : (o.optimizer as tf.Optimizer).getClassName(),
    lr: named ? o.lr : null,
    optimizerOptions: named ? (o.optimizerOptions ?? {}) : null,
    validationExamples: o.validationData ? datasetSize(o.validationData) : null,
    plateau: o.plateau ?? null,
    earlyStopping: o.earlyStopping ?? null,
  };
}

function checkSettings(dir: string, saved: Record<string, unknown>, now: Record<string, unknown>): void {
  for (const key of Object.keys(now)) {
    const a = JSON.stringify(saved?.[key] ?? null);
    const b = JSON.stringify(now[key]);
    if (a !== b) throw new CheckpointError(dir, `it was written with ${key} ${a}, and this training asks for ${b}`);
  }
}

/** The optimizer's learning rate, or NaN for an optimizer that does not expose one as a number. */
function learningRateOf(optimizer: tf.Optimizer): number {
  try {
    return getLearningRate(optimizer);
  } catch {
    return NaN;
  }
}

/** True when `shape` (one example) is an image `saveImage` can draw. */
function isImageShape(shape: readonly number[]): boolean {
  if (shape.length === 3) return shape[2] === 1 || shape[2] === 3;
  if (shape.length === 2) return true;
  if (shape.length === 1) return Number.isInteger(Math.sqrt(shape[0]));
  return false;
}

function resolve(options: FitOptions, trainSet: Dataset, model: Autoencoder) {
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', options, 'an object of fit options');
  const n = datasetSize(trainSet);
  if (n === 0) throw new ArgumentError('trainSet', trainSet.x, 'a dataset with at least one example');
  const optimizer = options.optimizer ?? 'adam';
  if (typeof optimizer === 'string') {
    if (!OPTIMIZERS.includes(optimizer)) throw new ArgumentError('optimizer', optimizer, `one of ${OPTIMIZERS.join(', ')}, or a tf.Optimizer`);
  } else if (!(optimizer instanceof tf.Optimizer)) {
    throw new ArgumentError('optimizer', optimizer, `one of ${OPTIMIZERS.join(', ')}, or a tf.Optimizer`);
  } else if (options.lr !== undefined) {
    throw new ArgumentError('lr', options.lr, 'left out when optimizer is a tf.Optimizer instance (it has its own learning rate; see setLearningRate)');
  }
  const progress = options.progress === undefined ? [] : Array.isArray(options.progress) ? options.progress : [options.progress];
  if (!progress.every((p) => p !== null && typeof p === 'object')) throw new ArgumentError('progress', options.progress, 'a callbacks object or a list of them');
  const o = {
    epochs: checkInteger('epochs', options.epochs ?? 10, 1),
    batchSize: checkInteger('batchSize', options.batchSize ?? 128, 1),
    lr: checkNumber('lr', options.lr ?? 1e-3, Number.MIN_VALUE),
    optimizer,
    optimizerOptions: options.optimizerOptions,
    loss: options.loss ?? 'bce',
    reduction: options.reduction ?? 'mean',
    seed: checkInteger('seed', options.seed ?? 1),
    shuffle: options.shuffle ?? true,
    noise: options.noise,
    validationData: options.validationData,
    clipNorm: options.clipNorm === undefined ? undefined : checkNumber('clipNorm', options.clipNorm, Number.MIN_VALUE),
    plateau: options.plateau,
    earlyStopping: options.earlyStopping,
    checkpointDir: options.checkpointDir,
    resume: options.resume ?? false,
    signal: options.signal,
    snapshots: options.snapshots && resolveSnapshots(options.snapshots, model),
    progress,
    onTrainBegin: options.onTrainBegin,
    onEpochEnd: options.onEpochEnd,
    onBatch: options.onBatch,
    onTrainEnd: options.onTrainEnd,
    logInterval: checkInteger('logInterval', options.logInterval ?? 10, 1),
  };
  if (o.batchSize > n) throw new ArgumentError('batchSize', o.batchSize, `at most the training set size (${n})`);
  if (!LOSSES.includes(o.loss)) throw new ArgumentError('loss', o.loss, `one of ${LOSSES.join(', ')}`);
  if (o.reduction !== 'mean' && o.reduction !== 'sum') throw new ArgumentError('reduction', o.reduction, 'mean or sum');
  if (typeof o.shuffle !== 'boolean') throw new ArgumentError('shuffle', o.shuffle, 'true or false');
  if (o.validationData && datasetSize(o.validationData) === 0) throw new ArgumentError('validationData', o.validationData.x, 'a dataset with at least one example');
  if (o.checkpointDir !== undefined && (typeof o.checkpointDir !== 'string' || o.checkpointDir === '')) {
    throw new ArgumentError('checkpointDir', o.checkpointDir, 'a directory path');
  }
  if (typeof o.resume !== 'boolean') throw new ArgumentError('resume', o.resume, 'true or false');
  if (o.resume && o.checkpointDir === undefined) throw new ArgumentError('resume', o.resume, 'used with checkpointDir (the directory to resume from)');
  if (o.signal !== undefined && (o.signal === null || typeof o.signal !== 'object' || typeof o.signal.aborted !== 'boolean')) {
    throw new ArgumentError('signal', o.signal, 'an AbortSignal');
  }
  if (o.plateau !== undefined && (o.plateau === null || typeof o.plateau !== 'object')) throw new ArgumentError('plateau', o.plateau, 'an object of plateau options');
  if (o.earlyStopping !== undefined && (o.earlyStopping === null || typeof o.earlyStopping !== 'object')) {
    throw new ArgumentError('earlyStopping', o.earlyStopping, 'an object of early stopping options');
  }
  if (o.earlyStopping?.restoreBest !== undefined && typeof o.earlyStopping.restoreBest !== 'boolean') {
    throw new ArgumentError('earlyStopping.restoreBest', o.earlyStopping.restoreBest, 'true or false');
  }
  // Construct the schedule helpers once here so their option errors come before any training.
  if (o.plateau) {
    const probe = typeof optimizer === 'string' ? tf.train.sgd(1) : optimizer;
    try {
      new ReduceLROnPlateau(probe, o.plateau);
      if (probe === optimizer && Number.isNaN(learningRateOf(probe))) {
        throw new ArgumentError('plateau', o.plateau, `left out for an optimizer without a numeric learningRate (${probe.getClassName()})`);
      }
    } finally {
      if (probe !== optimizer) probe.dispose();
    }
  }
  if (o.earlyStopping) new EarlyStopping(o.earlyStopping);
  return o;
}

function resolveSnapshots(s: SnapshotOptions, model: Autoencoder) {
  if (s === null || typeof s !== 'object') throw new ArgumentError('snapshots', s, 'an object { dir, every, images }');
  if (typeof s.dir !== 'string' || s.dir === '') throw new ArgumentError('snapshots.dir', s.dir, 'a directory path');
  const every = checkInteger('snapshots.every', s.every ?? 1, 1);
  const samples = checkInteger('snapshots.samples', s.samples ?? 64, 0);
  const scale = checkInteger('snapshots.scale', s.scale ?? 1, 1, 64);
  if (s.images !== undefined) {
    const x = s.images;
    if (!(x instanceof tf.Tensor) || x.rank < 2 || x.shape[0] < 1 || !isImageShape(x.shape.slice(1))) {
      throw new ArgumentError('snapshots.images', x, 'a batch of images [n, h, w, 1|3], [n, h, w] or [n, side*side]');
    }
    const per = x.size / x.shape[0];
    const want = model.inputShape.reduce((a, b) => a * b, 1);
    if (per !== want) throw new ArgumentError('snapshots.images', x, `images of ${want} values each (the model's input [${model.inputShape}])`);
  }
  if (samples > 0 && !isImageShape(model.inputShape)) {
    throw new ArgumentError('snapshots.samples', samples, `0 for a model whose examples are not images (input [${model.inputShape}])`);
  }
  return { ...s, every, samples, scale };
}

function resolveEvaluate(options: EvaluateOptions, ds: Dataset) {
  const n = datasetSize(ds);
  if (n === 0) throw new ArgumentError('ds', ds.x, 'a dataset with at least one example');
  const o = {
    loss: options.loss ?? 'bce',
    reduction: options.reduction ?? 'mean',
    batchSize: Math.min(checkInteger('batchSize', options.batchSize ?? 512, 1), n),
    noise: options.noise,
    seed: checkInteger('seed', options.seed ?? 1),
  };
  if (!LOSSES.includes(o.loss)) throw new ArgumentError('loss', o.loss, `one of ${LOSSES.join(', ')}`);
  if (o.reduction !== 'mean' && o.reduction !== 'sum') throw new ArgumentError('reduction', o.reduction, 'mean or sum');
  return o;
}
