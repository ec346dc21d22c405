import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { registeredModels } from '../src/lib/models';
import { decodePng } from '../src/lib/viz/image';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'dist', 'cli', 'main.js');

/** Runs the built `aelab` command as a user would (npm test builds dist/ first). */
function aelab(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, AELAB_BACKEND: '' } });
}

describe('aelab train / evaluate / models', function () {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('train writes a complete run directory, and evaluate reproduces its test figures', () => {
    const run = path.join(dir, 'ae');
    const r = aelab('train', '--model', 'ae', '--epochs', '1', '--subset', '500', '--test-size', '300', '--latent', '8', '--lr', '1e-3', '--batch-size', '128',
      '--loss', 'bce', '--reduction', 'sum', '--seed', '3', '--snapshot-every', '1', '--clip-norm', '50', '--out', run);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), run, 'prints the run directory');
    assert.match(r.stderr, /train epoch 1: loss \d+\.\d{4}/);

    for (const f of ['config.json', 'history.json', 'history.csv', 'model/model.json', 'model/weights.bin', 'checkpoints/best/model.json', 'checkpoints/last/model.json', 'checkpoints/checkpoint.json']) {
      assert.ok(fs.existsSync(path.join(run, f)), f);
    }
    assert.deepEqual(fs.readdirSync(path.join(run, 'snapshots')).sort(), ['reconstruction_1.png', 'sample_1.png']);
    const grid = decodePng(fs.readFileSync(path.join(run, 'snapshots', 'reconstruction_1.png')));
    assert.deepEqual([grid.width, grid.height], [8 * (56 + 2) + 2, 2 * (56 + 2) + 2], '8 originals over 8 reconstructions, 2x');

    const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
    assert.equal(config.model.name, 'ae');
    assert.equal(config.model.config.latentDim, 8);
    assert.equal(config.model.config.seed, 3);
    assert.deepEqual(config.data, { dataset: 'mnist', seed: 3, subset: 500, testSize: 300 });
    assert.deepEqual([config.training.epochs, config.training.loss, config.training.reduction, config.training.optimizer, config.training.clipNorm], [1, 'bce', 'sum', 'adam', 50]);
    assert.equal(config.result.test.examples, 300);

    const history = JSON.parse(fs.readFileSync(path.join(run, 'history.json'), 'utf8'));
    assert.equal(history.epochs.length, 1);
    assert.ok(history.epochs[0].trainLoss > 100 && history.epochs[0].trainLoss < 600);
    assert.deepEqual(fs.readFileSync(path.join(run, 'history.csv'), 'utf8').trim().split('\n').length, 2);

    const json = aelab('evaluate', run, '--json');
    assert.equal(json.status, 0, json.stderr);
    const e = JSON.parse(json.stdout);
    assert.deepEqual([e.model, e.dataset, e.examples, e.lossName, e.reduction], ['ae', 'mnist', 300, 'bce', 'sum']);
    assert.ok(Math.abs(e.loss - config.result.test.loss) < 1e-6 * e.loss, `${e.loss} vs ${config.result.test.loss}`);
    assert.ok(Math.abs(e.psnr - 10 * Math.log10(1 / e.mse)) < 1e-9);

    const text = aelab('evaluate', run);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^test loss: \d+\.\d{4} \(bce, summed per example\)$/m);
    assert.match(text.stdout, /^MSE: 0\.\d{6}$/m);
    assert.match(text.stdout, /^PSNR: \d+\.\d{2} dB$/m);
  });

  it('trains on a CSV file (inputDim from its columns) with validation, plateau and early stopping', () => {
    const run = path.join(dir, 'wdbc');
    const r = aelab('train', '--dataset', 'csv:data/wdbc.csv', '--label', 'diagnosis', '--model', 'ae', '--latent', '4', '--loss', 'mse',
      '--epochs', '3', '--batch-size', '32', '--validation', '50', '--plateau', '1', '--early-stop', '2', '--out', run);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
    assert.equal(config.model.config.inputDim, 30);
    assert.equal(config.training.reduction, 'mean', 'mse defaults to the mean, as nn.MSELoss');
    assert.deepEqual(config.data, { dataset: 'csv:data/wdbc.csv', seed: 1, label: 'diagnosis', scale: 'minmax', validation: 50 });
    const history = JSON.parse(fs.readFileSync(path.join(run, 'history.json'), 'utf8'));
    assert.equal(history.monitor, 'valLoss');
    assert.ok(history.epochs.every((h: { valLoss?: number }) => typeof h.valLoss === 'number'));
    assert.equal(fs.existsSync(path.join(run, 'snapshots')), false);
    const e = JSON.parse(aelab('evaluate', run, '--json').stdout);
    assert.equal(e.examples, Math.round(0.2 * 569), '20% of the 569 rows are the test part');
    assert.ok(Math.abs(e.loss - config.result.test.loss) < 1e-6 * e.loss);
    assert.ok(Math.abs(e.loss - e.mse) < 1e-6 * e.mse, 'MSE loss with mean reduction is the MSE');
  });

  it('models lists every registered architecture with its parameter count and latent shape', () => {
    const r = aelab('models', '--json');
    assert.equal(r.status, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { name: string; params: number; latentShape: number[] }[];
    assert.deepEqual(list.map((m) => m.name).sort(), registeredModels().sort());
    for (const m of list) assert.deepEqual(Object.keys(m), ['name', 'params', 'latentShape']);
    assert.deepEqual(list.find((m) => m.name === 'ae'), { name: 'ae', params: 644804, latentShape: [20] });
    const text = aelab('models');
    assert.match(text.stdout, /^ae\s+644,804\s+\[784\]\s+\[20\]$/m);
  });

  it('a bad value prints one error line and the usage line, and exits with code 2', () => {
    for (const [args, message] of [
      [['train', '--lr', '-1'], /--lr must be a number > 0/],
      [['train', '--epochs', 'abc'], /--epochs must be an integer >= 1/],
      [['train', '--model', 'nope'], /--model must be one of .*\bae\b/],
      [['train', '--dataset', 'cifar'], /--dataset must be one of mnist, fashion-mnist, csv:PATH/],
      [['train', '--subset', '100', '--validation', '200'], /--validation \(200\) must be smaller than --subset \(100\)/],
      [['train', '--dataset', 'csv:data/wdbc.csv', '--snapshot-every', '1'], /--snapshot-every needs an image dataset/],
      [['evaluate'], /missing required argument 'run'/],
    ] as [string[], RegExp][]) {
      const r = aelab(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('aelab: backend'));
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0], message);
      assert.match(lines[1], new RegExp(`^Usage: aelab ${args[0]} `));
      assert.equal(r.stdout, '');
    }
    const missing = aelab('evaluate', path.join(dir, 'nothing'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /config\.json does not exist: is .* a run directory written by aelab train\?/);
  });
});
