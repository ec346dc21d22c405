/**
 * Training one architecture of the study with its recipe: BCE (mean) with Adam 1e-3, plus
 * the architecture's own options (denoising noise, clipping and plateau schedule, greedy
 * pretraining).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io';
import type { Dataset } from '../data/dataset';
import { datasetSize } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import { StackedAutoencoder } from '../models/stacked';
import type { FitCallbacks, History } from '../train/fit';
import { fit } from '../train/fit';
import { checkpointProgress } from '../train/checkpoint';
import { greedyPretrain } from '../train/pretrain';
import { ProgressDisplay, terminalProgress } from '../train/progress';
import type { StudyArchitecture } from './architectures';
import type { StudyProfile } from './profiles';

/** What training a model took and gave (stored in `training.json` and `report.json`). */
export interface TrainingSummary {
  /** Training images and examples per step. */
  examples: number;
  batchSize: number;
  /** End-to-end epochs and optimizer steps (pretraining not included). */
  epochs: number;
  steps: number;
  /** Wall-clock seconds of all training, pretraining included. */
  seconds: number;
  /** Mean milliseconds per end-to-end training step (pretraining excluded). */
  msPerStep: number;
  /** Training loss per epoch: BCE per pixel (plus the model's penalty: sparsity, KL), and the learning rate. */
  history: { epoch: number; trainLoss: number; lr: number; seconds: number }[];
  /** Greedy pretraining, per block: epochs, last MSE and seconds (stacked model only). */
  pretrain?: { block: number; epochs: number; loss: number; seconds: number }[];
}

/** Options of `trainArchitecture`. */
export interface StudyTrainOptions {
  profile: StudyProfile;
  seed: number;
  /** Label of the progress output, e.g. `[2/7] deep`; no progress output without it. */
  progressLabel?: string;
  /** Called with a line of progress (pretraining blocks). */
  log?: (line: string) => void;
  /**
   * Checkpoints of the end-to-end training (`fit`'s `checkpointDir`), and `pretrain.json`
   * once greedy pretraining is done.
   */
  checkpointDir?: string;
  /** Continue from the checkpoint in `checkpointDir` when there is one (pretraining is then not redone). */
  resume?: boolean;
  /** Stops training between two batches, with a resumable checkpoint (see `fit`). */
  signal?: AbortSignal;
}

/** Epochs of an architecture under a profile. */
export function epochsOf(arch: StudyArchitecture, profile: StudyProfile): number {
  return arch.name === 'deep' && profile.deepEpochs !== undefined ? profile.deepEpochs : profile.epochs;
}

/** Trains `model` (built from `arch`) on `train` as the architecture's recipe says. */
export async function trainArchitecture(arch: StudyArchitecture, model: Autoencoder, train: Dataset, options: StudyTrainOptions): Promise<TrainingSummary> {
  const { profile: p, seed } = options;
  const r = arch.recipe;
  const t0 = performance.now();
  let pretrain: TrainingSummary['pretrain'];
  const ckpt = options.checkpointDir;
  const pretrainFile = ckpt && path.join(ckpt, 'pretrain.json');
  // A checkpoint of the end-to-end training holds the pretrained weights already.
  const resuming = options.resume === true && ckpt !== undefined && checkpointProgress(path.join(ckpt, 'last')) !== undefined;
  if (r.pretrain && resuming && pretrainFile && fs.existsSync(pretrainFile)) {
    pretrain = JSON.parse(fs.readFileSync(pretrainFile, 'utf8')) as TrainingSummary['pretrain'];
  } else if (r.pretrain) {
    if (!(model instanceof StackedAutoencoder)) throw new Error(`${arch.name}: greedy pretraining needs a StackedAutoencoder`);
    const histories = await greedyPretrain(model, train, {
      epochsPerLayer: p.pretrainEpochs,
      batchSize: p.batchSize,
      lr: 1e-3,
      seed,
      // Stopped during pretraining, a model starts afresh on the next run (no checkpoint).
      signal: options.signal,
      onLayer: (block, blocks) => options.log?.(`${options.progressLabel ?? arch.name}: pretraining block ${block + 1}/${blocks} (${p.pretrainEpochs} epoch${p.pretrainEpochs === 1 ? '' : 's'}, MSE)`),
      progress: options.progressLabel ? freshProgress(`${options.progressLabel} pretrain`) : undefined,
    });
    pretrain = histories.map((h, i) => ({ block: i + 1, epochs: h.epochs.length, loss: h.epochs.at(-1)?.trainLoss ?? NaN, seconds: h.epochs.reduce((s, e) => s + e.seconds, 0) }));
    if (pretrainFile) writeFileAtomic(pretrainFile, JSON.stringify(pretrain));
  }
  const epochs = epochsOf(arch, p);
  const t1 = performance.now();
  let initialEpoch = 0;
  const history: History = await fit(model, train, {
    epochs,
    batchSize: p.batchSize,
    lr: 1e-3,
    loss: 'bce',
    reduction: 'mean',
    seed,
    noise: r.noise === undefined ? undefined : { std: r.noise },
    clipNorm: r.clipNorm,
    plateau: r.plateau,
    checkpointDir: ckpt,
    resume: resuming,
    signal: options.signal,
    progress: options.progressLabel ? freshProgress(options.progressLabel) : undefined,
    onTrainBegin: (info) => (initialEpoch = info.initialEpoch ?? 0),
  });
  const fitSeconds = (performance.now() - t1) / 1000;
  const steps = epochs * Math.ceil(datasetSize(train) / p.batchSize);
  const summary: TrainingSummary = {
    examples: datasetSize(train),
    batchSize: p.batchSize,
    epochs: history.epochs.length,
    steps,
    seconds: (performance.now() - t0) / 1000,
    // Timed over the epochs this call trained (a resumed run did the others earlier).
    msPerStep: (1000 * fitSeconds) / Math.max(1, steps - initialEpoch * Math.ceil(datasetSize(train) / p.batchSize)),
    history: history.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, lr: e.lr, seconds: e.seconds })),
  };
  if (pretrain) summary.pretrain = pretrain;
  return summary;
}

/**
 * A terminal progress display that starts afresh for every `fit` it is passed to (greedy
 * pretraining passes one display to several `fit` runs, whose epochs all start at 1).
 */
function freshProgress(label: string): FitCallbacks & { stop(): void } {
  let inner: ProgressDisplay | undefined;
  return {
    onTrainBegin(info) {
      inner?.stop();
      inner = terminalProgress(label);
      inner.onTrainBegin?.(info);
    },
    onBatch: (info) => inner?.onBatch?.(info),
    onEpochEnd: (record) => inner?.onEpochEnd?.(record),
    onTrainEnd(history) {
      inner?.onTrainEnd?.(history);
      inner = undefined;
    },
    stop() {
      inner?.stop();
      inner = undefined;
    },
  };
}
