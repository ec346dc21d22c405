import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, DataFormatError } from '../src/lib/errors';
import { CsvData, Standardizer, TabularSplits, loadCsv } from '../src/lib/data/csv';
import { disposeDataset, filterClasses } from '../src/lib/data/dataset';

const WDBC = path.join(__dirname, '..', 'data', 'wdbc.csv');
// The real file, as lines (it has CRLF line ends): header, then 569 data rows.
const [HEADER, ...ROWS] = fs.readFileSync(WDBC, 'utf8').split(/\r?\n/).filter((l) => l !== '');
const COLUMNS = HEADER.split(',');

/** Replaces field `column` of a wdbc data row. */
function withCell(row: string, column: string, value: string): string {
  const fields = row.split(',');
  fields[COLUMNS.indexOf(column)] = value;
  return fields.join(',');
}

/** Per-column mean and population std of a [rows, cols] tensor, in float64. */
function columnStats(x: tf.Tensor): { mean: number[]; std: number[] } {
  const [rows, cols] = x.shape;
  const data = x.dataSync();
  const mean = new Array<number>(cols).fill(0);
  const sq = new Array<number>(cols).fill(0);
  for (let i = 0; i < data.length; i++) mean[i % cols] += data[i] / rows;
  for (let i = 0; i < data.length; i++) sq[i % cols] += (data[i] - mean[i % cols]) ** 2;
  return { mean, std: sq.map((s) => Math.sqrt(s / rows)) };
}

function disposeSplits(s: TabularSplits): void {
  disposeDataset(s.train);
  disposeDataset(s.validation);
  disposeDataset(s.test);
}

/** Asserts that `promise` rejects with an aelab DataFormatError whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected a DataFormatError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe('loadCsv on data/wdbc.csv', () => {
  let d: CsvData;
  let backendBefore: string;
  before(async () => {
    backendBefore = tf.getBackend();
    d = await loadCsv(WDBC, { label: 'diagnosis' });
  });
  after(() => d?.dispose());

  it('loads 569 rows x 30 float32 features with benign/malignant labels', () => {
    assert.deepEqual(d.x.shape, [569, 30]);
    assert.equal(d.x.dtype, 'float32');
    assert.equal(d.y!.dtype, 'int32');
    assert.deepEqual(d.featureNames, COLUMNS.slice(0, 30));
    assert.equal(d.labelName, 'diagnosis');
    assert.deepEqual(d.classNames, ['benign', 'malignant']);
    const y = d.y!.dataSync();
    const malignant = Array.from(y).reduce((n, v) => n + v, 0);
    assert.equal(y.length - malignant, 357);
    assert.equal(malignant, 212);
    // First data row: 17.99,10.38,...,malignant
    const x = d.x.dataSync();
    assert.ok(Math.abs(x[0] - 17.99) < 1e-5);
    assert.ok(Math.abs(x[1] - 10.38) < 1e-5);
    assert.equal(d.classNames![y[0]], 'malignant');
  });

  it('keeps the whole file as a danfojs DataFrame with 31 columns', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dfd = require('danfojs-node') as typeof import('danfojs-node');
    // readCSV builds danfojs-base's DataFrame, which is an NDframe but not danfojs-node's DataFrame.
    assert.ok(d.frame instanceof dfd.NDframe);
    assert.equal(d.frame.constructor.name, 'DataFrame');
    assert.deepEqual(d.frame.head(2).shape, [2, 31]);
    assert.deepEqual(d.frame.shape, [569, 31]);
    assert.deepEqual(d.frame.columns, COLUMNS);
    assert.equal(d.frame.column('diagnosis').values[0], 'malignant');
  });

  it('composes with filterClasses: benign rows as the background class', () => {
    const benign = filterClasses(d, [d.classNames!.indexOf('benign')]);
    try {
      assert.deepEqual(benign.x.shape, [357, 30]);
      assert.deepEqual(benign.classNames, ['benign', 'malignant']);
      assert.ok(benign.y!.dataSync().every((v) => v === 0));
    } finally {
      disposeDataset(benign);
    }
  });

  it('takes the features given, in that order, without the label', async () => {
    const e = await loadCsv(WDBC, { features: ['worst_area', 'mean_radius'] });
    try {
      assert.deepEqual(e.x.shape, [569, 2]);
      assert.deepEqual(e.featureNames, ['worst_area', 'mean_radius']);
      assert.equal(e.y, undefined);
      assert.equal(e.classNames, undefined);
      const x = e.x.dataSync();
      assert.ok(Math.abs(x[0] - 2019.0) < 1e-3 && Math.abs(x[1] - 17.99) < 1e-5);
    } finally {
      e.dispose();
    }
  });

  it('does not load danfojs when the module is only imported', function () {
    this.timeout(20000);
    const probe =
      "require('./src/lib/data/csv.ts');" +
      "process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('danfojs'))))";
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', probe], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
    });
    assert.equal(out, 'false');
  });

  it('leaves the tfjs backend as it was after loading danfojs', () => {
    // danfojs-node shares our tfjs (package.json overrides); it must not switch backends.
    assert.equal(tf.getBackend(), backendBefore);
    assert.equal(tf.tensor1d([1, 2]).sum().dataSync()[0], 3);
  });
});

describe('CsvData.split and Standardizer', () => {
  let d: CsvData;
  before(async () => {
    d = await loadCsv(WDBC, { label: 'diagnosis' });
  });
  after(() => d?.dispose());

  it('splits by fraction and count, reproducibly for a seed', () => {
    const a = d.split({ validation: 0.15, test: 0.15, seed: 3 });
    const b = d.split({ validation: 0.15, test: 0.15, seed: 3 });
    const c = d.split({ validation: 50, test: 100, seed: 4 });
    try {
      assert.equal(a.validation!.x.shape[0], 85);
      assert.equal(a.test!.x.shape[0], 85);
      assert.equal(a.train.x.shape[0], 569 - 170);
      assert.deepEqual([c.train.x.shape[0], c.validation!.x.shape[0], c.test!.x.shape[0]], [419, 50, 100]);
      for (const part of ['train', 'validation', 'test'] as const) {
        assert.deepEqual(a[part]!.x.dataSync(), b[part]!.x.dataSync());
        assert.deepEqual(a[part]!.y!.dataSync(), b[part]!.y!.dataSync());
        assert.deepEqual(a[part]!.classNames, ['benign', 'malignant']);
      }
      assert.deepEqual(a.scaler!.toJSON(), b.scaler!.toJSON());
      assert.notDeepEqual(a.scaler!.toJSON(), c.scaler!.toJSON());
    } finally {
      [a, b, c].forEach(disposeSplits);
    }
  });

  it('fits the standardisation on the train part only', () => {
    const before = tf.memory().numTensors;
    const s = d.split({ validation: 0.2, test: 0.2, seed: 7 });
    const raw = d.split({ validation: 0.2, test: 0.2, seed: 7, standardize: false });
    try {
      const train = columnStats(s.train.x);
      for (let c = 0; c < 30; c++) {
        assert.ok(Math.abs(train.mean[c]) < 1e-4, `train mean of column ${c}: ${train.mean[c]}`);
        assert.ok(Math.abs(train.std[c] - 1) < 1e-4, `train std of column ${c}: ${train.std[c]}`);
      }
      // Test and validation rows are scaled with the train statistics, so theirs are off.
      for (const part of [s.test!, s.validation!]) {
        const stats = columnStats(part.x);
        assert.ok(stats.mean.some((m) => Math.abs(m) > 1e-2));
        assert.ok(stats.std.some((v) => Math.abs(v - 1) > 1e-2));
      }
      // The scaler is exactly the one fitted on the raw train rows.
      const fitted = Standardizer.fit(raw.train.x as tf.Tensor2D);
      assert.deepEqual(s.scaler!.toJSON(), fitted.toJSON());
      const back = s.scaler!.inverse(s.test!.x as tf.Tensor2D);
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(back, raw.test!.x))).dataSync()[0]);
      back.dispose();
      assert.ok(err < 1e-2, `inverse error ${err}`);
      // standardize: false gives the file's values and no scaler.
      assert.equal(raw.scaler, undefined);
      assert.ok(columnStats(raw.train.x).mean.some((m) => m > 100));
    } finally {
      disposeSplits(s);
      disposeSplits(raw);
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it('Standardizer: inverse(transform(x)) gives x back', () => {
    const scaler = Standardizer.fit(d.x);
    const z = scaler.transform(d.x);
    const back = scaler.inverse(z);
    const rel = tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(back, d.x)), tf.add(tf.abs(d.x), 1))).dataSync()[0]);
    tf.dispose([z, back]);
    assert.ok(rel < 1e-5, `relative error ${rel}`);
    assert.equal(scaler.columns, 30);
    // Population std (divide by n): mean_radius has std 3.521 over all 569 rows.
    assert.ok(Math.abs(scaler.mean[0] - 14.1273) < 1e-3 && Math.abs(scaler.std[0] - 3.5210) < 1e-3);
  });

  it('Standardizer: a constant column is divided by 1, not 0', () => {
    const x = tf.tensor2d([[1, 5], [3, 5], [5, 5]]);
    const scaler = Standardizer.fit(x);
    const z = scaler.transform(x);
    try {
      assert.deepEqual(scaler.std[1], 0);
      assert.deepEqual(Array.from(z.dataSync()).map((v) => Math.round(v * 1e5) / 1e5), [-1.22474, 0, 0, 0, 1.22474, 0]);
    } finally {
      tf.dispose([x, z]);
    }
  });

  it('Standardizer: toJSON / fromJSON round trip', () => {
    const scaler = Standardizer.fit(d.x);
    const copy = Standardizer.fromJSON(JSON.parse(JSON.stringify(scaler)));
    assert.deepEqual(copy.mean, scaler.mean);
    assert.deepEqual(copy.std, scaler.std);
    const a = scaler.transform(d.x);
    const b = copy.transform(d.x);
    assert.deepEqual(a.dataSync(), b.dataSync());
    tf.dispose([a, b]);
    assert.throws(() => Standardizer.fromJSON({ mean: [0, 1], std: [1] }), ArgumentError);
    assert.throws(() => Standardizer.fromJSON({ mean: [0], std: [-1] }), ArgumentError);
    const wrong = tf.zeros([2, 3]) as tf.Tensor2D;
    assert.throws(() => scaler.transform(wrong), /\[rows, 30\]/);
    wrong.dispose();
  });
});

describe('loadCsv errors', () => {
  let dir: string;
  const write = (name: string, lines: string[], tail = '\n'): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n') + tail);
    return file;
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-csv-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rows = ROWS.slice(0, 20);

  it('names column, row and line of a text cell', async () => {
    const bad = rows.map((r, i) => (i === 16 ? withCell(r, 'mean_radius', 'abc') : r));
    await rejectsWith(
      loadCsv(write('text.csv', [HEADER, ...bad]), { label: 'diagnosis' }),
      /text\.csv: column "mean_radius", row 17 \(line 18\): "abc" is not a number$/,
    );
  });

  it('names column, row and line of an empty feature cell, and counts the others', async () => {
    const bad = rows.map((r, i) => (i === 4 ? withCell(r, 'mean_texture', '') : i === 9 ? withCell(r, 'area_error', ' ') : r));
    await rejectsWith(
      loadCsv(write('empty-cell.csv', [HEADER, ...bad]), { label: 'diagnosis' }),
      /column "mean_texture", row 5 \(line 6\): the cell is empty/,
      /1 more bad cell after it/,
    );
  });

  it('names column, row and line of an empty label cell', async () => {
    const bad = rows.map((r, i) => (i === 11 ? withCell(r, 'diagnosis', '') : r));
    await rejectsWith(loadCsv(write('no-label.csv', [HEADER, ...bad]), { label: 'diagnosis' }), /column "diagnosis", row 12 \(line 13\): the label is empty/);
  });

  it('counts lines across blank lines and quoted line breaks', async () => {
    // Line 2 row 1, line 3 blank (skipped), line 4 row 2, lines 5-6 row 3 (quoted break in its label), line 7 row 4.
    const lines = [HEADER, rows[0], '', rows[1], withCell(rows[2], 'diagnosis', '"malig\nnant"'), withCell(rows[3], 'mean_area', 'n/a')];
    await rejectsWith(loadCsv(write('blank.csv', lines, '\n\n'), { label: 'diagnosis' }), /column "mean_area", row 4 \(line 7\): "n\/a" is not a number/);
    // Blank lines alone are fine, including a trailing one.
    const ok = await loadCsv(write('blank-ok.csv', [HEADER, rows[0], '', rows[1]], '\n\n'), { label: 'diagnosis' });
    assert.deepEqual(ok.x.shape, [2, 30]);
    ok.dispose();
  });

  it('names a missing label column and lists the columns', async () => {
    await rejectsWith(
      loadCsv(WDBC, { label: 'Diagnosis' }),
      /has no label column "Diagnosis" \(did you mean "diagnosis"\?\)/,
      /its 31 columns are: "mean_radius", "mean_texture", .*"diagnosis"$/,
    );
  });

  it('names missing feature columns', async () => {
    await rejectsWith(
      loadCsv(WDBC, { label: 'diagnosis', features: ['mean_radius', 'mean_height', 'mean_weight'] }),
      /has no feature columns "mean_height", "mean_weight"; its 31 columns are: "mean_radius"/,
    );
  });

  it('suggests options.label when a text column falls into the default features', async () => {
    await rejectsWith(
      loadCsv(write('few.csv', [HEADER, ...rows.slice(0, 3)])),
      /column "diagnosis", row 1 \(line 2\): "malignant" is not a number \(and 2 more bad cells after it\)\. .*options\.label/,
    );
  });

  it('rejects a file that does not exist, is empty or has no data rows', async () => {
    await rejectsWith(loadCsv(path.join(dir, 'nope.csv')), /nope\.csv: file does not exist$/);
    await rejectsWith(loadCsv(write('empty.csv', [], '')), /empty\.csv: file is empty/);
    await rejectsWith(loadCsv(write('blank-only.csv', ['', ''])), /file is empty/);
    await rejectsWith(loadCsv(write('header-only.csv', [HEADER])), /has a header \(line 1\) but no data rows/);
    await rejectsWith(loadCsv(dir), /is a directory/);
  });

  it('names the line of a row with too few or too many fields', async () => {
    const short = rows.map((r, i) => (i === 6 ? r.split(',').slice(1).join(',') : r));
    await rejectsWith(loadCsv(write('short.csv', [HEADER, ...short])), /short\.csv: line 8 has 30 fields but the header \(line 1\) has 31 columns/);
    const long = rows.map((r, i) => (i === 2 ? `${r},1.5` : r));
    await rejectsWith(loadCsv(write('long.csv', [HEADER, ...long])), /line 4 has 32 fields but the header \(line 1\) has 31 columns/);
  });

  it('rejects a repeated column name and an unclosed quote', async () => {
    await rejectsWith(loadCsv(write('dup.csv', [HEADER.replace('mean_texture', 'mean_radius'), ...rows])), /names column "mean_radius" twice \(columns 1 and 2\)/);
    await rejectsWith(loadCsv(write('quote.csv', [HEADER, rows[0], withCell(rows[1], 'diagnosis', '"benign')])), /line 3: a quoted field is never closed/);
  });

  it('sorts numeric labels as numbers', async () => {
    const lines = [HEADER, ...rows.slice(0, 4).map((r, i) => withCell(r, 'diagnosis', ['10', '2', '1', '2'][i]))];
    const e = await loadCsv(write('numeric-label.csv', lines), { label: 'diagnosis' });
    assert.deepEqual(e.classNames, ['1', '2', '10']);
    assert.deepEqual(Array.from(e.y!.dataSync()), [2, 1, 0, 1]);
    e.dispose();
  });

  it('rejects malformed options with an ArgumentError', async () => {
    await assert.rejects(loadCsv(WDBC, { label: '' }), ArgumentError);
    await assert.rejects(loadCsv(WDBC, { features: [] }), ArgumentError);
    await assert.rejects(loadCsv(WDBC, { label: 'diagnosis', features: ['diagnosis'] }), /other than the label/);
    await assert.rejects(loadCsv(WDBC, { features: ['mean_radius', 'mean_radius'] }), /repeated/);
  });
});
