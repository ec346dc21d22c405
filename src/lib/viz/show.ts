/**
 * `show`: one call that displays a picture inline in a tslab notebook and, in a script,
 * writes it to a file and prints the path.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArgumentError } from '../errors';
import { writeFileAtomic } from '../io';
import { ChartSpec, renderSvg } from './charts';
import { GridOptions, RgbaImage, encodePng, imageGrid } from './image';
import { inNotebook, tslabPublic } from '../notebook/tslab';

export { inNotebook };

/** What `show` accepts. */
export type Showable =
  | ChartSpec
  | tf.Tensor
  | Uint8Array
  | RgbaImage
  | string
  | { html: string }
  | { svg: string };

/** Options of `show`. */
export interface ShowOptions extends GridOptions {
  /**
   * In a script: the file to write (its extension is added when missing). Default: a new
   * numbered file in `dir`, e.g. `aelab-output/chart-3.svg`.
   */
  file?: string;
  /** In a script: the directory for numbered files (default `aelab-output`). */
  dir?: string;
  /** In a script: the stem of the numbered file (default `chart`, `image` or `page`). */
  name?: string;
  /** Where to show: `auto` (default: inline inside a tslab kernel, a file otherwise), `inline` or `file`. */
  mode?: 'auto' | 'inline' | 'file';
  /** Do not print the path of the written file. */
  quiet?: boolean;
}

/** The tslab display functions `show` uses (a subset of tslab's `Display`). */
export interface NotebookDisplay {
  html(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
}

/** A picture resolved to one of the three kinds show can display. */
type Content = { kind: 'svg'; data: string } | { kind: 'png'; data: Uint8Array } | { kind: 'html'; data: string };

/**
 * Displays a picture. In a tslab notebook (the kernel is executing a cell) it is shown
 * inline and `show` returns `undefined`; in a script it is written to a file, whose path
 * is printed and returned.
 *
 * @param x one of:
 *   - a vega-lite spec (from the chart builders): rendered to SVG (`.svg` file);
 *   - an image tensor `[n, 28, 28, 1]`, `[n, h, w, 1|3]`, `[n, h, w]` or `[n, 784]` in
 *     [0, 1]: laid out by `imageGrid` (options `nrow`, `padding`, `scale`, default scale
 *     2) as PNG; a single image `[h, w]` or `[h, w, 1|3]` too;
 *   - PNG bytes (`Uint8Array`/`Buffer`) or an `RgbaImage` raster: PNG;
 *   - an SVG string (starting with `<svg` or `<?xml`) or `{ svg }`: SVG;
 *   - any other string, or `{ html }`: HTML (`.html` file, wrapped into a page when it is a fragment).
 */
export async function show(x: Showable, options: ShowOptions = {}): Promise<string | undefined> {
  const content = await resolve(x, options);
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'inline' && mode !== 'file') throw new ArgumentError('mode', mode, '"auto", "inline" or "file"');
  const display = mode === 'file' ? undefined : notebookDisplay();
  if (mode === 'inline' && !display) throw new ArgumentError('mode', mode, '"auto" or "file" outside a tslab notebook (no kernel is executing a cell)');
  if (display) {
    if (content.kind === 'svg') display.svg(content.data);
    else if (content.kind === 'png') display.png(content.data);
    else display.html(content.data);
    return undefined;
  }
  const ext = content.kind;
  const file = options.file ? withExtension(options.file, ext) : nextFile(options.dir ?? 'aelab-output', options.name ?? defaultStem(content.kind), ext);
  writeFileAtomic(file, content.kind === 'html' ? htmlPage(content.data) : content.data);
  if (!options.quiet) console.log(file);
  return file;
}

/** tslab's display of the cell being executed, when this process is a tslab kernel; else `undefined`. */
export function notebookDisplay(): NotebookDisplay | undefined {
  return tslabPublic()?.display;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

async function resolve(x: Showable, options: ShowOptions): Promise<Content> {
  if (x instanceof tf.Tensor) {
    const t = x.rank === 2 && isSquare(x.shape[1] ?? 0) ? x : x.rank === 2 || (x.rank === 3 && (x.shape[2] === 1 || x.shape[2] === 3)) ? x.expandDims(0) : x;
    try {
      return { kind: 'png', data: encodePng(imageGrid(t, { scale: 2, ...options })) };
    } finally {
      if (t !== x) t.dispose();
    }
  }
  if (x instanceof Uint8Array) {
    if (!PNG_SIGNATURE.every((b, i) => x[i] === b)) throw new ArgumentError('x', `${x.length} bytes`, 'PNG bytes (they start with the PNG signature)');
    return { kind: 'png', data: x };
  }
  if (typeof x === 'string') {
    const head = x.trimStart().slice(0, 200).toLowerCase();
    if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return { kind: 'svg', data: x };
    return { kind: 'html', data: x };
  }
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if (typeof o.html === 'string') return { kind: 'html', data: o.html };
    if (typeof o.svg === 'string') return { kind: 'svg', data: o.svg };
    if (typeof o.width === 'number' && typeof o.height === 'number' && o.data instanceof Uint8Array) return { kind: 'png', data: encodePng(o as unknown as RgbaImage) };
    if (isChartSpec(o)) return { kind: 'svg', data: await renderSvg(o) };
  }
  throw new ArgumentError('x', x, 'a vega-lite spec, an image tensor, PNG bytes, an RGBA raster, an SVG or HTML string, or { html }');
}

/** Whether an object looks like a vega-lite spec. */
function isChartSpec(o: Record<string, unknown>): boolean {
  if (typeof o.$schema === 'string' && o.$schema.includes('vega-lite')) return true;
  return ['mark', 'layer', 'concat', 'hconcat', 'vconcat', 'facet', 'repeat'].some((k) => k in o);
}

function isSquare(n: number): boolean {
  const s = Math.round(Math.sqrt(n));
  return s * s === n;
}

function defaultStem(kind: Content['kind']): string {
  return kind === 'svg' ? 'chart' : kind === 'png' ? 'image' : 'page';
}

function withExtension(file: string, ext: string): string {
  return path.extname(file) ? file : `${file}.${ext}`;
}

/** `dir/stem-N.ext` with the smallest N >= 1 not taken yet. */
function nextFile(dir: string, stem: string, ext: string): string {
  let taken: string[] = [];
  try {
    taken = fs.readdirSync(dir);
  } catch {
    // the directory does not exist yet: writeFileAtomic creates it
  }
  const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)\\.`);
  const used = taken.map((f) => re.exec(f)?.[1]).filter((n): n is string => n !== undefined).map(Number);
  return path.join(dir, `${stem}-${used.length ? Math.max(...used) + 1 : 1}.${ext}`);
}

/** A standalone page around an HTML fragment (a full document is kept as it is). */
function htmlPage(html: string): string {
  const head = html.trimStart().slice(0, 100).toLowerCase();
  if (head.startsWith('<!doctype') || head.startsWith('<html')) return html;
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>aelab</title></head>\n<body>\n${html}\n</body></html>\n`;
}
