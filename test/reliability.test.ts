// Reliability of training on real MNIST: an interrupted run resumes to the very weights of
// an uninterrupted one (library and command line), a save that fails names its path and
// keeps the previous checkpoint, and a long run holds its tensor count and memory flat.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { MLPAutoencoder } from '../src/lib/models/mlp';
import { VAE } from '../src/lib/models/vae';
import { Autoencoder } from '../src/lib/models/autoencoder';
import { SaveError, loadModel } from '../src/lib/models/io';
import { CheckpointError } from '../src/lib/train/checkpoint';
import { FitOptions, InterruptedError, fit } from '../src/lib/train/fit';
import { OPTIMIZERS } from '../src/lib/train/optimizers';

// The module object itself, whose functions the library calls at run time (to simulate a full disk).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs = require('node:fs') as typeof fs;

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'dist', 'cli', 'main.js');

/** Every weight of a model (batch-norm statistics included), copied to the host. */
const weightsOf = (m: Autoencoder) => m.weights.map((w) => Float32Array.from(w.read().dataSync()));

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let d = 0;
  a.forEach((x, i) => x.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j])))));
  return d;
}

const small = (seed = 3) => new MLPAutoencoder({ hidden: [32], latentDim: 4, batchNorm: true, seed });

/** Trains with `options` and returns the weights; interrupted at (epoch, batch) when given. */
async function interruptAt(model: Autoencoder, train: Dataset, options: FitOptions, epoch: number, batch: number): Promise<InterruptedError> {
  const controller = new AbortController();
  try {
    await fit(model, train, { ...options, signal: controller.signal, logInterval: 1, onBatch: (i) => i.epoch === epoch && i.batch === batch && controller.abort() });
  } catch (err) {
    if (err instanceof InterruptedError) return err;
    throw err;
  }
  throw new Error('training was not interrupted');
}

describe('reliability: interrupted runs, failed saves, long runs', function () {
  let train: Dataset;
  let validation: Dataset;
  let dir: string;

  before(async () => {
    const d = await loadMnist({ trainSize: 256, testSize: 1, validation: 64, seed: 5 });
    disposeDataset(d.test);
    train = d.train;
    validation = d.validation!;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-rel-'));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(validation);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stopped mid-epoch and resumed, every optimizer ends with exactly the weights of an uninterrupted run', async () => {
    for (const optimizer of OPTIMIZERS) {
      const lr = optimizer === 'sgd' || optimizer === 'momentum' ? 0.05 : 1e-3;
      const options: FitOptions = { epochs: 3, batchSize: 64, optimizer, lr, loss: 'bce', seed: 4 };
      const reference = small();
      const h0 = await fit(reference, train, options);
      const expected = weightsOf(reference);
      reference.dispose();

      const ckpt = path.join(dir, optimizer);
      const first = small();
      const stop = await interruptAt(first, train, { ...options, checkpointDir: ckpt }, 2, 1);
      first.dispose();
      assert.deepEqual([stop.epoch, stop.batch, stop.checkpoint, stop.history?.epochs.length], [2, 2, path.join(ckpt, 'last'), 1], optimizer);
      assert.match(stop.message, /interrupted in epoch 2 after batch 2; a resumable checkpoint is in/);
      const state = JSON.parse(fs.readFileSync(path.join(ckpt, 'checkpoint.json'), 'utf8'));
      assert.deepEqual([state.lastEpoch, state.lastBatch], [1, 2]);

      const resumed = small();
      let initialEpoch = -1;
      const h = await fit(resumed, train, { ...options, checkpointDir: ckpt, resume: true, onTrainBegin: (i) => (initialEpoch = i.initialEpoch ?? -1) });
      assert.equal(initialEpoch, 1);
      assert.equal(maxAbsDiff(weightsOf(resumed), expected), 0, `${optimizer}: resumed weights differ`);
      // The partial epoch's running loss was restored too: the history is the same, loss for loss.
      assert.deepEqual(h.epochs.map((e) => [e.epoch, e.trainLoss, e.lr]), h0.epochs.map((e) => [e.epoch, e.trainLoss, e.lr]), optimizer);
      resumed.dispose();
    }
  });

  it('a VAE with validation, plateau, clipping, noise and early stopping resumes exactly from an epoch boundary; other settings are refused', async () => {
    const make = () => new VAE({ hidden: [32], latentDim: 3, seed: 7 });
    const options: FitOptions = {
      epochs: 4,
      batchSize: 64,
      reduction: 'sum',
      seed: 2,
      noise: { std: 0.2 },
      clipNorm: 5,
      plateau: { patience: 0, factor: 0.5, threshold: 0.5 },
      earlyStopping: { patience: 3, restoreBest: true },
      validationData: validation,
    };
    const reference = make();
    const h0 = await fit(reference, train, options);
    assert.ok(h0.epochs.some((e) => e.lr < 1e-3), 'the plateau lowered the rate (its counters matter)');
    const expected = weightsOf(reference);
    reference.dispose();

    const ckpt = path.join(dir, 'vae');
    const first = make();
    // At the last batch of epoch 2: the epoch completes, epoch 3 does not start.
    const stop = await interruptAt(first, train, { ...options, checkpointDir: ckpt }, 2, Math.ceil(train.x.shape[0] / 64) - 1);
    first.dispose();
    assert.deepEqual([stop.epoch, stop.batch, stop.history?.epochs.length], [3, 0, 2]);
    assert.match(stop.message, /interrupted after epoch 2/);

    const wrong = make();
    await assert.rejects(fit(wrong, train, { ...options, batchSize: 32, checkpointDir: ckpt, resume: true }), (e: unknown) => e instanceof CheckpointError && /batchSize 64.*asks for 32/.test(e.message));
    wrong.dispose();

    const resumed = make();
    const h = await fit(resumed, train, { ...options, checkpointDir: ckpt, resume: true });
    assert.equal(maxAbsDiff(weightsOf(resumed), expected), 0, 'the sampling noise, counters and lr were restored');
    assert.deepEqual(h.epochs.map((e) => [e.trainLoss, e.valLoss, e.lr]), h0.epochs.map((e) => [e.trainLoss, e.valLoss, e.lr]));
    assert.equal(h.bestEpoch, h0.bestEpoch);
    resumed.dispose();
  });

  it('a save into a path under a regular file fails with a SaveError naming it, before any epoch is lost', async () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'not a directory');
    const model = small();
    await assert.rejects(
      fit(model, train, { epochs: 2, batchSize: 128, checkpointDir: path.join(blocker, 'checkpoints') }),
      (e: unknown) => e instanceof SaveError && e.path === path.join(blocker, 'checkpoints', 'last') && /ENOTDIR/.test(e.message) && e.message.includes(blocker),
    );
    model.dispose();
    assert.equal(fs.readFileSync(blocker, 'utf8'), 'not a directory');
  });

  it('a full disk in the second save names the path, keeps the first checkpoint intact, and the run resumes from it exactly', async () => {
    const options: FitOptions = { epochs: 3, batchSize: 64, seed: 8, loss: 'mse' };
    const reference = small(11);
    await fit(reference, train, options);
    const expected = weightsOf(reference);
    reference.dispose();

    const ckpt = path.join(dir, 'full');
    const model = small(11);
    const realWrite = nodeFs.writeSync;
    let full = false;
    nodeFs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
      if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (realWrite as (...a: unknown[]) => number)(...args);
    }) as typeof fs.writeSync;
    let err: unknown;
    try {
      await fit(model, train, { ...options, checkpointDir: ckpt, onEpochEnd: (r) => void (full = r.epoch === 1) });
    } catch (e) {
      err = e;
    } finally {
      nodeFs.writeSync = realWrite;
    }
    model.dispose();
    assert.ok(err instanceof SaveError, String(err));
    assert.equal(err.path, path.join(ckpt, 'last'));
    assert.match(err.message, /^could not save to .*last: ENOSPC: no space left on device/);
    // Epoch 1's checkpoint is whole: no temporary directory is left, and it loads.
    assert.deepEqual(fs.readdirSync(ckpt).sort(), ['best', 'checkpoint.json', 'last']);
    assert.equal(JSON.parse(fs.readFileSync(path.join(ckpt, 'checkpoint.json'), 'utf8')).lastEpoch, 1);
    (await loadModel(path.join(ckpt, 'last'))).dispose();

    const resumed = small(11);
    const h = await fit(resumed, train, { ...options, checkpointDir: ckpt, resume: true });
    assert.deepEqual(h.epochs.map((e) => e.epoch), [1, 2, 3]);
    assert.equal(maxAbsDiff(weightsOf(resumed), expected), 0);
    resumed.dispose();
  });

  it('a 20-epoch run with checkpoints keeps the tensor count and the memory flat after the first epoch', async () => {
    const model = small(5);
    const tensors: number[] = [];
    const rss: number[] = [];
    await fit(model, train, {
      epochs: 20,
      batchSize: 64,
      seed: 3,
      clipNorm: 10,
      validationData: validation,
      checkpointDir: path.join(dir, 'long'),
      onEpochEnd: () => {
        tensors.push(tf.memory().numTensors);
        rss.push(process.memoryUsage().rss / 2 ** 20);
      },
    });
    model.dispose();
    assert.deepEqual(tensors.slice(1), Array(19).fill(tensors[0]), `tensors per epoch: ${tensors.join(' ')}`);
    const growth = Math.max(...rss.slice(2)) - rss[1];
    assert.ok(growth < 24, `RSS grew by ${growth.toFixed(1)} MiB from epoch 2 to 20: ${rss.map((r) => r.toFixed(0)).join(' ')}`);
  });

  it('aelab train: Ctrl-C after the first checkpoint exits with 130, and --resume ends with the weights of an uninterrupted run', async function () {
    this.timeout(180_000);
    if (!fs.existsSync(bin)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
    const args = (out: string) => ['train', '--model', 'ae', '--latent', '4', '--subset', '400', '--test-size', '100', '--batch-size', '50', '--epochs', '14', '--seed', '6', '--out', out];
    const env = { ...process.env, AELAB_BACKEND: '' };
    const run = path.join(dir, 'cli-run');
    const ref = path.join(dir, 'cli-ref');
    const exited = (p: ReturnType<typeof spawn>) => new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));

    // The uninterrupted reference trains alongside.
    const refDone = exited(spawn(process.execPath, [bin, ...args(ref)], { cwd: root, env, stdio: 'ignore' }));
    const child = spawn(process.execPath, [bin, ...args(run)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const done = exited(child);
    const marker = path.join(run, 'checkpoints', 'last', 'training.json');
    while (!fs.existsSync(marker)) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    const code = await done;
    assert.equal(code, 130, stderr.slice(-2000));
    assert.match(stderr, /aelab: training interrupted .*a resumable checkpoint is in .*checkpoints\/last/);
    assert.match(stderr, new RegExp(`continue with: aelab train --resume ${run}`));
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    const reached = JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', 'checkpoint.json'), 'utf8')).lastEpoch;
    assert.ok(reached >= 1 && reached < 14, `stopped after epoch ${reached}`);
    assert.ok(!fs.existsSync(path.join(run, 'model')), 'no final model from an interrupted run');

    const bad = spawnSync(process.execPath, [bin, 'train', '--resume', run, '--lr', '0.1'], { cwd: root, env, encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /only --epochs may be given with it \(not --lr\)/);

    const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', run], { cwd: root, env, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming after epoch ${reached} of 14`));
    assert.equal(await refDone, 0);
    const history = JSON.parse(fs.readFileSync(path.join(run, 'history.json'), 'utf8'));
    assert.deepEqual(history.epochs.map((e: { epoch: number }) => e.epoch), Array.from({ length: 14 }, (_, i) => i + 1));
    assert.ok(fs.readFileSync(path.join(run, 'model', 'weights.bin')).equals(fs.readFileSync(path.join(ref, 'model', 'weights.bin'))), 'same weights, bit for bit');
  });
});
