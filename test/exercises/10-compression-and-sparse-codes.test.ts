// Grading tests for notebook 10 (seed 000 Part 6 compression and Exercise 6 sparse codes,
// seed 001's compression ratio and "sweet spot", seed 004 question 1): the claims the
// notebook makes, checked on small real MNIST subsets.
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import { AE } from '../../src/lib/models/ae';
import { MLPAutoencoder } from '../../src/lib/models/mlp';
import { SparseAutoencoder } from '../../src/lib/models/sparse';
import type { Autoencoder } from '../../src/lib/models/autoencoder';
import { fit } from '../../src/lib/train/fit';
import { CompressionReport, RateDistortionRow, compressedReconstructions, evaluateCompression, rateDistortion } from '../../src/lib/apps/compression';
import { CodeSparsity, SparseCodeSweep, codeSparsity, sparseCodeComparisonChart, sparseCodeSweep } from '../../src/lib/analysis/sparse';
import { renderSvg } from '../../src/lib/viz/charts';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};

describe('exercises 10: compression and sparse codes (seed 000 Part 6 and Exercise 6, seeds 001 and 004)', function () {
  this.timeout(600000);
  let train: Dataset;
  let test: Dataset;
  let rows: RateDistortionRow[];
  let ae20: AE;
  const reports: Record<number, CompressionReport> = {};
  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 2000, testSize: 500, seed: 1 }));
    // Seed 000's AE (784-400-d, BCE) at three code sizes: 3 epochs at lr 3e-3, batch 64.
    const trained: Autoencoder[] = [];
    for (const d of [2, 20, 50]) {
      const m = new AE({ latentDim: d, seed: 1 });
      await fit(m, train, { epochs: 3, batchSize: 64, lr: 3e-3, loss: 'bce', seed: 1 });
      trained.push(m);
    }
    ae20 = trained[1] as AE;
    rows = (await rateDistortion(trained, test)).rows;
    for (const bits of [1, 8]) reports[bits] = await evaluateCompression(ae20, test, { bits });
    trained.filter((m) => m !== ae20).forEach((m) => m.dispose());
    log(rows.map((r) => `${r.latentDim}: ${r.psnr.toFixed(2)} dB`), Object.values(reports).map((r) => [r.quantized.bits, r.mse, r.quantized.addedMse]));
  });
  after(() => {
    ae20.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });

  it('a 20-unit code is 39.2x smaller than float32 pixels, 156.8x at 8 bits, which costs almost nothing', () => {
    const r = reports[8];
    assert.equal(r.ratio, 39.2);
    assert.equal(r.quantized.ratio, 156.8);
    // measured: MSE 0.033, 8-bit rounding adds 7e-7 (0.002% of it); 1 bit adds 0.026
    assert.ok(r.quantized.addedMse < 0.001 * r.mse, `added ${r.quantized.addedMse} on ${r.mse}`);
    assert.ok(reports[1].quantized.addedMse > 0.1 * r.mse, `1 bit adds ${reports[1].quantized.addedMse}`);
  });

  it('what a reader decodes from the stored code is what evaluateCompression measured', () => {
    const x = test.x.slice(0, 100);
    const { float, quantized } = compressedReconstructions(ae20, x, reports[1].quantizer);
    const full = tf.tidy(() => tf.squaredDifference(ae20.forward(x).recon.reshape(x.shape), x).mean().dataSync()[0]);
    const f = tf.tidy(() => tf.squaredDifference(float, x).mean().dataSync()[0]);
    const q = tf.tidy(() => tf.squaredDifference(quantized, x).mean().dataSync()[0]);
    tf.dispose([x, float, quantized]);
    assert.ok(Math.abs(f - full) < 1e-6, `${f} vs ${full}`);
    assert.ok(q > f * 1.1, `1-bit code ${q} vs float ${f}`);
  });

  it('rate-distortion: 2 units lose much more than 20; past 20 units the gain is small (the sweet spot)', () => {
    const at = (d: number) => rows.find((r) => r.latentDim === d)!.psnr;
    // measured: 12.48, 14.81, 14.66 dB for 2, 20, 50 units (the notebook's medium run: 12.55,
    // 15.44, 15.67 dB): the 50-unit code is no better than the 20-unit one
    assert.ok(at(20) > at(2) + 1, `${at(2)} -> ${at(20)}`);
    assert.ok(Math.abs(at(50) - at(20)) < 1, `${at(20)} -> ${at(50)}`);
  });

  it('lossless deflate of 8-bit pixels compresses MNIST only about 4-5x', () => {
    const pixels = Uint8Array.from(test.x.dataSync(), (v) => Math.round(v * 255));
    let bytes = 0;
    for (let i = 0; i < 500; i++) bytes += zlib.deflateSync(pixels.subarray(i * 784, (i + 1) * 784), { level: 9 }).length;
    // measured: 196-198 bytes per image (4.0x) in the notebook's runs; the 8-bit 20-unit code is 20 bytes
    assert.ok(bytes / 500 > 120 && bytes / 500 < 260, `${bytes / 500} bytes`);
  });

  describe('sparse codes (Exercise 6)', () => {
    const sweeps: { name: string; sweep: SparseCodeSweep; sparsity: CodeSparsity }[] = [];
    let sweep20: SparseCodeSweep;
    before(async () => {
      const x = test.x.slice(0, 300);
      sweep20 = sparseCodeSweep(ae20, x);
      // 784-256-64, plain (linear code) and L1-sparse (ReLU code): 2 epochs at lr 3e-3, batch 64
      for (const [name, model] of [
        ['plain', new MLPAutoencoder({ hidden: [256], latentDim: 64, seed: 1 })],
        ['l1', new SparseAutoencoder({ sparsity: 'l1', seed: 1 })],
      ] as const) {
        await fit(model, train, { epochs: 2, batchSize: 64, lr: 3e-3, loss: 'bce', seed: 1 });
        sweeps.push({ name, sweep: sparseCodeSweep(model, x), sparsity: codeSparsity(model, x) });
        if (name === 'l1') {
          // codeSparsity against a direct count
          const z = tf.tidy(() => model.encode(x, false).dataSync());
          assert.equal(sweeps[1].sparsity.zeroFraction, z.filter((v) => Math.abs(v) <= 1e-6).length / z.length);
        }
        model.dispose();
      }
      x.dispose();
      log(sweep20.rows.map((r) => r.mse.toFixed(4)).join(' '), sweeps.map((s) => [s.name, s.sparsity.zeroFraction, s.sweep.rows.map((r) => r.mse.toFixed(4)).join(' ')]));
    });

    it('zeroing the smallest units of the 20-unit code costs little at first and much at the end', () => {
      const mse = sweep20.rows.map((r) => r.mse);
      // measured: 0.0329 (full), 0.0337 at 30% zeroed, 0.0554 at 90%, 0.102 with nothing left
      assert.ok(mse[3] < 1.1 * mse[0], `30%: ${mse[3]} vs ${mse[0]}`);
      assert.ok(mse[9] > 1.2 * mse[0], `90%: ${mse[9]} vs ${mse[0]}`);
      assert.ok(mse[10] > 2 * mse[0] && mse[10] > mse[9] && mse[9] > mse[5], mse.join(' '));
    });

    it('the L1 model has a sparse code (many exact zeros); the plain linear code has none', () => {
      // measured: 56% zeros (L1), 0% (plain)
      const [plain, l1] = sweeps;
      assert.equal(plain.sparsity.zeroFraction, 0);
      assert.ok(l1.sparsity.zeroFraction > 0.3, `${l1.sparsity.zeroFraction}`);
    });

    it('zeroing units costs the sparse code less than the plain code, relative to each full code', () => {
      const at = (s: SparseCodeSweep, f: number) => s.rows.find((r) => Math.abs(r.fraction - f) < 1e-9)!.mse;
      const [plain, l1] = sweeps;
      // The first 30% of the L1 code's units are zero already: zeroing them is free, while every
      // unit of the linear code carries something. Measured at 30%: x1.000 (L1), x1.004 (plain);
      // at 90%: x1.07 (L1) and x1.26 (plain) (in the notebook's medium run x1.55 and x1.61).
      assert.ok(Math.abs(at(l1.sweep, 0.3) / at(l1.sweep, 0) - 1) < 1e-4, `L1 ${at(l1.sweep, 0.3)} vs ${at(l1.sweep, 0)}`);
      assert.ok(at(plain.sweep, 0.3) > at(plain.sweep, 0) * 1.001, `plain ${at(plain.sweep, 0.3)} vs ${at(plain.sweep, 0)}`);
      const rel = (s: SparseCodeSweep) => at(s, 0.9) / at(s, 0);
      assert.ok(rel(plain.sweep) > rel(l1.sweep) + 0.03, `plain x${rel(plain.sweep)} vs L1 x${rel(l1.sweep)}`);
    });

    it('draws the comparison', async () => {
      assert.match(await renderSvg(sparseCodeComparisonChart(sweeps)), /^<svg/);
    });
  });
});
