/**
 * Latent space geometry (seed 000, `analyze_latent_geometry`): how well the encoder keeps
 * the distances and neighbourhoods of the input space, and how many dimensions of the code
 * the data really uses.
 */
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Dataset, datasetSize, disposeDataset, selectRows } from '../data/dataset';
import type { Autoencoder } from '../models/autoencoder';
import { Rng } from '../random';
import { ChartSpec, barChart, lineChart } from '../viz/charts';
import { Points, sampleIndices, selectPoints, toPointSet } from './common';
import { encodeDataset } from './encode';
import { neighbourhoodChance, neighbourhoodOverlap, pairwiseDistances, upperTriangleCorrelation } from './distances';
import { intrinsicDimension } from './pca';
import { Table, withFrame } from './table';

/** Options of `latentGeometry` and `analyzeLatentGeometry`; the defaults are the seed's. */
export interface GeometryOptions {
  /** Points analysed (default 2000, the seed's `num_samples`): a seeded random subset of a larger dataset. */
  numSamples?: number;
  /** Points whose pairwise distances are compared (default 500, the seed's `min(500, num_samples)`): a seeded random subset. Up to `numSamples`. */
  pairSamples?: number;
  /** Neighbours per point (default 10); each neighbourhood holds the point itself and its `k` nearest. */
  k?: number;
  /** Points whose neighbourhoods are scored (default 100, the seed's first 100 of the distance subset). */
  queries?: number;
  /** Share of variance defining the intrinsic dimension (default 0.95). */
  threshold?: number;
  /** Seed of the subsets (default 0). */
  seed?: number;
  /** Examples per forward pass when encoding (default 256). */
  batchSize?: number;
}

/** What `latentGeometry` measures. */
export interface LatentGeometry {
  /** Pearson correlation of input and latent pairwise distances over the distance subset (1 = distances kept up to scale). */
  distanceCorrelation: number;
  /** Mean share of each query's `k + 1` input-space nearest points that are also its latent-space nearest (1 = perfect). */
  neighbourhoodPreservation: number;
  /** What `neighbourhoodPreservation` is for a latent space unrelated to the input: `(1 + k^2 / (m - 1)) / (k + 1)` for m points. */
  neighbourhoodChance: number;
  /** Preservation above chance, `(preservation - chance) / (1 - chance)`: 0 = chance, 1 = perfect. */
  neighbourhoodLift: number;
  /** Principal components of the latent codes (all `numSamples`) holding `threshold` of their variance. */
  intrinsicDim: number;
  /** Latent values per example. */
  latentDim: number;
  /** Share of latent variance per principal component, largest first. */
  explainedVarianceRatio: number[];
  /** Points analysed, points in the distance subset, neighbours, queries scored. */
  samples: number;
  pairSamples: number;
  k: number;
  queries: number;
  /** Wall-clock seconds of the distance, neighbourhood and PCA work (encoding excluded). */
  seconds: number;
}

/**
 * Seed 000's three geometry measures, from inputs and their codes:
 * - distance correlation: seeded random subset of `pairSamples` points, pairwise Euclidean
 *   distances in both spaces (backend matrix products), Pearson over pairs i < j;
 * - neighbourhood preservation at `k`: for the first `queries` points of that subset, the
 *   share of its `k + 1` nearest in input space (itself included) also nearest in latent space;
 * - intrinsic dimension: PCA components reaching `threshold` of the latent variance.
 * @param x inputs `[n, ...]` (flattened per example; pixels for images)
 * @param z their codes `[n, ...]`, row i encoding input i
 */
export function latentGeometry(x: Points, z: Points, options: GeometryOptions = {}): LatentGeometry {
  const t0 = performance.now();
  let px = toPointSet(x, 'x');
  let pz = toPointSet(z, 'z');
  if (px.n !== pz.n) throw new ArgumentError('z', pz.n, `as many codes as inputs (${px.n})`);
  const o = resolveGeometry(options);
  if (px.n > o.numSamples) {
    const keep = sampleIndices(px.n, o.numSamples, o.seed);
    px = selectPoints(px, keep);
    pz = selectPoints(pz, keep);
  }
  const n = px.n;
  if (n < 3) throw new ArgumentError('x', n, 'at least 3 points');
  const m = Math.min(o.pairSamples, n);
  // In random order, as np.random.choice(num_samples, 500, replace=False).
  const subset = m < n ? new Rng(o.seed + 1).permutation(n).subarray(0, m) : Int32Array.from({ length: n }, (_, i) => i);
  const sx = selectPoints(px, subset);
  const sz = selectPoints(pz, subset);
  const dx = pairwiseDistances(sx);
  const dz = pairwiseDistances(sz);
  const distanceCorrelation = upperTriangleCorrelation(dx, dz, m);
  const k = Math.min(o.k, m - 1);
  const queries = Math.min(o.queries, m);
  const neighbours = neighbourhoodOverlap(dx, dz, m, k, Int32Array.from({ length: queries }, (_, i) => i));
  const chance = neighbourhoodChance(m, k);
  const dim = intrinsicDimension(pz, o.threshold);
  return {
    distanceCorrelation,
    neighbourhoodPreservation: neighbours.mean,
    neighbourhoodChance: chance,
    neighbourhoodLift: (neighbours.mean - chance) / (1 - chance),
    intrinsicDim: dim.dim,
    latentDim: pz.d,
    explainedVarianceRatio: dim.explainedVarianceRatio,
    samples: n,
    pairSamples: m,
    k,
    queries,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * `latentGeometry` of a model on a dataset: encodes (inference mode) a seeded random
 * subset of `numSamples` examples and compares their pixels with their codes.
 * @param ds `x [n, ...inputShape]`, e.g. the MNIST test set
 */
export async function analyzeLatentGeometry(model: Autoencoder, ds: Dataset, options: GeometryOptions = {}): Promise<LatentGeometry & { encodeSeconds: number }> {
  const o = resolveGeometry(options);
  const n = datasetSize(ds);
  const sub = n > o.numSamples ? selectRows(ds, sampleIndices(n, o.numSamples, o.seed)) : ds;
  try {
    const t0 = performance.now();
    const codes = await encodeDataset(model, sub, { batchSize: options.batchSize });
    const encodeSeconds = (performance.now() - t0) / 1000;
    return { ...latentGeometry(sub.x, codes, o), encodeSeconds };
  } finally {
    if (sub !== ds) disposeDataset(sub);
  }
}

/** One model's geometry as a table row. */
export interface GeometryRow {
  model: string;
  distanceCorrelation: number;
  neighbourhoodPreservation: number;
  neighbourhoodChance: number;
  neighbourhoodLift: number;
  intrinsicDim: number;
  latentDim: number;
}

/** The geometry of several models as one table (rows and DataFrame), for the study report. */
export function geometryTable(results: { name: string; geometry: LatentGeometry }[]): Table<GeometryRow> {
  if (!Array.isArray(results) || results.length === 0) throw new ArgumentError('results', results, 'a non-empty list of { name, geometry }');
  return withFrame({
    rows: results.map(({ name, geometry: g }) => ({
      model: name,
      distanceCorrelation: g.distanceCorrelation,
      neighbourhoodPreservation: g.neighbourhoodPreservation,
      neighbourhoodChance: g.neighbourhoodChance,
      neighbourhoodLift: g.neighbourhoodLift,
      intrinsicDim: g.intrinsicDim,
      latentDim: g.latentDim,
    })),
  });
}

/**
 * Bar chart comparing the geometry of several models: distance correlation,
 * neighbourhood preservation (with its chance level) and intrinsic dimension over the
 * latent size, one group of bars per model.
 */
export function geometryChart(results: { name: string; geometry: LatentGeometry }[], options: { title?: string } = {}): ChartSpec {
  if (!Array.isArray(results) || results.length === 0) throw new ArgumentError('results', results, 'a non-empty list of { name, geometry }');
  const rows = results.flatMap(({ name, geometry: g }) => [
    { model: name, measure: 'distance correlation', value: g.distanceCorrelation },
    { model: name, measure: 'neighbourhood preservation', value: g.neighbourhoodPreservation },
    { model: name, measure: 'neighbourhood (chance)', value: g.neighbourhoodChance },
    { model: name, measure: 'intrinsic dim / latent dim', value: g.intrinsicDim / g.latentDim },
  ]);
  return barChart(rows, { x: 'measure', y: 'value', color: 'model', horizontal: true, title: options.title ?? 'Latent space geometry', xTitle: '1 = perfectly kept / every dimension used' });
}

/**
 * Cumulative share of latent variance against the number of principal components, with
 * the point where it reaches the threshold (the intrinsic dimension).
 */
export function explainedVarianceChart(geometry: Pick<LatentGeometry, 'explainedVarianceRatio'>, options: { title?: string; threshold?: number } = {}): ChartSpec {
  let run = 0;
  const rows = geometry.explainedVarianceRatio.map((v, i) => ({ component: i + 1, share: v, cumulative: (run += v), threshold: options.threshold ?? 0.95 }));
  return lineChart(rows, { x: 'component', y: ['cumulative', 'share', 'threshold'], points: rows.length <= 40, title: options.title ?? 'Explained variance of the latent codes', xTitle: 'principal components', yTitle: 'share of variance' });
}

function resolveGeometry(options: GeometryOptions) {
  return {
    numSamples: checkInteger('numSamples', options.numSamples ?? 2000, 3),
    pairSamples: checkInteger('pairSamples', options.pairSamples ?? 500, 3),
    k: checkInteger('k', options.k ?? 10, 1),
    queries: checkInteger('queries', options.queries ?? 100, 1),
    threshold: checkNumber('threshold', options.threshold ?? 0.95, Number.MIN_VALUE, 1),
    seed: checkInteger('seed', options.seed ?? 0),
  };
}
