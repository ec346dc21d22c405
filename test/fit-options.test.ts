import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { ArgumentError } from '../src/lib/errors';
import { AE } from '../src/lib/models/ae';
import { Autoencoder } from '../src/lib/models/autoencoder';
import { loadModel } from '../src/lib/models/io';
import { clipByGlobalNorm } from '../src/lib/train/clip';
import { reconstructionLoss } from '../src/lib/train/losses';
import { BatchInfo, DivergenceError, EpochRecord, FitCallbacks, History, evaluate, evaluateLoss, fit, historyToCsv, saveHistory } from '../src/lib/train/fit';
import { getLearningRate } from '../src/lib/train/optimizers';
import { notebookProgress, renderProgress, tslabDisplay } from '../src/lib/train/progress';
import { decodePng } from '../src/lib/viz/image';

/**
 * An autoencoder whose encoder and decoder start as identity matrices (no bias, linear
 * output): its reconstruction is exactly its input, so the loss shows what it is measured
 * against. Both halves are trainable, as in any model.
 */
class IdentityAE extends Autoencoder {
  readonly name = 'identity-test';
  readonly inputShape: number[];
  readonly latentShape: number[];
  readonly outputActivation = 'none' as const;
  readonly config: Record<string, unknown>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;
  constructor(dim = 16) {
    super();
    this.inputShape = [dim];
    this.latentShape = [dim];
    this.config = { dim };
    const net = (name: string) =>
      tf.sequential({ name, layers: [tf.layers.dense({ units: dim, inputShape: [dim], useBias: false, kernelInitializer: 'identity' })] });
    this.encoderNet = net('enc');
    this.decoderNet = net('dec');
  }
}

/** `n` rows of `dim` values uniform in [0.2, 0.8] (fixed seed). */
function uniformSet(n: number, dim = 16): Dataset {
  return { x: tf.randomUniform([n, dim], 0.2, 0.8, 'float32', 5) };
}

describe('fit options', function () {
  let train: Dataset;
  let validation: Dataset;
  let test: Dataset;
  let dir: string;
  before(async () => {
    const d = await loadMnist({ trainSize: 1200, testSize: 200, validation: 200, seed: 7 });
    train = d.train;
    validation = d.validation!;
    test = d.test;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-fit-'));
  });
  after(() => {
    [train, validation, test].forEach(disposeDataset);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('clipByGlobalNorm', () => {
    it('brings real MNIST gradients to the limit and leaves them untouched below it', () => {
      const ae = new AE({ seed: 3 });
      const x = test.x.slice([0, 0, 0, 0], [128, 28, 28, 1]);
      const { value, grads } = tf.variableGrads(() => reconstructionLoss('bce', 'sum', x, ae.forward(x, true)), ae.trainableWeights);
      const hostNorm = (g: tf.NamedTensorMap) => Math.sqrt(Object.values(g).reduce((s, t) => s + Array.from(t.dataSync()).reduce((a, v) => a + v * v, 0), 0));
      const raw = hostNorm(grads);
      assert.ok(raw > 10, `an untrained AE's BCE-sum gradient is large (${raw})`);

      const clipped = clipByGlobalNorm(grads, 1.0);
      assert.ok(Math.abs(clipped.norm.dataSync()[0] - raw) <= 1e-4 * raw, 'reports the norm before clipping');
      assert.ok(hostNorm(clipped.grads) <= 1.0 + 1e-5, `clipped norm ${hostNorm(clipped.grads)}`);
      // Same direction: each gradient is scaled by the same factor.
      const name = Object.keys(grads)[0];
      const ratio = clipped.grads[name].div(grads[name].add(1e-30)).max().dataSync()[0];
      assert.ok(Math.abs(ratio - 1 / raw) < 1e-3 / raw);

      const loose = clipByGlobalNorm(grads, raw * 2);
      for (const k of Object.keys(grads)) assert.deepEqual(Array.from(loose.grads[k].dataSync()), Array.from(grads[k].dataSync()));

      const asList = clipByGlobalNorm(Object.values(grads), 1.0);
      assert.equal(asList.grads.length, Object.keys(grads).length);
      tf.dispose([value, grads, clipped as unknown as tf.TensorContainer, loose as unknown as tf.TensorContainer, asList as unknown as tf.TensorContainer, x]);
      ae.dispose();
      assert.throws(() => clipByGlobalNorm([tf.scalar(1)], 0), (e: unknown) => e instanceof ArgumentError && e.argument === 'maxNorm');
    });
  });

  it('keeps the tensor count flat from epoch 1 to 5 with every option on, and writes checkpoints, snapshots and history', async () => {
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const batchesSeen: number[] = [];
    const ae = new AE({ seed: 5 });
    const images = test.x.slice([0, 0, 0, 0], [8, 28, 28, 1]);
    const run = path.join(dir, 'full');
    const history = await fit(ae, train, {
      epochs: 5,
      batchSize: 128,
      loss: 'bce',
      reduction: 'sum',
      seed: 5,
      noise: { std: 0.1 },
      clipNorm: 50,
      plateau: { patience: 1, factor: 0.5 },
      earlyStopping: { patience: 10 },
      validationData: validation,
      checkpointDir: path.join(run, 'checkpoints'),
      snapshots: { dir: path.join(run, 'snapshots'), every: 2, images },
      progress: { onBatch: (b: BatchInfo) => batchesSeen.push(b.batch) },
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    assert.equal(counts.length, 5);
    assert.equal(counts[4], counts[0], `tensors after each epoch: ${counts}`);
    assert.deepEqual(batchesSeen.slice(0, 2), [0, 7]); // 1,000 images: 8 batches, logged at 0 and at the last

    assert.equal(history.monitor, 'valLoss');
    const vals = history.epochs.map((e) => e.valLoss!);
    assert.equal(history.bestEpoch, vals.indexOf(Math.min(...vals)) + 1);
    assert.ok(history.epochs.every((e) => e.gradNorm! > 0 && Number.isFinite(e.trainLoss)));
    assert.equal(history.stoppedEarly, false);

    // Checkpoints: best/ and last/ load; checkpoint.json says which epochs they hold.
    const info = JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', 'checkpoint.json'), 'utf8'));
    assert.deepEqual([info.bestEpoch, info.lastEpoch, info.monitor], [history.bestEpoch, 5, 'valLoss']);
    const best = await loadModel(path.join(run, 'checkpoints', 'best'));
    const bestLoss = await evaluateLoss(best, validation, { loss: 'bce', reduction: 'sum' });
    assert.ok(Math.abs(bestLoss - info.best) < 1e-3 * info.best, `${bestLoss} vs ${info.best}`);
    best.dispose();
    const last = await loadModel(path.join(run, 'checkpoints', 'last'));
    last.dispose();

    // Snapshots after epochs 2 and 4: 8 originals above 8 reconstructions; 64 samples in 8 rows.
    assert.deepEqual(fs.readdirSync(path.join(run, 'snapshots')).sort(), ['reconstruction_2.png', 'reconstruction_4.png', 'sample_2.png', 'sample_4.png']);
    const recon = decodePng(fs.readFileSync(path.join(run, 'snapshots', 'reconstruction_4.png')));
    assert.deepEqual([recon.width, recon.height], [8 * 30 + 2, 2 * 30 + 2]);
    const samples = decodePng(fs.readFileSync(path.join(run, 'snapshots', 'sample_4.png')));
    assert.deepEqual([samples.width, samples.height], [8 * 30 + 2, 8 * 30 + 2]);

    // History files.
    const files = saveHistory(history, run);
    assert.deepEqual(JSON.parse(fs.readFileSync(files.json, 'utf8')), JSON.parse(JSON.stringify(history)));
    const csv = fs.readFileSync(files.csv, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'epoch,trainLoss,valLoss,lr,seconds,gradNorm');
    assert.equal(csv.length, 6);
    assert.deepEqual(csv[3].split(',').slice(0, 3).map(Number), [3, history.epochs[2].trainLoss, history.epochs[2].valLoss]);

    images.dispose();
    ae.dispose();
    assert.equal(tf.memory().numTensors, start, 'fit leaves nothing behind');
  });

  it('gives identical losses for the same seed (noise and clipping on) and different ones for another seed', async () => {
    const run = async (seed: number) => {
      const ae = new AE({ hiddenDim: 128, seed: 1 });
      const h = await fit(ae, train, { epochs: 2, batchSize: 128, loss: 'bce', reduction: 'sum', seed, noise: { std: 0.2 }, clipNorm: 20 });
      ae.dispose();
      return h.epochs.map((e) => [e.trainLoss, e.gradNorm]);
    };
    const a = await run(11);
    assert.deepEqual(await run(11), a);
    assert.notDeepEqual(await run(12), a);
  });

  it('denoising: the noise goes on the input and the loss is measured against the clean batch', async () => {
    // The identity model reconstructs exactly what it is given. Against the clean target its
    // MSE is the noise power std^2 = 0.01; against the noisy input it would be 0.
    const data = uniformSet(512);
    const noisy = new IdentityAE();
    const h = await fit(noisy, data, { epochs: 1, batchSize: 64, loss: 'mse', optimizer: 'sgd', lr: 1e-9, noise: { std: 0.1, clamp: null } });
    assert.ok(Math.abs(h.epochs[0].trainLoss - 0.01) < 0.001, `MSE with noise ${h.epochs[0].trainLoss}`);
    const clean = new IdentityAE();
    const h0 = await fit(clean, data, { epochs: 1, batchSize: 64, loss: 'mse', optimizer: 'sgd', lr: 1e-9 });
    assert.ok(h0.epochs[0].trainLoss < 1e-12, `MSE without noise ${h0.epochs[0].trainLoss}`);
    // evaluate() takes the same noise: MSE ~ 0.01, PSNR ~ 20 dB.
    const e = await evaluate(clean, data, { loss: 'mse', noise: { std: 0.1, clamp: null } });
    assert.ok(Math.abs(e.mse - 0.01) < 0.001 && Math.abs(e.psnr - 20) < 0.5, JSON.stringify(e));
    [noisy, clean].forEach((m) => m.dispose());
    disposeDataset(data);
  });

  it('plateau and early stopping act on the monitored loss; an optimizer instance is used as given', async () => {
    // The identity model's loss is exactly 0 every epoch: a perfect plateau.
    const data = uniformSet(256);
    const model = new IdentityAE();
    const opt = tf.train.sgd(0.1);
    const lrs: number[] = [];
    const h = await fit(model, data, {
      epochs: 10,
      batchSize: 64,
      loss: 'mse',
      optimizer: opt,
      plateau: { patience: 1, factor: 0.5 },
      earlyStopping: { patience: 3 },
      onEpochEnd: (r: EpochRecord) => {
        lrs.push(r.lr);
      },
    });
    // Epoch 1 is the best; epochs 2 and 3 are flat: the rate halves for epoch 4; 2, 3, 4 flat: stop after 4.
    assert.deepEqual(lrs, [0.1, 0.1, 0.1, 0.05]);
    assert.deepEqual([h.epochs.length, h.stoppedEarly, h.bestEpoch, h.restoredEpoch], [4, true, 1, 1]);
    assert.equal(opt.iterations, 16, 'the instance took every step and was not disposed');
    assert.equal(getLearningRate(opt), 0.05, 'the instance keeps the lowered rate');
    opt.dispose();
    model.dispose();
    disposeDataset(data);
  });

  it('stops on a NaN loss naming the epoch and batch where it appeared', async () => {
    // Example 537 has a NaN pixel: without shuffling it is in batch 5 of every epoch. The loss is
    // read every 10 batches only, yet the error names batch 5.
    const x = Float32Array.from(train.x.dataSync().subarray(0, 1000 * 784));
    x[537 * 784 + 300] = NaN;
    const data: Dataset = { x: tf.tensor(x, [1000, 28, 28, 1]) };
    const ae = new AE({ hiddenDim: 32 });
    await assert.rejects(
      fit(ae, data, { epochs: 2, batchSize: 100, shuffle: false, logInterval: 10 }),
      (e: unknown) => e instanceof DivergenceError && e.epoch === 1 && e.batch === 5 && /loss became NaN in epoch 1 at batch 5/.test(e.message),
    );
    ae.dispose();
    disposeDataset(data);
  });

  it('after a divergence the best checkpoint written before survives and loads, and restoreBest puts it back', async () => {
    const ae = new AE({ seed: 9 });
    const ckpt = path.join(dir, 'nan', 'checkpoints');
    let err: unknown;
    try {
      await fit(ae, train, {
        epochs: 4,
        batchSize: 128,
        loss: 'bce',
        reduction: 'sum',
        validationData: validation,
        checkpointDir: ckpt,
        earlyStopping: { patience: 10, restoreBest: true },
        onEpochEnd: (r: EpochRecord) => {
          // Simulate a blow-up: the weights become NaN after epoch 2.
          if (r.epoch === 2) ae.weights[0].write(tf.fill(ae.weights[0].shape as number[], NaN));
        },
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof DivergenceError, String(err));
    assert.deepEqual([err.epoch, err.batch], [3, 0]);
    assert.match(err.message, /epoch 3 at batch 0/);
    const history: History = err.history;
    assert.equal(history.epochs.length, 2);
    const bestVal = history.epochs[history.bestEpoch - 1].valLoss!;

    const info = JSON.parse(fs.readFileSync(path.join(ckpt, 'checkpoint.json'), 'utf8'));
    assert.equal(info.bestEpoch, history.bestEpoch);
    const best = await loadModel(path.join(ckpt, 'best'));
    const loaded = await evaluateLoss(best, validation, { loss: 'bce', reduction: 'sum' });
    assert.ok(Number.isFinite(loaded) && Math.abs(loaded - bestVal) < 1e-3 * bestVal, `${loaded} vs ${bestVal}`);
    best.dispose();
    const inMemory = await evaluateLoss(ae, validation, { loss: 'bce', reduction: 'sum' });
    assert.ok(Math.abs(inMemory - bestVal) < 1e-3 * bestVal, `restored ${inMemory} vs ${bestVal}`);
    ae.dispose();
  });

  it('evaluate returns the loss, MSE and PSNR of the whole set', async () => {
    const ae = new AE({ hiddenDim: 64, seed: 2 });
    const e = await evaluate(ae, test, { loss: 'bce', reduction: 'sum', batchSize: 64 });
    const recon = ae.decode(ae.encode(test.x));
    const r = recon.dataSync();
    const xs = test.x.dataSync();
    let se = 0;
    for (let i = 0; i < xs.length; i++) se += (r[i] - xs[i]) ** 2;
    const mse = se / xs.length;
    assert.equal(e.examples, 200);
    assert.ok(Math.abs(e.mse - mse) < 1e-5 * mse, `${e.mse} vs ${mse}`);
    assert.ok(Math.abs(e.psnr - 10 * Math.log10(1 / mse)) < 1e-3);
    const loss = await evaluateLoss(ae, test, { loss: 'bce', reduction: 'sum' });
    assert.ok(Math.abs(e.loss - loss) < 1e-5 * loss, `${e.loss} vs ${loss}`);
    recon.dispose();
    ae.dispose();
  });

  it('is silent without a progress option, and calls every callback at the log intervals', async () => {
    const data = uniformSet(2000);
    const written: string[] = [];
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    const model = new IdentityAE();
    try {
      await fit(model, data, { epochs: 1, batchSize: 64, loss: 'mse' });
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
    assert.deepEqual(written, []);

    const calls: string[] = [];
    const recorder = (tag: string): FitCallbacks => ({
      onTrainBegin: (i) => calls.push(`${tag} begin ${i.epochs}x${i.batches} of ${i.examples}`),
      onBatch: (b) => calls.push(`${tag} batch ${b.epoch}.${b.batch} seen ${b.seen}`),
      onEpochEnd: (r) => {
        calls.push(`${tag} epoch ${r.epoch}`);
      },
      onTrainEnd: (h) => calls.push(`${tag} end ${h.epochs.length}`),
    });
    await fit(model, data, { epochs: 2, batchSize: 500, loss: 'mse', logInterval: 2, progress: [recorder('a'), recorder('b')] });
    const a = calls.filter((c) => c.startsWith('a '));
    assert.deepEqual(a, [
      'a begin 2x4 of 2000',
      'a batch 1.0 seen 500',
      'a batch 1.2 seen 1500',
      'a batch 1.3 seen 2000',
      'a epoch 1',
      'a batch 2.0 seen 500',
      'a batch 2.2 seen 1500',
      'a batch 2.3 seen 2000',
      'a epoch 2',
      'a end 2',
    ]);
    assert.equal(calls.length, 2 * a.length);
    model.dispose();
    disposeDataset(data);
  });

  it('notebook progress redraws one display in place, and prints lines outside a kernel', async () => {
    assert.equal(tslabDisplay(), null, 'not a tslab kernel');
    const drawn: string[] = [];
    const display = { html: (s: string) => drawn.push(s), text: (s: string) => drawn.push(s) };
    const data = uniformSet(640);
    const model = new IdentityAE();
    await fit(model, data, { epochs: 3, batchSize: 64, loss: 'mse', logInterval: 1, progress: notebookProgress('ident', { display, minIntervalMs: 0 }) });
    assert.ok(drawn.length >= 3 * 10, `one display redrawn at every logged batch (${drawn.length} draws)`);
    assert.match(drawn[5], /ident epoch 1\/3 <progress value="\d+" max="10"/);
    assert.match(drawn.at(-1)!, /ident: done, 3\/3 epochs/);
    assert.equal((drawn.at(-1)!.match(/<tr><td>/g) ?? []).length, 3, 'a table row per finished epoch');
    assert.match(renderProgress('x', { epochs: 1, records: [], elapsed: 0, epochStart: 0, final: false }), /x: starting, 0\/1 epochs/);

    // Without a display (outside a kernel), one compact line per epoch on stdout.
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => lines.push(args.join(' '));
    try {
      await fit(model, data, { epochs: 2, batchSize: 64, loss: 'mse', progress: notebookProgress('ident') });
    } finally {
      console.log = log;
    }
    assert.equal(lines.length, 2);
    assert.match(lines[1], /^ident epoch 2: loss \d\.\d{4}, lr 0\.001 \(\d+\.\d s\)$/);
    model.dispose();
    disposeDataset(data);
  });

  it('names a bad option before training, leaking nothing', async () => {
    const model = new IdentityAE(30); // 30 values an example: not an image
    const data = uniformSet(64, 30);
    const sgd = tf.train.sgd(0.1);
    const bad: [Record<string, unknown>, string][] = [
      [{ optimizer: 'adamw' }, 'optimizer'],
      [{ optimizer: sgd, lr: 0.1 }, 'lr'],
      [{ clipNorm: 0 }, 'clipNorm'],
      [{ plateau: { factor: 2 } }, 'plateau.factor'],
      [{ earlyStopping: { patience: 0 } }, 'earlyStopping.patience'],
      [{ snapshots: { dir: path.join(dir, 's') } }, 'snapshots.samples'],
      [{ snapshots: { dir: path.join(dir, 's'), samples: 0, images: data.x } }, 'snapshots.images'],
      [{ batchSize: 65 }, 'batchSize'],
      [{ checkpointDir: '' }, 'checkpointDir'],
    ];
    const tensors = tf.memory().numTensors;
    for (const [options, argument] of bad) {
      await assert.rejects(fit(model, data, { batchSize: 32, ...options }), (e: unknown) => e instanceof ArgumentError && e.argument === argument, argument);
    }
    assert.equal(tf.memory().numTensors, tensors, 'a rejected call leaves no tensor behind');
    assert.equal(fs.existsSync(path.join(dir, 's')), false);
    sgd.dispose();
    model.dispose();
    disposeDataset(data);
  });

  it('historyToCsv leaves absent values empty', () => {
    const h: History = { epochs: [{ epoch: 1, trainLoss: 2.5, lr: 0.001, seconds: 1.5 }], monitor: 'trainLoss', bestEpoch: 1, stoppedEarly: false };
    assert.equal(historyToCsv(h), 'epoch,trainLoss,valLoss,lr,seconds,gradNorm\n1,2.5,,0.001,1.5,\n');
  });
});
