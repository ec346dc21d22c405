/**
 * aelab's t-SNE against scikit-learn's on the same latent codes: 20-dimensional codes of
 * MNIST test images from seed 001's AE (784-400-20) trained for 2 epochs on 10,000
 * training images. Both run perplexity 30, Barnes-Hut theta 0.5, 1000 iterations, early
 * exaggeration 12 for 250, learning rate 'auto', PCA initialisation, seed 1; the table shows
 * the median wall-clock seconds of several runs of each (ours in this process, scikit-learn
 * through bench/tsne_sklearn.py with 1 and 2 threads), their ratio, and trustworthiness
 * (k = 10) of both embeddings, with CPU seconds beside the wall clock. Rounds interleave the
 * implementations and print the load average with every run: the machine may be shared.
 *
 * Usage: npx tsx bench/tsne.ts [--n 5000] [--runs 3] [--threads 1,2] [--epochs 2]
 *                              [--latents FILE.f32 --dims 20] [--no-sklearn] [--json]
 *   --latents reuses codes written by an earlier run (the path is printed) instead of training.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/backend';
import { disposeDataset } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { AE } from '../src/lib/models/ae';
import { fit } from '../src/lib/train/fit';
import { tsne } from '../src/lib/analysis/tsne';
import { trustworthiness } from '../src/lib/analysis/trustworthiness';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = () => os.loadavg()[0];

interface Latents {
  x: Float32Array;
  n: number;
  dims: number;
  source: string;
}

/** Codes of `n` MNIST test images from an AE trained briefly; PCA-50 of the pixels if training fails. */
async function makeLatents(n: number, epochs: number, log: (s: string) => void): Promise<Latents> {
  const { train, test } = await loadMnist({ trainSize: 10000, testSize: n, seed: 1 });
  try {
    const ae = new AE({ latentDim: 20, seed: 1 });
    const t0 = performance.now();
    const history = await fit(ae, train, { epochs, batchSize: 128, loss: 'bce', reduction: 'sum', seed: 1 });
    log(
      `trained AE 784-400-20 for ${epochs} epoch(s) on 10,000 images in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(train BCE ${history.epochs[history.epochs.length - 1].trainLoss.toFixed(1)} per image)`,
    );
    const z = tf.tidy(() => ae.encode(test.x));
    const x = z.dataSync() as Float32Array;
    const dims = z.shape[1] as number;
    z.dispose();
    ae.dispose();
    return { x: Float32Array.from(x), n, dims, source: `AE latents (${dims}-d codes of ${n} MNIST test images)` };
  } catch (e) {
    log(`fit failed (${(e as Error).message}); falling back to PCA-50 of the pixels`);
    const { PCA } = await import('ml-pca');
    const pixels = test.x.reshape([n, 784]);
    const rows = pixels.arraySync() as number[][];
    pixels.dispose();
    const scores = new PCA(rows).predict(rows, { nComponents: 50 }).to2DArray();
    return { x: Float32Array.from(scores.flat()), n, dims: 50, source: `PCA-50 of ${n} MNIST test images' pixels (fit failed)` };
  } finally {
    disposeDataset(train);
    disposeDataset(test);
  }
}

async function main() {
  const n = Number(arg('n') ?? 5000);
  const runs = Number(arg('runs') ?? 3);
  const epochs = Number(arg('epochs') ?? 2);
  const threads = (arg('threads') ?? '1,2').split(',').map(Number);
  const json = flag('json');
  const log = (s: string) => {
    if (!json) console.log(s);
    else console.error(s);
  };
  await initBackend({ quiet: json });

  let latents: Latents;
  const given = arg('latents');
  if (given) {
    const dims = Number(arg('dims') ?? 20);
    const buf = fs.readFileSync(given);
    const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
    latents = { x, n: x.length / dims, dims, source: `${given} (${dims}-d)` };
  } else latents = await makeLatents(n, epochs, log);
  const file = given ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-tsne-')), `latents-${latents.n}x${latents.dims}.f32`);
  if (!given) fs.writeFileSync(file, Buffer.from(latents.x.buffer, latents.x.byteOffset, latents.x.byteLength));
  log(`data: ${latents.source}, ${latents.n} x ${latents.dims}, written to ${file}`);
  log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}; node ${process.version}`);

  // Interleaved, so that every implementation sees the same spells of load: each round
  // runs ours, then scikit-learn with each thread count.
  const script = path.join(__dirname, 'tsne_sklearn.py');
  const ours: Run[] = [];
  const sk: Record<number, Run[]> = {};
  const skThreads = flag('no-sklearn') ? [] : threads;
  for (const t of skThreads) sk[t] = [];
  for (let r = 0; r < runs; r++) {
    const before = load();
    const cpu0 = process.cpuUsage();
    const res = tsne(latents.x, { inputDims: latents.dims, seed: 1 });
    const cpu = process.cpuUsage(cpu0);
    const trust = trustworthiness({ data: latents.x, n: latents.n, dims: latents.dims }, res.embedding, 10);
    ours.push({ seconds: res.seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, trust, kl: res.klDivergence ?? NaN, load: [before, load()] });
    log(
      `  round ${r + 1} aelab      : ${res.seconds.toFixed(2)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s), ` +
        `trustworthiness ${trust.toFixed(4)}, KL ${res.klDivergence?.toFixed(3)}, ${res.iterations} iterations (load ${before.toFixed(2)} -> ${load().toFixed(2)})`,
    );
    for (const t of skThreads) {
      const b = load();
      const env = { ...process.env, OMP_NUM_THREADS: String(t), OPENBLAS_NUM_THREADS: String(t), MKL_NUM_THREADS: String(t) };
      const out = spawnSync('/usr/bin/python3', [script, file, '--shape', `${latents.n},${latents.dims}`, '--threads', String(t)], {
        env,
        encoding: 'utf8',
      });
      if (out.status !== 0) {
        log(`  sklearn (${t} thread(s)) failed: ${out.stderr || out.error?.message}`);
        continue;
      }
      const res = JSON.parse(out.stdout.trim().split('\n').pop() as string);
      sk[t].push({ seconds: res.seconds, cpuSeconds: res.cpu_seconds, trust: res.trustworthiness, kl: res.kl, load: [b, load()] });
      log(
        `  round ${r + 1} sklearn ${t}T : ${res.seconds.toFixed(2)} s (CPU ${res.cpu_seconds.toFixed(2)} s), ` +
          `trustworthiness ${res.trustworthiness.toFixed(4)}, KL ${res.kl.toFixed(3)}, ${res.n_iter + 1} iterations (load ${b.toFixed(2)} -> ${load().toFixed(2)})`,
      );
    }
  }

  const oursSec = median(ours.map((r) => r.seconds));
  const oursCpu = median(ours.map((r) => r.cpuSeconds));
  const oursTrust = median(ours.map((r) => r.trust));
  const rows = Object.entries(sk)
    .filter(([, rs]) => rs.length > 0)
    .map(([t, rs]) => {
      const s = median(rs.map((r) => r.seconds));
      const tr = median(rs.map((r) => r.trust));
      return {
        sklearnThreads: Number(t),
        oursSeconds: oursSec,
        sklearnSeconds: s,
        ratio: oursSec / s,
        oursCpuSeconds: oursCpu,
        sklearnCpuSeconds: median(rs.map((r) => r.cpuSeconds)),
        oursTrustworthiness: oursTrust,
        sklearnTrustworthiness: tr,
        difference: oursTrust - tr,
        oursKl: median(ours.map((r) => r.kl)),
        sklearnKl: median(rs.map((r) => r.kl)),
      };
    });
  const loads = [...ours, ...Object.values(sk).flat()].flatMap((r) => r.load);
  const loadRange = loads.length ? `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : '?';
  if (json) {
    console.log(JSON.stringify({ n: latents.n, dims: latents.dims, source: latents.source, runs, ours, sklearn: sk, rows }, null, 2));
    return;
  }
  console.log(
    `\nt-SNE of ${latents.n} x ${latents.dims} (${latents.source}); median of ${runs} runs; aelab single-threaded; ` +
      `1-minute load average ${loadRange} on ${os.cpus().length} cores`,
  );
  if (rows.length === 0) {
    console.log(`(no scikit-learn runs) ours ${oursSec.toFixed(2)} s (CPU ${oursCpu.toFixed(2)} s), trustworthiness ${oursTrust.toFixed(4)}`);
    return;
  }
  const header = ['sklearn threads', 'ours (s)', 'sklearn (s)', 'ratio', 'ours CPU (s)', 'sklearn CPU (s)', 'trust ours', 'trust sklearn', 'difference', 'KL ours', 'KL sklearn'];
  console.log(header.join(' | '));
  for (const r of rows) {
    const cells = [
      String(r.sklearnThreads),
      r.oursSeconds.toFixed(2),
      r.sklearnSeconds.toFixed(2),
      r.ratio.toFixed(2),
      r.oursCpuSeconds.toFixed(2),
      r.sklearnCpuSeconds.toFixed(2),
      r.oursTrustworthiness.toFixed(4),
      r.sklearnTrustworthiness.toFixed(4),
      (r.difference >= 0 ? '+' : '') + r.difference.toFixed(4),
      r.oursKl.toFixed(3),
      r.sklearnKl.toFixed(3),
    ];
    console.log(cells.map((c, i) => c.padStart(header[i].length)).join(' | '));
  }
}

interface Run {
  /** Wall-clock seconds of the t-SNE call. */
  seconds: number;
  /** CPU seconds of the process (all threads) over the call. */
  cpuSeconds: number;
  trust: number;
  kl: number;
  /** 1-minute load average before and after. */
  load: [number, number];
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
