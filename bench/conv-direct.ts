/**
 * The native convolution kernels of seed 004's strided conv AE, one shape at a time, with the
 * direct kernels and with im2col + sgemm (`AELAB_NATIVE_CONV_DIRECT=0`, read at every call),
 * taking turns in one process. Prints ms per call (median of the repeats) and the ratio,
 * with the 1-minute load average.
 *
 * Then whole training steps (`fit`, MSE, noise 0.1, batch 128) both ways, taking turns.
 *
 * Usage: npx tsx bench/conv-direct.ts [--calls N] [--repeats R] [--steps S]
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/backend';
import { takeRows } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { StridedConvAutoencoder } from '../src/lib/models/conv';
import { fit } from '../src/lib/train/fit';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);

async function main() {
  await initBackend({ quiet: true });
  const calls = arg('calls', 20), repeats = arg('repeats', 5);
  const r = (shape: [number, number, number, number]) => tf.randomNormal(shape) as tf.Tensor4D;
  const x16 = r([128, 16, 16, 16]), x15 = r([128, 15, 15, 16]), x30 = r([128, 30, 30, 1]), x29 = r([128, 29, 29, 1]);
  const w2 = r([3, 3, 16, 32]), w1 = r([3, 3, 1, 16]), b32 = tf.randomNormal([32]) as tf.Tensor1D;
  const dy7 = r([128, 7, 7, 32]), dy14 = r([128, 14, 14, 16]);
  const filterGrad = (x: tf.Tensor, dy: tf.Tensor, filterShape: number[]) =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'valid', dataFormat: 'NHWC', filterShape }) as tf.Tensor;
  const cases: [string, () => tf.Tensor][] = [
    ['FusedConv2D [128,16,16,16]*[3,3,16,32] relu', () => tf.fused.conv2d({ x: x16, filter: w2, strides: 2, pad: 'valid', bias: b32, activation: 'relu' })],
    ['Conv2D [128,15,15,16]*[3,3,16,32]', () => tf.conv2d(x15, w2, 2, 'valid')],
    ['Conv2D [128,30,30,1]*[3,3,1,16]', () => tf.conv2d(x30, w1, 2, 'valid')],
    ['Conv2D [128,29,29,1]*[3,3,1,16]', () => tf.conv2d(x29, w1, 2, 'valid')],
    ['Conv2DBackpropFilter [128,16,16,16],[128,7,7,32]', () => filterGrad(x16, dy7, [3, 3, 16, 32])],
    ['Conv2DBackpropFilter [128,15,15,16],[128,7,7,32]', () => filterGrad(x15, dy7, [3, 3, 16, 32])],
    ['Conv2DBackpropFilter [128,30,30,1],[128,14,14,16]', () => filterGrad(x30, dy14, [3, 3, 1, 16])],
    ['Conv2DBackpropInput [128,7,7,32] -> [128,16,16,16]', () => tf.conv2dTranspose(dy7, w2, [128, 16, 16, 16], 2, 'valid')],
    ['Conv2DBackpropInput [128,7,7,32] -> [128,15,15,16]', () => tf.conv2dTranspose(dy7, w2, [128, 15, 15, 16], 2, 'valid')],
    ['Conv2DBackpropInput [128,14,14,16] -> [128,29,29,1]', () => tf.conv2dTranspose(dy14, w1, [128, 29, 29, 1], 2, 'valid')],
  ];
  const time = (f: () => tf.Tensor) => {
    for (let i = 0; i < 3; i++) f().dispose();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) f().dispose();
    return (performance.now() - t0) / calls;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`load average ${os.loadavg()[0].toFixed(2)}; ms per call, median of ${repeats}`);
  for (const [name, f] of cases) {
    const direct: number[] = [], im2col: number[] = [];
    for (let k = 0; k < repeats; k++) {
      delete process.env.AELAB_NATIVE_CONV_DIRECT;
      direct.push(time(f));
      process.env.AELAB_NATIVE_CONV_DIRECT = '0';
      im2col.push(time(f));
    }
    delete process.env.AELAB_NATIVE_CONV_DIRECT;
    const d = median(direct), i = median(im2col);
    console.log(`${name.padEnd(52)} direct ${d.toFixed(2).padStart(6)}  im2col ${i.toFixed(2).padStart(6)}  ratio ${(d / i).toFixed(2)}`);
  }
  console.log(`load average ${os.loadavg()[0].toFixed(2)}`);
  tf.dispose([x16, x15, x30, x29, w2, w1, b32, dy7, dy14]);

  const steps = arg('steps', 20);
  if (steps <= 0) return;
  const { train } = await loadMnist({ trainSize: 128 * steps, testSize: 1 });
  const warmUp = takeRows(train, 128 * 3);
  const options = { epochs: 1, batchSize: 128, lr: 1e-3, loss: 'mse', noise: { std: 0.1 }, seed: 1 } as const;
  const perStep: Record<string, number[]> = { direct: [], im2col: [] };
  for (let k = 0; k < repeats; k++) {
    for (const mode of ['direct', 'im2col']) {
      if (mode === 'direct') delete process.env.AELAB_NATIVE_CONV_DIRECT;
      else process.env.AELAB_NATIVE_CONV_DIRECT = '0';
      const model = new StridedConvAutoencoder({ seed: 1 });
      await fit(model, warmUp, options);
      const history = await fit(model, train, options);
      model.dispose();
      perStep[mode].push((history.epochs[0].seconds * 1000) / steps);
    }
  }
  delete process.env.AELAB_NATIVE_CONV_DIRECT;
  const d = median(perStep.direct), i = median(perStep.im2col);
  console.log(`fit steps (ms/step, median of ${repeats}): direct ${d.toFixed(1)} [${perStep.direct.map((x) => x.toFixed(1)).join(', ')}]  im2col ${i.toFixed(1)} [${perStep.im2col.map((x) => x.toFixed(1)).join(', ')}]  ratio ${(d / i).toFixed(2)}`);
  console.log(`load average ${os.loadavg()[0].toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
