/**
 * `fit` steps of seed 004's strided conv AE (`StridedConvAutoencoder`, batch 128, Adam) on
 * MNIST with the native `Conv2DBackpropInput` and with the wasm one it replaces
 * (`AELAB_NATIVE_CONV_INPUT=0`, read at every call), taking turns in one process. Prints ms
 * per step (median of the repeats) with the 1-minute load average.
 *
 * Usage: npx tsx bench/conv-input.ts [--steps N] [--repeats R]
 */
import * as os from 'node:os';
import { initBackend } from '../src/lib/backend';
import { takeRows } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { nativeKernelCalls, nativeKernelsStatus } from '../src/lib/kernels/native';
import { StridedConvAutoencoder } from '../src/lib/models/conv';
import { fit } from '../src/lib/train/fit';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);

async function main() {
  await initBackend();
  const steps = arg('steps', 20), repeats = arg('repeats', 3);
  const status = nativeKernelsStatus();
  if (!status.registered) throw new Error(`native kernels not registered: ${status.reason}`);
  const { train } = await loadMnist({ trainSize: 128 * steps, testSize: 1 });
  const warmUp = takeRows(train, 128 * 3);
  const options = { epochs: 1, batchSize: 128, loss: 'bce', reduction: 'sum', seed: 1 } as const;
  const results: Record<string, number[]> = { native: [], wasm: [] };
  const loads: number[] = [];
  for (let r = 0; r < repeats; r++) {
    for (const mode of ['native', 'wasm'] as const) {
      process.env.AELAB_NATIVE_CONV_INPUT = mode === 'native' ? '1' : '0';
      const model = new StridedConvAutoencoder({ seed: 4 });
      await fit(model, warmUp, options);
      const before = nativeKernelCalls().Conv2DBackpropInput ?? { native: 0, fallback: 0 };
      const history = await fit(model, train, options);
      const after = nativeKernelCalls().Conv2DBackpropInput!;
      const ran = mode === 'native' ? after.native - before.native : after.fallback - before.fallback;
      if (ran === 0) throw new Error(`the ${mode} Conv2DBackpropInput did not run`);
      model.dispose();
      results[mode].push((history.epochs[0].seconds * 1000) / steps);
      loads.push(os.loadavg()[0]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; native threads ${status.threads}; ${steps} steps x ${repeats} repeats`);
  for (const mode of ['native', 'wasm'] as const) {
    console.log(`${mode === 'native' ? 'native Conv2DBackpropInput' : 'wasm Conv2DBackpropInput  '}: ${median(results[mode]).toFixed(1)} ms/step (runs ${results[mode].map((x) => x.toFixed(1)).join(', ')})`);
  }
  console.log(`1-minute load average during the runs: ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)}`);
}

main().catch((err) => {
  console.error(String(err?.stack ?? err).slice(0, 300));
  process.exit(1);
});
