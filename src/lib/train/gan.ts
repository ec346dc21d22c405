/**
 * The standard non-saturating GAN loop: per batch, one discriminator step on real images
 * (label 1) and generated ones (label 0), then one generator step that asks the
 * discriminator to call its images real. Adam with beta1 = 0.5, as usual for GANs.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { checkInteger, checkNumber } from '../errors';
import { mixSeed } from '../random';
import { Dataset, datasetSize } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import type { GAN } from '../models/gan';

/** Options of `fitGan`. */
export interface GanFitOptions {
  /** Passes over the data (default 10). */
  epochs?: number;
  /** Real images per step (default 64). */
  batchSize?: number;
  /** Adam learning rate of both networks (default 2e-4). */
  lr?: number;
  /** Adam beta1 (default 0.5). */
  beta1?: number;
  /** Seed of shuffles and codes (default 1). */
  seed?: number;
  /** Called after every epoch. */
  onEpochEnd?: (record: GanEpoch) => void | Promise<void>;
}

/** One epoch of GAN training: mean losses, and the discriminator's mean belief that real and fake images are real (0..1). */
export interface GanEpoch {
  epoch: number;
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
  seconds: number;
}

/** Trains `gan` on the images of `ds`; one record per epoch. */
export async function fitGan(gan: GAN, ds: Dataset, options: GanFitOptions = {}): Promise<GanEpoch[]> {
  await initBackend();
  const epochs = checkInteger('epochs', options.epochs ?? 10, 1);
  const n = datasetSize(ds);
  const batchSize = Math.min(checkInteger('batchSize', options.batchSize ?? 64, 1), n);
  const lr = checkNumber('lr', options.lr ?? 2e-4, Number.MIN_VALUE);
  const beta1 = checkNumber('beta1', options.beta1 ?? 0.5, 0, 0.999);
  const seed = options.seed ?? 1;
  const dOpt = tf.train.adam(lr, beta1, 0.999, 1e-8);
  const gOpt = tf.train.adam(lr, beta1, 0.999, 1e-8);
  const bce = (logits: tf.Tensor, label: number) => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, label), logits) as tf.Scalar;
  const history: GanEpoch[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const t0 = performance.now();
      let sums = tf.zeros([4]);
      let steps = 0;
      for (const b of batches(ds, { batchSize, seed, epoch })) {
        const real = b.x.reshape([b.size, gan.config.imageDim]);
        const codeSeed = mixSeed(seed, epoch, b.index);
        const fake = tf.tidy(() => gan.generator.apply(tf.randomNormal([b.size, gan.config.latentDim], 0, 1, 'float32', codeSeed)) as tf.Tensor);
        const dLoss = dOpt.minimize(() => bce(gan.discriminate(real, true), 1).add(bce(gan.discriminate(fake, true), 0)) as tf.Scalar, true, gan.discriminatorWeights)!;
        const gLoss = gOpt.minimize(() => {
          const z = tf.randomNormal([b.size, gan.config.latentDim], 0, 1, 'float32', codeSeed + 1);
          return bce(gan.discriminate(gan.generator.apply(z) as tf.Tensor, true), 1);
        }, true, gan.generatorWeights)!;
        const next = tf.tidy(() => {
          const pReal = tf.sigmoid(gan.discriminate(real)).mean();
          const pFake = tf.sigmoid(gan.discriminate(fake)).mean();
          return sums.add(tf.stack([dLoss, gLoss, pReal, pFake]));
        });
        tf.dispose([sums, dLoss, gLoss, fake, real]);
        sums = next;
        disposeBatch(b);
        steps++;
        if (steps % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      const [d, g, pr, pf] = Array.from(await sums.data()).map((v) => v / steps);
      sums.dispose();
      const record = { epoch, dLoss: d, gLoss: g, dReal: pr, dFake: pf, seconds: (performance.now() - t0) / 1000 };
      history.push(record);
      await options.onEpochEnd?.(record);
    }
  } finally {
    dOpt.dispose();
    gOpt.dispose();
  }
  return history;
}
