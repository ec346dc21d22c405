/**
 * The standard non-saturating GAN loop: per batch, one discriminator step on real images
 * (label 1) and generated ones (label 0), then one (or `generatorSteps`) generator step
 * that asks the discriminator to call its images real. Adam with beta1 = 0.5, as usual for
 * GANs. Also `sampleDiversity`: how many kinds of image a generator produces (seed 004
 * Q8, mode collapse).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { mixSeed } from '../random';
import { Dataset, datasetSize } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import type { GAN } from '../models/gan';
import { pairwiseDistances } from '../analysis/distances';

/** Options of `fitGan`. */
export interface GanFitOptions {
  /** Passes over the data (default 10). */
  epochs?: number;
  /** Real images per step (default 64). */
  batchSize?: number;
  /** Adam learning rate of both networks (default 2e-4). */
  lr?: number;
  /** Adam learning rate of the generator when it should differ from the discriminator's (default `lr`). */
  generatorLr?: number;
  /** Adam beta1 (default 0.5). */
  beta1?: number;
  /**
   * Generator updates per discriminator update (default 1). More lets the generator chase
   * the current discriminator's weak spot: a classic way into mode collapse.
   */
  generatorSteps?: number;
  /** Seed of shuffles and codes (default 1). */
  seed?: number;
  /** Called after every epoch. */
  onEpochEnd?: (record: GanEpoch) => void | Promise<void>;
}

/**
 * One epoch of GAN training: mean losses (sigmoid cross-entropy in nats: the discriminator's
 * on real plus fake, the generator's on fake labelled real), the discriminator's mean belief
 * that real and fake images are real (0..1), and the losses of every step.
 */
export interface GanEpoch {
  epoch: number;
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
  /** Per step of the epoch: the discriminator's loss and the (last) generator loss. */
  dSteps: number[];
  gSteps: number[];
  seconds: number;
}

/** Trains `gan` on the images of `ds`; one record per epoch. */
export async function fitGan(gan: GAN, ds: Dataset, options: GanFitOptions = {}): Promise<GanEpoch[]> {
  await initBackend();
  const epochs = checkInteger('epochs', options.epochs ?? 10, 1);
  const n = datasetSize(ds);
  const batchSize = Math.min(checkInteger('batchSize', options.batchSize ?? 64, 1), n);
  const lr = checkNumber('lr', options.lr ?? 2e-4, Number.MIN_VALUE);
  const gLr = checkNumber('generatorLr', options.generatorLr ?? lr, Number.MIN_VALUE);
  const beta1 = checkNumber('beta1', options.beta1 ?? 0.5, 0, 0.999);
  const gSteps = checkInteger('generatorSteps', options.generatorSteps ?? 1, 1);
  const seed = options.seed ?? 1;
  const dOpt = tf.train.adam(lr, beta1, 0.999, 1e-8);
  const gOpt = tf.train.adam(gLr, beta1, 0.999, 1e-8);
  const bce = (logits: tf.Tensor, label: number) => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, label), logits) as tf.Scalar;
  const history: GanEpoch[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const t0 = performance.now();
      // Per-step [dLoss, gLoss, pReal, pFake] stay on the device until the epoch ends: one read per epoch.
      const steps: tf.Tensor[] = [];
      for (const b of batches(ds, { batchSize, seed, epoch })) {
        const real = b.x.reshape([b.size, gan.config.imageDim]);
        const codeSeed = mixSeed(seed, epoch, b.index);
        const fake = tf.tidy(() => gan.generator.apply(tf.randomNormal([b.size, gan.config.latentDim], 0, 1, 'float32', codeSeed)) as tf.Tensor);
        const dLoss = dOpt.minimize(() => bce(gan.discriminate(real, true), 1).add(bce(gan.discriminate(fake, true), 0)) as tf.Scalar, true, gan.discriminatorWeights)!;
        let gLoss: tf.Scalar | undefined;
        for (let k = 0; k < gSteps; k++) {
          gLoss?.dispose();
          gLoss = gOpt.minimize(() => {
            const z = tf.randomNormal([b.size, gan.config.latentDim], 0, 1, 'float32', codeSeed + 1 + k);
            return bce(gan.discriminate(gan.generator.apply(z) as tf.Tensor, true), 1);
          }, true, gan.generatorWeights)!;
        }
        steps.push(
          tf.tidy(() => {
            const pReal = tf.sigmoid(gan.discriminate(real)).mean();
            const pFake = tf.sigmoid(gan.discriminate(fake)).mean();
            return tf.stack([dLoss, gLoss!, pReal, pFake]);
          }),
        );
        tf.dispose([dLoss, gLoss!, fake, real]);
        disposeBatch(b);
        if (steps.length % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      const all = tf.stack(steps);
      const v = await all.data();
      tf.dispose([all, ...steps]);
      const k = steps.length;
      const col = (j: number) => Array.from({ length: k }, (_, i) => v[4 * i + j]);
      const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
      const dSteps = col(0);
      const gStepsLoss = col(1);
      const record: GanEpoch = { epoch, dLoss: mean(dSteps), gLoss: mean(gStepsLoss), dReal: mean(col(2)), dFake: mean(col(3)), dSteps, gSteps: gStepsLoss, seconds: (performance.now() - t0) / 1000 };
      history.push(record);
      await options.onEpochEnd?.(record);
    }
  } finally {
    dOpt.dispose();
    gOpt.dispose();
  }
  return history;
}

/** How varied a set of generated (or real) images is. */
export interface SampleDiversity {
  /** Images measured. */
  n: number;
  /** Images per predicted class, `[classes]`. */
  classCounts: number[];
  /** Classes predicted for at least `minShare` of the images (default 2%): the modes covered. */
  classesCovered: number;
  /** Share of the images in the most frequent class (0.1 for balanced digits, 1 for total collapse). */
  topClassShare: number;
  /** Entropy of the predicted-class distribution in bits (log2 10 = 3.32 for balanced digits, 0 for one class). */
  classEntropy: number;
  /** Mean probability the classifier gives its predicted class (NaN when `classify` returns labels, not logits): low for images that look like no digit. */
  meanConfidence: number;
  /** Mean Euclidean distance between two different images (pixel units, 784 values each); near 0 when every sample is the same. */
  meanPairwiseDistance: number;
}

/**
 * Diversity of images `[n, 784]` (or `[n, 28, 28, 1]`) in [0, 1] (seed 004 Q8: mode
 * collapse): the classes a digit classifier assigns them and the mean pixel distance
 * between them. Compare with the same measures on real images.
 * @param classify returns class logits `[n, classes]` (e.g. `(x) => clf.logits(x)` of an
 *   `EncoderClassifier`) or predicted classes `[n]` for a batch of images
 */
export function sampleDiversity(images: tf.Tensor, classify: (x: tf.Tensor) => tf.Tensor, options: { classes?: number; minShare?: number; maxPairs?: number } = {}): SampleDiversity {
  const n = images.shape[0];
  if (n < 2) throw new ArgumentError('images', images.shape, 'at least two images');
  const classes = checkInteger('classes', options.classes ?? 10, 2);
  const minShare = checkNumber('minShare', options.minShare ?? 0.02, 0, 1);
  const maxPairs = checkInteger('maxPairs', options.maxPairs ?? 1000, 2);
  const [pred, conf] = tf.tidy(() => {
    const out = classify(images);
    if (out.rank === 2) return [out.argMax(-1), tf.softmax(out).max(-1).mean()];
    return [out, tf.scalar(NaN)];
  });
  const labels = pred.dataSync();
  const meanConfidence = conf.dataSync()[0];
  tf.dispose([pred, conf]);
  const classCounts = new Array(classes).fill(0);
  for (const c of labels) if (c >= 0 && c < classes) classCounts[c]++;
  const shares = classCounts.map((c) => c / n);
  const classEntropy = shares.reduce((s, p) => (p > 0 ? s - p * Math.log2(p) : s), 0);
  // Distances over at most maxPairs images (the first ones: codes are already random).
  const m = Math.min(n, maxPairs);
  const flat = tf.tidy(() => images.slice(0, m).reshape([m, -1]));
  const d = pairwiseDistances({ codes: flat.dataSync() as Float32Array, n: m, d: flat.shape[1]! });
  flat.dispose();
  let sum = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) sum += d[i * m + j];
  return {
    n,
    classCounts,
    classesCovered: shares.filter((s) => s >= minShare && s > 0).length,
    topClassShare: Math.max(...shares),
    classEntropy,
    meanConfidence,
    meanPairwiseDistance: sum / ((m * (m - 1)) / 2),
  };
}
