/**
 * Tabular data from CSV files (e.g. `data/wdbc.csv`, Breast Cancer Wisconsin): read with
 * danfojs-node, checked cell by cell, turned into a `Dataset`, and split with the
 * standardisation fitted on the training part only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
// Type-only: erased from the output, so importing aelab never loads danfojs (see loadDanfo).
import type * as Danfo from 'danfojs-node';
import { ArgumentError, DataFormatError } from '../errors';
import { loadDanfo } from '../danfo';
import { Dataset, SplitOptions, Splits, hostData, splitDataset } from './dataset';

/**
 * The DataFrame that danfojs-node's `readCSV` returns. It is danfojs-base's class, not the
 * `DataFrame` that danfojs-node exports (so `instanceof dfd.DataFrame` is false, and its
 * `toCSV` method throws: use `dfd.toCSV(frame)`); `head()`, `print()`, `describe()`,
 * `column(name)`, `shape` and `columns` work as documented.
 */
export type DanfoDataFrame = Awaited<ReturnType<typeof Danfo.readCSV>>;

/** What `loadCsv` reads from the file. */
export interface CsvLoadOptions {
  /** Name of the column that holds the class of each row (e.g. `diagnosis`). Without it the data has no labels. */
  label?: string;
  /** Names of the numeric columns to use as inputs, in this order. Default: every column except the label. */
  features?: readonly string[];
}

/** Options of `CsvData.split`: the parts to hold out, plus standardisation. */
export interface CsvSplitOptions extends SplitOptions {
  /**
   * Standardise every part with a `Standardizer` fitted on the train part only (default
   * true), so no statistic of the validation or test rows leaks into the inputs.
   */
  standardize?: boolean;
}

/** The parts of a split table, and the scaler that was fitted on `train` (when standardising). */
export interface TabularSplits extends Splits {
  /** Fitted on `train.x` before scaling; apply it to any new rows, `inverse` to read values back in file units. */
  scaler?: Standardizer;
}

/**
 * A CSV table loaded into tensors. It is a `Dataset`, so `filterClasses`, `selectRows`,
 * `splitDataset`, `batches` and `disposeDataset` take it as it is; `x` holds the raw file
 * values (not standardised: use `split`, which fits the scaling on the train part only).
 */
export interface CsvData extends Dataset {
  /** The whole file as a danfojs DataFrame (every column, as danfojs typed it), for display: `frame.head().print()`. */
  frame: DanfoDataFrame;
  /** Path of the file, as given to `loadCsv`. */
  file: string;
  /** Names of the columns in `x`, in column order; `featureNames.length === x.shape[1]`. */
  featureNames: string[];
  /** Inputs, `[rows, features]` float32, in the units of the file. */
  x: tf.Tensor2D;
  /** Name of the label column, when one was given. */
  labelName?: string;
  /** Distinct label values as strings (trimmed), sorted (numerically when every label is a number); `y` indexes into it. */
  classNames?: string[];
  /** Class index of each row, `[rows]` int32 into `classNames`; only with a label. */
  y?: tf.Tensor1D;
  /**
   * Train / validation / test parts (see `splitDataset`), standardised with a scaler fitted on
   * the train part unless `standardize: false`. The caller owns (and disposes) the parts;
   * this table is left as it is.
   */
  split(options?: CsvSplitOptions): TabularSplits;
  /** Frees `x` and `y`. */
  dispose(): void;
}

/**
 * Loads a CSV file with a header line into tensors. Every feature cell must be a number
 * (papaparse's number syntax: `12`, `-0.5`, `1e3`, surrounding spaces allowed); every label
 * cell must be non-empty. Blank lines are skipped.
 *
 * ```ts
 * const d = await loadCsv('data/wdbc.csv', { label: 'diagnosis' });
 * const benign = filterClasses(d, [d.classNames!.indexOf('benign')]);
 * ```
 *
 * @param file path of a local CSV file (comma-separated, first line = column names)
 * @returns x `[rows, features]` float32 raw values, y `[rows]` int32 class indices (with a label)
 * @throws DataFormatError when the file is missing or empty, a row has the wrong number of
 *   fields (naming the line), a column is missing (listing the columns there are), or a
 *   feature cell is not a number / a cell is empty (naming column, data row and file line).
 * @throws ArgumentError for malformed options.
 */
export async function loadCsv(file: string, options: CsvLoadOptions = {}): Promise<CsvData> {
  checkOptions(options);
  const layout = scanCsv(file, readText(file));
  const frame = await readFrame(file);
  const columns: string[] = frame.columns;
  // The scan and papaparse see the same records; if they ever disagree, give row numbers only.
  const rowLines = frame.shape[0] === layout.rowLines.length ? layout.rowLines : undefined;

  const labelName = options.label;
  if (labelName !== undefined && !columns.includes(labelName)) {
    throw new DataFormatError(file, missingColumns('label column', [labelName], columns));
  }
  const featureNames = options.features ? [...options.features] : columns.filter((c) => c !== labelName);
  const absent = featureNames.filter((c) => !columns.includes(c));
  if (absent.length > 0) {
    throw new DataFormatError(file, missingColumns(absent.length > 1 ? 'feature columns' : 'feature column', absent, columns));
  }
  if (featureNames.length === 0) {
    throw new DataFormatError(file, `has no column besides the label "${labelName}" to use as a feature`);
  }

  const rows: number = frame.shape[0];
  const where = (column: string, r: number) =>
    `column "${column}", row ${r + 1}${rowLines ? ` (line ${rowLines[r]})` : ''}`;
  const featureValues = featureNames.map((c) => frame.column(c).values as unknown[]);
  const labelValues = labelName === undefined ? undefined : (frame.column(labelName).values as unknown[]);

  const x = new Float32Array(rows * featureNames.length);
  const labels: string[] = new Array(rows);
  let firstProblem: string | undefined;
  let hint = '';
  let problems = 0; // every bad cell is counted, the first (by row, then column) is described
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < featureNames.length; c++) {
      const raw = featureValues[c][r];
      const v = toNumber(raw);
      if (typeof v === 'number') x[r * featureNames.length + c] = v;
      else if (problems++ === 0) {
        firstProblem = `${where(featureNames[c], r)}: ${v.problem}`;
        hint = defaultedHint(options, featureValues[c]);
      }
    }
    if (labelValues) {
      const key = labelKey(labelValues[r]);
      if (key !== undefined) labels[r] = key;
      else if (problems++ === 0) firstProblem = `${where(labelName!, r)}: the label is empty`;
    }
  }
  if (firstProblem !== undefined) {
    const more = problems > 1 ? ` (and ${problems - 1} more bad cell${problems > 2 ? 's' : ''} after it)` : '';
    throw new DataFormatError(file, firstProblem + more + hint);
  }

  let classNames: string[] | undefined;
  let y: tf.Tensor1D | undefined;
  if (labelValues) {
    classNames = sortClassNames([...new Set(labels)], labelValues);
    const index = new Map(classNames.map((name, i) => [name, i]));
    y = tf.tensor1d(Int32Array.from(labels, (l) => index.get(l)!), 'int32');
  }
  return new CsvTable(frame, file, featureNames, tf.tensor2d(x, [rows, featureNames.length], 'float32'), labelName, classNames, y);
}

class CsvTable implements CsvData {
  constructor(
    public frame: DanfoDataFrame,
    public file: string,
    public featureNames: string[],
    public x: tf.Tensor2D,
    public labelName: string | undefined,
    public classNames: string[] | undefined,
    public y: tf.Tensor1D | undefined,
  ) {}

  split(options: CsvSplitOptions = {}): TabularSplits {
    const { standardize = true, ...splitOptions } = options;
    if (typeof standardize !== 'boolean') throw new ArgumentError('standardize', standardize, 'true or false');
    const parts: TabularSplits = splitDataset(this, splitOptions);
    if (!standardize) return parts;
    const scaler = Standardizer.fit(parts.train.x as tf.Tensor2D);
    for (const part of [parts.train, parts.validation, parts.test]) {
      if (!part) continue;
      const raw = part.x;
      part.x = scaler.transform(raw as tf.Tensor2D);
      raw.dispose();
    }
    parts.scaler = scaler;
    return parts;
  }

  dispose(): void {
    this.x.dispose();
    this.y?.dispose();
  }
}

/** The numbers of a `Standardizer`, as written by `toJSON` (plain arrays, one entry per column). */
export interface StandardizerJSON {
  mean: number[];
  std: number[];
}

/**
 * Per-column standardisation `(x - mean) / std`, with the mean and the population standard
 * deviation (divide by n) of the rows it was fitted on. A constant column (std 0) is only
 * centred: it is divided by 1, so it becomes 0 instead of NaN.
 */
export class Standardizer {
  /** Per-column mean, in the units of the data it was fitted on. */
  readonly mean: readonly number[];
  /** Per-column population standard deviation (0 for a constant column), same units. */
  readonly std: readonly number[];
  private readonly scale: number[];

  /** @param mean per-column means; @param std per-column standard deviations (>= 0), same length. */
  constructor(mean: readonly number[], std: readonly number[]) {
    if (!Array.isArray(mean) || mean.length === 0 || !mean.every(Number.isFinite)) {
      throw new ArgumentError('mean', mean, 'a non-empty array of finite numbers');
    }
    if (!Array.isArray(std) || std.length !== mean.length || !std.every((s) => Number.isFinite(s) && s >= 0)) {
      throw new ArgumentError('std', std, `an array of ${mean.length} finite numbers >= 0 (one per column of mean)`);
    }
    this.mean = Object.freeze([...mean]);
    this.std = Object.freeze([...std]);
    this.scale = std.map((s) => (s > 0 ? s : 1));
  }

  /**
   * Fits the per-column mean and population std of `x` (`[rows, columns]`, rows >= 1),
   * in float64 on the host. Does not dispose `x`.
   */
  static fit(x: tf.Tensor2D): Standardizer {
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[0] < 1 || x.shape[1] < 1) {
      throw new ArgumentError('x', x, 'a 2-D tensor [rows, columns] with at least one row and column');
    }
    const [rows, cols] = x.shape;
    const data = hostData(x);
    const mean = new Array<number>(cols).fill(0);
    const min = new Array<number>(cols).fill(Infinity);
    const max = new Array<number>(cols).fill(-Infinity);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) throw new ArgumentError('x', x, 'a tensor of finite numbers (found NaN or Infinity)');
      const c = i % cols;
      mean[c] += v;
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
    }
    for (let c = 0; c < cols; c++) mean[c] /= rows;
    const sq = new Array<number>(cols).fill(0);
    for (let i = 0; i < data.length; i++) {
      const d = data[i] - mean[i % cols];
      sq[i % cols] += d * d;
    }
    // Exactly 0 for a constant column: float64 rounding of the mean would otherwise leave a
    // std of ~1e-17 that blows the column up instead of leaving it at 0.
    const std = sq.map((s, c) => (min[c] === max[c] ? 0 : Math.sqrt(s / rows)));
    return new Standardizer(mean, std);
  }

  /** A Standardizer from the output of `toJSON` (e.g. read back from a saved model directory). */
  static fromJSON(json: StandardizerJSON): Standardizer {
    if (typeof json !== 'object' || json === null) throw new ArgumentError('json', json, 'an object { mean, std }');
    return new Standardizer(json.mean, json.std);
  }

  /** Number of columns it was fitted on. */
  get columns(): number {
    return this.mean.length;
  }

  /** `(x - mean) / std` per column: `[rows, columns]` in, new float32 tensor of the same shape out. */
  transform(x: tf.Tensor2D): tf.Tensor2D {
    this.checkShape(x);
    return tf.tidy(() => tf.div(tf.sub(tf.cast(x, 'float32'), tf.tensor1d(this.mean as number[])), tf.tensor1d(this.scale)));
  }

  /** `x * std + mean` per column: back from standardised values to the units of the file. */
  inverse(x: tf.Tensor2D): tf.Tensor2D {
    this.checkShape(x);
    return tf.tidy(() => tf.add(tf.mul(tf.cast(x, 'float32'), tf.tensor1d(this.scale)), tf.tensor1d(this.mean as number[])));
  }

  /** Plain numbers for `JSON.stringify` (called by it). */
  toJSON(): StandardizerJSON {
    return { mean: [...this.mean], std: [...this.std] };
  }

  private checkShape(x: tf.Tensor2D): void {
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== this.mean.length) {
      throw new ArgumentError('x', x, `a 2-D tensor [rows, ${this.mean.length}] (the columns the scaler was fitted on)`);
    }
  }
}

// ---------------------------------------------------------------------------------------

function checkOptions(options: CsvLoadOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentError('options', options, 'an object { label?, features? }');
  }
  const { label, features } = options;
  if (label !== undefined && (typeof label !== 'string' || label === '')) {
    throw new ArgumentError('label', label, 'a column name');
  }
  if (features !== undefined) {
    if (!Array.isArray(features) || features.length === 0 || !features.every((f) => typeof f === 'string')) {
      throw new ArgumentError('features', features, 'a non-empty array of column names');
    }
    const dup = features.find((f, i) => features.indexOf(f) !== i);
    if (dup !== undefined) throw new ArgumentError('features', features, `column names without repeats ("${dup}" is repeated)`);
    if (label !== undefined && features.includes(label)) {
      throw new ArgumentError('features', features, `column names other than the label "${label}"`);
    }
  }
}

function readText(file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataFormatError(file, code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code ?? String(err)})`);
  }
  if (stat.isDirectory()) throw new DataFormatError(file, 'is a directory, not a CSV file');
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataFormatError(file, `cannot be read (${code ?? String(err)})`);
  }
}

/**
 * danfojs's readCSV passes its options on to papaparse, but types them as papaparse's
 * ParseConfig, whose types are not installed (so it only admits `frameConfig`).
 */
type ReadCsv = (file: string, options: { skipEmptyLines?: boolean }) => Promise<DanfoDataFrame>;

async function readFrame(file: string): Promise<DanfoDataFrame> {
  const readCSV = loadDanfo().readCSV as ReadCsv;
  try {
    // Absolute path: danfojs fetches any path that starts with "http" over the network, and
    // a relative local file may well be called "http_logs.csv". skipEmptyLines: papaparse
    // otherwise reports a blank (e.g. trailing) line as a row with too few fields.
    return await readCSV(path.resolve(file), { skipEmptyLines: true });
  } catch (err) {
    throw new DataFormatError(file, `danfojs could not read it: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Where each record of the file starts; filled in by `scanCsv`. */
interface CsvLayout {
  /** Column names of the header record (BOM stripped, quotes removed). */
  header: string[];
  /** 1-based file line on which each data record starts, blank lines skipped as papaparse does. */
  rowLines: number[];
}

/**
 * A pass over the text that tracks what danfojs does not report: the file line of every
 * record (for error messages) and the field count of every record (danfojs only says "Too few
 * fields" without a row). Quotes follow RFC 4180 (a quoted field may span lines, `""` is a
 * quote). Empty lines are skipped, as papaparse's `skipEmptyLines: true` does.
 */
function scanCsv(file: string, text: string): CsvLayout {
  let header: string[] | undefined;
  let headerLine = 0;
  const rowLines: number[] = [];
  let line = 1;
  let recordLine = 1;
  let fields = 1;
  let empty = true;
  let atFieldStart = true;
  let inQuotes = false;
  let quoteLine = 0;
  let cell = '';
  let cells: string[] = [];

  const endRecord = () => {
    if (empty) return;
    if (!header) {
      header = [...cells, cell];
      headerLine = recordLine;
    } else if (fields !== header.length) {
      throw new DataFormatError(
        file,
        `line ${recordLine} has ${fields} field${fields === 1 ? '' : 's'} but the header (line ${headerLine}) has ${header.length} columns; every row needs one value per column (row ${rowLines.length + 1} of the data)`,
      );
    } else {
      rowLines.push(recordLine);
    }
  };

  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const ch = text[i];
    const collecting = header === undefined;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          i++;
          if (collecting) cell += '"';
        } else {
          inQuotes = false;
        }
        continue;
      }
      if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
      if (collecting) cell += ch;
      continue;
    }
    if (ch === '"' && atFieldStart) {
      inQuotes = true;
      quoteLine = line;
      atFieldStart = false;
      empty = false;
    } else if (ch === ',') {
      fields++;
      empty = false;
      atFieldStart = true;
      if (collecting) cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
      fields = 1;
      empty = true;
      atFieldStart = true;
      cell = '';
      cells = [];
    } else {
      empty = false;
      atFieldStart = false;
      if (collecting) cell += ch;
    }
  }
  if (inQuotes) throw new DataFormatError(file, `line ${quoteLine}: a quoted field is never closed (a " is missing)`);
  endRecord();

  if (!header) throw new DataFormatError(file, 'file is empty (expected a header line of column names, then data rows)');
  const names: string[] = header;
  const dup = names.findIndex((name, i) => names.indexOf(name) !== i);
  if (dup >= 0) {
    throw new DataFormatError(
      file,
      `the header (line ${headerLine}) names column "${names[dup]}" twice (columns ${names.indexOf(names[dup]) + 1} and ${dup + 1})`,
    );
  }
  if (rowLines.length === 0) throw new DataFormatError(file, `has a header (line ${headerLine}) but no data rows`);
  return { header: names, rowLines };
}

/** Matches papaparse's number syntax, for numbers that reach us as strings. */
const NUMBER_TEXT = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A feature cell as a number, or why it is not one. danfojs (papaparse `dynamicTyping`) gives
 * numbers for numeric text, `null` for an empty cell, `true`/`false` for boolean words and the
 * text itself for anything else (`"abc"`, `" "`, `"NaN"`, `"Infinity"`), typing the whole
 * column `string` while leaving its numbers as numbers.
 */
function toNumber(raw: unknown): number | { problem: string } {
  let v = raw;
  if (typeof v === 'string' && NUMBER_TEXT.test(v)) v = Number(v);
  if (typeof v === 'number' && Number.isFinite(v)) {
    return Math.abs(v) <= FLOAT32_MAX ? v : { problem: `${v} is outside the float32 range` };
  }
  if (raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
    return { problem: 'the cell is empty, expected a number' };
  }
  return { problem: `${JSON.stringify(String(raw))} is not a number` };
}

/** The class name of a label cell, or undefined when it is empty. */
function labelKey(raw: unknown): string | undefined {
  if (raw === null || raw === undefined || (typeof raw === 'number' && Number.isNaN(raw))) return undefined;
  const key = String(raw).trim();
  return key === '' ? undefined : key;
}

/** Numeric labels sort as numbers (`2` before `10`), anything else by code point (locale-independent). */
function sortClassNames(names: string[], raw: unknown[]): string[] {
  if (raw.every((v) => typeof v === 'number')) return names.sort((a, b) => Number(a) - Number(b));
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** When the features were chosen by default and a column holds no numbers at all, say how to leave it out. */
function defaultedHint(options: CsvLoadOptions, values: unknown[]): string {
  if (options.features || values.some((v) => typeof toNumber(v) === 'number')) return '';
  const label = options.label === undefined ? 'if it holds the classes, name it as options.label; otherwise ' : '';
  return `. The column holds no numbers at all: ${label}list the numeric columns as options.features to leave it out`;
}

function missingColumns(what: string, missing: string[], columns: string[]): string {
  const quoted = missing.map((m) => `"${m}"`).join(', ');
  const near = missing
    .map((m) => columns.find((c) => c.trim().toLowerCase() === m.trim().toLowerCase()))
    .filter((c): c is string => c !== undefined);
  const hint = near.length > 0 ? ` (did you mean ${near.map((c) => `"${c}"`).join(', ')}?)` : '';
  return `has no ${what} ${quoted}${hint}; its ${columns.length} columns are: ${columns.map((c) => `"${c}"`).join(', ')}`;
}
