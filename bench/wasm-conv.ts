/**
 * Side by side, in one process: one Adam training step (batch 128 of MNIST, MSE) of the
 * course's two convolutional autoencoders
 *   - seed 001's ConvAutoencoder: conv 1->16 k3 same + ReLU + maxPool 2, convTranspose 16->1 k2 s2 + sigmoid;
 *   - seed 004's strided one: conv 1->16 k3 s2 + ReLU, conv 16->32 k3 s2 + ReLU, convTranspose
 *     32->16 k3 s2 + ReLU, convTranspose 16->1 k3 s2 + sigmoid ('same' padding, as PyTorch's
 *     padding 1 / output_padding 1 gives the same sizes);
 * on `wasm` with aelab's kernels, on `wasm` with only the missing filter gradient added (stock
 * Conv2DBackpropInput and MaxPoolGrad: what the minimal fix would give), and on `cpu`.
 * Prints the median ms per step (wall clock, and process CPU time, which shared machines
 * disturb less), the implied seconds per 60,000-image epoch, and the ratios; then the
 * convolution kernels of those models alone (CPU time).
 * Usage: npx tsx bench/wasm-conv.ts [--runs N] [--cpu-runs N]   (cpu steps take ~5 s and ~20 s)
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/backend';
import { hostData } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { registerWasmConv, unregisterWasmConv } from '../src/lib/kernels/wasm-conv';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const BATCH = 128;
const STEPS_PER_EPOCH = Math.ceil(60000 / BATCH);

function seed001(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 2, strides: 2, padding: 'valid', activation: 'sigmoid' }));
  return m;
}

function seed004(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.conv2dTranspose({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' }));
  return m;
}

interface Timing {
  wall: number;
  cpu: number;
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall-clock and CPU ms of f over `runs` calls, after `warmUp` calls. */
function time(f: () => void, runs: number, warmUp: number): Timing {
  for (let i = 0; i < warmUp; i++) f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** ms per Adam step of a fresh model with the given initial weights, on the current backend. */
function stepTime(build: () => tf.Sequential, initial: Float32Array[], images: Float32Array, runs: number, warmUp: number): Timing {
  const model = build();
  const values = model.weights.map((w, i) => tf.tensor(initial[i], w.shape as number[]));
  model.setWeights(values);
  tf.dispose(values);
  const x = tf.tensor4d(images, [BATCH, 28, 28, 1]);
  const optimizer = tf.train.adam(1e-3);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
    loss!.dataSync();
    loss!.dispose();
  };
  const t = time(step, runs, warmUp);
  optimizer.dispose();
  model.dispose();
  x.dispose();
  return t;
}

/** Registers only aelab's filter gradient: the stock wasm kernels plus what they lack. */
async function withStockWasmKernels<T>(f: () => T | Promise<T>): Promise<T> {
  const filterGrad = tf.getKernel('Conv2DBackpropFilter', 'wasm')!;
  unregisterWasmConv();
  tf.registerKernel(filterGrad);
  try {
    return await f();
  } finally {
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    registerWasmConv();
  }
}

const fmt = (t: Timing) =>
  `${t.wall.toFixed(1).padStart(8)} ms/step (cpu ${t.cpu.toFixed(1).padStart(7)} ms)  ~${((t.wall * STEPS_PER_EPOCH) / 1000).toFixed(1).padStart(6)} s/epoch`;

async function main() {
  const runs = arg('runs', 7);
  const cpuRuns = arg('cpu-runs', 5);
  await initBackend({ backend: 'wasm' });
  const { train } = await loadMnist({ trainSize: BATCH, testSize: 1 });
  const images = Float32Array.from(hostData(train.x));
  train.x.dispose();
  train.y?.dispose();

  for (const [name, build] of [
    ["seed 001 ConvAutoencoder (conv k3 + maxPool, convT k2 s2)", seed001],
    ["seed 004 strided conv AE (2 conv s2, 2 convT s2)", seed004],
  ] as const) {
    const probe = build();
    const initial = probe.weights.map((w) => w.read().dataSync() as Float32Array);
    probe.dispose();
    const ours = stepTime(build, initial, images, runs, 3);
    const stock = await withStockWasmKernels(() => stepTime(build, initial, images, runs, 3));
    await tf.setBackend('cpu');
    const cpu = stepTime(build, initial, images, cpuRuns, 1);
    await tf.setBackend('wasm');
    console.log(`${name}: one Adam step, batch ${BATCH}, MSE; median of ${runs} runs (cpu: ${cpuRuns}) after warm-up`);
    console.log(`  wasm, aelab kernels                  ${fmt(ours)}`);
    console.log(`  wasm, stock + filter gradient only   ${fmt(stock)}`);
    console.log(`  cpu                                  ${fmt(cpu)}`);
    console.log(`  ratio aelab wasm / stock wasm ${(ours.wall / stock.wall).toFixed(3)}, aelab wasm / cpu ${(ours.wall / cpu.wall).toFixed(4)} (cpu ${(cpu.wall / ours.wall).toFixed(0)}x slower)`);
  }

  // The convolution kernels of those two models, alone: forward, input gradient (stock wasm,
  // aelab wasm, cpu) and filter gradient (aelab wasm; cpu's takes seconds). CPU time: these
  // few-millisecond timings are the ones other processes on the machine disturb most.
  console.log('\nkernels, batch 128 (median ms of process CPU time)');
  const shapes: [string, number[], number[], number, 'same' | 'valid'][] = [
    ['conv k3 s1 same 1->16 28x28', [BATCH, 28, 28, 1], [3, 3, 1, 16], 1, 'same'],
    ['conv k2 s2 valid 1->16 28x28 (convT k2 s2)', [BATCH, 28, 28, 1], [2, 2, 1, 16], 2, 'valid'],
    ['conv k3 s2 same 1->16 28x28', [BATCH, 28, 28, 1], [3, 3, 1, 16], 2, 'same'],
    ['conv k3 s2 same 16->32 14x14', [BATCH, 14, 14, 16], [3, 3, 16, 32], 2, 'same'],
  ];
  for (const [name, xShape, fShape, s, pad] of shapes) {
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], s, 1, pad);
    const data = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', 7);
    const on = async (backend: string, f: (x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D) => tf.Tensor, runs: number) => {
      await tf.setBackend(backend);
      const [x, w, dy] = [data(xShape), data(fShape), data(info.outShape)] as tf.Tensor4D[];
      const t = time(() => f(x, w, dy).dispose(), runs, 2).cpu;
      tf.dispose([x, w, dy]);
      await tf.setBackend('wasm');
      return t;
    };
    const conv = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, s, pad);
    const dx = (x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D) => tf.conv2dTranspose(dy, w, x.shape, s, pad);
    const dw = (x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad, dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor;
    const row = {
      conv: [await on('wasm', conv, runs), await on('cpu', conv, 3)],
      dx: [await withStockWasmKernels(() => on('wasm', dx, runs)), await on('wasm', dx, runs), await on('cpu', dx, 3)],
      dw: await on('wasm', dw, runs),
    };
    console.log(`  ${name.padEnd(44)} Conv2D wasm ${row.conv[0].toFixed(2)} cpu ${row.conv[1].toFixed(1)} | ` +
      `Conv2DBackpropInput stock wasm ${row.dx[0].toFixed(2)} aelab ${row.dx[1].toFixed(2)} cpu ${row.dx[2].toFixed(1)} | ` +
      `Conv2DBackpropFilter aelab ${row.dw.toFixed(2)}`);
  }
}

main();
