import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { chromium, type Browser } from 'playwright-core';
import { loadMnist } from '../src/lib/data/mnist';
import { disposeDataset, type Dataset } from '../src/lib/data/dataset';
import { Autoencoder, type OutputActivation } from '../src/lib/models/autoencoder';
import { AE } from '../src/lib/models/ae';
import { MLPAutoencoder, TabularAutoencoder } from '../src/lib/models/mlp';
import { StackedAutoencoder } from '../src/lib/models/stacked';
import { VAE } from '../src/lib/models/vae';
import { ConvAutoencoder, DeepConvAutoencoder, StridedConvAutoencoder } from '../src/lib/models/conv';
import { exportDecoder, explorerHtml, latentPlane, runExportedDecoder } from '../src/lib/viz/explorer';
import { explore, registerExplore, runDataset } from '../src/cli/explore';
import { Rng } from '../src/lib/random';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A model around any decoder network, to test layer types the zoo does not use yet. */
class CustomDecoderModel extends Autoencoder {
  readonly name = 'custom';
  readonly config = {};
  protected readonly encoderNet: tf.LayersModel;
  constructor(
    protected readonly decoderNet: tf.LayersModel,
    readonly latentShape: number[],
    readonly inputShape: number[],
    readonly outputActivation: OutputActivation,
  ) {
    super();
    const latent = latentShape.reduce((a, b) => a * b, 1);
    const flatten = inputShape.length > 1 ? [tf.layers.flatten()] : [];
    this.encoderNet = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape }), ...flatten, tf.layers.dense({ units: latent }), tf.layers.reshape({ targetShape: latentShape })] });
  }
}

/** Gives every batch-norm layer non-trivial running statistics and affine parameters. */
function randomiseBatchNorm(model: Autoencoder, seed = 7, variance: [number, number] = [0.2, 2.2]): void {
  const rng = new Rng(seed);
  for (const w of model.weights) {
    const name = w.originalName;
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const fill = (f: () => number) => w.write(tf.tensor(Array.from({ length: size }, f), shape));
    if (name.endsWith('moving_mean') || name.endsWith('beta')) fill(() => rng.normal() * 0.3);
    else if (name.endsWith('moving_variance')) fill(() => variance[0] + rng.next() * (variance[1] - variance[0]));
    else if (name.endsWith('gamma')) fill(() => 0.5 + rng.next());
  }
}

/** Largest absolute difference between the exported decoder run in JS and model.decode, over random latents. */
function exportError(model: Autoencoder, count = 3, seed = 3): number {
  const exported = exportDecoder(model);
  const dec = runExportedDecoder(exported);
  const d = model.latentShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const zs = Array.from({ length: count }, () => Array.from({ length: d }, () => rng.normal()));
  const expected = tf.tidy(() => model.decode(tf.tensor2d(zs)).reshape([count, -1]).arraySync() as number[][]);
  let worst = 0;
  zs.forEach((z, i) => dec.decode(z).forEach((v, j) => (worst = Math.max(worst, Math.abs(v - expected[i][j])))));
  return worst;
}

describe('latent explorer: the exported decoder', () => {
  it('reproduces model.decode for every decoder in the model zoo', () => {
    const models: Autoencoder[] = [
      new AE({ latentDim: 2 }),
      new VAE({ latentDim: 4, hidden: [64, 32] }),
      new MLPAutoencoder({ hidden: [64], latentDim: 6, activation: 'leakyRelu', batchNorm: true, dropout: 0.2, outputActivation: 'tanh' }),
      new MLPAutoencoder({ hidden: [32], latentDim: 3, activation: 'elu', outputActivation: 'none' }),
      new TabularAutoencoder(),
      new StackedAutoencoder({ layerDims: [784, 64, 16], tied: true }),
      new StackedAutoencoder({ layerDims: [784, 64, 16] }),
      new ConvAutoencoder({ channels: 4 }),
      new ConvAutoencoder({ channels: 4, downsample: 'stride', upsample: 'upsample-conv' }),
      new DeepConvAutoencoder({ latentChannels: 8 }),
      new StridedConvAutoencoder({ channels: [4, 8] }),
      new StridedConvAutoencoder({ channels: [4, 8], upsample: 'upsample-conv' }),
    ];
    for (const m of models) {
      randomiseBatchNorm(m);
      const err = exportError(m);
      assert.ok(err < 2e-5, `${m.name} [${m.latentShape}]: JS decoder differs from model.decode by ${err}`);
      m.dispose();
    }
  });

  it('implements the other layer types a tfjs decoder may use (same/valid padding, dilation, upsampling, crop, pad)', () => {
    const net = tf.sequential({
      layers: [
        tf.layers.inputLayer({ inputShape: [6] }),
        tf.layers.dense({ units: 36, activation: 'relu' }),
        tf.layers.reshape({ targetShape: [3, 3, 4] }),
        tf.layers.conv2dTranspose({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }),
        tf.layers.batchNormalization({ epsilon: 1e-3 }),
        tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }),
        tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }),
        tf.layers.upSampling2d({ size: [2, 2] }),
        tf.layers.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2, padding: 'valid', activation: 'softplus' }),
        tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }),
        tf.layers.cropping2D({ cropping: [[1, 1], [2, 0]] }),
        tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same' }),
        tf.layers.conv2d({ filters: 2, kernelSize: 4, padding: 'same', activation: 'selu' }),
        tf.layers.conv2dTranspose({ filters: 1, kernelSize: 1, strides: 2, padding: 'valid', useBias: true }),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.flatten(),
      ],
    });
    const out = net.outputs[0].shape.slice(1) as number[];
    const model = new CustomDecoderModel(net, [6], out, 'sigmoid');
    randomiseBatchNorm(model);
    const err = exportError(model);
    assert.ok(err < 2e-5, `JS decoder differs by ${err}`);
    const ops = exportDecoder(model).ops.map((o) => o.type);
    assert.deepEqual(ops, ['dense', 'conv2dTranspose', 'affine', 'pad', 'conv2d', 'resize', 'conv2d', 'resize', 'crop', 'conv2dTranspose', 'conv2d', 'conv2dTranspose', 'activation']);
  });

  it('refuses a layer it cannot run, naming it', () => {
    const net = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [4, 4, 1] }), tf.layers.maxPooling2d({ poolSize: 2, name: 'squash' }), tf.layers.flatten()] });
    const model = new CustomDecoderModel(net, [4, 4, 1], [4], 'none');
    assert.throws(() => exportDecoder(model), /decoder layer squash \(MaxPooling2D\) is not supported/);
  });
});

describe('latent explorer: the plane', () => {
  function synthetic(n: number, d: number, seed: number) {
    // Two orthonormal directions with standard deviations 5 and 2, plus noise 0.1.
    const rng = new Rng(seed);
    const rand = () => Array.from({ length: d }, () => rng.normal());
    const norm = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const a = norm(rand());
    let b = rand();
    const dot = b.reduce((s, x, i) => s + x * a[i], 0);
    b = norm(b.map((x, i) => x - dot * a[i]));
    const mean = rand();
    const z = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const s = rng.normal() * 5, t = rng.normal() * 2;
      for (let j = 0; j < d; j++) z[i * d + j] = mean[j] + s * a[j] + t * b[j] + 0.1 * rng.normal();
    }
    return { z, a, b };
  }

  for (const d of [5, 300]) {
    it(`finds the top two principal directions of ${d}-D latents (${d <= 64 ? 'exact' : 'randomised'} PCA)`, () => {
      const n = 400;
      const { z, a, b } = synthetic(n, d, d);
      const { plane, coords } = latentPlane(z, n, d);
      assert.equal(plane.kind, 'pca');
      const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
      assert.ok(Math.abs(dot(plane.axis1, a)) > 0.999, `axis1 . a = ${dot(plane.axis1, a)}`);
      assert.ok(Math.abs(dot(plane.axis2!, b)) > 0.995, `axis2 . b = ${dot(plane.axis2!, b)}`);
      const noise = 0.01 * d;
      assert.ok(Math.abs(plane.explained![0] - 25 / (29 + noise)) < 0.05, `explained ${plane.explained}`);
      assert.match(plane.labels[0], /^PC1 \(\d+\.\d%\)$/);
      // coords are the projections of the centred latents
      for (const i of [0, 17, n - 1]) {
        const centred = Array.from(z.subarray(i * d, (i + 1) * d), (v, j) => v - plane.mean[j]);
        assert.ok(Math.abs(coords[2 * i] - dot(centred, plane.axis1)) < 1e-9);
        assert.ok(Math.abs(coords[2 * i + 1] - dot(centred, plane.axis2!)) < 1e-9);
      }
    });
  }

  it('plots 2-D latents as they are', () => {
    const { plane, coords } = latentPlane([1, 2, 3, 4], 2, 2);
    assert.equal(plane.kind, 'latent');
    assert.deepEqual(Array.from(coords), [1, 2, 3, 4]);
    assert.deepEqual(plane.labels, ['z1', 'z2']);
  });
});

describe('latent explorer in headless Chromium', function () {
  let browser: Browser;
  let test: Dataset;
  let dir: string;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`Chromium is needed for the explorer's browser test and was not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    test = (await loadMnist({ trainSize: 1, testSize: 300 })).test;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-explorer-'));
  });

  after(async () => {
    await browser?.close();
    disposeDataset(test);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  type Last = { u: number; v: number; latent: number[]; pixels: number[] };

  /**
   * Opens the page, clicks two places on the plot, and checks each decoded image against
   * model.decode of the latent the page says it decoded. Returns the two results.
   */
  async function clickTwice(model: Autoencoder, file: string): Promise<[Last, Last]> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => !r.url().startsWith('file:') && errors.push(`network request: ${r.url()}`));
    await page.goto(pathToFileURL(file).href);
    // (page code is passed as strings: the tests compile without the DOM's types)
    await page.waitForFunction('window.aelabExplorer && window.aelabExplorer.ready === true', undefined, { timeout: 10000 });
    const box = (await (await page.$('#aelab-plot'))!.boundingBox())!;
    const view = (await page.evaluate('window.aelabExplorer.view')) as Record<string, number>;
    const plane = (await page.evaluate('window.aelabExplorer.plane')) as { mean: number[]; axis1: number[]; axis2?: number[] };
    const results: Last[] = [];
    for (const [fx, fy] of [[0.3, 0.35], [0.75, 0.7]]) {
      // a point inside the plotting area, in page pixels
      const sx = view.left + fx * view.width, sy = view.top + fy * view.height;
      await page.mouse.click(box.x + (sx * box.width) / view.svgWidth, box.y + (sy * box.height) / view.svgHeight);
      const last = (await page.evaluate('window.aelabExplorer.last')) as Last;
      // the page decoded the point under the mouse ...
      const u = view.u0 + fx * (view.u1 - view.u0), v = view.v0 + (1 - fy) * (view.v1 - view.v0);
      assert.ok(Math.abs(last.u - u) < 1e-3 * (view.u1 - view.u0) && Math.abs(last.v - v) < 1e-3 * (view.v1 - view.v0), `clicked (${u}, ${v}), decoded (${last.u}, ${last.v})`);
      // ... which is the latent mean + u * axis1 + v * axis2 ...
      last.latent.forEach((z, j) => assert.ok(Math.abs(z - (plane.mean[j] + last.u * plane.axis1[j] + (plane.axis2 ? last.v * plane.axis2[j] : 0))) < 1e-9));
      // ... into what the library decodes for that latent ...
      const expected = tf.tidy(() => Array.from(model.decode(tf.tensor2d([last.latent])).dataSync()));
      assert.equal(last.pixels.length, expected.length);
      const diff = Math.max(...expected.map((e, i) => Math.abs(e - last.pixels[i])));
      assert.ok(diff < 1e-4, `${model.name}: page decode differs from model.decode by ${diff}`);
      // ... and drew exactly that on the canvas
      const drawn = (await page.evaluate(`(() => {
        const c = document.getElementById('aelab-decoded');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
      })()`)) as number[];
      assert.deepEqual(drawn, last.pixels.map((p) => (p <= 0 ? 0 : p >= 1 ? 255 : Math.round(p * 255))));
      results.push(last);
    }
    assert.deepEqual(errors, []);
    await page.close();
    const change = Math.max(...results[0].pixels.map((p, i) => Math.abs(p - results[1].pixels[i])));
    assert.ok(change > 1e-3, `the two clicks decoded nearly the same image (max difference ${change})`);
    return [results[0], results[1]];
  }

  it('AE with a 2-D latent, written by `aelab explore <runDir>`: clicks decode z = (u, v)', async () => {
    const runDir = path.join(dir, 'run-ae2');
    const model = new AE({ latentDim: 2 });
    await model.save(path.join(runDir, 'model'));
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ dataset: 'mnist', model: 'ae' }));
    const cli = new Command('aelab').exitOverride();
    registerExplore(cli);
    const printed: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void printed.push(a.join(' '));
    try {
      await cli.parseAsync(['explore', runDir, '--points', '200'], { from: 'user' });
    } finally {
      console.log = log;
    }
    const file = path.join(path.resolve(runDir), 'explorer.html');
    assert.deepEqual(printed, [file]);
    const html = fs.readFileSync(file, 'utf8');
    assert.equal((html.match(/<circle cx=/g) ?? []).length, 200);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/); // nothing to fetch
    const [a, b] = await clickTwice(model, file);
    assert.deepEqual([a.latent, b.latent], [[a.u, a.v], [b.u, b.v]]);
    model.dispose();
  });

  it('AE with an 8-D latent: clicks decode points of the PCA plane', async () => {
    const model = new AE({ latentDim: 8 });
    const file = path.join(dir, 'ae8.html');
    fs.writeFileSync(file, await explorerHtml(model, test, { points: 300 }));
    const [a] = await clickTwice(model, file);
    assert.equal(a.latent.length, 8);
    model.dispose();
  });

  it('deep convolutional AE (batch norm, transposed convolutions): clicks decode points of the PCA plane', async () => {
    const model = new DeepConvAutoencoder({ latentChannels: 16 });
    // Small running variances amplify the untrained decoder's response, so that two
    // clicks give visibly different images. Much smaller ones (0.002-0.01) also amplify the
    // float32 rounding in which two correct decoders (this page, tfjs's kernels) differ,
    // past the 1e-4 the check allows.
    randomiseBatchNorm(model, 7, [0.02, 0.1]);
    const file = path.join(dir, 'deep-conv.html');
    fs.writeFileSync(file, await explorerHtml(model, test, { points: 200 }));
    const [a] = await clickTwice(model, file);
    assert.equal(a.latent.length, 3 * 3 * 16);
    model.dispose();
  });
});

describe('aelab explore (command)', () => {
  it('reads the dataset from config.json and explains what it cannot load', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-explore-'));
    assert.equal(runDataset(dir), 'mnist');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ data: { dataset: 'Fashion-MNIST' } }));
    assert.equal(runDataset(dir), 'fashion-mnist');
    await assert.rejects(explore(dir), /model does not exist: is .* a run directory/);
    const model = new AE({ latentDim: 2, hidden: [8] });
    await model.save(path.join(dir, 'model'));
    model.dispose();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ dataset: 'wdbc.csv' }));
    await assert.rejects(explore(dir, { noBackend: true }), /dataset "wdbc.csv" is not an image dataset/);
    fs.writeFileSync(path.join(dir, 'config.json'), '{oops');
    assert.throws(() => runDataset(dir), /config.json: is not valid JSON/);
    fs.rmSync(dir, { recursive: true });
  });
});
