/**
 * Every analysis and application of seeds 000 and 001 run on one trained model of the
 * study, as plain numbers (`ModelMetrics`, what `report.json` stores) plus the model's
 * pictures (PNG bytes). Each stage is timed and reported through `onStage`; a stage that
 * throws is recorded in `errors` and the others still run.
 */
import * as tf from '@tensorflow/tfjs';
import { Dataset, datasetSize, disposeDataset, hostData, labelsOf, selectRows } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import { prod } from '../models/autoencoder';
import { Rng } from '../random';
import { evaluateModel } from '../analysis/comparator';
import { imagesPng } from '../analysis/common';
import { encodeDataset, perSampleErrors, type LatentCodes } from '../analysis/encode';
import { failureModes, failureStrip } from '../analysis/failure';
import { analyzeLatentGeometry } from '../analysis/geometry';
import { classMeans, interpolate, interpolateCodes, interpolationSmoothness, interpolationStrip, meanOf, randomSamples } from '../analysis/interpolation';
import { latentProjection } from '../analysis/projection';
import { compareNoiseLevels, noiseLevelImages, reconstructionGrid } from '../analysis/reconstruction';
import { adjustedRandIndex, kmeansBest, normalizedMutualInfo, silhouetteScore } from '../apps/clustering';
import { evaluateCompression } from '../apps/compression';
import { percentile, auc as rocArea, rocCurve } from '../apps/roc';
import { transferLearning } from '../apps/transfer';
import type { StudyProfile } from './profiles';

/** The data every model of a study is trained and analysed on. */
export interface StudyData {
  /** Training images of the normal classes (what the autoencoders learn). */
  train: Dataset;
  /** Normal training images whose reconstruction errors set the anomaly threshold. */
  threshold: Dataset;
  /** Labelled training images of all classes, for the transfer-learning head. */
  labelled: Dataset;
  /** Test images of all classes (the anomalous one included). */
  test: Dataset;
  /** Test images of the normal classes only. */
  testNormal: Dataset;
  /** Class names by label. */
  classNames: string[];
  /** Classes the models are trained on, and the held-out one. */
  normalClasses: number[];
  anomalyClass: number;
}

/** Frees the tensors of `StudyData`. */
export function disposeStudyData(d: StudyData): void {
  for (const ds of [d.train, d.threshold, d.labelled, d.test, d.testNormal]) disposeDataset(ds);
}

/** Error of the models' reconstructions of noisy inputs, against the clean image. */
export interface NoiseRow {
  /** Standard deviation of the Gaussian noise (clamped to [0, 1]). */
  level: number;
  /** MSE of the noisy input itself (doing nothing). */
  noisyMse: number;
  /** MSE of the reconstruction of the noisy input against the clean image. */
  mse: number;
  /** PSNR of that reconstruction, dB. */
  psnr: number;
}

/** Every figure measured on one model (what `report.json` holds per model). */
export interface ModelMetrics {
  /** Trainable parameters, code values per image, input values over code values. */
  params: number;
  latentSize: number;
  compressionRatio: number;
  /** Reconstruction of the normal test images (inference mode): per-pixel MSE, PSNR, and speed. */
  reconstruction: { examples: number; mse: number; psnr: number; msPerBatch: number; batchSize: number };
  /** The code as a compressed file: float32 and 8-bit quantised, MSE/PSNR of the normal test images. */
  compression: { ratio: number; psnr: number; bits: number; quantizedRatio: number; quantizedPsnr: number; quantizedMse: number };
  /** Mean and standard deviation of the per-image MSE, per class of the whole test set (the held-out class included). */
  perClass: { label: number; name: string; count: number; mean: number; std: number }[];
  /** Held-out class as anomaly, per-image MSE as the score. */
  anomaly: {
    anomalyClass: number;
    auc: number;
    /** Threshold at the 95th percentile of normal training errors, and its rates on the test set. */
    threshold: number;
    tpr: number;
    fpr: number;
    meanErrorNormal: number;
    meanErrorAnomaly: number;
    /** The ROC curve, thinned to at most 200 points. */
    roc: { fpr: number[]; tpr: number[] };
  };
  /** Seed 000's geometry: distance correlation, neighbourhood preservation (and its chance level), intrinsic dimension. */
  geometry: { distanceCorrelation: number; neighbourhoodPreservation: number; neighbourhoodChance: number; neighbourhoodLift: number; intrinsicDim: number; latentDim: number; samples: number };
  /** k-means on the codes of normal test images (k = number of normal classes). */
  clustering: { k: number; points: number; silhouette: number; ari: number; nmi: number };
  /** Share of code values that are exactly zero (ReLU codes) and mean |z|. */
  code: { zeroFraction: number; meanAbs: number };
  /** Frozen encoder + seed 000's head trained on labelled images of all classes; accuracy on the whole test set. */
  transfer: { labelled: number; epochs: number; testAccuracy: number; trainAccuracy: number; accuracyByEpoch: number[] };
  /**
   * Interpolation smoothness: over `pairs` pairs of normal test images of different
   * classes, the largest step over the mean step of the decoded path (1 = perfectly even);
   * and the seed's walk between the mean codes of two classes.
   */
  interpolation: {
    pairs: number;
    maxOverMean: number;
    straightness: number;
    meanStep: number;
    classPath: { from: number; to: number; stepDistances: number[]; maxOverMean: number };
  };
  /** Noise robustness at each level. */
  noise: NoiseRow[];
  /** Latent scatter points `[x, y, label]` (t-SNE or PCA of the codes of test images of all classes). */
  projection: { method: string; points: [number, number, string][]; explainedVarianceRatio?: [number, number] };
  /** Wall-clock seconds of each analysis stage. */
  seconds: Record<string, number>;
  /** Stages that failed, with their error message (their figures are NaN or missing). */
  errors: Record<string, string>;
}

/** The pictures of one model, PNG bytes, by file name. */
export type ModelImages = Record<'reconstruction' | 'failures' | 'interpolation' | 'noise' | 'samples', Uint8Array>;

/** Names of the pictures, in report order, with their captions. */
export const IMAGE_CAPTIONS: Readonly<Record<keyof ModelImages, string>> = {
  reconstruction: 'One test image of each class (top) and its reconstruction (bottom).',
  failures: 'The ten best and the ten worst reconstructed test images (per-image MSE, all classes), above their reconstructions.',
  interpolation: 'Decoded walk between the mean codes of two classes (seed 000\'s latent interpolation).',
  noise: 'Two normal test images with Gaussian noise of growing standard deviation, and the model\'s reconstructions.',
  samples: 'Decoded random codes drawn from N(0, I) (what the code space generates away from the data).',
};

/** Noise levels of the robustness test (0.3 and 0.5 are the table's columns). */
export const NOISE_LEVELS = [0.1, 0.3, 0.5, 0.7];

/** Options of `analyzeModel`. */
export interface AnalyzeOptions {
  profile: StudyProfile;
  seed: number;
  /** Called when a stage starts (`done` undefined) and when it ends, with a short result. */
  onStage?: (stage: string, done?: { seconds: number; summary?: string; error?: string }) => void;
}

/**
 * Runs every analysis of the study on a trained model: reconstruction and speed, compression,
 * per-class errors and failure modes, anomaly detection, latent geometry, clustering, code
 * sparsity, transfer learning, interpolation, noise robustness, latent projection, samples.
 * The model is only read (transfer learning trains a separate head on its frozen encoder).
 */
export async function analyzeModel(name: string, model: Autoencoder, data: StudyData, options: AnalyzeOptions): Promise<{ metrics: ModelMetrics; images: Partial<ModelImages> }> {
  const { profile: p, seed } = options;
  const seconds: Record<string, number> = {};
  const errors: Record<string, string> = {};
  const images: Partial<ModelImages> = {};
  const m = { params: model.paramCount(), latentSize: prod(model.latentShape), compressionRatio: model.compressionRatio, seconds, errors } as ModelMetrics;
  const nan = NaN;

  async function stage<T>(stageName: string, f: () => Promise<T> | T, summary: (r: T) => string, fallback: () => void): Promise<void> {
    options.onStage?.(stageName);
    const t0 = performance.now();
    try {
      const r = await f();
      seconds[stageName] = (performance.now() - t0) / 1000;
      options.onStage?.(stageName, { seconds: seconds[stageName], summary: summary(r) });
    } catch (err) {
      seconds[stageName] = (performance.now() - t0) / 1000;
      errors[stageName] = (err as Error).message ?? String(err);
      fallback();
      options.onStage?.(stageName, { seconds: seconds[stageName], error: errors[stageName] });
    }
    await new Promise((r) => setImmediate(r));
  }

  // Reconstruction quality and inference speed (seed 000 Part 7's ModelComparator).
  await stage(
    'reconstruction',
    async () => {
      const row = await evaluateModel(name, model, data.testNormal, { batchSize: 128 });
      m.reconstruction = { examples: row.examples, mse: row.mse, psnr: row.psnr, msPerBatch: row.msPerBatch, batchSize: row.batchSize };
      images.reconstruction = onePerClassGrid(model, data);
      return m.reconstruction;
    },
    (r) => `PSNR ${r.psnr.toFixed(2)} dB, ${r.msPerBatch.toFixed(1)} ms per batch of ${r.batchSize}`,
    () => (m.reconstruction = { examples: 0, mse: nan, psnr: nan, msPerBatch: nan, batchSize: 128 }),
  );

  await stage(
    'compression',
    async () => {
      const c = await evaluateCompression(model, data.testNormal, { bits: 8 });
      m.compression = { ratio: c.ratio, psnr: c.psnr, bits: c.quantized.bits, quantizedRatio: c.quantized.ratio, quantizedPsnr: c.quantized.psnr, quantizedMse: c.quantized.mse };
      return m.compression;
    },
    (c) => `${c.ratio.toFixed(1)}x: PSNR ${c.psnr.toFixed(2)} dB; 8-bit code ${c.quantizedRatio.toFixed(0)}x: ${c.quantizedPsnr.toFixed(2)} dB`,
    () => (m.compression = { ratio: m.compressionRatio, psnr: nan, bits: 8, quantizedRatio: nan, quantizedPsnr: nan, quantizedMse: nan }),
  );

  // Per-class errors and failure modes on the whole test set; the same errors are the anomaly scores.
  let testErrors: Float32Array | undefined;
  await stage(
    'per-class errors',
    async () => {
      const fm = await failureModes(model, data.test, { numShow: 10 });
      testErrors = fm.errors;
      m.perClass = fm.rows.map((r) => ({ label: r.label, name: r.name, count: r.count, mean: r.mean, std: r.std }));
      images.failures = failureStrip(model, data.test, fm, { scale: 2 });
      return fm;
    },
    (fm) => {
      const worst = [...fm.rows].sort((a, b) => b.mean - a.mean)[0];
      return worst ? `hardest class ${worst.name} (MSE ${worst.mean.toFixed(4)})` : 'no labels';
    },
    () => (m.perClass = []),
  );

  await stage(
    'anomaly detection',
    async () => {
      const scores = testErrors ?? (await perSampleErrors(model, data.test));
      const labels = labelsOf(data.test);
      const isAnomaly = Uint8Array.from(labels, (l) => (l === data.anomalyClass ? 1 : 0));
      const normalErrors = await perSampleErrors(model, data.threshold);
      const threshold = percentile(normalErrors, 95);
      const curve = rocCurve(scores, isAnomaly);
      let tp = 0;
      let fp = 0;
      let sumA = 0;
      let sumN = 0;
      for (let i = 0; i < scores.length; i++) {
        if (isAnomaly[i]) sumA += scores[i];
        else sumN += scores[i];
        if (scores[i] > threshold) {
          if (isAnomaly[i]) tp++;
          else fp++;
        }
      }
      const positives = curve.positives;
      const negatives = curve.negatives;
      m.anomaly = {
        anomalyClass: data.anomalyClass,
        auc: rocArea(curve),
        threshold,
        tpr: tp / positives,
        fpr: fp / negatives,
        meanErrorNormal: sumN / negatives,
        meanErrorAnomaly: sumA / positives,
        roc: thinCurve(curve.fpr, curve.tpr, 200),
      };
      return m.anomaly;
    },
    (a) => `AUC ${a.auc.toFixed(3)}; at the 95th percentile threshold TPR ${a.tpr.toFixed(2)}, FPR ${a.fpr.toFixed(2)}`,
    () => (m.anomaly = { anomalyClass: data.anomalyClass, auc: nan, threshold: nan, tpr: nan, fpr: nan, meanErrorNormal: nan, meanErrorAnomaly: nan, roc: { fpr: [], tpr: [] } }),
  );

  await stage(
    'latent geometry',
    async () => {
      const g = await analyzeLatentGeometry(model, data.testNormal, { numSamples: p.geometrySamples, pairSamples: p.geometryPairs, seed });
      m.geometry = {
        distanceCorrelation: g.distanceCorrelation,
        neighbourhoodPreservation: g.neighbourhoodPreservation,
        neighbourhoodChance: g.neighbourhoodChance,
        neighbourhoodLift: g.neighbourhoodLift,
        intrinsicDim: g.intrinsicDim,
        latentDim: g.latentDim,
        samples: g.samples,
      };
      return m.geometry;
    },
    (g) => `distance correlation ${g.distanceCorrelation.toFixed(3)}, neighbourhoods ${g.neighbourhoodPreservation.toFixed(3)}, intrinsic dimension ${g.intrinsicDim}/${g.latentDim}`,
    () => (m.geometry = { distanceCorrelation: nan, neighbourhoodPreservation: nan, neighbourhoodChance: nan, neighbourhoodLift: nan, intrinsicDim: nan, latentDim: m.latentSize, samples: 0 }),
  );

  // Codes of normal test images: clustering, code sparsity and the class-mean walk.
  let codes: LatentCodes | undefined;
  await stage(
    'clustering',
    async () => {
      codes = await encodeDataset(model, data.testNormal, { maxExamples: p.clusterPoints, seed });
      m.code = codeStats(codes.codes);
      const points = { data: codes.codes, rows: codes.n };
      const k = data.normalClasses.length;
      const km = await kmeansBest(points, k, { restarts: p.kmeansRestarts, seed });
      const silhouette = await silhouetteScore(points, km.labels);
      m.clustering = { k, points: codes.n, silhouette, ari: adjustedRandIndex(codes.labels!, km.labels), nmi: normalizedMutualInfo(codes.labels!, km.labels) };
      return m.clustering;
    },
    (c) => `silhouette ${c.silhouette.toFixed(3)}, ARI ${c.ari.toFixed(3)}, NMI ${c.nmi.toFixed(3)} (k = ${c.k}, ${c.points} codes)`,
    () => {
      m.clustering = { k: data.normalClasses.length, points: 0, silhouette: nan, ari: nan, nmi: nan };
      m.code ??= { zeroFraction: nan, meanAbs: nan };
    },
  );

  await stage(
    'transfer learning',
    async () => {
      const r = await transferLearning(model, data.labelled, data.test, { epochs: p.transferEpochs, seed, classes: data.classNames.length });
      r.classifier.dispose();
      const last = r.history.at(-1)!;
      m.transfer = { labelled: datasetSize(data.labelled), epochs: p.transferEpochs, testAccuracy: r.testAccuracy, trainAccuracy: last.trainAccuracy, accuracyByEpoch: r.history.map((h) => h.testAccuracy ?? nan) };
      return m.transfer;
    },
    (t) => `test accuracy ${(100 * t.testAccuracy).toFixed(1)}% (frozen encoder, ${t.labelled} labelled images)`,
    () => (m.transfer = { labelled: datasetSize(data.labelled), epochs: p.transferEpochs, testAccuracy: nan, trainAccuracy: nan, accuracyByEpoch: [] }),
  );

  await stage(
    'interpolation',
    async () => {
      const pairs = imagePairs(data.testNormal, p.interpolationPairs, seed);
      let sumRatio = 0;
      let sumStraight = 0;
      let sumStep = 0;
      for (const [a, b] of pairs) {
        const [xa, xb] = tf.tidy(() => [data.testNormal.x.gather([a]), data.testNormal.x.gather([b])]);
        const path = interpolate(model, xa, xb, { steps: 10 });
        const s = interpolationSmoothness(path.images);
        tf.dispose([xa, xb, path.codes, path.images]);
        sumRatio += s.maxOverMean;
        sumStraight += s.straightness;
        sumStep += s.meanStep;
      }
      // Seed 000's walk between the mean codes of classes 0 and 8 (the first and the last normal class otherwise).
      const means = classMeans(codes ?? (await encodeDataset(model, data.testNormal, { maxExamples: p.clusterPoints, seed })));
      const from = means.some((c) => c.label === 0) ? 0 : means[0].label;
      const to = means.some((c) => c.label === 8) ? 8 : means[means.length - 1].label;
      const walk = interpolateCodes(model, meanOf(means, from), meanOf(means, to), { steps: 10 });
      const ws = interpolationSmoothness(walk.images);
      images.interpolation = interpolationStrip([{ label: `${data.classNames[from]} to ${data.classNames[to]}`, interpolation: walk }], { scale: 2 });
      tf.dispose([walk.codes, walk.images]);
      m.interpolation = {
        pairs: pairs.length,
        maxOverMean: sumRatio / pairs.length,
        straightness: sumStraight / pairs.length,
        meanStep: sumStep / pairs.length,
        classPath: { from, to, stepDistances: ws.stepDistances, maxOverMean: ws.maxOverMean },
      };
      return m.interpolation;
    },
    (i) => `max/mean step ${i.maxOverMean.toFixed(2)} over ${i.pairs} pairs (1 = perfectly even)`,
    () => (m.interpolation = { pairs: 0, maxOverMean: nan, straightness: nan, meanStep: nan, classPath: { from: 0, to: 0, stepDistances: [], maxOverMean: nan } }),
  );

  await stage(
    'noise robustness',
    async () => {
      const t = await compareNoiseLevels(model, data.testNormal, NOISE_LEVELS, { seed });
      m.noise = t.rows.map((r) => ({ level: r.level, noisyMse: r.noisyMse, mse: r.denoisedMse, psnr: r.denoisedPsnr }));
      const x = tf.tidy(() => data.testNormal.x.slice(0, Math.min(2, datasetSize(data.testNormal))));
      const pic = noiseLevelImages(model, x, [0, ...NOISE_LEVELS], { seed, scale: 2 });
      images.noise = pic.png;
      tf.dispose([x, pic.noisy, pic.denoised]);
      return m.noise;
    },
    (rows) => rows.filter((r) => r.level === 0.3 || r.level === 0.5).map((r) => `MSE at ${r.level}: ${r.mse.toFixed(4)}`).join(', '),
    () => (m.noise = NOISE_LEVELS.map((level) => ({ level, noisyMse: nan, mse: nan, psnr: nan }))),
  );

  await stage(
    'latent projection',
    async () => {
      const c = await encodeDataset(model, data.test, { maxExamples: p.projectionPoints, seed });
      const method = c.d === 2 ? 'direct' : p.projection;
      const proj = await latentProjection(c, { method, seed, maxPoints: p.projectionPoints });
      m.projection = { method: proj.method, points: proj.rows.map((r) => [round(r.x), round(r.y), r.label]) };
      if (proj.explainedVarianceRatio) m.projection.explainedVarianceRatio = proj.explainedVarianceRatio;
      const samples = randomSamples(model, { n: 16, seed });
      images.samples = imagesPng(samples, { nrow: 16, scale: 2, padding: 2, padValue: 1 });
      samples.dispose();
      return m.projection;
    },
    (pr) => `${pr.method}, ${pr.points.length} points`,
    () => (m.projection = { method: p.projection, points: [] }),
  );

  return { metrics: m, images };
}

/** The first test image of each class above its reconstruction, captioned with the class names. */
function onePerClassGrid(model: Autoencoder, data: StudyData): Uint8Array {
  const labels = labelsOf(data.test);
  const idx: number[] = [];
  const names: string[] = [];
  for (let c = 0; c < data.classNames.length; c++) {
    const i = labels.indexOf(c);
    if (i >= 0) {
      idx.push(i);
      names.push(c === data.anomalyClass ? `${shortName(data.classNames[c])}*` : shortName(data.classNames[c]));
    }
  }
  const sub = selectRows(data.test, idx);
  try {
    const grid = reconstructionGrid(model, sub.x, { n: idx.length, scale: 2, columnLabels: names });
    grid.images.dispose();
    return grid.png;
  } finally {
    disposeDataset(sub);
  }
}

/** A class name short enough for a column label (Fashion-MNIST's `T-shirt/top` -> `T-shirt`). */
function shortName(name: string): string {
  return name.split('/')[0].slice(0, 8);
}

/** `count` seeded pairs of rows of `ds` whose labels differ. */
function imagePairs(ds: Dataset, count: number, seed: number): [number, number][] {
  const labels = hostData(ds.y!);
  const n = datasetSize(ds);
  const rng = new Rng(seed + 7);
  const pairs: [number, number][] = [];
  for (let tries = 0; pairs.length < count && tries < count * 50; tries++) {
    const a = rng.int(n);
    const b = rng.int(n);
    if (labels[a] !== labels[b]) pairs.push([a, b]);
  }
  if (pairs.length === 0) pairs.push([0, Math.min(1, n - 1)]);
  return pairs;
}

/** Share of code values that are exactly zero, and the mean absolute value. */
function codeStats(codes: Float32Array): { zeroFraction: number; meanAbs: number } {
  let zeros = 0;
  let abs = 0;
  for (const v of codes) {
    if (v === 0) zeros++;
    abs += Math.abs(v);
  }
  return { zeroFraction: zeros / codes.length, meanAbs: abs / codes.length };
}

/** At most `max` points of a curve (the ends kept), evenly spaced by index. */
export function thinCurve(fpr: number[], tpr: number[], max: number): { fpr: number[]; tpr: number[] } {
  if (fpr.length <= max) return { fpr: fpr.map(round), tpr: tpr.map(round) };
  const out = { fpr: [] as number[], tpr: [] as number[] };
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (fpr.length - 1)) / (max - 1));
    out.fpr.push(round(fpr[i]));
    out.tpr.push(round(tpr[i]));
  }
  return out;
}

/** Five significant digits: enough for a chart, small in JSON. */
function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(5)) : v;
}
