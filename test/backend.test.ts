import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, backendInfo, describeBackend } from '../src/lib/backend';
import { BackendError } from '../src/lib/errors';

const root = path.resolve(__dirname, '..');

/** Runs a snippet in a fresh Node process (backend choice is per process). */
function runSnippet(code: string, env: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

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

  it('importing the built package prints nothing', () => {
    const out = execFileSync(process.execPath, ['-e', "require('aelab')"], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(out, '');
  });
});
