import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { ArgumentError } from '../src/lib/errors';
import {
  AE,
  Autoencoder,
  DeepAutoencoder,
  FlexibleAutoencoder,
  MLPAutoencoder,
  SimpleAutoencoder,
  SparseAutoencoder,
  StackedAutoencoder,
  TabularAutoencoder,
  TiedDense,
  VAE,
  ConvVAE,
  load,
} from '../src/lib/models';
import { reconstructionLoss } from '../src/lib/train/losses';
import { evaluateLoss, fit } from '../src/lib/train/fit';
import { greedyPretrain } from '../src/lib/train/pretrain';
import { applyNet } from '../src/lib/models/layers';

/** PyTorch's parameter counts: nn.Linear(a, b) has a*b + b, nn.BatchNorm1d(c) has 2c. */
const lin = (a: number, b: number) => a * b + b;
const bn = (c: number) => 2 * c;

/** Mean BCE + penalty of `model` on `x`, and the same after `steps` Adam steps on `x`. */
function lossBeforeAfter(model: Autoencoder, x: tf.Tensor, steps: number, lr = 1e-3, loss: 'bce' | 'mse' = 'bce'): [number, number] {
  const objective = (training: boolean) => {
    const out = model.forward(x, training);
    const l = reconstructionLoss(loss, 'sum', x, out).div(x.shape[0]);
    return (out.penalty ? l.add(out.penalty) : l) as tf.Scalar;
  };
  const before = tf.tidy(() => objective(false).dataSync()[0]);
  const opt = tf.train.adam(lr);
  for (let i = 0; i < steps; i++) tf.dispose(opt.minimize(() => objective(true), true, model.trainableWeights) ?? []);
  opt.dispose();
  const after = tf.tidy(() => objective(false).dataSync()[0]);
  return [before, after];
}

describe('fully connected, stacked, sparse and variational autoencoders (and the conv VAE)', () => {
  let train: Dataset;
  let dir: string;
  before(async () => {
    ({ train } = await loadMnist({ trainSize: 256, testSize: 16 }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-mlp-'));
  });
  after(() => {
    disposeDataset(train);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('inference runs each dense layer and its activation as one fused product, with the results of the layers one by one', async () => {
    const x = train.x.slice([0], [64]).reshape([64, 784]);
    for (const activation of ['relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh'] as const) {
      for (const extra of [{}, { batchNorm: true, dropout: 0.2 }]) {
        const model = new MLPAutoencoder({ activation, hidden: [128, 64], latentDim: 8, latentActivation: 'relu', ...extra });
        const nets = model as unknown as { encoderNet: tf.Sequential; decoderNet: tf.Sequential };
        tf.tidy(() => {
          const z = nets.encoderNet.apply(x, { training: false }) as tf.Tensor;
          const what = `${activation} ${JSON.stringify(extra)}`;
          for (const [net, input, got] of [[nets.encoderNet, x, model.encode(x)], [nets.decoderNet, z, applyNet(nets.decoderNet, z)]] as const) {
            const want = net.apply(input, { training: false }) as tf.Tensor;
            // elu's exp is evaluated in another kernel: a few float32 ulps; the rest exactly.
            assert.ok(tf.max(tf.abs(tf.sub(want, got))).dataSync()[0] <= 1e-6 * Math.max(1, tf.max(tf.abs(want)).dataSync()[0]), what);
          }
        });
        // No activation kernel of its own once fused (tanh has no fused form).
        const kernelsOf = async (f: () => tf.Tensor) => {
          const info = await tf.profile(f);
          (info.result as tf.Tensor).dispose();
          return info.kernels.map((k) => k.name);
        };
        const kernels = await kernelsOf(() => model.encode(x));
        const own = { relu: 'Relu', leakyRelu: 'LeakyRelu', elu: 'Elu', sigmoid: 'Sigmoid', tanh: 'Tanh' }[activation];
        assert.equal(kernels.includes(own), activation === 'tanh', `${activation}: ${kernels.join(' ')}`);
        assert.ok(!kernels.includes('Relu'), `the ReLU code is fused: ${kernels.join(' ')}`);
        // Training keeps the layers' own path (and its gradients).
        assert.ok((await kernelsOf(() => model.encode(x, true))).includes('Relu'), activation);
        model.dispose();
      }
    }
    x.dispose();
  });

  const cases: { name: string; make: () => Autoencoder; params: number; latent: number[] }[] = [
    { name: 'AE (seed 001 Part 1)', make: () => new AE(), params: lin(784, 400) + lin(400, 20) + lin(20, 400) + lin(400, 784), latent: [20] },
    {
      name: 'SimpleAutoencoder',
      make: () => new SimpleAutoencoder(),
      params: lin(784, 256) + lin(256, 128) + lin(128, 64) + lin(64, 128) + lin(128, 256) + lin(256, 784),
      latent: [64],
    },
    { name: 'FlexibleAutoencoder (overcomplete)', make: () => new FlexibleAutoencoder({ latentDim: 1000 }), params: lin(784, 256) + lin(256, 1000) + lin(1000, 256) + lin(256, 784), latent: [1000] },
    {
      name: 'DeepAutoencoder',
      make: () => new DeepAutoencoder(),
      params:
        lin(784, 512) + bn(512) + lin(512, 256) + bn(256) + lin(256, 128) + bn(128) + lin(128, 32) +
        lin(32, 128) + bn(128) + lin(128, 256) + bn(256) + lin(256, 512) + bn(512) + lin(512, 784),
      latent: [32],
    },
    {
      name: 'MLP 1000-500-250-2 (seed 002)',
      make: () => new MLPAutoencoder({ hidden: [1000, 500, 250], latentDim: 2 }),
      params: lin(784, 1000) + lin(1000, 500) + lin(500, 250) + lin(250, 2) + lin(2, 250) + lin(250, 500) + lin(500, 1000) + lin(1000, 784),
      latent: [2],
    },
    {
      name: 'StackedAutoencoder',
      make: () => new StackedAutoencoder(),
      params: [[784, 512], [512, 256], [256, 128], [128, 32]].reduce((n, [a, b]) => n + lin(a, b) + lin(b, a), 0),
      latent: [32],
    },
    {
      name: 'StackedAutoencoder, tied',
      make: () => new StackedAutoencoder({ tied: true }),
      // each pair keeps one kernel and both biases
      params: [[784, 512], [512, 256], [256, 128], [128, 32]].reduce((n, [a, b]) => n + a * b + b + a, 0),
      latent: [32],
    },
    { name: 'SparseAutoencoder (L1)', make: () => new SparseAutoencoder(), params: lin(784, 256) + lin(256, 64) + lin(64, 256) + lin(256, 784), latent: [64] },
    { name: 'SparseAutoencoder (KL)', make: () => new SparseAutoencoder({ sparsity: 'kl' }), params: lin(784, 256) + lin(256, 64) + lin(64, 256) + lin(256, 784), latent: [64] },
    // fc_mu and fc_logvar are two nn.Linear(400, 20): 2 * lin(400, 20)
    { name: 'VAE', make: () => new VAE(), params: lin(784, 400) + 2 * lin(400, 20) + lin(20, 400) + lin(400, 784), latent: [20] },
    {
      name: 'ConvVAE',
      make: () => new ConvVAE(),
      // Conv2d(1, 32, 3), Conv2d(32, 64, 3), Linear(3136, 2 * 16); Linear(16, 3136), ConvTranspose2d(64, 32, 3), ConvTranspose2d(32, 1, 3)
      params: 9 * 32 + 32 + 32 * 64 * 9 + 64 + lin(3136, 32) + lin(16, 3136) + 64 * 32 * 9 + 32 + 32 * 9 + 1,
      latent: [16],
    },
  ];

  for (const c of cases) {
    it(`${c.name}: PyTorch's parameter count, shapes for flat and image input, a few steps lower the loss, save/load`, async () => {
      const model = c.make();
      assert.equal(model.paramCount(), c.params);
      assert.deepEqual(model.latentShape, c.latent);
      const x = train.x.slice([0, 0, 0, 0], [64, 28, 28, 1]);
      const flat = x.reshape([64, 784]);
      for (const input of [x, flat]) {
        const out = model.forward(input);
        assert.deepEqual(out.recon.shape, [64, ...model.inputShape]);
        assert.deepEqual(out.latent.shape, [64, ...c.latent]);
        assert.deepEqual(model.encode(input).shape, [64, ...c.latent]);
        assert.deepEqual(model.decode(out.latent).shape, [64, ...model.inputShape]);
        const r = out.recon.dataSync();
        assert.ok(r.every((v) => v >= 0 && v <= 1), 'sigmoid output in [0, 1]');
      }
      const [before, after] = lossBeforeAfter(model, flat, 5);
      assert.ok(after < before, `loss ${before} -> ${after}`);
      const saved = path.join(dir, model.name + c.params);
      await model.save(saved);
      const back = await load(saved);
      assert.equal(back.name, model.name);
      assert.equal(back.paramCount(), model.paramCount());
      assert.deepEqual(Array.from(back.forward(flat).recon.dataSync()), Array.from(model.forward(flat).recon.dataSync()));
      back.dispose();
      model.dispose();
    });
  }

  it('the tabular autoencoder (seed 003) takes feature vectors and reconstructs them linearly', () => {
    const model = new TabularAutoencoder({ inputDim: 30 });
    assert.equal(model.outputActivation, 'none');
    assert.equal(model.paramCount(), lin(30, 20) + lin(20, 10) + lin(10, 5) + lin(5, 10) + lin(10, 20) + lin(20, 30));
    const x = tf.randomNormal([32, 30], 0, 1, 'float32', 3);
    const [before, after] = lossBeforeAfter(model, x, 20, 1e-2, 'mse');
    assert.ok(after < before, `MSE ${before} -> ${after}`);
    model.dispose();
  });

  it('the flexible autoencoder says whether it is undercomplete and its compression ratio', () => {
    const under = new FlexibleAutoencoder({ latentDim: 32 });
    const over = new FlexibleAutoencoder({ latentDim: 1000, hiddenDim: 128 });
    assert.equal(under.isUndercomplete, true);
    assert.equal(under.compressionRatio, 784 / 32);
    assert.equal(over.isUndercomplete, false);
    assert.ok(over.compressionRatio < 1);
    assert.equal(over.paramCount(), lin(784, 128) + lin(128, 1000) + lin(1000, 128) + lin(128, 784));
    under.dispose();
    over.dispose();
  });

  it('rejects bad configurations with the argument named', () => {
    assert.throws(() => new MLPAutoencoder({ latentDim: 0 }), (e: unknown) => e instanceof ArgumentError && /latentDim/.test(e.message));
    assert.throws(() => new MLPAutoencoder({ hidden: [128, -1] }), /hidden/);
    assert.throws(() => new MLPAutoencoder({ activation: 'swish' as never }), /activation.*relu, leakyRelu, elu, sigmoid, tanh/);
    assert.throws(() => new MLPAutoencoder({ dropout: 1.5 }), /dropout/);
    assert.throws(() => new SparseAutoencoder({ sparsity: 'l2' as never }), /sparsity/);
    assert.throws(() => new StackedAutoencoder({ layerDims: [784] }), /layerDims/);
  });

  it('every hidden activation and batch norm + dropout build and train', () => {
    const x = train.x.slice([0, 0, 0, 0], [32, 28, 28, 1]);
    for (const activation of ['relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh'] as const) {
      const model = new MLPAutoencoder({ hidden: [64], latentDim: 8, activation, batchNorm: true, dropout: 0.1 });
      const [before, after] = lossBeforeAfter(model, x, 5, 3e-3);
      assert.ok(after < before, `${activation}: ${before} -> ${after}`);
      model.dispose();
    }
  });

  it("DeepAutoencoder.layerOutputs gives every encoder activation (seed 001's get_layer_outputs)", () => {
    const model = new DeepAutoencoder();
    const acts = model.layerOutputs(train.x.slice([0, 0, 0, 0], [8, 28, 28, 1]));
    assert.deepEqual(acts.map((a) => a.shape), [[8, 512], [8, 256], [8, 128], [8, 32]]);
    assert.ok(acts.every((a) => a.min().dataSync()[0] >= 0), 'ReLU outputs are non-negative');
    // the last activation is the code itself
    assert.deepEqual(Array.from(acts[3].dataSync()), Array.from(model.encode(train.x.slice([0, 0, 0, 0], [8, 28, 28, 1])).dataSync()));
    model.dispose();
  });

  it('tied weights: each decoder layer reads its encoder layer\'s kernel variable, so one update moves both', () => {
    const model = new StackedAutoencoder({ layerDims: [784, 64, 16], tied: true });
    const names = model.trainableWeights.map((w) => w.name);
    assert.equal(new Set(names).size, names.length, 'no variable listed twice');
    assert.equal(model.trainableWeights.filter((w) => w.shape.length === 2).length, 2, 'two kernels for two layer pairs');
    const x = train.x.slice([0, 0, 0, 0], [16, 28, 28, 1]).reshape([16, 784]);
    const [before, after] = lossBeforeAfter(model, x, 3);
    assert.ok(after < before);
    // Decode by hand with the encoder kernels after training: relu(z W2^T + b) W1^T + b'
    const w = model.weights.filter((v) => v.shape.length === 2).map((v) => v.read());
    const biases = model.weights.filter((v) => v.originalName.includes('tied')).map((v) => v.read());
    const z = model.encode(x);
    const [b2, b1] = biases[0].shape[0] === 64 ? [biases[0], biases[1]] : [biases[1], biases[0]];
    const byHand = tf.sigmoid(tf.relu(tf.matMul(z, w[1], false, true).add(b2)).matMul(w[0], false, true).add(b1));
    const diff = tf.abs(byHand.sub(model.decode(z))).max().dataSync()[0];
    assert.ok(diff < 1e-5, `decoder equals the transposed encoder kernels (max diff ${diff})`);
    const layer = (model as unknown as { decLayers: TiedDense[] }).decLayers[0];
    assert.equal(layer.sharedKernel(), (model as unknown as { encLayers: tf.layers.Layer[] }).encLayers[0].trainableWeights[0].read());
    model.dispose();
  });

  it('stacked blocks: block i reconstructs the output of blocks 0..i-1 and trains only its own weights', () => {
    const model = new StackedAutoencoder({ layerDims: [784, 64, 16] });
    const x = train.x.slice([0, 0, 0, 0], [16, 28, 28, 1]);
    const out0 = model.blockForward(x, 0);
    assert.deepEqual(Array.from(out0.target!.dataSync()), Array.from(x.reshape([16, 784]).dataSync()));
    const out1 = model.blockForward(x, 1);
    assert.deepEqual(out1.target!.shape, [16, 64]);
    assert.deepEqual(out1.recon.shape, [16, 64]);
    assert.deepEqual(model.blockWeights(1).map((w) => w.shape), [[64, 16], [16], [16, 64], [64]]);
    const first = model.blockWeights(0).map((w) => w.dataSync().slice());
    const opt = tf.train.adam(1e-2);
    opt.minimize(() => reconstructionLoss('mse', 'mean', model.blockForward(x, 1).target!, model.blockForward(x, 1)), false, model.blockWeights(1));
    model.blockWeights(0).forEach((w, i) => assert.deepEqual(w.dataSync(), first[i], 'block 0 untouched'));
    assert.throws(() => model.blockForward(x, 2), /block/);
    opt.dispose();
    model.dispose();
  });

  it('sparse penalties equal their formulas: L1 = lambda * mean sum |z|, KL against the target rate', () => {
    const x = train.x.slice([0, 0, 0, 0], [32, 28, 28, 1]);
    const l1 = new SparseAutoencoder({ sparsityWeight: 0.5 });
    const out = l1.forward(x);
    const z = out.latent.arraySync() as number[][];
    const byHand = (0.5 * z.reduce((s, row) => s + row.reduce((a, v) => a + Math.abs(v), 0), 0)) / z.length;
    assert.ok(Math.abs(out.penalty!.dataSync()[0] - byHand) < 1e-4 * byHand);
    const kl = new SparseAutoencoder({ sparsity: 'kl', sparsityWeight: 2, sparsityTarget: 0.1 });
    const o2 = kl.forward(x);
    const z2 = o2.latent.arraySync() as number[][];
    let sum = 0;
    for (let j = 0; j < z2[0].length; j++) {
      const q = z2.reduce((s, row) => s + row[j], 0) / z2.length;
      sum += 0.1 * Math.log(0.1 / q) + 0.9 * Math.log(0.9 / (1 - q));
    }
    assert.ok(Math.abs(o2.penalty!.dataSync()[0] - 2 * sum) < 1e-3 * 2 * sum);
    l1.dispose();
    kl.dispose();
  });

  it('VAE: KL term by its formula, mean code at inference, seeded sampling in training', () => {
    const x = train.x.slice([0, 0, 0, 0], [16, 28, 28, 1]);
    const vae = new VAE({ latentDim: 4, seed: 7 });
    const out = vae.forward(x);
    const mu = out.mu.arraySync() as number[][];
    const lv = out.logVar.arraySync() as number[][];
    const kl = mu.reduce((s, m, i) => s - 0.5 * m.reduce((a, v, j) => a + 1 + lv[i][j] - v * v - Math.exp(lv[i][j]), 0), 0) / mu.length;
    assert.ok(Math.abs(out.penalty!.dataSync()[0] - kl) < 1e-4 * Math.max(1, kl));
    assert.deepEqual(Array.from(out.z.dataSync()), Array.from(out.mu.dataSync()), 'inference decodes the mean');
    const t1 = vae.forward(x, true);
    const t2 = vae.forward(x, true);
    assert.notDeepEqual(Array.from(t1.z.dataSync()), Array.from(t2.z.dataSync()), 'fresh noise each training pass');
    const twin = new VAE({ latentDim: 4, seed: 7 });
    assert.deepEqual(Array.from(twin.forward(x, true).z.dataSync()), Array.from(t1.z.dataSync()), 'same seed, same noise');
    const samples = vae.sample(5, 3);
    assert.deepEqual(samples.shape, [5, 784]);
    assert.deepEqual(Array.from(samples.dataSync()), Array.from(vae.sample(5, 3).dataSync()));
    vae.dispose();
    twin.dispose();
  });
});

describe('greedy layer-wise pretraining (seed 001 Part 3)', () => {
  it('trains each block against its own input, then fine-tuning improves the whole stack', async () => {
    const { train, test } = await loadMnist({ trainSize: 1000, testSize: 200 });
    const model = new StackedAutoencoder({ layerDims: [784, 128, 32], seed: 3 });
    const before = await evaluateLoss(model, test, { loss: 'mse' });
    const order: number[] = [];
    const histories = await greedyPretrain(model, train, { epochsPerLayer: 2, batchSize: 50, onLayer: (i) => order.push(i) });
    assert.deepEqual(order, [0, 1]);
    assert.equal(histories.length, 2);
    for (const h of histories) assert.ok(h.epochs[1].trainLoss < h.epochs[0].trainLoss, 'each block learns its reconstruction');
    const pretrained = await evaluateLoss(model, test, { loss: 'mse' });
    await fit(model, train, { epochs: 2, batchSize: 50, loss: 'mse' });
    const tuned = await evaluateLoss(model, test, { loss: 'mse' });
    assert.ok(tuned < pretrained && tuned < before, `MSE ${before} -> pretrained ${pretrained} -> fine-tuned ${tuned}`);
    model.dispose();
    disposeDataset(train);
    disposeDataset(test);
  });
});
