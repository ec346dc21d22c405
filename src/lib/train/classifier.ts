/**
 * Training a classifier on an encoder (transfer and semi-supervised learning, seed 000
 * `transfer_learning`): cross-entropy, Adam, seeded shuffles; accuracy per epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Dataset, datasetSize } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import type { EncoderClassifier } from '../models/classifier';

/** Options of `fitClassifier`. */
export interface ClassifierFitOptions {
  /** Passes over the labelled set (default 5). */
  epochs?: number;
  /** Examples per step (default 64, capped at the set size). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the shuffles (default 1). */
  seed?: number;
  /** Accuracy on this set is recorded after every epoch. */
  testData?: Dataset;
  /** Called after every epoch. */
  onEpochEnd?: (record: ClassifierEpoch) => void | Promise<void>;
}

/** One epoch of classifier training; accuracies are fractions in [0, 1]. */
export interface ClassifierEpoch {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy?: number;
  seconds: number;
}

/** Trains `clf` on labelled data; returns one record per epoch. */
export async function fitClassifier(clf: EncoderClassifier, trainSet: Dataset, options: ClassifierFitOptions = {}): Promise<ClassifierEpoch[]> {
  await initBackend();
  if (!trainSet.y) throw new ArgumentError('trainSet.y', undefined, 'labels for every training example');
  const n = datasetSize(trainSet);
  const epochs = checkInteger('epochs', options.epochs ?? 5, 1);
  const batchSize = Math.min(checkInteger('batchSize', options.batchSize ?? 64, 1), n);
  const lr = checkNumber('lr', options.lr ?? 1e-3, Number.MIN_VALUE);
  const classes = clf.config.classes;
  const optimizer = tf.train.adam(lr);
  const history: ClassifierEpoch[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const t0 = performance.now();
      let lossSum = tf.scalar(0);
      let correct = tf.scalar(0, 'int32');
      for (const b of batches(trainSet, { batchSize, seed: options.seed ?? 1, epoch })) {
        const y = b.y!;
        const loss = optimizer.minimize(() => {
          const logits = clf.logits(b.x, true);
          return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), logits) as tf.Scalar;
        }, true, clf.trainableWeights) as tf.Scalar;
        const [l2, c2] = tf.tidy(() => [lossSum.add(loss.mul(b.size)), correct.add(clf.predict(b.x).equal(y).sum())]);
        tf.dispose([lossSum, correct, loss]);
        [lossSum, correct] = [l2 as tf.Scalar, c2 as tf.Scalar];
        disposeBatch(b);
      }
      const record: ClassifierEpoch = {
        epoch,
        trainLoss: (await lossSum.data())[0] / n,
        trainAccuracy: (await correct.data())[0] / n,
        seconds: 0,
      };
      tf.dispose([lossSum, correct]);
      if (options.testData) record.testAccuracy = await accuracy(clf, options.testData);
      record.seconds = (performance.now() - t0) / 1000;
      history.push(record);
      await options.onEpochEnd?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}

/** Fraction of `ds`'s examples that `clf` classifies correctly. */
export async function accuracy(clf: EncoderClassifier, ds: Dataset, batchSize = 1000): Promise<number> {
  if (!ds.y) throw new ArgumentError('ds.y', undefined, 'labels for every example');
  const n = datasetSize(ds);
  let correct = 0;
  for (const b of batches(ds, { batchSize: Math.min(batchSize, n), shuffle: false })) {
    const c = tf.tidy(() => clf.predict(b.x).equal(b.y!).sum());
    correct += (await c.data())[0];
    c.dispose();
    disposeBatch(b);
  }
  return correct / n;
}
