/**
 * Side by side, in one process: Adam steps of seed 001's AE (784-400-20, BCE sum, batch
 * 128) on MNIST with the stock wasm matrix-product kernels and with aelab's transposing
 * ones. Prints ms per step, the implied seconds per 60,000-image epoch, and the ratio.
 * Usage: npx tsx bench/wasm-matmul.ts [--steps N] [--repeats R]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/backend';
import { loadMnist } from '../src/lib/data/mnist';
import { batches, disposeBatch } from '../src/lib/data/batches';
import { registerWasmMatMul, unregisterWasmMatMul } from '../src/lib/kernels/wasm-matmul';
import { AE } from '../src/lib/models/ae';
import { reconstructionLoss } from '../src/lib/train/losses';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function msPerStep(steps: number): Promise<number> {
  const { train } = await loadMnist({ trainSize: 128 * (steps + 5), testSize: 1 });
  const model = new AE({ seed: 1 });
  const opt = tf.train.adam(1e-3);
  let t0 = 0;
  let i = 0;
  for (const b of batches(train, { batchSize: 128, seed: 1 })) {
    if (i === 5) t0 = performance.now(); // 5 warm-up steps
    const loss = opt.minimize(() => reconstructionLoss('bce', 'sum', b.target, model.forward(b.x, true)), true, model.trainableWeights);
    loss?.dataSync(); // wait for the step to finish
    loss?.dispose();
    disposeBatch(b);
    i++;
  }
  const ms = (performance.now() - t0) / (i - 5);
  opt.dispose();
  model.dispose();
  train.x.dispose();
  train.y?.dispose();
  return ms;
}

async function main() {
  await initBackend();
  const steps = arg('steps', 40);
  const repeats = arg('repeats', 3);
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const stockRuns: number[] = [];
  const oursRuns: number[] = [];
  for (let r = 0; r < repeats; r++) {
    unregisterWasmMatMul();
    stockRuns.push(await msPerStep(steps));
    registerWasmMatMul();
    oursRuns.push(await msPerStep(steps));
  }
  const stock = median(stockRuns);
  const ours = median(oursRuns);
  const epoch = (ms: number) => ((ms * Math.ceil(60000 / 128)) / 1000).toFixed(1);
  console.log(`AE 784-400-20 Adam step, batch 128, median of ${repeats} runs of ${steps} steps`);
  console.log(`  stock wasm kernels      ${stock.toFixed(1)} ms/step  (~${epoch(stock)} s/epoch)`);
  console.log(`  aelab wasm kernels      ${ours.toFixed(1)} ms/step  (~${epoch(ours)} s/epoch)`);
  console.log(`  ratio aelab / stock     ${(ours / stock).toFixed(3)}`);
}

main();
