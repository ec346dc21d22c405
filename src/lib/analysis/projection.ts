/**
 * Latent space pictures (seed 000 Part 4, `visualize_latent_space`; seed 001 Exercise 2b):
 * codes projected to two dimensions (directly for 2-D codes, else PCA or t-SNE), one row
 * per point with its class, and the scatter plot coloured by class.
 */
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { ChartSpec, scatterChart } from '../viz/charts';
import { Points, PointSet, sampleIndices, selectPoints, toPointSet } from './common';
import type { LatentCodes } from './encode';
import { pcaFit, pcaTransform } from './pca';
import { Table, withFrame } from './table';
import { TsneOptions, tsne } from './tsne';

/** How codes are brought to two dimensions. */
export type ProjectionMethod = 'auto' | 'direct' | 'pca' | 'tsne';

/** Options of `latentProjection`. */
export interface ProjectionOptions {
  /**
   * `direct` plots 2-D codes as they are; `pca` their first two principal components;
   * `tsne` a t-SNE embedding; `auto` (default) is `direct` for 2-D codes and `tsne`
   * otherwise, as the seed does.
   */
  method?: ProjectionMethod;
  /** Points projected at most (default 5000, the seed's `latents[:5000]`): a seeded random subset, kept in order. */
  maxPoints?: number;
  /** Seed of the subset and of t-SNE (default 42, the seed's `random_state`). */
  seed?: number;
  /** t-SNE perplexity (default 30, capped at a third of the points). */
  perplexity?: number;
  /** Further t-SNE settings (iterations, theta, ...), passed to `tsne`. */
  tsne?: Omit<TsneOptions, 'perplexity' | 'seed' | 'inputDims'>;
  /** Class of each point `[n]` (default: the codes' own labels, if any). */
  labels?: ArrayLike<number>;
  /** Class names by label (default: the codes' own, else the label as text). */
  classNames?: string[];
}

/** One projected point. */
export interface ProjectedPoint {
  /** First coordinate (latent units for `direct`, principal-component units for `pca`, arbitrary for `tsne`). */
  x: number;
  /** Second coordinate. */
  y: number;
  /** Class name (or `-` without labels). */
  label: string;
  /** Row of the point in the codes it came from. */
  index: number;
}

/** A projection: the rows (one per point), the method used and, for PCA, the variance shown. */
export interface LatentProjection extends Table<ProjectedPoint> {
  method: Exclude<ProjectionMethod, 'auto'>;
  /** Latent values per point before the projection. */
  latentDim: number;
  /** For `pca`: share of the variance along each of the two axes. */
  explainedVarianceRatio?: [number, number];
}

/**
 * Projects latent codes to two dimensions for a scatter plot.
 * @param codes `encodeDataset`'s result (its labels colour the points), or any points `[n, d]`
 * @returns one row `{ x, y, label, index }` per point (at most `maxPoints`)
 */
export async function latentProjection(codes: LatentCodes | Points, options: ProjectionOptions = {}): Promise<LatentProjection> {
  const all = toPointSet(codes, 'codes');
  const own = codes as Partial<LatentCodes>;
  const labels = options.labels ?? own.labels;
  const names = options.classNames ?? own.classNames;
  if (labels && labels.length !== all.n) throw new ArgumentError('labels', labels.length, `one label per point (${all.n})`);
  const maxPoints = checkInteger('maxPoints', options.maxPoints ?? 5000, 2);
  const seed = checkInteger('seed', options.seed ?? 42);
  const requested = options.method ?? 'auto';
  if (!['auto', 'direct', 'pca', 'tsne'].includes(requested)) throw new ArgumentError('method', requested, 'auto, direct, pca or tsne');
  const method = requested === 'auto' ? (all.d === 2 ? 'direct' : 'tsne') : requested;
  if (method === 'direct' && all.d !== 2) throw new ArgumentError('method', 'direct', `pca or tsne for ${all.d}-D codes (direct plots 2-D codes only)`);
  const keep = sampleIndices(all.n, maxPoints, seed);
  const p: PointSet = keep.length === all.n ? all : selectPoints(all, keep);
  let xy: ArrayLike<number>;
  let explained: [number, number] | undefined;
  if (method === 'direct') {
    xy = p.codes;
  } else if (method === 'pca') {
    const fit = pcaFit(p);
    xy = pcaTransform(fit, p, 2).codes;
    explained = [fit.explainedVarianceRatio[0] ?? 0, fit.explainedVarianceRatio[1] ?? 0];
  } else {
    const perplexity = checkNumber('perplexity', options.perplexity ?? 30, Number.MIN_VALUE);
    xy = tsne({ data: p.codes, n: p.n, dims: p.d }, { ...options.tsne, perplexity: Math.min(perplexity, (p.n - 1) / 3), seed }).embedding;
  }
  const rows: ProjectedPoint[] = [];
  for (let r = 0; r < p.n; r++) {
    const index = keep[r];
    const label = labels ? (names?.[labels[index]] ?? String(labels[index])) : '-';
    rows.push({ x: xy[2 * r], y: xy[2 * r + 1], label, index });
  }
  const result: Omit<LatentProjection, 'frame'> = { rows, method, latentDim: all.d };
  if (explained) result.explainedVarianceRatio = explained;
  return withFrame(result);
}

/**
 * The latent scatter plot: one point per row, coloured by class (seed 000's
 * `latent_space_visualization.png`).
 */
export function latentScatterChart(projection: Pick<LatentProjection, 'rows' | 'method' | 'latentDim'> & { explainedVarianceRatio?: [number, number] }, options: { title?: string; width?: number; height?: number } = {}): ChartSpec {
  const { method, latentDim: d } = projection;
  const title = options.title ?? (method === 'direct' ? '2D latent space' : method === 'pca' ? `PCA of the ${d}D latent space` : `t-SNE of the ${d}D latent space`);
  const axis = (i: 0 | 1) => {
    if (method === 'direct') return `z${i + 1}`;
    if (method === 'pca') {
      const v = projection.explainedVarianceRatio?.[i];
      return `PC${i + 1}${v === undefined ? '' : ` (${(100 * v).toFixed(1)}% of variance)`}`;
    }
    return `t-SNE ${i + 1}`;
  };
  return scatterChart(projection.rows as unknown as Record<string, unknown>[], { x: 'x', y: 'y', color: 'label', tooltip: ['label', 'index', 'x', 'y'], title, xTitle: axis(0), yTitle: axis(1), width: options.width, height: options.height });
}
