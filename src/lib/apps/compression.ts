/**
 * The autoencoder as a lossy compressor (seed 000 `evaluate_compression`): the code is
 * what is stored, the decoder is the decompressor. Ratios compare bytes of the input as
 * float32 with bytes of the code; quality is MSE and PSNR over a whole test set. An 8-bit
 * quantised code (per-unit min/max linear quantisation) shows how much further the code
 * compresses and what error that adds.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArgumentError, checkInteger } from '../errors';
import { Dataset, datasetSize } from '../data/dataset';
import { batches, disposeBatch } from '../data/batches';
import { prod, type Autoencoder } from '../models/autoencoder';
import { ChartSpec, lineChart } from '../viz/charts';

/** Options of `evaluateCompression`. */
export interface CompressionOptions {
  /** Examples per forward pass (default 512). */
  batchSize?: number;
  /** Bits per code value of the quantised code, 1 to 16 (default 8). */
  bits?: number;
  /** Largest possible input value, for PSNR (default 1: pixels in [0, 1]). */
  peak?: number;
}

/** Quality of a code: errors are over every value of every example. */
export interface CodeQuality {
  /** Mean squared error per input value (pixel), over the whole set. */
  mse: number;
  /** `10 * log10(peak^2 / mse)` in dB, from the whole-set MSE. */
  psnr: number;
}

/** What `evaluateCompression` returns. Sizes are in bytes per example. */
export interface CompressionReport extends CodeQuality {
  /** Values per input (e.g. 784) and per code (e.g. 20). */
  inputValues: number;
  latentValues: number;
  /** Input as float32: `4 * inputValues` (the seed's `784 * 4`). */
  inputBytes: number;
  /** Code as float32: `4 * latentValues`. */
  latentBytes: number;
  /** `inputBytes / latentBytes` = inputValues / latentValues (the seed's ratio, e.g. 39.2). */
  ratio: number;
  /** Examples evaluated. */
  examples: number;
  /** The quantised code. */
  quantized: QuantizedReport;
  /** The quantiser fitted on this set's codes (reuse it with `compressedReconstructions`). */
  quantizer: LatentQuantizer;
}

/** The quantised code's sizes and quality. */
export interface QuantizedReport extends CodeQuality {
  /** Bits per code value. */
  bits: number;
  /** Code bytes per example: `latentValues * bits / 8`. */
  latentBytes: number;
  /** `inputBytes / latentBytes` (e.g. 3136 / 20 = 156.8 at 8 bits). */
  ratio: number;
  /** Side information stored once for the set: a float32 min and max per code unit (`8 * latentValues` bytes). */
  sideBytes: number;
  /** Ratio with the side information shared over the `examples` evaluated. */
  ratioWithSide: number;
  /** MSE the quantisation adds over the float32 code (quantised MSE minus float MSE, per value). */
  addedMse: number;
  /** RMS error of the quantised code itself against the float code, in code units. */
  codeRmse: number;
}

/** Per-unit linear quantisation of codes: `q = round((z - min) / (max - min) * (2^bits - 1))`. */
export interface LatentQuantizer {
  /** Bits per value. */
  bits: number;
  /** Minimum and maximum of each code unit `[latentValues]`, the side information. */
  min: Float32Array;
  max: Float32Array;
}

/**
 * Fits a quantiser to codes: the min and max of every unit.
 * @param codes `[n, latentValues]` float codes (flattened)
 */
export function fitQuantizer(codes: Float32Array, latentValues: number, bits = 8): LatentQuantizer {
  checkInteger('bits', bits, 1, 16);
  const n = codes.length / latentValues;
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError('codes', codes.length, `a multiple of ${latentValues} values`);
  const min = new Float32Array(latentValues).fill(Infinity);
  const max = new Float32Array(latentValues).fill(-Infinity);
  for (let i = 0; i < codes.length; i++) {
    const u = i % latentValues;
    if (codes[i] < min[u]) min[u] = codes[i];
    if (codes[i] > max[u]) max[u] = codes[i];
  }
  return { bits, min, max };
}

/**
 * Quantises and dequantises codes with `q` (a unit whose min equals its max decodes to that
 * value).
 * @param codes `[n * latentValues]` float codes
 * @returns the integer levels `[n * latentValues]` (0 .. 2^bits - 1) and the reconstructed codes
 */
export function quantizeCodes(codes: Float32Array, q: LatentQuantizer): { levels: Uint16Array; dequantized: Float32Array } {
  const k = q.min.length;
  const top = 2 ** q.bits - 1;
  const levels = new Uint16Array(codes.length);
  const dequantized = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const u = i % k;
    const range = q.max[u] - q.min[u];
    const level = range > 0 ? Math.min(top, Math.max(0, Math.round(((codes[i] - q.min[u]) / range) * top))) : 0;
    levels[i] = level;
    dequantized[i] = range > 0 ? q.min[u] + (level / top) * range : q.min[u];
  }
  return { levels, dequantized };
}

/**
 * Encodes a dataset into flat codes `[n * latentValues]` (inference mode).
 * @param ds `x [n, ...inputShape]`
 */
export async function encodeAll(model: Autoencoder, ds: Dataset, batchSize = 512): Promise<Float32Array> {
  await initBackend();
  const n = datasetSize(ds);
  const k = prod(model.latentShape);
  const out = new Float32Array(n * k);
  let offset = 0;
  for (const b of batches(ds, { batchSize: Math.min(batchSize, n), shuffle: false })) {
    const z = tf.tidy(() => model.encode(b.x, false).reshape([b.size, k]));
    out.set(await z.data(), offset * k);
    offset += b.size;
    z.dispose();
    disposeBatch(b);
  }
  return out;
}

/**
 * Seed 000's `evaluate_compression` over a whole test set: compression ratio of the float32
 * code and of a quantised code, MSE and PSNR of both reconstructions.
 * @param model any aelab autoencoder (its decoder takes a flat `[b, latentValues]` code)
 * @param ds `x [n, ...inputShape]` with values in [0, peak]
 */
export async function evaluateCompression(model: Autoencoder, ds: Dataset, options: CompressionOptions = {}): Promise<CompressionReport> {
  await initBackend();
  const batchSize = checkInteger('batchSize', options.batchSize ?? 512, 1);
  const bits = checkInteger('bits', options.bits ?? 8, 1, 16);
  const peak = options.peak ?? 1;
  if (!(peak > 0)) throw new ArgumentError('peak', peak, 'a positive number');
  const n = datasetSize(ds);
  const inputValues = prod(model.inputShape);
  const k = prod(model.latentShape);
  const codes = await encodeAll(model, ds, batchSize);
  const quantizer = fitQuantizer(codes, k, bits);
  const { dequantized } = quantizeCodes(codes, quantizer);
  let codeSe = 0;
  for (let i = 0; i < codes.length; i++) codeSe += (codes[i] - dequantized[i]) ** 2;

  // Squared errors summed per batch on the backend, accumulated on the host in float64.
  let se = 0;
  let seQ = 0;
  let offset = 0;
  for (const b of batches(ds, { batchSize: Math.min(batchSize, n), shuffle: false })) {
    const sums = tf.tidy(() => {
      const target = b.target.reshape([b.size, inputValues]);
      const z = tf.tensor2d(codes.subarray(offset * k, (offset + b.size) * k), [b.size, k]);
      const zq = tf.tensor2d(dequantized.subarray(offset * k, (offset + b.size) * k), [b.size, k]);
      const r = model.decode(z, false).reshape([b.size, inputValues]);
      const rq = model.decode(zq, false).reshape([b.size, inputValues]);
      return tf.stack([tf.squaredDifference(r, target).sum(), tf.squaredDifference(rq, target).sum()]);
    });
    const [a, c] = await sums.data();
    se += a;
    seQ += c;
    sums.dispose();
    offset += b.size;
    disposeBatch(b);
  }
  const values = n * inputValues;
  const mse = se / values;
  const mseQ = seQ / values;
  const inputBytes = 4 * inputValues;
  const qBytes = (k * bits) / 8;
  const sideBytes = 8 * k;
  return {
    inputValues,
    latentValues: k,
    inputBytes,
    latentBytes: 4 * k,
    ratio: inputBytes / (4 * k),
    examples: n,
    mse,
    psnr: psnr(mse, peak),
    quantized: {
      bits,
      latentBytes: qBytes,
      ratio: inputBytes / qBytes,
      sideBytes,
      ratioWithSide: (n * inputBytes) / (n * qBytes + sideBytes),
      mse: mseQ,
      psnr: psnr(mseQ, peak),
      addedMse: mseQ - mse,
      codeRmse: Math.sqrt(codeSe / codes.length),
    },
    quantizer,
  };
}

/**
 * What a reader of the compressed file sees: the reconstructions of `x` from the float32
 * code and from the code quantised with `quantizer` (fitted on a whole set by
 * `evaluateCompression`, so a few examples are quantised as the set was). The caller
 * disposes both tensors.
 * @param x `[b, ...inputShape]` a few examples
 * @returns `float` and `quantized`, each `[b, ...inputShape]` like `x`
 */
export function compressedReconstructions(model: Autoencoder, x: tf.Tensor, quantizer: LatentQuantizer): { float: tf.Tensor; quantized: tf.Tensor } {
  const k = prod(model.latentShape);
  if (quantizer.min.length !== k) throw new ArgumentError('quantizer', quantizer.min.length, `a quantiser of ${k} code units (this model's code)`);
  const b = x.shape[0];
  const codes = tf.tidy(() => model.encode(x, false).reshape([b, k]).dataSync() as Float32Array);
  const { dequantized } = quantizeCodes(codes, quantizer);
  return tf.tidy(() => ({
    float: model.decode(tf.tensor2d(codes, [b, k]), false).reshape(x.shape),
    quantized: model.decode(tf.tensor2d(dequantized, [b, k]), false).reshape(x.shape),
  }));
}

/** Peak signal-to-noise ratio in dB: `10 * log10(peak^2 / mse)` (Infinity for mse 0). */
export function psnr(mse: number, peak = 1): number {
  return 10 * Math.log10((peak * peak) / mse);
}

/** One row of a rate-distortion curve. */
export interface RateDistortionRow {
  /** Code units. */
  latentDim: number;
  /** Float32 compression ratio (`inputValues / latentDim`). */
  ratio: number;
  /** Code size in bits per example as float32 (`32 * latentDim`) and quantised (`bits * latentDim`). */
  bitsFloat: number;
  bitsQuantized: number;
  /** MSE per value and PSNR (dB) with the float32 code and with the quantised code. */
  mse: number;
  psnr: number;
  mseQuantized: number;
  psnrQuantized: number;
}

/** What `rateDistortion` returns. */
export interface RateDistortionResult {
  /** One row per latent size, in the given order. */
  rows: RateDistortionRow[];
  /** PSNR against code size in bits per example (log x), float32 and quantised codes as two series. */
  chart: ChartSpec;
}

/** Options of `rateDistortion`. */
export interface RateDistortionOptions extends CompressionOptions {
  /** Latent sizes, when `models` is a factory (default 2, 5, 10, 20, 50). */
  latentDims?: number[];
  /** Dispose each model after measuring it (default: true for a factory's models, false for given ones). */
  dispose?: boolean;
  /** Called after each latent size is measured. */
  onRow?: (row: RateDistortionRow) => void;
}

/**
 * A rate-distortion curve across latent sizes: the quality of the reconstruction (PSNR) as
 * the code grows.
 * @param models trained models (their `latentShape` gives the size), or a factory
 *   `(latentDim) => trained model` called once per entry of `options.latentDims`
 * @param testSet `x [n, ...inputShape]` in [0, peak]
 */
export async function rateDistortion(
  models: Autoencoder[] | ((latentDim: number) => Autoencoder | Promise<Autoencoder>),
  testSet: Dataset,
  options: RateDistortionOptions = {},
): Promise<RateDistortionResult> {
  const rows: RateDistortionRow[] = [];
  const isFactory = typeof models === 'function';
  const sizes = isFactory ? (options.latentDims ?? [2, 5, 10, 20, 50]) : models.map((m) => prod(m.latentShape));
  sizes.forEach((d) => checkInteger('latentDim', d, 1));
  const dispose = options.dispose ?? isFactory;
  for (let i = 0; i < sizes.length; i++) {
    const model = isFactory ? await models(sizes[i]) : models[i];
    try {
      const r = await evaluateCompression(model, testSet, options);
      const row: RateDistortionRow = {
        latentDim: r.latentValues,
        ratio: r.ratio,
        bitsFloat: 32 * r.latentValues,
        bitsQuantized: r.quantized.bits * r.latentValues,
        mse: r.mse,
        psnr: r.psnr,
        mseQuantized: r.quantized.mse,
        psnrQuantized: r.quantized.psnr,
      };
      rows.push(row);
      options.onRow?.(row);
    } finally {
      if (dispose) model.dispose();
    }
  }
  const bits = options.bits ?? 8;
  const chartRows = rows.flatMap((r) => [
    { bits: r.bitsFloat, psnr: r.psnr, latentDim: r.latentDim, code: 'float32' },
    { bits: r.bitsQuantized, psnr: r.psnrQuantized, latentDim: r.latentDim, code: `${bits}-bit` },
  ]);
  const chart = lineChart(chartRows, { x: 'bits', y: 'psnr', color: 'code', points: true, logX: true, title: 'Rate-distortion', xTitle: 'code size (bits per example)', yTitle: 'PSNR (dB)' });
  return { rows, chart };
}
