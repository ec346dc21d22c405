/**
 * Architecture comparison (seed 000 Part 7, `ModelComparator`; Exercise 2 and the final
 * project): reconstruction MSE, parameter count and inference time of several models on
 * the same data, as a table and charts.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger } from '../errors';
import { Dataset, datasetSize } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import type { Autoencoder } from '../models/autoencoder';
import { prod } from '../models/autoencoder';
import { ChartSpec, barChart, scatterChart } from '../viz/charts';
import { Rng } from '../random';
import { hostData } from '../data/dataset';
import { psnrOf } from './common';
import { encodeDataset } from './encode';
import { latentGeometry } from './geometry';
import { interpolate, interpolationSmoothness } from './interpolation';
import { knnLabelAgreement } from '../apps/clustering';
import { Table, withFrame } from './table';

/** One model's line of the comparison. */
export interface ComparisonRow {
  /** The name it was added under. */
  name: string;
  /** Mean over examples of the per-example MSE (the seed's `np.mean(mse_losses)`), squared pixel units. */
  mse: number;
  /** PSNR in dB of `mse` (images in [0, 1]). */
  psnr: number;
  /** Trainable parameters (`paramCount()`, as PyTorch counts them). */
  params: number;
  /** Mean wall-clock milliseconds of one forward pass of a batch, result read back included, after warm-up. */
  msPerBatch: number;
  /** Latent values per example, and input size over it. */
  latentSize: number;
  compressionRatio: number;
  /** Examples evaluated and the batch size timed. */
  examples: number;
  batchSize: number;
}

/** Options of `ModelComparator.evaluate`. */
export interface CompareOptions {
  /** Examples per timed batch (default 128, the seeds' test batch size). */
  batchSize?: number;
  /** Untimed forward passes on the first batch before timing (default 2: kernels and buffers warm up). */
  warmup?: number;
}

/**
 * Compares autoencoders on one dataset: `add` them, `evaluate` on test data, then read
 * `table()` (rows and DataFrame), `summary()` (the seed's printout) or the charts.
 *
 * ```ts
 * const cmp = new analysis.ModelComparator().add('shallow', ae).add('conv', conv);
 * await cmp.evaluate(test);
 * console.log(cmp.summary());
 * ```
 */
export class ModelComparator {
  private readonly models: { name: string; model: Autoencoder }[] = [];
  /** Results by model name, in the order the models were added. */
  readonly results = new Map<string, ComparisonRow>();

  /** Adds a model under a unique name; returns the comparator, for chaining. */
  add(name: string, model: Autoencoder): this {
    if (typeof name !== 'string' || name === '') throw new ArgumentError('name', name, 'a non-empty model name');
    if (this.models.some((m) => m.name === name)) throw new ArgumentError('name', name, 'a name not added before');
    if (!model || typeof model.forward !== 'function') throw new ArgumentError('model', model, 'an aelab autoencoder');
    this.models.push({ name, model });
    return this;
  }

  /** Names of the models added, in order. */
  get names(): string[] {
    return this.models.map((m) => m.name);
  }

  /**
   * Evaluates every model added (inference mode) on `ds`, replacing earlier results.
   * @returns the table of all results
   */
  async evaluate(ds: Dataset, options: CompareOptions = {}): Promise<Table<ComparisonRow>> {
    if (this.models.length === 0) throw new ArgumentError('models', 0, 'at least one model added with add(name, model)');
    for (const { name, model } of this.models) {
      this.results.set(name, await evaluateModel(name, model, ds, options));
      await new Promise((r) => setImmediate(r));
    }
    return this.table();
  }

  /**
   * Measures the latent space of every model added (`latentQuality`) on labelled `ds`,
   * for "which has the smoothest latent space?" (seed 000 Exercise 2).
   * @returns one row per model, in the order added
   */
  async evaluateLatent(ds: Dataset, options: LatentQualityOptions = {}): Promise<Table<LatentQualityRow>> {
    if (this.models.length === 0) throw new ArgumentError('models', 0, 'at least one model added with add(name, model)');
    const rows: LatentQualityRow[] = [];
    for (const { name, model } of this.models) {
      rows.push({ name, ...(await latentQuality(model, ds, options)) });
      await new Promise((r) => setImmediate(r));
    }
    this.latentResults = rows;
    return withFrame({ rows });
  }

  /** Rows of the last `evaluateLatent`. */
  latentResults: LatentQualityRow[] = [];

  /** One bar per model of a latent-quality column (default `smoothness`, lower is smoother). */
  latentChart(metric: 'smoothness' | 'straightness' | 'distanceCorrelation' | 'neighbourhoodPreservation' | 'labelAgreement' = 'smoothness', options: { title?: string } = {}): ChartSpec {
    if (this.latentResults.length === 0) throw new ArgumentError('latentResults', 0, 'evaluateLatent(ds) called first');
    const titles = {
      smoothness: 'interpolation: largest step / mean step (1 = even)',
      straightness: 'interpolation straightness (1 = no detour)',
      distanceCorrelation: 'pixel vs latent distance correlation',
      neighbourhoodPreservation: 'neighbourhood preservation (k = 10)',
      labelAgreement: 'share of 10 latent neighbours with the same label',
    };
    return barChart(this.latentResults as unknown as Record<string, unknown>[], { x: 'name', y: metric, title: options.title ?? `Latent space: ${titles[metric]}`, xTitle: 'model', yTitle: titles[metric] });
  }

  /** The results as a table (rows in the order the models were added). */
  table(): Table<ComparisonRow> {
    return withFrame({ rows: this.names.filter((n) => this.results.has(n)).map((n) => this.results.get(n)!) });
  }

  /** The seed's printout: Model, MSE, Params, Time(ms). */
  summary(): string {
    const lines = [`${'Model'.padEnd(25)} ${'MSE'.padStart(10)} ${'Params'.padStart(10)} ${'Time(ms)'.padStart(10)}`, '-'.repeat(58)];
    for (const r of this.table().rows) {
      lines.push(`${r.name.padEnd(25)} ${r.mse.toFixed(6).padStart(10)} ${r.params.toLocaleString('en-US').padStart(10)} ${r.msPerBatch.toFixed(2).padStart(10)}`);
    }
    return lines.join('\n');
  }

  /** One bar per model of a column (default `mse`). */
  chart(metric: 'mse' | 'psnr' | 'params' | 'msPerBatch' = 'mse', options: { title?: string; logY?: boolean } = {}): ChartSpec {
    const titles = { mse: 'MSE per value', psnr: 'PSNR (dB)', params: 'trainable parameters', msPerBatch: 'ms per batch' };
    return barChart(this.table().rows as unknown as Record<string, unknown>[], { x: 'name', y: metric, title: options.title ?? `Model comparison: ${titles[metric]}`, xTitle: 'model', yTitle: titles[metric], logY: options.logY });
  }

  /** Parameter efficiency: MSE against parameter count (log scale), one point per model. */
  efficiencyChart(options: { title?: string } = {}): ChartSpec {
    return scatterChart(this.table().rows as unknown as Record<string, unknown>[], { x: 'params', y: 'mse', color: 'name', tooltip: ['name', 'params', 'mse', 'msPerBatch'], logX: true, title: options.title ?? 'Reconstruction error against size', xTitle: 'trainable parameters (log)', yTitle: 'MSE per value', size: 120 });
  }
}

/**
 * The seed's `ModelComparator.evaluate` for one model: mean per-example MSE over `ds`,
 * parameter count and mean milliseconds per batch.
 */
export async function evaluateModel(name: string, model: Autoencoder, ds: Dataset, options: CompareOptions = {}): Promise<ComparisonRow> {
  const n = datasetSize(ds);
  if (n === 0) throw new ArgumentError('ds', ds.x, 'a dataset with at least one example');
  const batchSize = Math.min(checkInteger('batchSize', options.batchSize ?? 128, 1), n);
  const warmup = checkInteger('warmup', options.warmup ?? 2, 0);
  const parts: tf.Tensor[] = [];
  const times: number[] = [];
  for (const batch of batches(ds, { batchSize, shuffle: false })) {
    if (batch.index === 0) {
      for (let w = 0; w < warmup; w++) {
        const r = tf.tidy(() => model.forward(batch.x, false).recon);
        await r.data();
        r.dispose();
      }
    }
    const t0 = performance.now();
    const recon = tf.tidy(() => model.forward(batch.x, false).recon);
    await recon.data();
    times.push(performance.now() - t0);
    parts.push(tf.tidy(() => tf.squaredDifference(recon, batch.target.reshape(recon.shape)).reshape([batch.size, -1]).mean(1)));
    recon.dispose();
    disposeBatch(batch);
  }
  // Per-example MSE, averaged on the host in float64 after one read.
  const all = tf.concat(parts);
  const perExample = await all.data();
  tf.dispose([...parts, all]);
  let sum = 0;
  for (const e of perExample) sum += e;
  const mse = sum / n;
  return {
    name,
    mse,
    psnr: psnrOf(mse),
    params: model.paramCount(),
    msPerBatch: times.reduce((a, b) => a + b, 0) / times.length,
    latentSize: prod(model.latentShape),
    compressionRatio: model.compressionRatio,
    examples: n,
    batchSize,
  };
}

/** Options of `latentQuality`. */
export interface LatentQualityOptions {
  /** Test examples encoded for the geometry and neighbour measures (default 1000). */
  numSamples?: number;
  /** Pairs of examples of different labels interpolated (default 20). */
  pairs?: number;
  /** Steps of each interpolation, ends included (default 10). */
  steps?: number;
  /** Latent neighbours per example for `labelAgreement` (default 10). */
  k?: number;
  /** Seed of the subsets and pairs (default 0). */
  seed?: number;
}

/** How good a model's latent space is, beyond reconstruction. */
export interface LatentQuality {
  /**
   * Interpolation evenness: over `pairs` pairs of test images with different labels, the
   * mean of the largest over the mean pixel change between consecutive decoded steps
   * (1 = every step changes the image equally; larger = the path jumps somewhere).
   */
  smoothness: number;
  /** Mean over the pairs of end-to-end distance over path length in pixel space (1 = no detour). */
  straightness: number;
  /** Seed 000's geometry on `numSamples` examples: pixel/latent distance correlation and neighbourhood preservation (and chance). */
  distanceCorrelation: number;
  neighbourhoodPreservation: number;
  neighbourhoodChance: number;
  /** Share of each example's `k` nearest latent neighbours with its label (about 0.1 by chance for ten balanced classes). */
  labelAgreement: number;
  /** Examples encoded and pairs interpolated. */
  samples: number;
  pairs: number;
}

/** One model's row of `ModelComparator.evaluateLatent`. */
export interface LatentQualityRow extends LatentQuality {
  name: string;
}

/**
 * Latent-space quality of an autoencoder on labelled data (inference mode): how evenly
 * interpolations between images change the decoded image, how much of the pixel space's
 * geometry the code keeps, and how well latent neighbours share labels.
 * @param ds labelled examples (`ds.y` required)
 */
export async function latentQuality(model: Autoencoder, ds: Dataset, options: LatentQualityOptions = {}): Promise<LatentQuality> {
  if (!ds.y) throw new ArgumentError('ds.y', undefined, 'labels for every example');
  const n = datasetSize(ds);
  const numSamples = Math.min(checkInteger('numSamples', options.numSamples ?? 1000, 2), n);
  const pairCount = checkInteger('pairs', options.pairs ?? 20, 1);
  const steps = checkInteger('steps', options.steps ?? 10, 3);
  const k = Math.min(checkInteger('k', options.k ?? 10, 1), numSamples - 1);
  const seed = options.seed ?? 0;
  const codes = await encodeDataset(model, ds, { maxExamples: numSamples, seed });
  const x = tf.tidy(() => tf.gather(ds.x, Array.from(codes.indices ?? Array.from({ length: codes.n }, (_, i) => i))).reshape([codes.n, -1]));
  const g = latentGeometry(x, codes, { numSamples: codes.n, pairSamples: Math.min(500, codes.n), seed });
  x.dispose();
  const labels = codes.labels!;
  const agreement = knnLabelAgreement(codes, labels, { k }).overall;
  // Interpolations between random pairs of examples with different labels.
  const y = hostData(ds.y);
  const rng = new Rng(seed + 7);
  let ratio = 0;
  let straight = 0;
  let done = 0;
  for (let tries = 0; done < pairCount && tries < pairCount * 50; tries++) {
    const a = rng.int(n);
    const b = rng.int(n);
    if (y[a] === y[b]) continue;
    const [xa, xb] = tf.tidy(() => [ds.x.gather([a]), ds.x.gather([b])]);
    const path = interpolate(model, xa, xb, { steps });
    const s = interpolationSmoothness(path.images);
    tf.dispose([xa, xb, path.codes, path.images]);
    ratio += s.maxOverMean;
    straight += s.straightness;
    done++;
  }
  return {
    smoothness: ratio / done,
    straightness: straight / done,
    distanceCorrelation: g.distanceCorrelation,
    neighbourhoodPreservation: g.neighbourhoodPreservation,
    neighbourhoodChance: g.neighbourhoodChance,
    labelAgreement: agreement,
    samples: codes.n,
    pairs: done,
  };
}
