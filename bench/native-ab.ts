/**
 * Training steps of seed 004's strided conv AE (`fit`, MSE, noise 0.1, Adam 1e-3, batch 128)
 * with every native kernel and with some left to wasm (`AELAB_NATIVE_OFF`, the kernels are
 * registered again for each turn), taking turns in one process. Prints ms per step (median
 * of the repeats), the ratio, and the 1-minute load average.
 *
 * Usage: npx tsx bench/native-ab.ts --off Add,Multiply,Step,Relu [--steps N] [--repeats R] [--model conv|ae]
 */
import * as os from 'node:os';
import { initBackend } from '../src/lib/backend';
import { takeRows } from '../src/lib/data/dataset';
import { loadMnist } from '../src/lib/data/mnist';
import { registerNativeKernels, unregisterNativeKernels } from '../src/lib/kernels/native';
import { AE } from '../src/lib/models/ae';
import { StridedConvAutoencoder } from '../src/lib/models/conv';
import { fit, FitOptions } from '../src/lib/train/fit';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);

async function main() {
  await initBackend({ quiet: true });
  const off = arg('off', ''), steps = Number(arg('steps', '20')), repeats = Number(arg('repeats', '5')), which = arg('model', 'conv');
  const { train } = await loadMnist({ trainSize: 128 * steps, testSize: 1 });
  const warmUp = takeRows(train, 128 * 3);
  const options: FitOptions = which === 'ae'
    ? { epochs: 1, batchSize: 128, lr: 1e-3, loss: 'bce', reduction: 'sum', seed: 1 }
    : { epochs: 1, batchSize: 128, lr: 1e-3, loss: 'mse', noise: { std: 0.1 }, seed: 1 };
  const perStep: Record<string, number[]> = { all: [], off: [] };
  const loads: number[] = [];
  for (let k = 0; k < repeats; k++) {
    for (const mode of ['all', 'off']) {
      unregisterNativeKernels();
      process.env.AELAB_NATIVE_OFF = mode === 'off' ? off : '';
      registerNativeKernels();
      const model = which === 'ae' ? new AE({ seed: 1 }) : new StridedConvAutoencoder({ seed: 1 });
      await fit(model, warmUp, options);
      const history = await fit(model, train, options);
      model.dispose();
      perStep[mode].push((history.epochs[0].seconds * 1000) / steps);
      loads.push(os.loadavg()[0]);
    }
  }
  delete process.env.AELAB_NATIVE_OFF;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const a = median(perStep.all), b = median(perStep.off);
  console.log(`${which}, ${steps} steps x ${repeats}: all native ${a.toFixed(1)} ms/step [${perStep.all.map((x) => x.toFixed(1)).join(', ')}]; without ${off} ${b.toFixed(1)} [${perStep.off.map((x) => x.toFixed(1)).join(', ')}]; ratio ${(a / b).toFixed(3)}`);
  console.log(`1-minute load average ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
