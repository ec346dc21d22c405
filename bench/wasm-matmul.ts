/**
 * Side by side, in one process: `fit` epochs of seed 001's AE (784-400-20, BCE sum, batch
 * 128) on MNIST with the stock wasm matrix-product kernels and with aelab's transposing
 * ones. Prints ms per step, the implied seconds per 60,000-image epoch, and the ratio.
 * Usage: npx tsx bench/wasm-matmul.ts [--steps N] [--repeats R]
 */
import { initBackend } from '../src/lib/backend';
import { disposeDataset, takeRows } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { registerWasmMatMul, unregisterWasmMatMul } from '../src/lib/kernels/wasm-matmul';
import { AE } from '../src/lib/models/ae';
import { fit } from '../src/lib/train/fit';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** ms per training step of `fit` itself (the loop users run), after a short warm-up epoch. */
async function msPerStep(steps: number): Promise<number> {
  const { train } = await loadMnist({ trainSize: 128 * steps, testSize: 1 });
  const warmUp = takeRows(train, 128 * 5);
  const model = new AE({ seed: 1 });
  const options = { epochs: 1, batchSize: 128, lr: 1e-3, loss: 'bce', reduction: 'sum', seed: 1 } as const;
  await fit(model, warmUp, options);
  const history = await fit(model, train, options);
  model.dispose();
  disposeDataset(warmUp);
  disposeDataset(train);
  return (history.epochs[0].seconds * 1000) / steps;
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
  console.log(`AE 784-400-20, ms per fit step (Adam, BCE sum), batch 128, median of ${repeats} runs of ${steps} steps`);
  console.log(`  stock wasm kernels      ${stock.toFixed(1)} ms/step  (~${epoch(stock)} s/epoch)`);
  console.log(`  aelab wasm kernels      ${ours.toFixed(1)} ms/step  (~${epoch(ours)} s/epoch)`);
  console.log(`  ratio aelab / stock     ${(ours / stock).toFixed(3)}`);
}

main();
