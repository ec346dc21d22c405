import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { ArgumentError } from '../src/lib/errors';
import { ConvAutoencoder, ConvAutoencoderBase, ConvBottleneckAutoencoder, DeepConvAutoencoder, StridedConvAutoencoder } from '../src/lib/models/conv';
import { loadModel, registeredModels } from '../src/lib/models/io';
import { conv2d, conv2dTranspose, UpsampleBilinear } from '../src/lib/models/layers';
import { Rng } from '../src/lib/random';
import { reconstructionLoss } from '../src/lib/train/losses';

// PyTorch's parameter counts, by hand: nn.Conv2d / nn.ConvTranspose2d have in*out*k*k
// weights and out biases, nn.BatchNorm2d(c) has weight and bias (2c); pooling, ReLU and
// Upsample have none.
const conv = (inC: number, outC: number, k: number) => inC * outC * k * k + outC;
const bn = (c: number) => 2 * c;

interface Case {
  label: string;
  make: (seed?: number) => ConvAutoencoderBase;
  latent: number[];
  params: number;
  /** Shape of one example's default feature maps (`relu1`). */
  features: number[];
}

const CASES: Case[] = [
  // seed 001 Part 2, and Exercise 4 Option A: Conv(1,16,3,p1)+ReLU+MaxPool ; ConvT(16,1,k2,s2)
  { label: 'conv (pool, transpose)', make: (seed) => new ConvAutoencoder({ seed }), latent: [14, 14, 16], params: conv(1, 16, 3) + conv(16, 1, 2), features: [28, 28, 16] },
  // Exercise 4 Option B: Conv(1,16,3,s2,p1)+ReLU ; same decoder
  { label: 'conv (stride, transpose)', make: (seed) => new ConvAutoencoder({ downsample: 'stride', seed }), latent: [14, 14, 16], params: conv(1, 16, 3) + conv(16, 1, 2), features: [14, 14, 16] },
  // decoder Upsample(2, bilinear) + Conv(16,1,3,p1)
  { label: 'conv (pool, upsample-conv)', make: (seed) => new ConvAutoencoder({ upsample: 'upsample-conv', seed }), latent: [14, 14, 16], params: conv(1, 16, 3) + conv(16, 1, 3), features: [28, 28, 16] },
  {
    label: 'deep-conv',
    make: (seed) => new DeepConvAutoencoder({ seed }),
    latent: [3, 3, 64],
    params:
      conv(1, 16, 3) + bn(16) + conv(16, 32, 3) + bn(32) + conv(32, 64, 3) + bn(64) +
      conv(64, 64, 3) + bn(64) + conv(64, 32, 3) + bn(32) + conv(32, 16, 3) + bn(16) + conv(16, 1, 3),
    features: [28, 28, 16],
  },
  // seed 004: Conv(1,16,3,s2,p1), Conv(16,32,3,s2,p1) ; ConvT(32,16,3,s2,p1,op1), ConvT(16,1,3,s2,p1,op1)
  { label: 'strided-conv (transpose)', make: (seed) => new StridedConvAutoencoder({ seed }), latent: [7, 7, 32], params: conv(1, 16, 3) + conv(16, 32, 3) + conv(32, 16, 3) + conv(16, 1, 3), features: [14, 14, 16] },
  { label: 'strided-conv (upsample-conv)', make: (seed) => new StridedConvAutoencoder({ upsample: 'upsample-conv', seed }), latent: [7, 7, 32], params: conv(1, 16, 3) + conv(16, 32, 3) + conv(32, 16, 3) + conv(16, 1, 3), features: [14, 14, 16] },
  // the study's conv model: seed 004's strided encoder, Linear(7*7*32, 32) ; Linear(32, 7*7*32)+ReLU, the strided decoder
  {
    label: 'conv-bottleneck',
    make: (seed) => new ConvBottleneckAutoencoder({ seed }),
    latent: [32],
    params: conv(1, 16, 3) + conv(16, 32, 3) + (49 * 32 * 32 + 32) + (32 * 49 * 32 + 49 * 32) + conv(32, 16, 3) + conv(16, 1, 3),
    features: [14, 14, 16],
  },
];

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const weightValues = (m: ConvAutoencoderBase) => m.trainableWeights.map((w) => values(w));

describe('convolutional autoencoders', () => {
  let train: Dataset;
  let test: Dataset;
  let dir: string;
  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 256, testSize: 16 }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-conv-'));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(test);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has the seeds\' parameter counts, computed with PyTorch\'s formula (83,905 for deep-conv)', () => {
    assert.equal(CASES[3].params, 83_905);
    assert.equal(CASES[0].params, 225);
    assert.equal(CASES[4].params, 9_569);
    for (const c of CASES) {
      const m = c.make();
      assert.equal(m.paramCount(), c.params, c.label);
      m.dispose();
    }
    // batch norm's running mean and variance are weights (saved) but not parameters
    const deep = new DeepConvAutoencoder();
    assert.equal(deep.weights.length - deep.trainableWeights.length, 2 * 6);
    deep.dispose();
  });

  it('Exercise 4: pooling and stride differ only in the downsampling (same weights from the same seed)', () => {
    const pool = new ConvAutoencoder({ downsample: 'pool', seed: 3 });
    const stride = new ConvAutoencoder({ downsample: 'stride', seed: 3 });
    assert.equal(pool.paramCount(), stride.paramCount());
    assert.deepEqual(weightValues(pool), weightValues(stride));
    assert.deepEqual(pool.latentShape, stride.latentShape);
    const x = test.x.slice(0, 2);
    const [a, b] = [pool.encode(x), stride.encode(x)];
    assert.notDeepEqual(values(a), values(b));
    tf.dispose([x, a, b]);
    [pool, stride].forEach((m) => m.dispose());
  });

  for (const c of CASES) {
    it(`${c.label}: encode, decode and forward shapes for [b, 28, 28, 1] and [b, 784]`, () => {
      const m = c.make();
      assert.deepEqual(m.inputShape, [28, 28, 1]);
      assert.deepEqual(m.latentShape, c.latent);
      const before = tf.memory().numTensors;
      const images = test.x.slice(0, 3);
      const flat = images.reshape([3, 784]);
      for (const x of [images, flat]) {
        const z = m.encode(x);
        assert.deepEqual(z.shape, [3, ...c.latent]);
        const y = m.decode(z);
        assert.deepEqual(y.shape, [3, 28, 28, 1]);
        const flatZ = z.reshape([3, -1]);
        const y2 = m.decode(flatZ);
        assert.deepEqual(values(y2), values(y));
        const out = m.forward(x);
        assert.deepEqual(out.recon.shape, [3, 28, 28, 1]);
        assert.deepEqual(out.reconLogits!.shape, [3, 28, 28, 1]);
        assert.deepEqual(out.latent.shape, [3, ...c.latent]);
        const r = values(out.recon);
        assert.ok(r.every((v) => v > 0 && v < 1), 'sigmoid output');
        const fm = m.featureMaps(x);
        assert.deepEqual(fm.shape, [3, ...c.features]);
        assert.ok(values(fm).every((v) => v >= 0), 'feature maps are after ReLU');
        tf.dispose([z, y, flatZ, y2, out.recon, out.reconLogits!, out.latent, fm]);
      }
      tf.dispose([images, flat]);
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      m.dispose();
    });
  }

  it('featureMaps: by name, by index (-1 is the latent code, the seed\'s model.encoder(image)), clear errors', () => {
    const m = new DeepConvAutoencoder();
    const x = test.x.slice(0, 2);
    assert.deepEqual(m.encoderLayerNames.slice(0, 4), ['conv1', 'relu1', 'bn1', 'pool1']);
    assert.deepEqual(m.featureMaps(x, 'pool2').shape, [2, 7, 7, 32]);
    assert.deepEqual(values(m.featureMaps(x, 1)), values(m.featureMaps(x)));
    assert.deepEqual(values(m.featureMaps(x, -1)), values(m.encode(x)));
    assert.throws(() => m.featureMaps(x, 'conv9'), (e: unknown) => e instanceof ArgumentError && /layer must be an encoder layer name \(conv1, relu1, /.test(e.message));
    assert.throws(() => m.featureMaps(x, 12), /index in \[-12, 11\]/);
    x.dispose();
    m.dispose();
  });

  it('rejects bad configs by name', () => {
    assert.throws(() => new ConvAutoencoder({ downsample: 'avg' as never }), /downsample must be one of "pool", "stride"; got "avg"/);
    assert.throws(() => new StridedConvAutoencoder({ upsample: 'nearest' as never }), /upsample must be one of/);
    assert.throws(() => new DeepConvAutoencoder({ latentChannels: 0 }), /latentChannels must be an integer >= 1/);
    assert.throws(() => new StridedConvAutoencoder({ channels: [16] as never }), /channels must be two channel counts/);
    assert.throws(() => new ConvAutoencoder({ init: 'xavier' as never }), /init must be one of/);
  });

  it('initialises as PyTorch does: U(+-1/sqrt(fan-in)), fan-in out*k*k for a transposed convolution; seeded', () => {
    const m = new ConvAutoencoder({ seed: 5 });
    const [k1, b1, k2, b2] = m.trainableWeights;
    assert.deepEqual(k1.shape, [3, 3, 1, 16]);
    assert.deepEqual(k2.shape, [2, 2, 1, 16]); // tfjs: [k, k, out, in]
    const maxAbs = (t: tf.Tensor) => Math.max(...values(t).map(Math.abs));
    // Conv2d(1, 16, 3): fan-in 1*3*3 = 9
    assert.ok(maxAbs(k1) <= 1 / 3 && maxAbs(k1) > 0.3 && maxAbs(b1) <= 1 / 3);
    // ConvTranspose2d(16, 1, 2): PyTorch's fan-in is weight.size(1)*k*k = 1*2*2 = 4, bound 0.5 (not 16*4 = 64, bound 0.125)
    assert.ok(maxAbs(k2) <= 0.5 && maxAbs(k2) > 0.3 && maxAbs(b2) <= 0.5);
    const same = new ConvAutoencoder({ seed: 5 });
    const other = new ConvAutoencoder({ seed: 6 });
    assert.deepEqual(weightValues(same), weightValues(m));
    assert.notDeepEqual(weightValues(other), weightValues(m));
    const glorot = new DeepConvAutoencoder({ init: 'glorot' });
    assert.ok(values(glorot.trainableWeights[1]).every((v) => v === 0), 'glorot: zero biases');
    [m, same, other, glorot].forEach((x) => x.dispose());
  });

  it('reproduces PyTorch\'s Conv2d / ConvTranspose2d padding and Upsample(align_corners=True) pixel for pixel', () => {
    const rng = new Rng(7);
    const rand = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.next() * 2 - 1), shape);
    const run = (layers: tf.layers.Layer[], x: tf.Tensor) => tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: x.shape.slice(1) }), ...layers] }).predict(x) as tf.Tensor;
    const close = (got: tf.Tensor, want: number[], shape: number[]) => {
      assert.deepEqual(got.shape, shape);
      const g = values(got);
      want.forEach((w, i) => assert.ok(Math.abs(g[i] - w) < 1e-4, `element ${i}: ${g[i]} vs ${w}`));
    };
    const at = (a: Float32Array | number[], shape: number[], ...idx: number[]) => a[idx.reduce((o, v, d) => o * shape[d] + v, 0)];

    // nn.Conv2d(2, 3, 3, stride=2, padding=1) on 8x8 (even: where tfjs 'same' would shift by one pixel)
    const x = rand([1, 8, 8, 2]);
    const xs = values(x);
    const c = conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1 }, 'pytorch', new Rng(1));
    const y = run(c, x);
    const [w, b] = c[c.length - 1].getWeights().map((t) => values(t));
    const want: number[] = [];
    for (let oy = 0; oy < 4; oy++) for (let ox = 0; ox < 4; ox++) for (let oc = 0; oc < 3; oc++) {
      let s = b[oc];
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let ic = 0; ic < 2; ic++) {
        const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx; // PyTorch: padding on the top/left too
        if (iy >= 0 && iy < 8 && ix >= 0 && ix < 8) s += at(xs, [1, 8, 8, 2], 0, iy, ix, ic) * at(w, [3, 3, 2, 3], ky, kx, ic, oc);
      }
      want.push(s);
    }
    close(y, want, [1, 4, 4, 3]);

    // nn.ConvTranspose2d(3, 2, 3, stride=2, padding=p, output_padding=op): out[o] += x[i] w[k] for o = i*2 - p + k
    for (const [p, op, inSide, outSide] of [[1, 1, 4, 8], [0, 0, 3, 7]]) {
      const z = rand([1, inSide, inSide, 3]);
      const zs = values(z);
      const t = conv2dTranspose({ inChannels: 3, outChannels: 2, kernelSize: 3, stride: 2, padding: p, outputPadding: op }, 'pytorch', new Rng(2));
      const out = run(t, z);
      const [tw, tb] = t[0].getWeights().map((v) => values(v)); // [k, k, out, in]
      const acc = new Array(outSide * outSide * 2).fill(0).map((_, i) => tb[i % 2]);
      for (let iy = 0; iy < inSide; iy++) for (let ix = 0; ix < inSide; ix++) for (let ic = 0; ic < 3; ic++)
        for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let oc = 0; oc < 2; oc++) {
          const oy = iy * 2 - p + ky, ox = ix * 2 - p + kx;
          if (oy >= 0 && oy < outSide && ox >= 0 && ox < outSide) acc[(oy * outSide + ox) * 2 + oc] += at(zs, [1, inSide, inSide, 3], 0, iy, ix, ic) * at(tw, [3, 3, 2, 3], ky, kx, oc, ic);
        }
      close(out, acc, [1, outSide, outSide, 2]);
      tf.dispose([z, out]);
    }

    // nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True): src = dst * (in - 1) / (out - 1)
    const u = rand([1, 3, 4, 1]);
    const us = values(u);
    const up = run([new UpsampleBilinear()], u);
    const wantUp: number[] = [];
    const src = (o: number, n: number) => { const s = (o * (n - 1)) / (2 * n - 1); const i = Math.min(Math.floor(s), n - 2); return [i, s - i]; };
    for (let oy = 0; oy < 6; oy++) for (let ox = 0; ox < 8; ox++) {
      const [y0, fy] = src(oy, 3), [x0, fx] = src(ox, 4);
      const v = (yy: number, xx: number) => us[yy * 4 + xx];
      wantUp.push((1 - fy) * ((1 - fx) * v(y0, x0) + fx * v(y0, x0 + 1)) + fy * ((1 - fx) * v(y0 + 1, x0) + fx * v(y0 + 1, x0 + 1)));
    }
    close(up, wantUp, [1, 6, 8, 1]);
    tf.dispose([x, y, u, up]);
  });

  it('registers conv, deep-conv and strided-conv for models.load', () => {
    for (const name of ['conv', 'deep-conv', 'strided-conv', 'conv-bottleneck']) assert.ok(registeredModels().includes(name), name);
  });

  for (const c of CASES) {
    it(`${c.label}: 5 Adam steps on 256 MNIST images lower the BCE, train every weight; save and load give identical outputs`, async () => {
      const m = c.make(2);
      const initial = weightValues(m);
      const optimizer = tf.train.adam(1e-3);
      // The loss over all 256 images, with batch statistics (training mode) for the models
      // with batch norm: after 5 steps their running statistics are still mostly the
      // initial 0 and 1, so inference mode would not measure what the steps optimised.
      const loss = () => tf.tidy(() => reconstructionLoss('bce', 'mean', train.x, m.forward(train.x, true)).dataSync()[0]);
      const start = loss();
      const counts: number[] = [];
      for (let step = 0; step < 5; step++) {
        const x = train.x.slice(step * 64 % 256, 64);
        optimizer.minimize(() => reconstructionLoss('bce', 'mean', x, m.forward(x, true)), false, m.trainableWeights);
        x.dispose();
        counts.push(tf.memory().numTensors);
      }
      const end = loss();
      assert.ok(Number.isFinite(end) && end < start, `BCE ${start} -> ${end}`);
      assert.ok(counts.slice(1).every((n) => n === counts[0]), `tensor count flat from step to step: ${counts}`);
      weightValues(m).forEach((w, i) => assert.notDeepEqual(w, initial[i], `weight ${i} (${m.trainableWeights[i].name}) did not move`));
      optimizer.dispose();

      const saved = path.join(dir, c.label.replace(/\W+/g, '-'));
      await m.save(saved);
      const back = await loadModel(saved);
      assert.equal(back.constructor, m.constructor);
      assert.equal(back.name, m.name);
      assert.deepEqual(back.config, m.config);
      const a = m.forward(test.x), b = back.forward(test.x);
      assert.deepEqual(values(b.recon), values(a.recon));
      assert.deepEqual(values(b.latent), values(a.latent));
      const fresh = c.make(2);
      const f = fresh.forward(test.x);
      assert.notDeepEqual(values(f.recon), values(a.recon), 'the weights came from the file');
      tf.dispose([a, b, f].flatMap((o) => [o.recon, o.latent, o.reconLogits!]));
      [m, back, fresh].forEach((x) => x.dispose());
    });
  }
});
