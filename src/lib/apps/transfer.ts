/**
 * Transfer learning (seed 000 `transfer_learning`): a classifier head on a pretrained
 * encoder, the encoder frozen or fine-tuned with it; accuracy per epoch; and the three-way
 * comparison with the same network trained from scratch.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { checkInteger } from '../errors';
import { Dataset, datasetSize, labelsOf } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import { EncoderClassifier } from '../models/classifier';
import { ClassifierEpoch, fitClassifier } from '../train/classifier';
import { ChartSpec, lineChart } from '../viz/charts';
import type { SemiSupervisedMethod } from './semisupervised';

/** Options of `transferLearning`. */
export interface TransferOptions {
  /** Train the head only (default true, as the seed); false fine-tunes the encoder as well. */
  frozen?: boolean;
  /** Epochs (default 5, as the seed). */
  epochs?: number;
  /** Examples per step (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3, as the seed). */
  lr?: number;
  /** Seed of the head's initialisation, its dropout and the shuffles (default 1). */
  seed?: number;
  /** Classes (default: `trainSet.classNames.length`, else the largest label + 1). */
  classes?: number;
  /** Hidden units of the head (default 128) and its dropout (default 0.3), as the seed. */
  hidden?: number;
  dropout?: number;
  /** Called after every epoch. */
  onEpochEnd?: (record: ClassifierEpoch) => void | Promise<void>;
}

/** What `transferLearning` returns. Accuracies are fractions in [0, 1]. */
export interface TransferResult {
  /** The trained classifier (dispose it; its encoder still belongs to the autoencoder). */
  classifier: EncoderClassifier;
  /** One record per epoch: training loss and accuracy (during the epoch), test accuracy after it. */
  history: ClassifierEpoch[];
  /** Test accuracy after the last epoch. */
  testAccuracy: number;
  /** Train and test accuracy per epoch. */
  chart: ChartSpec;
}

/**
 * Seed 000's `transfer_learning`: `Linear(latent, 128) -> ReLU -> Dropout(0.3) ->
 * Linear(128, classes)` on the autoencoder's encoder, cross-entropy and Adam. With
 * `frozen: false` the encoder's weights are fine-tuned **in place** (the autoencoder changes;
 * use `snapshotWeights`/`restoreWeights` to keep a copy).
 * @param model a (pretrained) autoencoder
 * @param trainSet labelled examples `x [n, ...inputShape]`, `y [n]`
 * @param testSet labelled examples for the per-epoch test accuracy
 */
export async function transferLearning(model: Autoencoder, trainSet: Dataset, testSet: Dataset, options: TransferOptions = {}): Promise<TransferResult> {
  await initBackend();
  const frozen = options.frozen ?? true;
  const classes = options.classes ?? classCount(trainSet);
  const classifier = new EncoderClassifier(model, {
    classes,
    frozen,
    seed: options.seed ?? 1,
    ...(options.hidden === undefined ? {} : { hidden: options.hidden }),
    ...(options.dropout === undefined ? {} : { dropout: options.dropout }),
  });
  try {
    const history = await fitClassifier(classifier, trainSet, {
      epochs: checkInteger('epochs', options.epochs ?? 5, 1),
      batchSize: options.batchSize ?? 64,
      lr: options.lr ?? 1e-3,
      seed: options.seed ?? 1,
      testData: testSet,
      onEpochEnd: options.onEpochEnd,
    });
    const rows = history.map((h) => ({ epoch: h.epoch, train: h.trainAccuracy, test: h.testAccuracy ?? NaN }));
    const chart = lineChart(rows, {
      x: 'epoch',
      y: ['train', 'test'],
      points: true,
      title: `Classifier on the ${frozen ? 'frozen' : 'fine-tuned'} encoder`,
      yTitle: 'accuracy',
    });
    return { classifier, history, testAccuracy: history.at(-1)!.testAccuracy!, chart };
  } catch (err) {
    classifier.dispose();
    throw err;
  }
}

/** Options of `compareTransfer`: those of `transferLearning`, less `frozen`, which each arm sets. */
export interface TransferComparisonOptions extends Omit<TransferOptions, 'frozen' | 'onEpochEnd'> {
  /**
   * The same architecture untrained (ideally with the pretrained model's initial weights):
   * the `supervised` arm, trained from scratch on the labels alone. Without it only the two
   * pretrained arms run. Its weights are trained in place.
   */
  scratch?: Autoencoder;
  /** Called after every epoch of every arm. */
  onEpochEnd?: (method: SemiSupervisedMethod, record: ClassifierEpoch) => void | Promise<void>;
}

/** One epoch of one arm of `compareTransfer`. Accuracies are fractions in [0, 1]. */
export interface TransferComparisonRow {
  method: SemiSupervisedMethod;
  epoch: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

/** What `compareTransfer` returns. */
export interface TransferComparison {
  /** One row per (arm, epoch), arms in the order frozen, fine-tuned, supervised. */
  rows: TransferComparisonRow[];
  /** Test accuracy after the last epoch, per arm that ran. */
  final: Partial<Record<SemiSupervisedMethod, number>>;
  /** Test accuracy per epoch, one line per arm. */
  chart: ChartSpec;
}

/**
 * Seed 000's `transfer_learning` three ways on the same labelled set, head initialisation
 * and batches: the head on the pretrained encoder frozen (`pretrained-frozen`, the seed's),
 * the pretrained encoder fine-tuned with it (`pretrained-finetuned`), and the same network
 * trained from scratch (`supervised`, with `options.scratch`). The pretrained model's
 * weights are put back after fine-tuning.
 * @param pretrained an autoencoder trained without labels
 * @param trainSet labelled examples `x [n, ...inputShape]`, `y [n]`
 * @param testSet labelled examples for the per-epoch test accuracy
 */
export async function compareTransfer(pretrained: Autoencoder, trainSet: Dataset, testSet: Dataset, options: TransferComparisonOptions = {}): Promise<TransferComparison> {
  const { scratch, onEpochEnd, ...common } = options;
  const arms: [SemiSupervisedMethod, Autoencoder, boolean][] = [
    ['pretrained-frozen', pretrained, true],
    ['pretrained-finetuned', pretrained, false],
  ];
  if (scratch) arms.push(['supervised', scratch, false]);
  const rows: TransferComparisonRow[] = [];
  const final: Partial<Record<SemiSupervisedMethod, number>> = {};
  const saved = snapshotWeights(pretrained);
  try {
    for (const [method, model, frozen] of arms) {
      const result = await transferLearning(model, trainSet, testSet, { ...common, frozen, onEpochEnd: (r) => onEpochEnd?.(method, r) });
      result.classifier.dispose();
      for (const h of result.history) rows.push({ method, epoch: h.epoch, trainAccuracy: h.trainAccuracy, testAccuracy: h.testAccuracy!, seconds: h.seconds });
      final[method] = result.testAccuracy;
    }
  } finally {
    // fine-tuning trained the pretrained encoder in place
    restoreWeights(pretrained, saved);
    tf.dispose(saved);
  }
  const chart = lineChart(
    rows.map((r) => ({ epoch: r.epoch, testAccuracy: r.testAccuracy, method: r.method })),
    { x: 'epoch', y: 'testAccuracy', color: 'method', points: true, title: `Classifier head on ${datasetSize(trainSet)} labelled examples`, yTitle: 'test accuracy' },
  );
  return { rows, final, chart };
}

/** Copies of every weight of a model (batch-norm statistics included), to put back with `restoreWeights`. */
export function snapshotWeights(model: Autoencoder): tf.Tensor[] {
  return model.weights.map((w) => tf.clone(w.read()));
}

/** Writes a `snapshotWeights` copy back into the model (the snapshot stays valid; dispose it when done). */
export function restoreWeights(model: Autoencoder, snapshot: tf.Tensor[]): void {
  model.weights.forEach((w, i) => {
    const copy = tf.clone(snapshot[i]);
    w.write(copy); // the variable now holds the data; the copy's handle can go
    copy.dispose();
  });
}

/** Number of classes of a labelled dataset: its class names, else the largest label + 1. */
export function classCount(ds: Dataset): number {
  if (ds.classNames?.length) return ds.classNames.length;
  let max = 1;
  for (const v of labelsOf(ds)) if (v > max) max = v;
  return max + 1;
}
