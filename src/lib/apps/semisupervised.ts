/**
 * Semi-supervised learning (seed 000 Exercise 4, seed 004 Q2): pretrain an autoencoder on
 * every image without labels, then train a classifier on its encoder from a few labels,
 * against the same architecture trained on the labels alone.
 */
import * as tf from '@tensorflow/tfjs';
// Type-only: erased from the output; danfojs is loaded only when a table is asked for.
import type * as Danfo from 'danfojs-node';
import { initBackend } from '../backend';
import { loadDanfo } from '../danfo';
import { ArgumentError, checkInteger } from '../errors';
import { Rng } from '../random';
import { Dataset, datasetSize, disposeDataset, labelsOf, selectRows } from '../data/dataset';
import { loadMnist } from '../data/mnist';
import type { Autoencoder } from '../models/autoencoder';
import { AE } from '../models/ae';
import { EncoderClassifier } from '../models/classifier';
import { fit, type History } from '../train/fit';
import type { LossName } from '../train/losses';
import { accuracy, fitClassifier } from '../train/classifier';
import { ChartSpec, lineChart } from '../viz/charts';
import { classCount, restoreWeights, snapshotWeights } from './transfer';

/**
 * `n` row indices of `ds`, as equal a share of every class as the data allows (classes too
 * small to fill their share give their remainder to the others), drawn without replacement
 * with a seeded shuffle, returned in a shuffled order.
 * @param ds labelled dataset (`y [rows]`)
 * @param n examples wanted, 1..rows
 */
export function balancedIndices(ds: Dataset, n: number, seed = 1): Int32Array {
  const labels = labelsOf(ds, 'balancedIndices dataset');
  checkInteger('n', n, 1, labels.length);
  const rng = new Rng(seed);
  const byClass = new Map<number, number[]>();
  for (const i of rng.permutation(labels.length)) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const quota = new Map(classes.map((c) => [c, 0]));
  let left = n;
  // Water-filling: hand out equal shares to classes that still have rows; a random order
  // decides which classes get the one-extra remainder.
  while (left > 0) {
    const open = classes.filter((c) => quota.get(c)! < byClass.get(c)!.length);
    const share = Math.floor(left / open.length);
    if (share === 0) {
      for (const c of rng.shuffle([...open]).slice(0, left)) quota.set(c, quota.get(c)! + 1);
      left = 0;
      break;
    }
    for (const c of open) {
      const add = Math.min(share, byClass.get(c)!.length - quota.get(c)!);
      quota.set(c, quota.get(c)! + add);
      left -= add;
    }
  }
  const picked = classes.flatMap((c) => byClass.get(c)!.slice(0, quota.get(c)!));
  return rng.shuffle(Int32Array.from(picked));
}

/** `balancedIndices` as a new dataset (the caller disposes it). */
export function balancedSubset(ds: Dataset, n: number, seed = 1): Dataset {
  return selectRows(ds, balancedIndices(ds, n, seed));
}

/** The classifiers compared: head on the pretrained encoder, frozen or fine-tuned; or the same network from its initial weights. */
export type SemiSupervisedMethod = 'pretrained-frozen' | 'pretrained-finetuned' | 'supervised';

/** Options of `semiSupervisedStudy`. */
export interface SemiSupervisedOptions {
  /** Labelled training examples per run (default 100, 500, 1,000, 5,000, as the exercise). */
  labelCounts?: number[];
  /** Unlabelled images to pretrain on (default 60,000: all of MNIST's training split). */
  pretrainSize?: number;
  /** Test images (default 10,000). */
  testSize?: number;
  /** Autoencoder pretraining epochs (default 10). */
  pretrainEpochs?: number;
  /** Pretraining loss (default `bce`), learning rate (default 1e-3) and batch size (default 128). */
  pretrainLoss?: LossName;
  pretrainLr?: number;
  pretrainBatchSize?: number;
  /**
   * Classifier epochs for a labelled set of `n` examples (default: enough for about 300
   * optimizer steps, at least 5 and at most 200 epochs).
   */
  classifierEpochs?: number | ((n: number) => number);
  /** Classifier batch size (default 64) and learning rate (default 1e-3). */
  batchSize?: number;
  lr?: number;
  /**
   * Classifier runs per (label count, method) (default 1). Run `r` draws its own balanced
   * subset and head initialisation (the subset of run 0 is the one drawn without repeats);
   * the table and chart show the mean, and the table the standard deviation as well.
   */
  repeats?: number;
  /** Methods to compare (default all three). */
  methods?: SemiSupervisedMethod[];
  /**
   * The autoencoder, untrained (default `new AE({ seed })`: 784-400-20). Its initial weights
   * are what the supervised-only baseline starts from, so both arms share architecture and
   * initialisation; only the pretraining differs.
   */
  model?: Autoencoder;
  /** Seed of the data, the subsets, the weights and the shuffles (default 1). */
  seed?: number;
  /** Build the danfojs DataFrame of the table (default true; loading danfojs takes a second or two). */
  dataFrame?: boolean;
  /** Progress: called after pretraining epochs and after each classifier run. */
  onProgress?: (event: { stage: 'pretrain'; epoch: number; loss: number } | { stage: 'classifier'; row: SemiSupervisedRow }) => void;
}

/** One classifier run. Accuracies are fractions in [0, 1]. */
export interface SemiSupervisedRow {
  /** Labelled examples it was trained on. */
  labels: number;
  method: SemiSupervisedMethod;
  /** Which of the `repeats` runs (0-based). */
  repeat: number;
  /** Accuracy on its labelled set (during the last epoch) and on the test set after training. */
  trainAccuracy: number;
  testAccuracy: number;
  /** Epochs it trained. */
  epochs: number;
  /** Wall-clock seconds of its training. */
  seconds: number;
}

/** What `semiSupervisedStudy` returns. */
export interface SemiSupervisedResult {
  /** One row per (label count, repeat, method), in that order. */
  rows: SemiSupervisedRow[];
  /**
   * The test accuracies as a wide table: one row per label count, one column per method
   * (the mean over the repeats), plus `gain` (fine-tuned minus supervised); with repeats, also
   * `<method> sd`, the sample standard deviation of the runs.
   */
  table: Record<string, number>[];
  /** `table` as a danfojs DataFrame (`.print()` it), unless `dataFrame: false`. */
  dataFrame?: Danfo.DataFrame;
  /** Pretraining history. */
  pretrainHistory: History;
  /** The pretrained autoencoder (its weights as pretrained; the caller disposes it). */
  model: Autoencoder;
  /** Test accuracy (mean over the repeats) against labelled examples (log x), one line per method. */
  chart: ChartSpec;
}

/** Default classifier epochs: about 300 steps, between 5 and 200 epochs. */
function defaultEpochs(n: number, batchSize: number): number {
  return Math.min(200, Math.max(5, Math.ceil(300 / Math.ceil(n / batchSize))));
}

/**
 * Seed 000 Exercise 4: (a) pretrain an autoencoder on MNIST images without labels, (b) train
 * the classifier (seed 000's head) on class-balanced labelled subsets of 100, 500, 1,000 and
 * 5,000 images, on the pretrained encoder (frozen and fine-tuned), (c) compare with the same
 * encoder + head trained from the same initial weights on the labels alone.
 */
export async function semiSupervisedStudy(options: SemiSupervisedOptions = {}): Promise<SemiSupervisedResult> {
  await initBackend();
  const seed = checkInteger('seed', options.seed ?? 1);
  const counts = options.labelCounts ?? [100, 500, 1000, 5000];
  counts.forEach((c) => checkInteger('labelCounts', c, 1));
  const methods = options.methods ?? ['pretrained-frozen', 'pretrained-finetuned', 'supervised'];
  const known: SemiSupervisedMethod[] = ['pretrained-frozen', 'pretrained-finetuned', 'supervised'];
  if (methods.length === 0 || methods.some((m) => !known.includes(m))) throw new ArgumentError('methods', methods, `a non-empty list of ${known.join(', ')}`);
  const batchSize = checkInteger('batchSize', options.batchSize ?? 64, 1);
  const repeats = checkInteger('repeats', options.repeats ?? 1, 1);
  const { train, test } = await loadMnist({ trainSize: options.pretrainSize ?? 60000, testSize: options.testSize ?? 10000, seed });
  const model = options.model ?? new AE({ seed });
  const initial = snapshotWeights(model);
  let pretrained: tf.Tensor[] = [];
  try {
    if (Math.max(...counts) > datasetSize(train)) throw new ArgumentError('labelCounts', counts, `at most the ${datasetSize(train)} training images`);
    // (a) unsupervised pretraining: the images only
    const pretrainHistory = await fit(model, { x: train.x }, {
      epochs: checkInteger('pretrainEpochs', options.pretrainEpochs ?? 10, 1),
      loss: options.pretrainLoss ?? 'bce',
      lr: options.pretrainLr ?? 1e-3,
      batchSize: options.pretrainBatchSize ?? 128,
      seed,
      onEpochEnd: (r) => options.onProgress?.({ stage: 'pretrain', epoch: r.epoch, loss: r.trainLoss }),
    });
    pretrained = snapshotWeights(model);
    const classes = classCount(train);
    const rows: SemiSupervisedRow[] = [];
    // (b) and (c): each run starts from its own copy of the weights
    for (const n of counts) {
      const epochs = typeof options.classifierEpochs === 'function' ? options.classifierEpochs(n) : (options.classifierEpochs ?? defaultEpochs(n, Math.min(batchSize, n)));
      checkInteger('classifierEpochs', epochs, 1);
      for (let repeat = 0; repeat < repeats; repeat++) {
        // run 0 keeps the subset drawn without repeats; later runs mix in a large odd step
        const labelled = balancedSubset(train, n, seed + n + 7919 * repeat);
        try {
          for (const method of methods) {
            restoreWeights(model, method === 'supervised' ? initial : pretrained);
            const clf = new EncoderClassifier(model, { classes, frozen: method === 'pretrained-frozen', seed: seed + repeat });
            try {
              const t0 = performance.now();
              const history = await fitClassifier(clf, labelled, { epochs, batchSize, lr: options.lr ?? 1e-3, seed: seed + repeat });
              const row: SemiSupervisedRow = {
                labels: n,
                method,
                repeat,
                trainAccuracy: history.at(-1)!.trainAccuracy,
                testAccuracy: await accuracy(clf, test),
                epochs,
                seconds: (performance.now() - t0) / 1000,
              };
              rows.push(row);
              options.onProgress?.({ stage: 'classifier', row });
            } finally {
              clf.dispose();
            }
          }
        } finally {
          disposeDataset(labelled);
        }
      }
    }
    restoreWeights(model, pretrained);
    const runs = (n: number, m: SemiSupervisedMethod) => rows.filter((x) => x.labels === n && x.method === m).map((x) => x.testAccuracy);
    const table = counts.map((n) => {
      const r: Record<string, number> = { labels: n };
      for (const m of methods) r[m] = mean(runs(n, m));
      if (methods.includes('pretrained-finetuned') && methods.includes('supervised')) r.gain = r['pretrained-finetuned'] - r.supervised;
      if (repeats > 1) for (const m of methods) r[`${m} sd`] = sampleStd(runs(n, m));
      return r;
    });
    let dataFrame: Danfo.DataFrame | undefined;
    if (options.dataFrame !== false) {
      dataFrame = new (loadDanfo().DataFrame)(table);
    }
    const chart = lineChart(
      counts.flatMap((n) => methods.map((m) => ({ labels: n, testAccuracy: mean(runs(n, m)), method: m }))),
      { x: 'labels', y: 'testAccuracy', color: 'method', points: true, logX: true, title: 'Semi-supervised: test accuracy vs labelled examples', xTitle: 'labelled training examples', yTitle: 'test accuracy' },
    );
    return { rows, table, dataFrame, pretrainHistory, model, chart };
  } catch (err) {
    if (!options.model) model.dispose();
    throw err;
  } finally {
    tf.dispose([...initial, ...pretrained]);
    disposeDataset(train);
    disposeDataset(test);
  }
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Standard deviation with the `n - 1` divisor (0 for a single value). */
function sampleStd(v: number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}
