/**
 * Where a training step spends its time, kernel by kernel: `tf.profile` around a short `fit`
 * of one bench model, after a warm-up fit. Prints each kernel's share of the summed kernel
 * time, its calls and milliseconds per step.
 *
 *   npx tsx bench/profile.ts [--model strided-conv-denoise|ae|NAME] [--activation relu|leakyRelu|elu] [--steps 20] [--batch 128] [--shapes]
 *
 * `strided-conv-denoise` (the default) is seed 004's strided-conv denoiser (MSE, noise 0.1) and
 * `ae` the seeds' AE (BCE summed); any registered model name (`aelab models`: conv, the pooling
 * conv AE; deep-conv, vae, ...) trains with BCE, mean.
 * `--shapes` splits each kernel by its input shapes; `--activation` sets the AE's hidden
 * activation (default relu).
 *
 * Kernel times are wall clock around each kernel (tfjs's wasm `time`), so they include the
 * kernel's own threads; the total is compared with the step's wall time to show the part
 * spent outside kernels (JS, tape, allocation).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/backend';
import { loadMnist } from '../src/lib/data/mnist';
import { AE } from '../src/lib/models/ae';
import { StridedConvAutoencoder } from '../src/lib/models/conv';
import type { Autoencoder } from '../src/lib/models/autoencoder';
import { createModel } from '../src/lib/models';
import type { HiddenActivation } from '../src/lib/models/layers';
import { fit, FitOptions } from '../src/lib/train/fit';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

async function main() {
  const which = arg('model', 'strided-conv-denoise');
  const steps = Number(arg('steps', '20'));
  const batch = Number(arg('batch', '128'));
  const byShape = process.argv.includes('--shapes');
  const activation = arg('activation', 'relu') as HiddenActivation;
  const backend = await initBackend({ quiet: true });
  const { train } = await loadMnist({ trainSize: steps * batch, testSize: 1, seed: 1 });
  const model: Autoencoder =
    which === 'ae' ? new AE({ seed: 1, activation }) : which === 'strided-conv-denoise' ? new StridedConvAutoencoder({ seed: 1 }) : createModel(which, { seed: 1 });
  const options: FitOptions =
    which === 'ae'
      ? { epochs: 1, batchSize: batch, lr: 1e-3, loss: 'bce', reduction: 'sum', seed: 1 }
      : which === 'strided-conv-denoise'
        ? { epochs: 1, batchSize: batch, lr: 1e-3, loss: 'mse', noise: { std: 0.1 }, seed: 1 }
        : { epochs: 1, batchSize: batch, lr: 1e-3, loss: 'bce', seed: 1 };
  await fit(model, train, options); // warm-up: kernels compiled, filters packed
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await fit(model, train, options);
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = await (k.kernelTimeMs as number | Promise<number | { error: string }>);
    const key = byShape ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = byName.get(key) ?? { ms: 0, calls: 0 };
    e.ms += typeof ms === 'number' ? ms : 0;
    e.calls++;
    byName.set(key, e);
  }
  const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`${which}${which === 'ae' ? ` (${activation})` : ''}, backend ${backend.name}, ${steps} steps of ${batch}: wall ${(wall / steps).toFixed(1)} ms/step, kernels ${(total / steps).toFixed(1)} ms/step (${((100 * total) / wall).toFixed(0)}% of wall)`);
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, e] of rows.slice(0, 25)) {
    console.log(`${name.padEnd(byShape ? 70 : 28)} ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${(e.ms / steps).toFixed(2).padStart(7)} ms/step  ${String(e.calls / steps).padStart(5)} calls/step`);
  }
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
