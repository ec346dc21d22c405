import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { registerWasmConv, unregisterWasmConv } from '../src/lib/kernels/wasm-conv';
import { registerNativeKernels, unregisterNativeKernels } from '../src/lib/kernels/native';
import { Rng } from '../src/lib/random';
import { onBackend, randn, relErr } from './kernel-check';

type Case = { name: string; shapes: number[][]; f: (...xs: tf.Tensor[]) => tf.Tensor };

function agreeWithCpu(cases: Case[]) {
  for (const c of cases) {
    it(c.name, async () => {
      assert.equal(tf.getBackend(), 'wasm');
      const inputs = c.shapes.map((shape, i) => ({ shape, data: randn(shape, 17 + i) }));
      const wasm = await onBackend('wasm', c.f, inputs);
      const cpu = await onBackend('cpu', c.f, inputs);
      assert.equal(wasm.length, cpu.length);
      for (let i = 0; i < wasm.length; i++) {
        assert.equal(wasm[i].length, cpu[i].length, `${i === 0 ? 'output' : `gradient ${i}`}: size`);
        const e = relErr(wasm[i], cpu[i]);
        assert.ok(e <= 1e-4, `${i === 0 ? 'output' : `gradient ${i}`}: relative error ${e}`);
      }
    });
  }
}

const conv = (strides: number | [number, number], pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding) =>
  (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad);
const convT = (outShape: [number, number, number, number], strides: number, pad: 'same' | 'valid') =>
  (x: tf.Tensor, w: tf.Tensor) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, outShape, strides, pad);

describe('wasm convolution kernels agree with the cpu backend (output, input and filter gradients)', () => {
  agreeWithCpu([
    { name: 'conv2d k3 s1 same 1->16, 28x28, batch 4', shapes: [[4, 28, 28, 1], [3, 3, 1, 16]], f: conv(1, 'same') },
    { name: 'conv2d k3 s2 same 1->16, 28x28', shapes: [[4, 28, 28, 1], [3, 3, 1, 16]], f: conv(2, 'same') },
    { name: 'conv2d k3 s2 same 16->32, 14x14', shapes: [[4, 14, 14, 16], [3, 3, 16, 32]], f: conv(2, 'same') },
    {
      name: 'conv2d k3 s2 padding 1 (PyTorch style) 16->32, 14x14',
      shapes: [[4, 14, 14, 16], [3, 3, 16, 32]],
      f: conv(2, [[0, 0], [1, 1], [1, 1], [0, 0]]),
    },
    { name: 'conv2d k3 s2 valid 8->12, 15x15', shapes: [[4, 15, 15, 8], [3, 3, 8, 12]], f: conv(2, 'valid') },
    { name: 'conv2d k2 s2 valid 16->8, 28x28', shapes: [[4, 28, 28, 16], [2, 2, 16, 8]], f: conv(2, 'valid') },
    { name: 'conv2d k3 s2 same on odd 7x7 8->16', shapes: [[4, 7, 7, 8], [3, 3, 8, 16]], f: conv(2, 'same') },
    { name: 'conv2d k3 s1 explicit padding [[0,0],[1,1],[1,1],[0,0]]', shapes: [[4, 9, 9, 3], [3, 3, 3, 5]], f: conv(1, [[0, 0], [1, 1], [1, 1], [0, 0]]) },
    { name: 'conv2d k3 s1 asymmetric explicit padding', shapes: [[2, 9, 8, 3], [3, 3, 3, 5]], f: conv(1, [[0, 0], [0, 2], [1, 0], [0, 0]]) },
    { name: 'conv2d k3 s1 numeric padding 3 (wider than the kernel)', shapes: [[2, 6, 6, 2], [3, 3, 2, 4]], f: conv(1, 3) },
    { name: 'conv2d k5x3 strides [2,1] same', shapes: [[2, 9, 10, 3], [5, 3, 3, 4]], f: conv([2, 1], 'same') },
    { name: 'conv2d k1 s2 valid 8->4 (phases no tap reaches)', shapes: [[2, 7, 7, 8], [1, 1, 8, 4]], f: conv(2, 'valid') },
    { name: 'conv2d k3 s2 numeric padding 3, 8->4', shapes: [[2, 8, 8, 8], [3, 3, 8, 4]], f: conv(2, 3) },
    { name: 'conv2d batch 1, k3 s1 same 1->16', shapes: [[1, 28, 28, 1], [3, 3, 1, 16]], f: conv(1, 'same') },
    { name: 'conv2dTranspose k3 s2 same 32->16, 7x7 -> 14x14', shapes: [[4, 7, 7, 32], [3, 3, 16, 32]], f: convT([4, 14, 14, 16], 2, 'same') },
    { name: 'conv2dTranspose k2 s2 valid 16->1, 14x14 -> 28x28', shapes: [[4, 14, 14, 16], [2, 2, 1, 16]], f: convT([4, 28, 28, 1], 2, 'valid') },
    { name: 'conv2dTranspose k3 s2 valid 8->4, 3x3 -> 7x7', shapes: [[4, 3, 3, 8], [3, 3, 4, 8]], f: convT([4, 7, 7, 4], 2, 'valid') },
    { name: 'conv2dTranspose k3 s1 same 8->4', shapes: [[2, 7, 7, 8], [3, 3, 4, 8]], f: convT([2, 7, 7, 4], 1, 'same') },
    { name: 'conv2dTranspose batch 1, k3 s2 same 16->1, 14x14 -> 28x28', shapes: [[1, 14, 14, 16], [3, 3, 1, 16]], f: convT([1, 28, 28, 1], 2, 'same') },
  ]);
});

describe('other wasm kernels of convolutional autoencoders agree with the cpu backend (output and gradient)', () => {
  agreeWithCpu([
    { name: 'maxPool 2x2', shapes: [[4, 14, 14, 8]], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') },
    { name: 'maxPool 3x3 s2 same, odd size', shapes: [[2, 7, 7, 4]], f: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same') },
    { name: 'avgPool 2x2', shapes: [[4, 14, 14, 8]], f: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid') },
    {
      // Weighted, so that the loss is not sum(normalised^2), whose gradient cancels to rounding.
      name: 'batchNorm (training: batch moments)',
      shapes: [[4, 7, 7, 8], [8], [8], [4, 7, 7, 8]],
      f: (x, gamma, beta, weights) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3).mul(weights);
      },
    },
    // The cpu backend's ResizeNearestNeighborGrad is wrong for batch > 1 (it steps through dy
    // with the image's batch stride); batch 4 is checked against a direct sum below.
    { name: 'resizeNearestNeighbor x2 (upSampling2d), batch 1', shapes: [[1, 7, 7, 8]], f: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [14, 14]) },
    { name: 'resizeBilinear x2', shapes: [[4, 7, 7, 8]], f: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [14, 14]) },
    { name: 'relu and sigmoid', shapes: [[4, 7, 7, 8]], f: (x) => tf.sigmoid(tf.relu(x)) },
  ]);
});

describe('maxPool gradient with ties on wasm', () => {
  it('goes to the first maximum of each window, as on cpu', async () => {
    const shape = [2, 6, 6, 4];
    const data = randn(shape, 9).map((v) => Math.round(v) + 0); // integers (no -0): tied windows, all-negative windows
    const f = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid').mul(tf.range(1, 1 + 2 * 3 * 3 * 4).reshape([2, 3, 3, 4]));
    const [wasmOut, wasmGrad] = await onBackend('wasm', f, [{ shape, data }]);
    const [cpuOut, cpuGrad] = await onBackend('cpu', f, [{ shape, data }]);
    assert.deepEqual(Array.from(wasmOut), Array.from(cpuOut));
    assert.deepEqual(Array.from(wasmGrad), Array.from(cpuGrad));
  });
});

describe('nearest-neighbour upsampling gradient on wasm, batch 4', () => {
  it('sums each 2x2 block of dy', () => {
    const [B, H, W, C] = [4, 7, 7, 3];
    const dy = randn([B, 2 * H, 2 * W, C], 3);
    const x = tf.zeros([B, H, W, C]) as tf.Tensor4D;
    const got = tf.grad((a: tf.Tensor) => tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [2 * H, 2 * W]).mul(tf.tensor(dy, [B, 2 * H, 2 * W, C])).sum())(x);
    const want = new Float32Array(B * H * W * C);
    for (let b = 0; b < B; b++)
      for (let y = 0; y < 2 * H; y++)
        for (let xx = 0; xx < 2 * W; xx++)
          for (let c = 0; c < C; c++) want[((b * H + (y >> 1)) * W + (xx >> 1)) * C + c] += dy[((b * 2 * H + y) * 2 * W + xx) * C + c];
    assert.ok(relErr(got.dataSync() as Float32Array, want) <= 1e-6);
    tf.dispose([x, got]);
  });
});

describe('registerWasmConv', () => {
  it('is idempotent and undone by unregisterWasmConv', () => {
    // The native kernels (when built) are registered on top of these and fall back to them:
    // off while this test takes these away, back on top afterwards.
    unregisterNativeKernels();
    try {
      checkRegistration();
    } finally {
      registerNativeKernels();
    }
  });

  function checkRegistration() {
    registerWasmConv();
    const ours = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    registerWasmConv();
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), ours);
    const input = tf.getKernel('Conv2DBackpropInput', 'wasm');
    try {
      unregisterWasmConv();
      assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
      assert.ok(tf.getKernel('Conv2DBackpropInput', 'wasm'));
      assert.notEqual(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc, input!.kernelFunc);
    } finally {
      registerWasmConv();
    }
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  }

  it('leaks no tensor memory on the wasm backend', () => {
    const x = tf.tensor4d(randn([2, 9, 9, 4], 1), [2, 9, 9, 4]);
    const w = tf.tensor4d(randn([3, 3, 4, 6], 2), [3, 3, 4, 6]);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').sum());
    tf.dispose(grads([x, w])); // warm-up: the first call allocates the wasm kernels' caches
    const before = { tensors: tf.memory().numTensors, ids: tf.backend().numDataIds() };
    for (let i = 0; i < 3; i++) tf.dispose(grads([x, w]));
    assert.deepEqual({ tensors: tf.memory().numTensors, ids: tf.backend().numDataIds() }, before);
    tf.dispose([x, w]);
  });
});

describe('a convolutional autoencoder trains on wasm as on cpu', () => {
  function build(interpolation: 'nearest' | 'bilinear'): tf.Sequential {
    const model = tf.sequential();
    // No bias before batch normalisation: it cancels it, so the bias's gradient is rounding
    // noise, which Adam (dividing by its own scale) turns into backend-dependent steps.
    model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', useBias: false }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.batchNormalization());
    model.add(tf.layers.upSampling2d({ size: [2, 2], interpolation }));
    model.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' }));
    return model;
  }

  /** Losses before each of 3 Adam steps and after the last, the initial and the final weights. */
  async function train(backend: string, interpolation: 'nearest' | 'bilinear', images: Float32Array, initial?: Float32Array[]) {
    const saved = tf.getBackend();
    await tf.setBackend(backend);
    try {
      const model = build(interpolation);
      if (initial) {
        const values = model.weights.map((w, i) => tf.tensor(initial[i], w.shape as number[]));
        model.setWeights(values);
        tf.dispose(values);
      }
      const start = model.weights.map((w) => w.read().dataSync() as Float32Array);
      const x = tf.tensor4d(images, [images.length / 784, 28, 28, 1]);
      const optimizer = tf.train.adam(0.01);
      const lossOf = () => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
      const losses: number[] = [];
      for (let step = 0; step < 3; step++) losses.push((optimizer.minimize(lossOf, true) as tf.Scalar).dataSync()[0]);
      losses.push(tf.tidy(lossOf).dataSync()[0]);
      const weights = model.weights.map((w) => ({ name: w.name, data: w.read().dataSync() as Float32Array }));
      optimizer.dispose();
      model.dispose();
      x.dispose();
      return { start, losses, weights };
    } finally {
      await tf.setBackend(saved);
    }
  }

  // Nearest-neighbour upsampling only at batch 1: the cpu reference's gradient of it is
  // wrong for larger batches (see above).
  for (const [batch, interpolation] of [[8, 'bilinear'], [1, 'nearest']] as const) {
    it(`conv2d + maxPooling2d + batchNormalization + upSampling2d (${interpolation}) + conv2dTranspose, batch ${batch}: 3 Adam steps`, async () => {
      const rng = new Rng(5);
      const images = Float32Array.from({ length: batch * 28 * 28 }, () => rng.next());
      const wasm = await train('wasm', interpolation, images);
      const cpu = await train('cpu', interpolation, images, wasm.start);
      assert.ok(wasm.losses[3] < wasm.losses[0], `loss ${wasm.losses[0]} -> ${wasm.losses[3]}`);
      for (let i = 0; i < wasm.losses.length; i++) {
        assert.ok(Math.abs(wasm.losses[i] - cpu.losses[i]) <= 1e-3 * cpu.losses[i], `loss ${i}: wasm ${wasm.losses[i]}, cpu ${cpu.losses[i]}`);
      }
      for (let i = 0; i < wasm.weights.length; i++) {
        const e = relErr(wasm.weights[i].data, cpu.weights[i].data);
        assert.ok(e <= 1e-3, `${wasm.weights[i].name}: relative error ${e}`);
      }
    });
  }
});
