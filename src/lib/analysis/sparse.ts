/**
 * Reconstruction from sparse codes (seed 000 Exercise 6): zero the latent units of smallest
 * magnitude first, in growing fractions, and measure what the reconstruction loses.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkNumber } from '../errors';
import type { Autoencoder } from '../models/autoencoder';
import { prod } from '../models/autoencoder';
import { ChartSpec, lineChart } from '../viz/charts';
import { StripOptions, imageStrip } from '../viz/strip';
import { psnrOf, toImageBatch } from './common';
import { Table, withFrame } from './table';

/** Reconstruction quality at one sparsity level. */
export interface SparseCodeRow {
  /** Fraction of latent units asked to be zeroed, in [0, 1]. */
  fraction: number;
  /** Units zeroed per example (`round(fraction * latentSize)`), smallest magnitude first. */
  zeroed: number;
  /** Units left. */
  kept: number;
  /** MSE per value of the reconstruction from the sparse code against the input (squared pixel units). */
  mse: number;
  /** PSNR in dB of `mse` (data in [0, 1]). */
  psnr: number;
}

/** The sparse-code sweep. */
export interface SparseCodeSweep extends Table<SparseCodeRow> {
  /** Latent values per example. */
  latentSize: number;
  /** Examples averaged. */
  examples: number;
}

/** Default sparsity levels: 0, 0.1, ..., 1. */
export const SPARSITY_LEVELS: readonly number[] = Array.from({ length: 11 }, (_, i) => i / 10);

/**
 * Seed 000 Exercise 6: encode (inference mode), zero each code's `round(f * d)` units of
 * smallest absolute value for every fraction `f`, decode, and record MSE and PSNR against
 * the input, averaged over the examples of `x`.
 * @param x `[b, ...inputShape]` one or more examples (the exercise uses one test image)
 * @param options.fractions default 0, 0.1, ..., 1
 */
export function sparseCodeSweep(model: Autoencoder, x: tf.Tensor, options: { fractions?: readonly number[] } = {}): SparseCodeSweep {
  const fractions = checkFractions(options.fractions ?? SPARSITY_LEVELS);
  const b = x.shape[0];
  if (!b) throw new ArgumentError('x', x, 'a batch of at least one example');
  const d = prod(model.latentShape);
  const codes = sparseCodes(model, x, fractions);
  const rows: SparseCodeRow[] = [];
  tf.tidy(() => {
    const target = x.reshape([1, b, -1]);
    const recon = model.decode(codes.reshape([fractions.length * b, ...model.latentShape]), false).reshape([fractions.length, b, -1]);
    const mse = tf.squaredDifference(recon, target).mean([1, 2]).dataSync();
    fractions.forEach((f, i) => {
      const zeroed = Math.round(f * d);
      rows.push({ fraction: f, zeroed, kept: d - zeroed, mse: mse[i], psnr: psnrOf(mse[i]) });
    });
  });
  codes.dispose();
  return withFrame({ rows, latentSize: d, examples: b });
}

/**
 * The codes of `x` with the smallest-magnitude units zeroed, for each fraction: `[F, b, d]`
 * (ties in magnitude: the lower unit index is zeroed first). The caller disposes it.
 */
export function sparseCodes(model: Autoencoder, x: tf.Tensor, fractions: readonly number[]): tf.Tensor3D {
  checkFractions(fractions);
  const b = x.shape[0];
  const d = prod(model.latentShape);
  const z = tf.tidy(() => model.encode(x, false).reshape([b, d]).dataSync() as Float32Array);
  const out = new Float32Array(fractions.length * b * d);
  const order = new Int32Array(d);
  for (let e = 0; e < b; e++) {
    const row = z.subarray(e * d, (e + 1) * d);
    for (let j = 0; j < d; j++) order[j] = j;
    order.sort((p, q) => Math.abs(row[p]) - Math.abs(row[q]) || p - q);
    fractions.forEach((f, fi) => {
      const dst = out.subarray((fi * b + e) * d, (fi * b + e + 1) * d);
      dst.set(row);
      const zeroed = Math.round(f * d);
      for (let k = 0; k < zeroed; k++) dst[order[k]] = 0;
    });
  }
  return tf.tensor3d(out, [fractions.length, b, d]);
}

/**
 * The exercise's picture: one example reconstructed from codes of growing sparsity, a
 * column per fraction, original first; PNG bytes.
 * @param x one example `[1, ...inputShape]` (the first of a batch is used)
 */
export function sparseCodeStrip(model: Autoencoder, x: tf.Tensor, options: { fractions?: readonly number[] } & StripOptions = {}): Uint8Array {
  const { fractions: fr, ...strip } = options;
  const fractions = checkFractions(fr ?? SPARSITY_LEVELS);
  const one = x.slice(0, 1);
  const codes = sparseCodes(model, one, fractions);
  const [orig, recon] = tf.tidy(() => [toImageBatch(one), toImageBatch(model.decode(codes.reshape([fractions.length, ...model.latentShape]), false))]);
  try {
    return imageStrip(
      [
        { label: 'Original', images: orig },
        { label: 'From sparse code', images: recon },
      ],
      { title: 'Zeroing the smallest latent units', columnLabels: fractions.map((f) => `${Math.round(100 * f)}%`), ...strip },
    );
  } finally {
    tf.dispose([one, codes, orig, recon]);
  }
}

/** Sparsity against reconstruction quality (the exercise's plot): MSE (default) or PSNR against the share of units zeroed. */
export function sparseCodeChart(result: Pick<SparseCodeSweep, 'rows' | 'latentSize'>, options: { metric?: 'mse' | 'psnr'; title?: string } = {}): ChartSpec {
  const metric = options.metric ?? 'mse';
  return lineChart(result.rows as unknown as Record<string, unknown>[], {
    x: 'fraction',
    y: metric,
    points: true,
    title: options.title ?? `Reconstruction from sparse codes (${result.latentSize} latent units)`,
    xTitle: 'share of latent units zeroed (smallest first)',
    yTitle: metric === 'mse' ? 'MSE per value' : 'PSNR (dB)',
  });
}

/** How sparse a model's codes are on some examples. */
export interface CodeSparsity {
  /** Latent values per example. */
  latentSize: number;
  /** Examples measured. */
  examples: number;
  /** Share of code values with `|z| <= eps`, in [0, 1] (for a ReLU code: the exact zeros). */
  zeroFraction: number;
  /** Mean number of units with `|z| > eps` per example. */
  meanActive: number;
  /** Units never above `eps` on any example (dead units). */
  deadUnits: number;
  /** Mean absolute code value (code units). */
  meanAbs: number;
  /** The `eps` used. */
  eps: number;
}

/**
 * Measures the sparsity of the codes of `x` (inference mode): how many units are (near) zero.
 * @param x `[b, ...inputShape]`
 * @param options.eps magnitude counted as zero (default 1e-6: only exact zeros of a ReLU code
 *   and float noise; pass e.g. 0.05 for a sigmoid code that never reaches 0)
 */
export function codeSparsity(model: Autoencoder, x: tf.Tensor, options: { eps?: number } = {}): CodeSparsity {
  const eps = checkNumber('eps', options.eps ?? 1e-6, 0);
  const b = x.shape[0];
  if (!b) throw new ArgumentError('x', x, 'a batch of at least one example');
  const d = prod(model.latentShape);
  const z = tf.tidy(() => model.encode(x, false).reshape([b, d]).dataSync() as Float32Array);
  const fired = new Uint8Array(d);
  let zeros = 0;
  let abs = 0;
  for (let i = 0; i < z.length; i++) {
    const a = Math.abs(z[i]);
    abs += a;
    if (a <= eps) zeros++;
    else fired[i % d] = 1;
  }
  return {
    latentSize: d,
    examples: b,
    zeroFraction: zeros / z.length,
    meanActive: (z.length - zeros) / b,
    deadUnits: d - fired.reduce((s, f) => s + f, 0),
    meanAbs: abs / z.length,
    eps,
  };
}

/**
 * Several models' sparse-code sweeps in one chart (one line per model): which code keeps its
 * quality as more of it is zeroed.
 * @param sweeps `{ name, sweep }` per model, from `sparseCodeSweep`
 */
export function sparseCodeComparisonChart(sweeps: { name: string; sweep: Pick<SparseCodeSweep, 'rows'> }[], options: { metric?: 'mse' | 'psnr'; title?: string } = {}): ChartSpec {
  const metric = options.metric ?? 'mse';
  const rows = sweeps.flatMap(({ name, sweep }) => sweep.rows.map((r) => ({ model: name, fraction: r.fraction, mse: r.mse, psnr: r.psnr })));
  return lineChart(rows, {
    x: 'fraction',
    y: metric,
    color: 'model',
    points: true,
    title: options.title ?? 'Reconstruction from sparse codes',
    xTitle: 'share of latent units zeroed (smallest first)',
    yTitle: metric === 'mse' ? 'MSE per value' : 'PSNR (dB)',
  });
}

function checkFractions(fractions: readonly number[]): readonly number[] {
  if (!Array.isArray(fractions) || fractions.length === 0) throw new ArgumentError('fractions', fractions, 'a non-empty list of fractions in [0, 1]');
  fractions.forEach((f, i) => checkNumber(`fractions[${i}]`, f, 0, 1));
  return fractions;
}

