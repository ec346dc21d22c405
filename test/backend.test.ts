import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, backendInfo, describeBackend } from '../src/lib/backend';
import { BackendError } from '../src/lib/errors';

const root = path.resolve(__dirname, '..');

/** Runs TypeScript in a fresh Node process (backend choice is per process): a file with its arguments, or `-e` and a snippet. */
function runTs(args: string[], env: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

const runSnippet = (code: string, env: Record<string, string | undefined> = {}) => runTs(['-e', code], env);

describe('backend selection', () => {
  it('uses wasm here, and says why the node backends were skipped', async () => {
    const info = await initBackend({ quiet: true });
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(info.skipped.map((s) => s.name), ['node-gpu', 'node']);
    // danfojs-node's aliased copy of tfjs sits where tfjs-node would be: never taken for it
    assert.match(info.skipped[1].reason, /not installed/);
    assert.equal(backendInfo(), info);
    assert.match(describeBackend(info), /^aelab: backend wasm \(tfjs 4\.22\.0, native kernels (on, \d+ threads?|off: .+)\); skipped node-gpu: not installed; node: not installed/);
  });

  it('says whether the native kernels are in use, and why not', () => {
    const on = runSnippet("require('./src/lib/backend').initBackend().then(i=>console.log('native='+i.native))", {});
    assert.equal(on.status, 0, on.stderr);
    // Where the addon is built (npm install builds it wherever g++ is, CI included) it must be in use.
    if (fs.existsSync(path.join(root, 'build', 'Release', 'aelab_native.node'))) assert.match(on.stderr, /native kernels on, \d+ threads?\)/);
    else assert.match(on.stderr, /native kernels off: not built/);
    const off = runSnippet("require('./src/lib/backend').initBackend().then(i=>console.log('native='+i.native))", { AELAB_NATIVE: '0' });
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, /native=off: disabled by AELAB_NATIVE=0/);
    assert.match(off.stderr, /aelab: backend wasm \(tfjs 4\.22\.0, native kernels off: disabled by AELAB_NATIVE=0\)/);
  });

  it('AELAB_BACKEND=cpu forces cpu, without the tfjs-node banner', () => {
    const r = runSnippet(
      "const b=require('./src/lib/backend'); const tf=require('@tensorflow/tfjs'); b.initBackend().then(i=>{ tf.ones([3]).sum().print(); console.log('name='+i.name) })",
      { AELAB_BACKEND: 'cpu' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /name=cpu/);
    assert.match(r.stderr, /aelab: backend cpu \(tfjs 4\.22\.0, forced by AELAB_BACKEND\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /install our node backend|Hi, looks like/);
  });

  it('AELAB_BACKEND naming a missing backend fails with a clear error', () => {
    const r = runSnippet("require('./src/lib/backend').initBackend().catch(e=>{ console.log(e.name+': '+e.message); process.exit(3) })", {
      AELAB_BACKEND: 'node-gpu',
    });
    assert.equal(r.status, 3);
    assert.match(r.stdout, /BackendError: AELAB_BACKEND asks for backend node-gpu, which cannot be used here: not installed/);
  });

  it('AELAB_BACKEND naming an unknown backend lists the valid names', async () => {
    const saved = process.env.AELAB_BACKEND;
    process.env.AELAB_BACKEND = 'webgpu';
    try {
      await assert.rejects(initBackend({ quiet: true }), (e: unknown) => e instanceof BackendError && /"webgpu" is not a backend aelab knows; use one of node-gpu, node, wasm, cpu/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env.AELAB_BACKEND;
      else process.env.AELAB_BACKEND = saved;
    }
  });

  describe('with @tensorflow/tfjs-node-gpu installed', () => {
    // tfjs-node-gpu needs libtensorflow, which its install script downloads from outside the
    // npm registry, so it cannot be installed here. A stand-in package under NODE_PATH takes
    // its place: same name, registers a 'tensorflow' backend (running tfjs's cpu kernels) and
    // says whether it uses a GPU as tfjs-node's backend does (`isUsingGpuDevice`).
    let modules = '';
    before(() => {
      modules = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-node-gpu-'));
      const dir = path.join(modules, '@tensorflow', 'tfjs-node-gpu');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', version: tf.version_core, main: 'index.js' }));
      fs.writeFileSync(
        path.join(dir, 'index.js'),
        [
          `const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs'))});`,
          `const { MathBackendCPU } = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'))});`,
          'class NodeBackend extends MathBackendCPU {',
          "  constructor() { super(); this.firstUse = false; this.isUsingGpuDevice = process.env.STANDIN_GPU === '1'; }",
          '}',
          "tf.registerBackend('tensorflow', () => new NodeBackend(), 3);",
          "for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });",
        ].join('\n'),
      );
    });
    after(() => fs.rmSync(modules, { recursive: true, force: true }));
    /** The environment that makes the stand-in visible, reporting a GPU or not. */
    const standIn = (gpu: boolean) => ({ NODE_PATH: modules, STANDIN_GPU: gpu ? '1' : '0', AELAB_BACKEND: undefined });

    it('is chosen first, says whether TensorFlow found a GPU, and trains there', () => {
      const code = [
        "const tf = require('@tensorflow/tfjs');",
        "const { initBackend } = require('./src/lib/backend'); const { loadMnist } = require('./src/lib/data/mnist');",
        "const { AE } = require('./src/lib/models/ae'); const { fit } = require('./src/lib/train/fit');",
        '(async () => {',
        '  const info = await initBackend();',
        '  const { train } = await loadMnist({ trainSize: 256, testSize: 10, seed: 1 });',
        "  const h = await fit(new AE({ seed: 1 }), train, { epochs: 2, batchSize: 64, loss: 'bce', reduction: 'sum', seed: 1 });",
        "  console.log(JSON.stringify({ name: info.name, tfjs: tf.getBackend(), gpu: info.gpu, losses: h.epochs.map((e) => e.trainLoss) }));",
        '})();',
      ].join('\n');
      const r = runSnippet(code, standIn(true));
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      assert.deepEqual([out.name, out.tfjs, out.gpu], ['node-gpu', 'tensorflow', true]);
      assert.match(r.stderr, /aelab: backend node-gpu \(tfjs [\d.]+, GPU in use\)/);
      // Two epochs on 256 images: the summed BCE per image falls from about 784 ln 2 = 543.
      assert.ok(out.losses[1] < out.losses[0] && out.losses[0] < 543, JSON.stringify(out.losses));

      // tfjs-node-gpu without CUDA or a visible device runs on the CPU without a word: the report says so.
      const cpu = runSnippet("require('./src/lib/backend').initBackend().then((i) => console.log('gpu=' + i.gpu))", standIn(false));
      assert.equal(cpu.status, 0, cpu.stderr);
      assert.match(cpu.stdout, /gpu=false/);
      assert.match(cpu.stderr, /aelab: backend node-gpu \(tfjs [\d.]+, no GPU found: running on the CPU\)/);
    });

    it('runs the bench on it', () => {
      const r = runTs(['bench/index.ts', '--tasks', 'ae-encode', '--repeats', '1', '--train-size', '100', '--no-torch', '--json'], standIn(true));
      assert.equal(r.status, 0, r.stderr);
      const result = JSON.parse(r.stdout);
      assert.equal(result.backend, 'node-gpu');
      assert.equal(result.rows[0].task, 'ae-encode');
      assert.ok(result.rows[0].oursSeconds > 0);
      assert.equal(result.rows[0].plainWasmSeconds, null); // the wasm fallback's figure is for the wasm backend only
    });
  });

  it('importing the built package prints nothing', () => {
    const out = execFileSync(process.execPath, ['-e', "require('aelab')"], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(out, '');
  });
});
