import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  NATIVE_ADDON_PATH,
  NativeAdam,
  batchNormTrain,
  bceWithLogits,
  NativeKernelsStatus,
  nativeKernelCalls,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../src/lib/kernels/native';
import { onBackend, randn, relErr } from './kernel-check';
import { initBackend } from '../src/lib/backend';
import { toDataFrame } from '../src/lib/analysis/table';
import { batchNormalization } from '../src/lib/models/layers';

/** Native and fallback calls of `name` since `before`. */
function callsSince(before: ReturnType<typeof nativeKernelCalls>, name: string) {
  const now = nativeKernelCalls()[name] ?? { native: 0, fallback: 0 };
  const then = before[name] ?? { native: 0, fallback: 0 };
  return { native: now.native - then.native, fallback: now.fallback - then.fallback };
}

/** Whether this CPU reports AVX2 and FMA (Linux), independently of the addon. */
function cpuHasAvx2Fma(): boolean {
  try {
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
    return flags.includes('avx2') && flags.includes('fma');
  } catch {
    return false;
  }
}

const ROOT = path.resolve(__dirname, '..');
const built = fs.existsSync(NATIVE_ADDON_PATH);
/** Where the native kernels must be in use: built, on a CPU they support, not switched off. */
const expectNative = built && process.arch === 'x64' && cpuHasAvx2Fma() && !['0', 'false', 'off'].includes(process.env.AELAB_NATIVE ?? '');

describe('native kernels for wasm (native/, src/lib/kernels/native.ts)', () => {
  let status: NativeKernelsStatus;

  before(() => {
    assert.equal(tf.getBackend(), 'wasm');
    status = registerNativeKernels(); // already done by initBackend; idempotent
    console.log(
      status.available
        ? `      native addon in use: ${status.kernels.join(', ')} on ${status.threads} threads`
        : `      native addon not in use here (${status.reason}); checking that the plain wasm kernels run`,
    );
  });

  if (expectNative) {
    it('the addon loads and its kernels are registered for wasm', () => {
      assert.ok(status.available, `the addon is built but cannot be used: ${status.reason}`);
      assert.ok(status.registered);
      assert.deepEqual([...status.kernels].sort(), ['Add', 'BatchMatMul', 'Cast', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'FusedBatchNorm', 'FusedConv2D', 'Identity', 'LeakyRelu', 'MaxPoolGrad', 'Mean', 'Multiply', 'PadV2', 'RealDiv', 'Relu', 'Sigmoid', 'Slice', 'Softplus', 'SquaredDifference', 'Step', 'Sub', 'Sum', 'Tile', '_FusedMatMul'].sort());
      assert.ok(status.threads >= 1);
    });
  } else {
    it('is not in use here: nothing is registered and the plain wasm kernels run, agreeing with cpu', async () => {
      assert.equal(status.available, false);
      assert.equal(status.registered, false);
      assert.ok(status.reason.length > 0);
      if (!built) assert.match(status.reason, /not built/);
      const before = nativeKernelCalls();
      const inputs = [[64, 78], [40, 78]].map((shape, i) => ({ shape, data: randn(shape, 5 + i) }));
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, false, true);
      const wasm = await onBackend('wasm', f, inputs);
      const cpu = await onBackend('cpu', f, inputs);
      wasm.forEach((w, i) => assert.ok(relErr(w, cpu[i]) <= 1e-4));
      assert.deepEqual(callsSince(before, 'BatchMatMul'), { native: 0, fallback: 0 });
    });
  }

  it('AELAB_NATIVE=0 switches the addon off: nothing registered, the wasm kernels run (child process)', function () {
    this.timeout(120000);
    const code = `
      const tf = require('@tensorflow/tfjs');
      const { initBackend } = require('./src/lib/backend.ts');
      const native = require('./src/lib/kernels/native.ts');
      initBackend({ quiet: true }).then(() => {
        const s = native.registerNativeKernels();
        const y = tf.matMul(tf.ones([3, 4]), tf.ones([5, 4]), false, true);
        const z = tf.sigmoid(tf.zeros([2]));
        console.log(JSON.stringify({ backend: tf.getBackend(), status: s, calls: native.nativeKernelCalls(), y: Array.from(y.dataSync()), z: Array.from(z.dataSync()) }));
      });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, env: { ...process.env, AELAB_NATIVE: '0' }, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
    assert.equal(out.backend, 'wasm');
    assert.equal(out.status.available, false);
    assert.equal(out.status.registered, false);
    assert.match(out.status.reason, /AELAB_NATIVE=0/);
    assert.deepEqual(out.calls, {});
    assert.deepEqual(out.y, new Array(15).fill(4));
    assert.deepEqual(out.z, [0.5, 0.5]);
  });

  if (!expectNative) return;

  type Case = {
    name: string;
    shapes: number[][];
    scale?: number;
    kernel: string;
    path?: 'native' | 'fallback';
    /** tfjs's own BatchMatMul gradient cannot reduce broadcast batch dimensions (on every backend). */
    forwardOnly?: boolean;
    /** A convolution kernel that must run as the addon's direct convolution (true) or as im2col + sgemm (false). */
    direct?: boolean;
    f: (...xs: tf.Tensor[]) => tf.Tensor;
  };
  const cases: Case[] = [
    { name: 'matMul 1x1x1', shapes: [[1, 1], [1, 1]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 7x13x5', shapes: [[7, 13], [13, 5]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 128x784x400', shapes: [[128, 784], [784, 400]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 784x128x400, transposeA (a dense layer\'s weight gradient)', shapes: [[128, 784], [128, 400]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, true, false) },
    { name: 'matMul 128x400x784, transposeB (a dense layer\'s input gradient)', shapes: [[128, 400], [784, 400]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'matMul 9x25088x16 (a convolution\'s filter gradient: K split across threads)', shapes: [[9, 25088], [25088, 16]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 25x5000x20, transposeA (K split)', shapes: [[5000, 25], [5000, 20]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, true, false) },
    { name: 'matMul 25088x16x9 (a convolution\'s input gradient: narrow output)', shapes: [[25088, 16], [16, 9]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 4500x1000x40 (A too large to pack once: rows split, B shared)', shapes: [[4500, 1000], [1000, 40]], scale: 0.1, kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 6272x32x144, transposeB', shapes: [[6272, 32], [144, 32]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'matMul transposeA 7x13x5', shapes: [[13, 7], [13, 5]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, true, false) },
    { name: 'matMul transposeB 7x13x5', shapes: [[7, 13], [5, 13]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'matMul both transposed 7x13x5', shapes: [[13, 7], [5, 13]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, true, true) },
    { name: 'matMul 1x300x1 (a dot product)', shapes: [[1, 300], [300, 1]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 37x1x29 (an outer product)', shapes: [[37, 1], [1, 29]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'batched matMul, batch 3, 7x13x5', shapes: [[3, 7, 13], [3, 13, 5]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'batched matMul, batch 3, transposeA', shapes: [[3, 13, 7], [3, 13, 5]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, true, false) },
    { name: 'batched matMul, batch 3, transposeB, 64x200x96', shapes: [[3, 64, 200], [3, 96, 200]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'batched matMul, batch 3 times a broadcast matrix', shapes: [[3, 7, 13], [1, 13, 5]], kernel: 'BatchMatMul', forwardOnly: true, f: (a, b) => tf.matMul(a, b) },
    { name: 'batched matMul, a broadcast matrix times batch 3, transposeB', shapes: [[1, 7, 13], [3, 5, 13]], kernel: 'BatchMatMul', forwardOnly: true, f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'batched matMul, rank 4 [2, 3]', shapes: [[2, 3, 9, 11], [2, 3, 11, 4]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'fused matMul + bias + relu, 128x784x400', shapes: [[128, 784], [784, 400], [400]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }) },
    { name: 'fused matMul + bias + sigmoid, 128x400x784', shapes: [[128, 400], [400, 784], [784]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'sigmoid' }) },
    { name: 'fused matMul + bias + relu, 12x4096x10 (K split)', shapes: [[12, 4096], [4096, 10], [10]], scale: 0.5, kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }) },
    { name: 'fused matMul + bias, linear, 7x13x5', shapes: [[7, 13], [13, 5], [5]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias }) },
    { name: 'fused matMul + bias, 1000x400x20 (two column tiles: A read where it lies)', shapes: [[1000, 400], [400, 20], [20]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias }) },
    { name: 'matMul 131x785x29 (A read where it lies: 131 rows, three K blocks)', shapes: [[131, 785], [785, 29]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul 67x785x20, B transposed (a last tile of 4 columns: the half-width kernel, three K blocks added up)', shapes: [[67, 785], [20, 785]], kernel: 'BatchMatMul', f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'fused matMul + bias + relu, 67x300x40 (packed A, a last tile of 8 columns, 67 rows)', shapes: [[67, 300], [300, 40], [40]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }) },
    { name: 'fused matMul + bias + relu, transposeB', shapes: [[32, 50], [20, 50], [20]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeB: true, activation: 'relu' }) },
    { name: 'fused matMul + bias + relu6, transposeA', shapes: [[50, 32], [50, 20], [20]], scale: 3, kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeA: true, activation: 'relu6' }) },
    { name: 'fused matMul + scalar bias + elu, both transposed', shapes: [[50, 33], [21, 50], [1]], kernel: '_FusedMatMul', f: (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeA: true, transposeB: true, activation: 'elu' }) },
    {
      name: 'fused matMul + leakyrelu (alpha 0.3), batch 3',
      shapes: [[3, 7, 13], [3, 13, 5], [5]],
      kernel: '_FusedMatMul',
      f: (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'leakyrelu', leakyreluAlpha: 0.3 }),
    },
    {
      name: 'fused matMul + prelu (not native: falls back to the wasm kernel)',
      shapes: [[7, 13], [13, 5], [5], [5]],
      kernel: '_FusedMatMul',
      path: 'fallback',
      f: (a, b, bias, alpha) => tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: alpha }),
    },
    { name: 'sigmoid [7, 13, 5], values up to +-40', shapes: [[7, 13, 5]], scale: 10, kernel: 'Sigmoid', f: (x) => tf.sigmoid(x) },
    { name: 'sigmoid [128, 784]', shapes: [[128, 784]], scale: 3, kernel: 'Sigmoid', f: (x) => tf.sigmoid(x) },
    { name: 'softplus [7, 13, 5], values up to +-40', shapes: [[7, 13, 5]], scale: 10, kernel: 'Softplus', f: (x) => tf.softplus(x) },
    { name: 'softplus [128, 784]', shapes: [[128, 784]], scale: 3, kernel: 'Softplus', f: (x) => tf.softplus(x) },
    { name: 'add [128, 15, 15, 16] + bias [1, 1, 1, 16] (a transposed convolution\'s bias)', shapes: [[128, 15, 15, 16], [1, 1, 1, 16]], kernel: 'Add', f: (a, b) => tf.add(a, b) },
    { name: 'add bias [16] + [6, 5, 16] (the small operand first)', shapes: [[16], [6, 5, 16]], kernel: 'Add', f: (a, b) => tf.add(a, b) },
    { name: 'add [7, 13] + [7, 13]', shapes: [[7, 13], [7, 13]], kernel: 'Add', f: (a, b) => tf.add(a, b) },
    { name: 'add [3, 1, 5] + [1, 4, 1] (general broadcast: falls back)', shapes: [[3, 1, 5], [1, 4, 1]], kernel: 'Add', path: 'fallback', f: (a, b) => tf.add(a, b) },
    { name: 'sub [9, 4, 6] - [4, 6]', shapes: [[9, 4, 6], [4, 6]], kernel: 'Sub', f: (a, b) => tf.sub(a, b) },
    { name: 'sub [6] - [5, 6] (the small operand first: falls back)', shapes: [[6], [5, 6]], kernel: 'Sub', path: 'fallback', f: (a, b) => tf.sub(a, b) },
    { name: 'multiply [128, 14, 14, 16] * [128, 14, 14, 16] (a ReLU gradient)', shapes: [[128, 14, 14, 16], [128, 14, 14, 16]], kernel: 'Multiply', f: (a, b) => tf.mul(a, b) },
    { name: 'multiply [5, 7] * scalar', shapes: [[5, 7], []], kernel: 'Multiply', f: (a, b) => tf.mul(a, b) },
    { name: 'divide [128, 28, 28, 1] / scalar (a mean\'s gradient)', shapes: [[128, 28, 28, 1], []], kernel: 'RealDiv', f: (a, b) => tf.div(a, tf.add(tf.abs(b), 1)) },
    { name: 'squared difference [128, 784], [128, 784]', shapes: [[128, 784], [128, 784]], kernel: 'SquaredDifference', f: (a, b) => tf.squaredDifference(a, b) },
    { name: 'step [128, 14, 14, 16]', shapes: [[128, 14, 14, 16]], kernel: 'Step', forwardOnly: true, f: (x) => tf.step(x) },
    { name: 'step [7, 13] with alpha 0.25', shapes: [[7, 13]], kernel: 'Step', forwardOnly: true, f: (x) => tf.step(x, 0.25) },
    { name: 'relu [128, 14, 14, 16]', shapes: [[128, 14, 14, 16]], kernel: 'Relu', f: (x) => tf.relu(x) },
    { name: 'relu [3, 5]', shapes: [[3, 5]], kernel: 'Relu', f: (x) => tf.relu(x) },
    { name: 'leaky relu [128, 400], alpha 0.01 (the tabular model\'s hidden layers)', shapes: [[128, 400]], kernel: 'LeakyRelu', f: (x) => tf.leakyRelu(x, 0.01) },
    { name: 'leaky relu [3, 5], default alpha', shapes: [[3, 5]], kernel: 'LeakyRelu', f: (x) => tf.leakyRelu(x) },
    { name: 'sum over axis 0 of [128, 400] (a bias gradient)', shapes: [[128, 400]], kernel: 'Sum', f: (x) => tf.sum(x, 0) },
    { name: 'sum of all of [7, 13, 5]', shapes: [[7, 13, 5]], kernel: 'Sum', f: (x) => tf.sum(x) },
    { name: 'sum over axis 1 of [7, 13, 5], keepDims', shapes: [[7, 13, 5]], kernel: 'Sum', f: (x) => tf.sum(x, 1, true) },
    { name: 'sum over axes [1, 2] of [3, 4, 5, 70]', shapes: [[3, 4, 5, 70]], kernel: 'Sum', f: (x) => tf.sum(x, [1, 2]) },
    { name: 'sum over the last axis of [300, 1000]', shapes: [[300, 1000]], kernel: 'Sum', f: (x) => tf.sum(x, -1) },
    { name: 'mean of all of [128, 784] (a loss)', shapes: [[128, 784]], kernel: 'Mean', f: (x) => tf.mean(x) },
    { name: 'mean over axis 0 of [7, 13, 5], keepDims', shapes: [[7, 13, 5]], kernel: 'Mean', f: (x) => tf.mean(x, 0, true) },
    { name: 'mean over the last axis of [33, 70]', shapes: [[33, 70]], kernel: 'Mean', f: (x) => tf.mean(x, 1) },
    { name: 'sum over axes [0, 2] (not consecutive: falls back)', shapes: [[3, 4, 5]], kernel: 'Sum', path: 'fallback', f: (x) => tf.sum(x, [0, 2]) },
    { name: 'slice [128, 29, 29, 1] -> [128, 28, 28, 1] (a cropping layer)', shapes: [[128, 29, 29, 1]], kernel: 'Slice', f: (x) => tf.slice(x, [0, 1, 0, 0], [-1, 28, 28, -1]) },
    { name: 'slice [6, 15, 15, 16] -> [6, 14, 13, 16]', shapes: [[6, 15, 15, 16]], kernel: 'Slice', f: (x) => tf.slice(x, [0, 0, 2, 0], [6, 14, 13, 16]) },
    { name: 'slice [7, 13] rows 2..5 (contiguous)', shapes: [[7, 13]], kernel: 'Slice', f: (x) => tf.slice(x, [2, 0], [3, 13]) },
    { name: 'slice [5, 9, 11] to one element', shapes: [[5, 9, 11]], kernel: 'Slice', f: (x) => tf.slice(x, [4, 8, 10], [1, 1, 1]) },
    { name: 'pad [128, 28, 28, 1] by 1 (a zero-padding layer)', shapes: [[128, 28, 28, 1]], kernel: 'PadV2', f: (x) => tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) },
    { name: 'pad [7, 13] with 1.5, uneven', shapes: [[7, 13]], kernel: 'PadV2', f: (x) => tf.pad(x, [[2, 0], [1, 3]], 1.5) },
    { name: 'pad [128, 14, 14, 16] by 1 (a zero-padding layer before conv2: rows of 16 channels)', shapes: [[128, 14, 14, 16]], kernel: 'PadV2', f: (x) => tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) },
    { name: 'pad [5] by [2, 3] (one axis)', shapes: [[5]], kernel: 'PadV2', f: (x) => tf.pad(x, [[2, 3]], -1) },
    { name: 'pad [2, 3, 4] on the first axis only', shapes: [[2, 3, 4]], kernel: 'PadV2', f: (x) => tf.pad(x, [[1, 2], [0, 0], [0, 0]]) },
    { name: 'pad [3, 4, 5, 6] on every axis', shapes: [[3, 4, 5, 6]], kernel: 'PadV2', f: (x) => tf.pad(x, [[1, 1], [0, 2], [3, 0], [1, 1]]) },
    { name: 'conv2d [8, 30, 30, 1] * [3, 3, 1, 16], stride 2, valid (seed 004\'s conv1 after its padding)', shapes: [[8, 30, 30, 1], [3, 3, 1, 16]], kernel: 'Conv2D', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid') },
    { name: 'conv2d [4, 14, 14, 16] * [3, 3, 16, 32], stride 2, padding 1', shapes: [[4, 14, 14, 16], [3, 3, 16, 32]], kernel: 'Conv2D', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 1) },
    { name: 'conv2d [5, 9, 11, 3] * [3, 5, 3, 4], same', shapes: [[5, 9, 11, 3], [3, 5, 3, 4]], kernel: 'Conv2D', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
    { name: 'conv2d [3, 7, 8, 2] * [2, 3, 2, 3], strides [2, 3], same (uneven padding)', shapes: [[3, 7, 8, 2], [2, 3, 2, 3]], kernel: 'Conv2D', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 3], 'same') },
    { name: 'conv2d [2, 2, 2, 3] * [5, 5, 3, 2], stride 3, padding 4 (taps wholly in the padding)', shapes: [[2, 2, 2, 3], [5, 5, 3, 2]], kernel: 'Conv2D', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 3, 4) },
    { name: 'conv2d 1x1 [6, 7, 7, 8] * [1, 1, 8, 5] (the product of x itself)', shapes: [[6, 7, 7, 8], [1, 1, 8, 5]], kernel: 'Conv2D', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid') },
    {
      name: 'conv2d filter gradient [8, 28, 28, 1] -> [3, 3, 1, 16], stride 2, padding 1 (seed 004\'s conv1)',
      shapes: [[8, 28, 28, 1], [3, 3, 1, 16]],
      kernel: 'Conv2DBackpropFilter',
      forwardOnly: true, // the case is itself a gradient
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 2, 1).square().sum())(w),
    },
    {
      name: 'conv2d filter gradient [3, 7, 8, 5] -> [2, 3, 5, 4], strides [2, 3], same',
      shapes: [[3, 7, 8, 5], [2, 3, 5, 4]],
      kernel: 'Conv2DBackpropFilter',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, [2, 3], 'same').square().sum())(w),
    },
    {
      name: 'conv2d filter gradient 1x1 [4, 6, 6, 8] -> [1, 1, 8, 3] (x itself)',
      shapes: [[4, 6, 6, 8], [1, 1, 8, 3]],
      kernel: 'Conv2DBackpropFilter',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 1, 'valid').square().sum())(w),
    },
    {
      name: 'conv2d input gradient [4, 14, 14, 16] <- [3, 3, 16, 32], stride 2, padding 1 (seed 004\'s conv2)',
      shapes: [[4, 14, 14, 16], [3, 3, 16, 32]],
      kernel: 'Conv2DBackpropInput',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 2, 1).square().sum())(x),
    },
    {
      name: 'conv2d input gradient [3, 9, 11, 3] <- [3, 3, 3, 4], stride 1, same',
      shapes: [[3, 9, 11, 3], [3, 3, 3, 4]],
      kernel: 'Conv2DBackpropInput',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').square().sum())(x),
    },
    {
      name: 'conv2d input gradient [2, 8, 9, 5] <- [2, 2, 5, 3], stride 1, same (uneven padding)',
      shapes: [[2, 8, 9, 5], [2, 2, 5, 3]],
      kernel: 'Conv2DBackpropInput',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').square().sum())(x),
    },
    {
      name: 'conv2d input gradient [3, 7, 8, 2] <- [2, 3, 2, 3], strides [2, 3], same',
      shapes: [[3, 7, 8, 2], [2, 3, 2, 3]],
      kernel: 'Conv2DBackpropInput',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, [2, 3], 'same').square().sum())(x),
    },
    {
      name: 'conv2d input gradient [2, 2, 2, 3] <- [5, 5, 3, 2], stride 3, padding 4 (taps wholly in the padding)',
      shapes: [[2, 2, 2, 3], [5, 5, 3, 2]],
      kernel: 'Conv2DBackpropInput',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 3, 4).square().sum())(x),
    },
    {
      name: 'conv2d input gradient 1x1 [4, 6, 6, 8] <- [1, 1, 8, 3] (one product)',
      shapes: [[4, 6, 6, 8], [1, 1, 8, 3]],
      kernel: 'Conv2DBackpropInput',
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid').square().sum())(x),
    },
    {
      name: 'conv2dTranspose [4, 7, 7, 32] * [3, 3, 16, 32] -> [4, 14, 14, 16], stride 2, padding 1 (PyTorch style)',
      shapes: [[4, 7, 7, 32], [3, 3, 16, 32]],
      kernel: 'Conv2DBackpropInput',
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [4, 14, 14, 16], 2, 1),
    },
    {
      name: 'conv2dTranspose [4, 7, 7, 32] -> [4, 15, 15, 16] valid, cropped to 14x14 (seed 004\'s deconv1, as layers.ts builds it)',
      shapes: [[4, 7, 7, 32], [3, 3, 16, 32]],
      kernel: 'Conv2DBackpropInput',
      f: (x, w) => tf.slice(tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [4, 15, 15, 16], 2, 'valid'), [0, 1, 1, 0], [-1, 14, 14, -1]),
    },
    {
      name: 'conv2dTranspose [32, 14, 14, 16] -> [32, 29, 29, 1] valid, cropped to 28x28 (seed 004\'s deconv2; images split across threads)',
      shapes: [[32, 14, 14, 16], [3, 3, 1, 16]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      f: (x, w) => tf.slice(tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [32, 29, 29, 1], 2, 'valid'), [0, 1, 1, 0], [-1, 28, 28, -1]),
    },
    {
      name: 'conv2dTranspose [4, 14, 14, 16] * [2, 2, 1, 16] -> [4, 28, 28, 1], stride 2',
      shapes: [[4, 14, 14, 16], [2, 2, 1, 16]],
      kernel: 'Conv2DBackpropInput',
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [4, 28, 28, 1], 2, 'valid'),
    },
    {
      name: 'conv2dTranspose [3, 5, 6, 4] * [3, 3, 2, 4] -> [3, 10, 12, 2], stride 2, same',
      shapes: [[3, 5, 6, 4], [3, 3, 2, 4]],
      kernel: 'Conv2DBackpropInput',
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [3, 10, 12, 2], 2, 'same'),
    },
    {
      name: 'fused conv2d [4, 12, 12, 3] * [3, 3, 3, 8] + bias, relu, same',
      shapes: [[4, 12, 12, 3], [3, 3, 3, 8], [8]],
      kernel: 'FusedConv2D',
      f: (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' }),
    },
    {
      name: 'fused conv2d [4, 13, 13, 2] * [3, 3, 2, 5] + bias, elu, stride 2',
      shapes: [[4, 13, 13, 2], [3, 3, 2, 5], [5]],
      kernel: 'FusedConv2D',
      forwardOnly: true, // tfjs has gradients of fused linear and relu only
      f: (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'valid', bias, activation: 'elu' }),
    },
    { name: 'conv2d with dilation 2 (falls back)', shapes: [[2, 9, 9, 3], [3, 3, 3, 4]], kernel: 'Conv2D', path: 'fallback', forwardOnly: true, f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2) },
    {
      name: 'conv2d [4, 16, 16, 16] * [3, 3, 16, 32], stride 2, valid (seed 004\'s conv2 after its padding: direct)',
      shapes: [[4, 16, 16, 16], [3, 3, 16, 32]],
      kernel: 'Conv2D',
      direct: true,
      f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
    },
    {
      name: 'fused conv2d [3, 11, 10, 20] * [3, 2, 20, 19] + bias, relu, strides [2, 1], valid (channel tails: direct)',
      shapes: [[3, 11, 10, 20], [3, 2, 20, 19], [19]],
      kernel: 'FusedConv2D',
      direct: true,
      f: (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: [2, 1], pad: 'valid', bias, activation: 'relu' }),
    },
    {
      name: 'fused conv2d [2, 9, 9, 3] * [3, 3, 3, 5] + scalar bias, leakyrelu, valid (direct)',
      shapes: [[2, 9, 9, 3], [3, 3, 3, 5], [1]],
      kernel: 'FusedConv2D',
      direct: true,
      forwardOnly: true,
      f: (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'valid', bias, activation: 'leakyrelu', leakyreluAlpha: 0.1 }),
    },
    {
      name: 'fused conv2d [5, 28, 28, 16] * [3, 3, 16, 1] + bias, same (a decoder\'s last convolution: one output channel, padded copy, direct)',
      shapes: [[5, 28, 28, 16], [3, 3, 16, 1], [1]],
      kernel: 'FusedConv2D',
      direct: true,
      f: (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias }),
    },
    {
      name: 'conv2d [3, 9, 11, 3] * [3, 3, 3, 1], strides [2, 1], valid (one output channel, filter rows of 9: a masked tail; 108 pixels)',
      shapes: [[3, 9, 11, 3], [3, 3, 3, 1]],
      kernel: 'Conv2D',
      direct: true,
      f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], 'valid'),
    },
    {
      name: 'conv2d [2, 7, 7, 1] * [3, 3, 1, 1], same (one channel in and out)',
      shapes: [[2, 7, 7, 1], [3, 3, 1, 1]],
      kernel: 'Conv2D',
      direct: true,
      f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    },
    {
      name: 'fused conv2d [3, 10, 10, 4] * [3, 3, 4, 1] + scalar bias, sigmoid, padding 2, stride 2 (one output channel, activation)',
      shapes: [[3, 10, 10, 4], [3, 3, 4, 1], [1]],
      kernel: 'FusedConv2D',
      direct: true,
      forwardOnly: true,
      f: (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 2, bias, activation: 'sigmoid' }),
    },
    {
      name: 'conv2d input gradient [5, 28, 28, 16] <- [3, 3, 16, 1], same (one output channel: direct)',
      shapes: [[5, 28, 28, 16], [3, 3, 16, 1]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').square().sum())(x),
    },
    {
      name: 'conv2d input gradient [3, 11, 9, 75] <- [3, 2, 75, 1], strides [2, 3], padding 1 (one output channel, 10 vectors with a tail: direct)',
      shapes: [[3, 11, 9, 75], [3, 2, 75, 1]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, [2, 3], 1).square().sum())(x),
    },
    {
      name: 'conv2dTranspose [4, 7, 7, 1] * [3, 3, 5, 1] -> [4, 14, 14, 5], stride 2, same (one input channel to five: direct)',
      shapes: [[4, 7, 7, 1], [3, 3, 5, 1]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [4, 14, 14, 5], 2, 'same'),
    },
    {
      name: 'conv2d filter gradient [9, 12, 12, 16] -> [3, 5, 16, 1], padding [1, 2] (one output channel: filter rows of 10 vectors)',
      shapes: [[9, 12, 12, 16], [3, 5, 16, 1]],
      kernel: 'Conv2DBackpropFilter',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 1, 'same').square().sum())(w),
    },
    {
      name: 'conv2d filter gradient [4, 16, 16, 16] -> [3, 3, 16, 32], same (padded copy: direct)',
      shapes: [[4, 16, 16, 16], [3, 3, 16, 32]],
      kernel: 'Conv2DBackpropFilter',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 1, 'same').square().sum())(w),
    },
    {
      name: 'conv2d filter gradient [5, 15, 15, 16] -> [3, 3, 16, 32], stride 2, valid (seed 004\'s deconv1 filter: direct)',
      shapes: [[5, 15, 15, 16], [3, 3, 16, 32]],
      kernel: 'Conv2DBackpropFilter',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 2, 'valid').square().sum())(w),
    },
    {
      name: 'conv2d filter gradient [33, 9, 8, 7] -> [3, 2, 7, 21], strides [2, 3], valid (K and channel tails, images split: direct)',
      shapes: [[33, 9, 8, 7], [3, 2, 7, 21]],
      kernel: 'Conv2DBackpropFilter',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, [2, 3], 'valid').square().sum())(w),
    },
    {
      name: 'conv2dTranspose [3, 5, 4, 6] * [3, 4, 20, 6] -> [3, 11, 13, 20], strides [2, 3], valid (channel tail: direct)',
      shapes: [[3, 5, 4, 6], [3, 4, 20, 6]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [3, 11, 13, 20], [2, 3], 'valid'),
    },
    {
      name: 'conv2dTranspose [2, 4, 5, 8] * [3, 3, 9, 8] -> [2, 8, 10, 9], stride 2, same (padding: direct)',
      shapes: [[2, 4, 5, 8], [3, 3, 9, 8]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 10, 9], 2, 'same'),
    },
    {
      name: 'conv2d input gradient [3, 13, 12, 1] <- [3, 3, 1, 5], stride 2, padding 1 (one channel: direct)',
      shapes: [[3, 13, 12, 1], [3, 3, 1, 5]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      forwardOnly: true,
      f: (x, w) => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w as tf.Tensor4D, 2, 1).square().sum())(x),
    },
    {
      name: 'conv2dTranspose [2, 6, 5, 21] * [4, 3, 1, 21] -> [2, 12, 15, 1], strides [2, 3], same (one channel: direct)',
      shapes: [[2, 6, 5, 21], [4, 3, 1, 21]],
      kernel: 'Conv2DBackpropInput',
      direct: true,
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 12, 15, 1], [2, 3], 'same'),
    },
    {
      name: 'conv2dTranspose [2, 5, 5, 6] * [3, 3, 3, 6] -> [2, 11, 11, 3], stride 2 (three channels: im2col + sgemm)',
      shapes: [[2, 5, 5, 6], [3, 3, 3, 6]],
      kernel: 'Conv2DBackpropInput',
      direct: false,
      f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 11, 11, 3], 2, 'valid'),
    },
    { name: 'tile [3, 4] by [2, 3]', shapes: [[3, 4]], kernel: 'Tile', f: (x) => tf.tile(x, [2, 3]) },
    { name: 'tile [1, 1, 1, 32] to [4, 7, 7, 32] (batch norm\'s gradient tiles the per-channel scale)', shapes: [[1, 1, 1, 32]], kernel: 'Tile', f: (x) => tf.tile(x, [4, 7, 7, 1]) },
    { name: 'tile [5, 1] to [5, 6] (repeats along the innermost axis)', shapes: [[5, 1]], kernel: 'Tile', f: (x) => tf.tile(x, [1, 6]) },
    { name: 'tile [2, 2, 2, 2, 3] by [2, 1, 2, 1, 2] (rank 5, merged to 8 axes)', shapes: [[2, 2, 2, 2, 3]], kernel: 'Tile', forwardOnly: true, f: (x) => tf.tile(x, [2, 1, 2, 1, 2]) },
    // tfjs has no gradient for rank-5 tiles.
    { name: 'tile [2, 2, 2, 2, 3] by 2 on every axis (10 axes to copy: falls back)', shapes: [[2, 2, 2, 2, 3]], kernel: 'Tile', path: 'fallback', forwardOnly: true, f: (x) => tf.tile(x, [2, 2, 2, 2, 2]) },
    {
      name: 'fused conv2d with prelu (falls back)',
      shapes: [[2, 6, 6, 3], [3, 3, 3, 4], [4]],
      kernel: 'FusedConv2D',
      path: 'fallback',
      forwardOnly: true,
      f: (x, w, alpha) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', activation: 'prelu', preluActivationWeights: alpha }),
    },
    {
      name: 'the seeds\' AE forward pass 784-400-20-400-784 with BCE from logits',
      shapes: [[128, 784], [784, 400], [400], [400, 20], [20], [20, 400], [400], [400, 784], [784]],
      scale: 0.05,
      kernel: '_FusedMatMul',
      f: (x, w1, b1, w2, b2, w3, b3, w4, b4) => {
        const h = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' });
        const z = tf.fused.matMul({ a: h, b: w2, bias: b2 });
        const h2 = tf.fused.matMul({ a: z, b: w3, bias: b3, activation: 'relu' });
        const l = tf.fused.matMul({ a: h2, b: w4, bias: b4 });
        const t = tf.sigmoid(x.mul(20));
        return tf.relu(l).sub(l.mul(t)).add(tf.softplus(tf.neg(tf.abs(l))));
      },
    },
  ];

  for (const c of cases) {
    it(`${c.name}: agrees with cpu (${c.forwardOnly ? 'forward' : 'forward and gradient'})`, async () => {
      const inputs = c.shapes.map((shape, i) => ({ shape, data: randn(shape, 101 + 7 * i, c.scale ?? 1) }));
      // Which path the forward pass takes (the gradient check below adds a sum of squares).
      const before = nativeKernelCalls();
      await onBackend('wasm', c.f, inputs, false);
      const ran = callsSince(before, c.kernel);
      const how = callsSince(before, `${c.kernel}:direct`);
      const wasm = await onBackend('wasm', c.f, inputs, !c.forwardOnly);
      const cpu = await onBackend('cpu', c.f, inputs, !c.forwardOnly);
      for (let i = 0; i < wasm.length; i++) {
        const e = relErr(wasm[i], cpu[i]);
        assert.ok(e <= 1e-4, `${i === 0 ? 'output' : `gradient ${i}`}: relative error ${e}`);
      }
      if ((c.path ?? 'native') === 'native') assert.ok(ran.native > 0 && ran.fallback === 0, `${c.kernel} ran ${JSON.stringify(ran)}`);
      else assert.ok(ran.fallback > 0 && ran.native === 0, `${c.kernel} ran ${JSON.stringify(ran)}`);
      if (c.direct !== undefined) {
        assert.ok(c.direct ? how.native > 0 && how.fallback === 0 : how.fallback > 0 && how.native === 0, `${c.kernel}:direct ran ${JSON.stringify(how)}`);
      }
      if (c.kernel !== 'BatchMatMul' && c.name.includes('matMul') && !c.forwardOnly) {
        // The gradients of a product are products with transposes: native too.
        assert.ok(callsSince(before, 'BatchMatMul').native > 0);
      }
    });
  }

  it('AELAB_NATIVE_CONV_INPUT=0 sends Conv2DBackpropInput to the wasm kernel, with the same values', async () => {
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 10, 10, 3], 2, 'same');
    const inputs = [[2, 5, 5, 4], [3, 3, 3, 4]].map((shape, i) => ({ shape, data: randn(shape, 7 + i) }));
    const before = nativeKernelCalls();
    const native = await onBackend('wasm', f, inputs, false);
    const saved = process.env.AELAB_NATIVE_CONV_INPUT;
    process.env.AELAB_NATIVE_CONV_INPUT = '0';
    let wasm: Float32Array[];
    try {
      wasm = await onBackend('wasm', f, inputs, false);
    } finally {
      if (saved === undefined) delete process.env.AELAB_NATIVE_CONV_INPUT;
      else process.env.AELAB_NATIVE_CONV_INPUT = saved;
    }
    assert.deepEqual(callsSince(before, 'Conv2DBackpropInput'), { native: 1, fallback: 1 });
    assert.ok(relErr(native[0], wasm[0]) <= 1e-5);
  });

  it('AELAB_NATIVE_CONV_DIRECT=0 runs the convolutions of seed 004\'s model as im2col + sgemm, with the same values', async () => {
    // Forward (fused, relu), filter and input gradients of both kinds of layer, valid padding.
    const f = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor) => {
      const h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w1 as tf.Tensor4D, strides: 2, pad: 'valid', bias: b1, activation: 'relu' });
      return tf.conv2dTranspose(h, w2 as tf.Tensor4D, [6, 15, 15, 16], 2, 'valid');
    };
    const inputs = [[6, 16, 16, 16], [3, 3, 16, 32], [32], [3, 3, 16, 32]].map((shape, i) => ({ shape, data: randn(shape, 11 + i) }));
    const kernels = ['FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'];
    const before = nativeKernelCalls();
    const direct = await onBackend('wasm', f, inputs);
    const mid = nativeKernelCalls();
    const saved = process.env.AELAB_NATIVE_CONV_DIRECT;
    process.env.AELAB_NATIVE_CONV_DIRECT = '0';
    let im2col: Float32Array[];
    try {
      im2col = await onBackend('wasm', f, inputs);
    } finally {
      if (saved === undefined) delete process.env.AELAB_NATIVE_CONV_DIRECT;
      else process.env.AELAB_NATIVE_CONV_DIRECT = saved;
    }
    for (const k of kernels) {
      assert.ok(callsSince(before, `${k}:direct`).native > 0 && callsSince(before, `${k}:direct`).fallback === callsSince(mid, `${k}:direct`).fallback, k);
      assert.ok(callsSince(mid, `${k}:direct`).fallback > 0 && callsSince(mid, `${k}:direct`).native === 0, k);
    }
    for (let i = 0; i < direct.length; i++) assert.ok(relErr(direct[i], im2col[i]) <= 1e-5, `${i}: ${relErr(direct[i], im2col[i])}`);
  });

  it('bceWithLogits: one native kernel forward and one backward, agreeing with the tfjs formula on cpu', async () => {
    const shape = [128, 784];
    const logits = randn(shape, 900, 8); // up to about +-40: saturated outputs included
    const target = Float32Array.from(randn(shape, 901), (v) => 1 / (1 + Math.exp(-3 * v)));
    const inputs = [{ shape, data: logits }, { shape, data: target }];
    const formula = (l: tf.Tensor, t: tf.Tensor) => tf.relu(l).sub(l.mul(t)).add(tf.softplus(tf.neg(tf.abs(l))));
    const before = nativeKernelCalls();
    const wasm = await onBackend('wasm', (l, t) => bceWithLogits(l, t), inputs);
    assert.ok(callsSince(before, 'BceWithLogits').native >= 2 && callsSince(before, 'BceWithLogits').fallback === 0);
    const cpu = await onBackend('cpu', formula, inputs);
    assert.equal(wasm.length, 3);
    wasm.forEach((w, i) => assert.ok(relErr(w, cpu[i]) <= 1e-4, `${['loss', 'd/dlogits', 'd/dtarget'][i]}: relative error ${relErr(w, cpu[i])}`));
    // On cpu the function is the formula itself.
    const onCpu = await onBackend('cpu', (l, t) => bceWithLogits(l, t), inputs);
    onCpu.forEach((c, i) => assert.deepEqual(c, cpu[i]));
  });

  it('LeakyRelu\'s gradient runs as native Step and Multiply, with tfjs\'s values, and survives a second tfjs registering its own', async () => {
    const shape = [128, 400];
    const data = randn(shape, 950);
    data[0] = 0; // x = 0 takes the alpha side in both
    const inputs = [{ shape, data }];
    // The reference by hand: y = x > 0 ? x : alpha x, and d(sum y^2)/dx = 2 y (x > 0 ? 1 : alpha).
    const alpha = Math.fround(0.01);
    const y = data.map((x) => (x > 0 ? x : Math.fround(alpha * x)));
    const dx = data.map((x, i) => Math.fround(2 * y[i]) * (x > 0 ? 1 : alpha));
    const check = async (when: string) => {
      const before = nativeKernelCalls();
      const wasm = await onBackend('wasm', (x) => tf.leakyRelu(x, 0.01), inputs);
      assert.ok(callsSince(before, 'Step').native > 0, `${when}: Step ran ${JSON.stringify(callsSince(before, 'Step'))}`);
      assert.ok(relErr(wasm[0], y) <= 1e-6, `${when}: output: relative error ${relErr(wasm[0], y)}`);
      assert.ok(relErr(wasm[1], dx) <= 1e-6, `${when}: gradient: relative error ${relErr(wasm[1], dx)}`);
      assert.equal(wasm[1][0], 0);
    };
    await check('registered');
    // danfojs-node loads a second copy of tfjs, which registers the stock gradients again in
    // tfjs's global registry. aelab's danfojs loader puts ours back...
    toDataFrame([{ a: 1 }]);
    await check('after a DataFrame');
    // ...and so does initBackend (every fit calls it), after anything else replaced it.
    const ours = tf.getGradient('LeakyRelu')!;
    tf.registerGradient({ ...ours, gradFunc: (dy) => ({ x: () => tf.mul(dy as tf.Tensor, 1) }) });
    assert.notEqual(tf.getGradient('LeakyRelu'), ours);
    await initBackend();
    assert.equal(tf.getGradient('LeakyRelu'), ours);
    await check('after initBackend');
  });

  it('Sum and Mean gradients broadcast dy with a native Tile, agreeing with the stock gradients on cpu', async () => {
    const shape = [6, 5, 7];
    const inputs = [{ shape, data: randn(shape, 960) }, { shape, data: randn(shape, 961) }];
    const fs: [string, (x: tf.Tensor, w: tf.Tensor) => tf.Tensor][] = [
      ['sum of all', (x, w) => tf.sum(x.mul(w)).reshape([1])],
      ['sum over axis 1', (x, w) => tf.sum(x.mul(w), 1)],
      ['mean of all', (x, w) => tf.mean(x.mul(w)).reshape([1])],
      ['mean over [0, 2], keepDims', (x, w) => tf.mean(x.mul(w), [0, 2], true)],
    ];
    for (const [name, f] of fs) {
      const before = nativeKernelCalls();
      const wasm = await onBackend('wasm', f, inputs);
      assert.ok(callsSince(before, 'Tile').native > 0, `${name}: Tile ran ${JSON.stringify(callsSince(before, 'Tile'))}`);
      const cpu = await onBackend('cpu', f, inputs);
      wasm.forEach((w, i) => assert.ok(relErr(w, cpu[i]) <= 1e-6, `${name} ${i}: relative error ${relErr(w, cpu[i])}`));
    }
  });

  it('batchNormTrain: native statistics, output and gradient, agreeing with tf.moments + tf.batchNorm on cpu', async () => {
    for (const shape of [[8, 14, 14, 16], [128, 400], [5, 3, 7, 13], [40, 3]]) {
      const C = shape.at(-1)!;
      // Off-centre inputs (mean 2, sd 3): the statistics must not lose the variance to cancellation.
      const inputs = [{ shape, data: randn(shape, 1, 3).map((v) => v + 2) }, { shape: [C], data: randn([C], 2) }, { shape: [C], data: randn([C], 3) }, { shape, data: randn(shape, 4) }];
      // A random weight on y: the gradient of sum(y^2) itself through batch norm is zero.
      const f = (x: tf.Tensor, s: tf.Tensor, o: tf.Tensor, w: tf.Tensor) => batchNormTrain(x, s, o, 1e-5).y.mul(w);
      // A loss that also uses the statistics (the gradient's extra terms).
      const g = (x: tf.Tensor, s: tf.Tensor, o: tf.Tensor, w: tf.Tensor) => {
        const r = batchNormTrain(x, s, o, 1e-5);
        return r.y.mul(w).sum().add(r.mean.mul(r.variance).sum()).reshape([1]);
      };
      const stats = (x: tf.Tensor) => {
        const r = batchNormTrain(x, undefined, undefined, 1e-3);
        return tf.concat([r.mean, r.variance, r.y.reshape([-1])]);
      };
      for (const [name, fn] of [['y * w', f], ['with the statistics in the loss', g]] as const) {
        const before = nativeKernelCalls();
        const wasm = await onBackend('wasm', fn, inputs);
        assert.ok(callsSince(before, 'BatchNormTrain').native > 0 && callsSince(before, 'BatchNormTrain').fallback === 0, `${shape}: ${JSON.stringify(callsSince(before, 'BatchNormTrain'))}`);
        const cpu = await onBackend('cpu', fn, inputs);
        wasm.forEach((w, i) => assert.ok(relErr(w, cpu[i]) <= 1e-5, `${shape} ${name} ${i === 0 ? 'output' : `gradient ${i}`}: relative error ${relErr(w, cpu[i])}`));
      }
      const [ws, cs] = [await onBackend('wasm', stats, inputs.slice(0, 1), false), await onBackend('cpu', stats, inputs.slice(0, 1), false)];
      assert.ok(relErr(ws[0], cs[0]) <= 1e-5, `${shape} statistics without scale and offset: relative error ${relErr(ws[0], cs[0])}`);
    }
  });

  it('the models\' batch norm layer trains as tfjs-layers\' own: outputs, moving statistics and gradients, its training step native', async () => {
    const shape = [16, 7, 7, 24];
    const x = tf.tensor(randn(shape, 11, 2).map((v) => v - 1), shape);
    const w = tf.tensor(randn(shape, 12), shape);
    const ours = batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
    const stock = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 });
    ours.build(shape);
    stock.build(shape);
    // Start both from the same non-trivial gamma and beta.
    const gamma = tf.tensor(randn([24], 13), [24]), beta = tf.tensor(randn([24], 14), [24]);
    for (const l of [ours, stock]) l.setWeights([gamma, beta, ...l.getWeights().slice(2)]);
    const run = (l: tf.layers.Layer) => {
      const loss = () => (l.apply(x, { training: true }) as tf.Tensor).mul(w).square().sum() as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, l.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val));
      const out = [value, ...Object.values(grads), ...l.getWeights().slice(2)].map((t) => t.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const before = nativeKernelCalls();
    const a = run(ours);
    assert.ok(callsSince(before, 'BatchNormTrain').native === 1 && callsSince(before, 'BatchNormTrain').fallback === 0, JSON.stringify(callsSince(before, 'BatchNormTrain')));
    const b = run(stock);
    assert.equal(a.length, 5); // loss, d gamma, d beta, moving mean, moving variance
    a.forEach((v, i) => assert.ok(relErr(v, b[i]) <= 1e-5, `${['loss', 'd gamma', 'd beta', 'moving mean', 'moving variance'][i]}: relative error ${relErr(v, b[i])}`));
    // Inference uses the moving statistics (FusedBatchNorm, native too): the same in both.
    const mid = nativeKernelCalls();
    const inf = [ours, stock].map((l) => (l.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array);
    assert.ok(relErr(inf[0], inf[1]) <= 1e-6);
    assert.deepEqual(callsSince(mid, 'FusedBatchNorm'), { native: 2, fallback: 0 });
    assert.equal(ours.getClassName(), 'BatchNormalization');
    tf.dispose([x, w, gamma, beta]);
    for (const l of [ours, stock]) l.weights.forEach((v) => v.dispose());
  });

  it('element-wise kernels keep NaN as tfjs does, and leave int32 to the wasm kernels', () => {
    const x = tf.tensor1d([NaN, -1, 0, 2, NaN, -3, 4, 5, -6, NaN]);
    assert.deepEqual(Array.from(tf.step(x, 0.5).dataSync()), [NaN, 0.5, 0.5, 1, NaN, 0.5, 1, 1, 0.5, NaN]);
    assert.deepEqual(Array.from(tf.relu(x).dataSync()), [NaN, 0, 0, 2, NaN, 0, 4, 5, 0, NaN]);
    const before = nativeKernelCalls();
    const i = tf.tensor1d([1, 2, 3], 'int32');
    assert.deepEqual(Array.from(tf.add(i, i).dataSync()), [2, 4, 6]);
    assert.deepEqual(Array.from(tf.mul(i, tf.scalar(3, 'int32')).dataSync()), [3, 6, 9]);
    assert.deepEqual(callsSince(before, 'Add'), { native: 0, fallback: 1 });
    assert.deepEqual(callsSince(before, 'Multiply'), { native: 0, fallback: 1 });
    tf.dispose([x, i]);
  });

  it('batch norm\'s gradient (tfjs tiles the scale to the activation) agrees with cpu, its Tile native', async () => {
    const inputs = [[4, 7, 7, 16], [16], [16], [16], [16]].map((shape, i) => ({ shape, data: randn(shape, 970 + i) }));
    inputs[2].data = inputs[2].data.map((v) => 1 + v * v); // a positive variance
    const f = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset: tf.Tensor, scale: tf.Tensor) => tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
    const before = nativeKernelCalls();
    const wasm = await onBackend('wasm', f, inputs);
    assert.ok(callsSince(before, 'Tile').native > 0 && callsSince(before, 'Tile').fallback === 0, `Tile ran ${JSON.stringify(callsSince(before, 'Tile'))}`);
    const cpu = await onBackend('cpu', f, inputs);
    wasm.forEach((w, i) => assert.ok(relErr(w, cpu[i]) <= 1e-4, `${i === 0 ? 'output' : `gradient ${i}`}: relative error ${relErr(w, cpu[i])}`));
  });

  // Max pooling's gradient: tf.maxPool's forward pass is MaxPool (the stock wasm kernel), so
  // each case checks MaxPoolGrad's path over a forward + gradient run.
  type PoolCase = { name: string; shape: number[]; filter: number | [number, number]; stride: number | [number, number]; pad: 'valid' | 'same' | number; ties?: boolean };
  const pools: PoolCase[] = [
    { name: '2x2 stride 2 valid on [4, 28, 28, 16] (the conv autoencoder\'s pooling)', shape: [4, 28, 28, 16], filter: 2, stride: 2, pad: 'valid' },
    { name: '3x3 stride 1 same on [3, 9, 10, 12] (overlapping windows; 8 + 4 channels)', shape: [3, 9, 10, 12], filter: 3, stride: 1, pad: 'same' },
    { name: '3x3 stride 2 valid on [2, 11, 13, 8] (odd size)', shape: [2, 11, 13, 8], filter: 3, stride: 2, pad: 'valid' },
    { name: '3x3 stride 2 same on [2, 7, 7, 20] (odd size, windows clipped by the padding)', shape: [2, 7, 7, 20], filter: 3, stride: 2, pad: 'same' },
    { name: '3x3 stride 2 padding 1 on [2, 14, 14, 16]', shape: [2, 14, 14, 16], filter: 3, stride: 2, pad: 1 },
    // (Not a numeric padding here: tfjs's output shape then takes the filter's height and stride for both axes.)
    { name: '2x3 windows, strides [1, 2], same on [2, 6, 9, 16]', shape: [2, 6, 9, 16], filter: [2, 3], stride: [1, 2], pad: 'same' },
    { name: '2x2 stride 2 valid on [5, 7, 9, 1] (one channel, odd size)', shape: [5, 7, 9, 1], filter: 2, stride: 2, pad: 'valid' },
    { name: '3x3 stride 1 same on [2, 12, 12, 1] (one channel)', shape: [2, 12, 12, 1], filter: 3, stride: 1, pad: 'same' },
    { name: 'ties: 2x2 stride 2 valid on [4, 28, 28, 16], 4 levels', shape: [4, 28, 28, 16], filter: 2, stride: 2, pad: 'valid', ties: true },
    { name: 'ties: 3x3 stride 1 same on [2, 8, 8, 11], 4 levels', shape: [2, 8, 8, 11], filter: 3, stride: 1, pad: 'same', ties: true },
    { name: 'ties: 3x3 stride 2 valid on [3, 9, 11, 1], 4 levels (one channel)', shape: [3, 9, 11, 1], filter: 3, stride: 2, pad: 'valid', ties: true },
    { name: 'ties: 3x3 stride 2 valid on [2, 9, 9, 24], 4 levels', shape: [2, 9, 9, 24], filter: 3, stride: 2, pad: 'valid', ties: true },
  ];
  /** Values rounded to -1.5, -0.5, 0.5, 1.5 (no zero, so that every output has a gradient): windows with equal maxima, all-negative windows. */
  const tied = (data: Float32Array) => data.map((v) => Math.max(-1.5, Math.min(1.5, Math.round(v) + 0.5)));
  const pooled = (c: PoolCase) => (x: tf.Tensor) => {
    const y = tf.maxPool(x as tf.Tensor4D, c.filter, c.stride, c.pad);
    // Distinct weights per output, so that a gradient sent to the wrong tap shows.
    return y.mul(tf.range(1, 1 + y.size).div(y.size).reshape(y.shape));
  };
  for (const c of pools) {
    it(`max pooling's gradient, ${c.name}: agrees with cpu, its MaxPoolGrad native`, async () => {
      const data = randn(c.shape, 980);
      const inputs = [{ shape: c.shape, data: c.ties ? tied(data) : data }];
      const before = nativeKernelCalls();
      const wasm = await onBackend('wasm', pooled(c), inputs);
      const ran = callsSince(before, 'MaxPoolGrad');
      assert.ok(ran.native > 0 && ran.fallback === 0, `MaxPoolGrad ran ${JSON.stringify(ran)}`);
      const cpu = await onBackend('cpu', pooled(c), inputs);
      wasm.forEach((w, i) => assert.ok(relErr(w, cpu[i]) <= 1e-4, `${i === 0 ? 'output' : 'gradient'}: relative error ${relErr(w, cpu[i])}`));
    });
  }

  it('MaxPoolGrad gives aelab\'s JS kernel\'s values bit for bit (ties, overlapping windows, a NaN or absent maximum)', () => {
    const run = (): Float32Array[] => pools.map((c, k) => tf.tidy(() => {
      const x = tf.tensor4d(tied(randn(c.shape, 990 + k)), c.shape as [number, number, number, number]);
      const pooledX = tf.maxPool(x, c.filter, c.stride, c.pad);
      const yData = Float32Array.from(pooledX.dataSync());
      yData[0] = NaN; // no tap equals NaN: no gradient
      yData[yData.length - 1] = 7; // nor 7
      const y = tf.tensor(yData, pooledX.shape);
      const dy = tf.tensor(randn(y.shape, 995 + k), y.shape);
      const attrs = { filterSize: c.filter, strides: c.stride, pad: c.pad };
      return (tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor).dataSync() as Float32Array;
    }));
    const before = nativeKernelCalls();
    const native = run();
    assert.deepEqual(callsSince(before, 'MaxPoolGrad'), { native: pools.length, fallback: 0 });
    unregisterNativeKernels();
    let js: Float32Array[];
    try {
      js = run();
    } finally {
      registerNativeKernels();
    }
    assert.deepEqual(callsSince(before, 'MaxPoolGrad'), { native: pools.length, fallback: 0 });
    pools.forEach((c, k) => assert.deepEqual(native[k], js[k], c.name));
  });

  it('MaxPoolGrad leaves int32 tensors to the kernel before it (which throws its own message)', () => {
    const before = nativeKernelCalls();
    tf.tidy(() => {
      const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1], 'int32');
      const y = tf.tensor4d([4], [1, 1, 1, 1], 'int32');
      assert.throws(() => tf.engine().runKernel('MaxPoolGrad', { dy: y, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }), /expected float32/);
    });
    assert.deepEqual(callsSince(before, 'MaxPoolGrad'), { native: 0, fallback: 1 });
  });

  it('tiles int32 tensors natively and leaves bool ones to the wasm kernel', () => {
    const before = nativeKernelCalls();
    assert.deepEqual(tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), [2, 1]).arraySync(), [[1, 2], [3, 4], [1, 2], [3, 4]]);
    assert.deepEqual(tf.tile(tf.tensor1d([true, false], 'bool'), [2]).arraySync(), [1, 0, 1, 0]);
    assert.deepEqual(callsSince(before, 'Tile'), { native: 1, fallback: 1 });
  });

  it('slices int32 tensors natively and leaves bool ones to the wasm kernel', () => {
    const before = nativeKernelCalls();
    const i = tf.tensor([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
    assert.deepEqual(tf.slice(i, [0, 1], [2, 2]).arraySync(), [[2, 3], [5, 6]]);
    const b = tf.tensor([[true, false], [false, true]], [2, 2], 'bool');
    assert.deepEqual(tf.slice(b, [1, 0], [1, 2]).arraySync(), [[0, 1]]);
    assert.deepEqual(callsSince(before, 'Slice'), { native: 1, fallback: 1 });
  });

  it('a slice past the input throws tfjs\'s message, as on cpu (1000 rows of a 500-row tensor)', async () => {
    const message = async (backend: string) => {
      const saved = tf.getBackend();
      await tf.setBackend(backend);
      try {
        tf.tidy(() => tf.zeros([500, 7]).slice(0, 1000));
        return 'no error';
      } catch (err) {
        return (err as Error).message;
      } finally {
        await tf.setBackend(saved);
      }
    };
    const cpu = await message('cpu');
    assert.match(cpu, /overflow input\.shape/);
    const before = nativeKernelCalls();
    assert.equal(await message('wasm'), cpu);
    assert.deepEqual(callsSince(before, 'Slice'), { native: 0, fallback: 0 });
  });

  it('a contiguous slice is a view into its input\'s memory; it outlives its input, and memory is freed once both are gone', () => {
    const backend = tf.backend() as unknown as { dataIdMap: Map<object, { memoryOffset: number }>; getMemoryOffset(id: object): number };
    const ids0 = backend.dataIdMap.size;
    const x = tf.tensor2d(Array.from({ length: 6 * 5 }, (_, i) => i), [6, 5]);
    const rows = x.slice([2], [3]);             // rows 2-4: contiguous, a view
    const row = rows.slice([1, 0], [1, 5]);     // a view of a view: row 3 of x
    const cols = x.slice([0, 1], [6, 2]);       // columns 1-2: strided, a copy
    const offset = (t: tf.Tensor) => backend.getMemoryOffset(t.dataId);
    assert.equal(offset(rows), offset(x) + 2 * 5 * 4);
    assert.equal(offset(row), offset(x) + 3 * 5 * 4);
    assert.ok(offset(cols) < offset(x) || offset(cols) >= offset(x) + 30 * 4, 'a strided block is copied');
    // Kernels read views where they lie: a product of a view against cpu's.
    const w = tf.tensor2d(Array.from({ length: 5 * 4 }, (_, i) => (i % 7) - 3), [5, 4]);
    const W = w.arraySync();
    const want = [2, 3, 4].map((r) => [0, 1, 2, 3].map((c) => W.reduce((acc, wk, k) => acc + (r * 5 + k) * wk[c], 0)));
    assert.deepEqual(tf.matMul(rows, w).arraySync(), want);
    x.dispose();
    // The root's memory lives on under its views, and a new tensor does not take it.
    const filler = tf.fill([30], 7);
    assert.deepEqual(rows.arraySync(), [[10, 11, 12, 13, 14], [15, 16, 17, 18, 19], [20, 21, 22, 23, 24]]);
    rows.dispose();
    assert.deepEqual(row.arraySync(), [[15, 16, 17, 18, 19]]);
    assert.deepEqual(cols.arraySync(), [[1, 2], [6, 7], [11, 12], [16, 17], [21, 22], [26, 27]]);
    tf.dispose([row, cols, filler, w]);
    assert.equal(backend.dataIdMap.size, ids0, 'every tensor, view and root is gone from the backend');
    // Batches sliced out of a larger tensor and disposed, 200 times, leave nothing behind.
    const data = tf.randomUniform([100, 784]);
    const ids1 = backend.dataIdMap.size, tensors = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) tf.tidy(() => tf.relu(data.slice([i % 90], [10])).sum().dataSync());
    assert.equal(backend.dataIdMap.size, ids1);
    assert.equal(tf.memory().numTensors, tensors);
    data.dispose();
  });

  it('moving a view\'s input to another backend keeps the view readable (a forced disposal does not free a root under its views)', async () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const view = x.slice([1], [2]);
    // A cpu kernel taking x moves x's data there and force-disposes it on wasm.
    await tf.setBackend('cpu');
    try {
      assert.deepEqual(tf.tidy(() => tf.add(x, 0).arraySync()), [[1, 2], [3, 4], [5, 6]]);
    } finally {
      await tf.setBackend('wasm');
    }
    // Tensors of x's size would take its memory, had it been freed.
    const fillers = Array.from({ length: 4 }, () => tf.fill([3, 2], 9));
    assert.deepEqual(view.arraySync(), [[3, 4], [5, 6]]);
    tf.dispose([x, view, ...fillers]);
  });

  it('Identity and same-dtype Cast share data instead of copying; other casts and disposal still work', async () => {
    const before = nativeKernelCalls();
    const x = tf.tensor([1.5, -2, 3], [3]);
    const memory0 = tf.memory().numBytes;
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    assert.equal(tf.memory().numBytes, memory0 + 24, 'numBytes counts tensors, as on any backend');
    const i = tf.cast(x, 'int32');
    assert.deepEqual(callsSince(before, 'Identity'), { native: 1, fallback: 0 });
    assert.deepEqual(callsSince(before, 'Cast'), { native: 1, fallback: 1 });
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1.5, -2, 3]);
    y.dispose();
    assert.deepEqual(Array.from(z.dataSync()), [1.5, -2, 3]);
    assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3]);
    const dataBuffers = tf.memory().numDataBuffers;
    tf.dispose([z, i]);
    assert.equal(tf.memory().numDataBuffers, dataBuffers - 2);
    // A variable assigned a clone keeps its value when the source is disposed.
    const v = tf.variable(tf.zeros([2]));
    const w = tf.tensor([4, 5]);
    v.assign(tf.clone(w));
    w.dispose();
    assert.deepEqual(Array.from(v.dataSync()), [4, 5]);
    v.dispose();
  });

  describe('NativeAdam', () => {
    const shapes = [[7, 13], [5], [1], [400, 784]];

    /** Runs `steps` Adam steps of fixed gradients on fresh variables; returns weights, moments and accBetas. */
    async function train(backend: string, make: () => tf.Optimizer, steps: number, hook?: (vars: tf.Variable[], step: number) => void) {
      const saved = tf.getBackend();
      await tf.setBackend(backend);
      try {
        const vars = shapes.map((s, i) => tf.variable(tf.tensor(randn(s, 300 + i)), true, `nadam_${backend}_${i}_${Math.random()}`));
        const opt = make();
        for (let step = 0; step < steps; step++) {
          hook?.(vars, step);
          const grads = shapes.map((s, i) => ({ name: vars[i].name, tensor: tf.tensor(randn(s, 400 + 10 * step + i, 0.1 + step)) }));
          opt.applyGradients(grads);
          tf.dispose(grads.map((g) => g.tensor));
        }
        const state = await opt.getWeights();
        const out = {
          weights: vars.map((v) => v.dataSync() as Float32Array),
          state: state.map((s) => s.tensor.dataSync() as Float32Array),
          acc: [...(opt as unknown as { accBeta1: tf.Tensor }).accBeta1.dataSync(), ...(opt as unknown as { accBeta2: tf.Tensor }).accBeta2.dataSync()],
        };
        opt.dispose();
        tf.dispose(vars);
        return out;
      } finally {
        await tf.setBackend(saved);
      }
    }

    it('gives tf.train.adam\'s values bit for bit on wasm, and agrees with cpu, natively', async () => {
      const before = nativeKernelCalls();
      const ours = await train('wasm', () => new NativeAdam(1e-3, 0.9, 0.999, 1e-8), 4);
      assert.deepEqual(callsSince(before, 'Adam'), { native: 4, fallback: 0 });
      const tfjs = await train('wasm', () => tf.train.adam(1e-3, 0.9, 0.999, 1e-8), 4);
      const cpu = await train('cpu', () => tf.train.adam(1e-3, 0.9, 0.999, 1e-8), 4);
      ours.weights.forEach((w, i) => assert.deepEqual(w, tfjs.weights[i], `weights ${i}`));
      ours.state.forEach((s, i) => assert.deepEqual(s, tfjs.state[i], `state ${i}`));
      assert.deepEqual(ours.acc, tfjs.acc);
      ours.weights.forEach((w, i) => assert.ok(relErr(w, cpu.weights[i]) <= 1e-4, `weights ${i} vs cpu`));
    });

    it('leaves tensors that share a weight\'s data alone (a tf.clone kept for the best epoch)', async () => {
      const clones: tf.Tensor[] = [];
      const originals: Float32Array[] = [];
      const ours = await train('wasm', () => new NativeAdam(1e-3, 0.9, 0.999, 1e-8), 3, (vars, step) => {
        if (step !== 1) return;
        for (const v of vars) {
          clones.push(tf.clone(v));
          originals.push(v.dataSync().slice() as Float32Array);
        }
      });
      const tfjs = await train('wasm', () => tf.train.adam(1e-3, 0.9, 0.999, 1e-8), 3);
      clones.forEach((c, i) => assert.deepEqual(c.dataSync(), originals[i], `clone ${i} changed`));
      ours.weights.forEach((w, i) => assert.deepEqual(w, tfjs.weights[i], `weights ${i}`));
      tf.dispose(clones);
    });

    it('restores its state with setWeights and goes on as tfjs\'s Adam does', async () => {
      const saved = tf.getBackend();
      try {
        const run = async (make: () => tf.Optimizer) => {
          const v = tf.variable(tf.tensor(randn([33], 500)), true, `nadam_sw_${Math.random()}`);
          const step = (opt: tf.Optimizer, k: number) => {
            const g = tf.tensor(randn([33], 600 + k));
            opt.applyGradients([{ name: v.name, tensor: g }]);
            g.dispose();
          };
          const first = make();
          step(first, 0);
          step(first, 1);
          const state = await first.getWeights();
          const second = make();
          const copies = state.map((s) => ({ name: s.name, tensor: s.tensor.clone() }));
          await second.setWeights(copies);
          first.dispose();
          tf.dispose(copies.map((c) => c.tensor));
          step(second, 2);
          const out = v.dataSync().slice();
          second.dispose();
          v.dispose();
          return out;
        };
        const ours = await run(() => new NativeAdam(1e-2));
        const tfjs = await run(() => tf.train.adam(1e-2));
        assert.deepEqual(ours, tfjs);
      } finally {
        await tf.setBackend(saved);
      }
    });

    it('a convolution sees the updated filter after a step (the wasm backend caches packed filters by tensor)', () => {
      const w = tf.variable(tf.tensor4d(randn([3, 3, 1, 4], 700), [3, 3, 1, 4]), true, `nadam_conv_${Math.random()}`);
      const x = tf.tensor4d(randn([2, 8, 8, 1], 701), [2, 8, 8, 1]);
      const opt = new NativeAdam(1e-1);
      try {
        for (let step = 0; step < 3; step++) {
          // Convolve with the variable (the backend packs and caches its filter), then update it.
          tf.tidy(() => tf.conv2d(x, w, 1, 'same').dataSync());
          const g = tf.tensor4d(randn([3, 3, 1, 4], 710 + step), [3, 3, 1, 4]);
          opt.applyGradients([{ name: w.name, tensor: g }]);
          g.dispose();
          const got = tf.tidy(() => tf.conv2d(x, w, 1, 'same').dataSync() as Float32Array);
          const want = tf.tidy(() => tf.conv2d(x, tf.tensor4d(w.dataSync().slice(), [3, 3, 1, 4]), 1, 'same').dataSync() as Float32Array);
          assert.ok(relErr(got, want) <= 1e-6, `step ${step}: conv2d with the variable is ${relErr(got, want)} off conv2d with its values`);
        }
      } finally {
        opt.dispose();
        tf.dispose([w, x]);
      }
    });

    it('trains a conv model as tf.train.adam does (each model its own gradients, 8 steps)', () => {
      const { ConvAutoencoder } = require('../src/lib/models') as typeof import('../src/lib/models');
      const models = [new ConvAutoencoder({ downsample: 'stride' }), new ConvAutoencoder({ downsample: 'stride' })];
      const vars = models.map((m) => m.trainableWeights);
      vars[1].forEach((v, i) => v.assign(vars[0][i]));
      const opts = [new NativeAdam(1e-2, 0.9, 0.999, 1e-8), tf.train.adam(1e-2, 0.9, 0.999, 1e-8)];
      const x = tf.tidy(() => tf.sigmoid(tf.tensor4d(randn([16, 28, 28, 1], 720), [16, 28, 28, 1])));
      const before = nativeKernelCalls();
      try {
        for (let step = 0; step < 8; step++) {
          models.forEach((model, k) => {
            const { value, grads } = tf.variableGrads(() => tf.tidy(() => model.forward(x, true).recon.sub(x).square().mean() as tf.Scalar), vars[k]);
            opts[k].applyGradients(vars[k].map((v) => ({ name: v.name, tensor: grads[v.name] })));
            tf.dispose([value, ...Object.values(grads)]);
          });
        }
        assert.deepEqual(callsSince(before, 'Adam'), { native: 8, fallback: 0 });
        vars[0].forEach((v, i) => {
          const err = relErr(v.dataSync(), vars[1][i].dataSync());
          assert.ok(err <= 1e-5, `variable ${i} [${v.shape}]: ${err} relative to tf.train.adam's`);
        });
      } finally {
        opts.forEach((o) => o.dispose());
        models.forEach((m) => m.dispose());
        x.dispose();
      }
    });

    it('is tfjs\'s Adam on another backend (cpu)', async () => {
      const before = nativeKernelCalls();
      const ours = await train('cpu', () => new NativeAdam(1e-3, 0.9, 0.999, 1e-8), 2);
      assert.deepEqual(callsSince(before, 'Adam'), { native: 0, fallback: 2 });
      const tfjs = await train('cpu', () => tf.train.adam(1e-3, 0.9, 0.999, 1e-8), 2);
      ours.weights.forEach((w, i) => assert.deepEqual(w, tfjs.weights[i]));
    });
  });
});
