/**
 * Labelled image strips: rows of images, each with a text label on the left ("original"
 * above "reconstruction", interpolation steps "t=0.5", best and worst reconstructions),
 * optionally a title and column labels, as one PNG.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { writeFileAtomic } from '../io';
import { GLYPH_HEIGHT, drawText, measureText } from './font';
import { RgbaImage, encodePng, imageGrid } from './image';

/** One row of a strip: a label and a batch of images. */
export interface StripRow {
  /** Text drawn left of the row (built-in font: letters, digits, common symbols). */
  label: string;
  /** `[n, h, w, 1|3]`, `[n, h, w]` or `[n, side*side]`, values in [0, 1] (clamped). */
  images: tf.Tensor;
  /** Optional text under each image (e.g. its error or class), at most one per image; drawn smaller when it would not fit. */
  captions?: string[];
}

/** Options of `imageStrip`. */
export interface StripOptions {
  /** Integer magnification of every image pixel (default 2: 28 px digits become 56 px). */
  scale?: number;
  /** Pixels between neighbouring images (default 2). */
  gap?: number;
  /** Integer size of the label font (default 2: 12 px per character, 20 px per line). */
  fontScale?: number;
  /** Title drawn above everything. */
  title?: string;
  /** Labels above the columns (e.g. the class or the error of each image). */
  columnLabels?: string[];
  /** Grey level of the background in [0, 1] (default 1, white); text is dark on light and light on dark. */
  background?: number;
  /** Pixels of margin around the picture (default 8). */
  margin?: number;
}

/**
 * Lays out labelled rows of images as one RGBA raster: label column on the left, rows of
 * images (each row may hold a different number), optional title and column labels.
 */
export function imageStripRaster(rows: StripRow[], options: StripOptions = {}): RgbaImage {
  if (!Array.isArray(rows) || rows.length === 0) throw new ArgumentError('rows', rows, 'a non-empty list of { label, images }');
  const scale = checkInteger('scale', options.scale ?? 2, 1, 64);
  const gap = checkInteger('gap', options.gap ?? 2, 0);
  const fs = checkInteger('fontScale', options.fontScale ?? 2, 1, 16);
  const margin = checkInteger('margin', options.margin ?? 8, 0);
  const bg = checkNumber('background', options.background ?? 1, 0, 1);
  const bgByte = Math.round(bg * 255);
  const ink: [number, number, number] = bg > 0.5 ? [34, 34, 34] : [235, 235, 235];
  const faint: [number, number, number] = bg > 0.5 ? [100, 100, 100] : [180, 180, 180];

  const grids = rows.map((row, i) => {
    if (!row || typeof row.label !== 'string' || !(row.images instanceof tf.Tensor)) {
      throw new ArgumentError(`rows[${i}]`, row, '{ label: string, images: tf.Tensor }');
    }
    const n = row.images.shape[0];
    if (!n) throw new ArgumentError(`rows[${i}].images`, row.images, 'at least one image');
    if (row.captions !== undefined && (!Array.isArray(row.captions) || row.captions.length > n)) {
      throw new ArgumentError(`rows[${i}].captions`, row.captions, `at most one caption per image (${n})`);
    }
    return imageGrid(row.images, { nrow: n, padding: gap, padValue: bg, scale });
  });
  const lineH = GLYPH_HEIGHT * fs;
  const labelW = Math.max(0, ...rows.map((r) => measureText(r.label, fs)));
  const labelCol = labelW > 0 ? labelW + 4 * fs : 0;
  const gridW = Math.max(...grids.map((g) => g.width));
  const cols = options.columnLabels ?? [];
  // Column labels use a smaller font when they would not fit over a cell.
  const first = rows[0].images.shape;
  const cellW = grids[0].width > 0 ? (grids[0].width - gap) / first[0] : 0;
  let colFs = fs;
  while (colFs > 1 && cols.some((c) => measureText(c, colFs) > cellW)) colFs--;
  const colH = cols.length ? GLYPH_HEIGHT * colFs + 2 : 0;
  // Captions under the images of a row, in one font size for the whole strip.
  const rowCellW = rows.map((r, i) => (grids[i].width - gap) / r.images.shape[0]);
  let capFs = Math.max(1, fs - 1);
  while (capFs > 1 && rows.some((r, i) => (r.captions ?? []).some((c) => measureText(c, capFs) > rowCellW[i]))) capFs--;
  const capH = (r: StripRow) => (r.captions?.length ? GLYPH_HEIGHT * capFs + 2 : 0);
  const titleH = options.title ? lineH + 4 * fs : 0;
  const rowHeights = grids.map((g, i) => Math.max(g.height, lineH) + capH(rows[i]));
  // A title longer than the images widens the picture rather than being cut off.
  const width = margin * 2 + Math.max(labelCol + gridW, options.title ? measureText(options.title, fs) : 0);
  const height = margin * 2 + titleH + colH + rowHeights.reduce((a, b) => a + b, 0);
  const out: RgbaImage = { width, height, data: new Uint8Array(width * height * 4) };
  for (let i = 0; i < width * height; i++) {
    out.data[4 * i] = out.data[4 * i + 1] = out.data[4 * i + 2] = bgByte;
    out.data[4 * i + 3] = 255;
  }
  if (options.title) drawText(out, options.title, margin, margin, { scale: fs, color: ink });
  const x0 = margin + labelCol;
  let y = margin + titleH;
  cols.forEach((c, j) => {
    const cx = x0 + gap + j * cellW + (cellW - gap) / 2 - measureText(c, colFs) / 2;
    drawText(out, c, Math.max(x0, cx), y, { scale: colFs, color: faint });
  });
  y += colH;
  grids.forEach((g, r) => {
    const h = rowHeights[r] - capH(rows[r]);
    const gy = y + Math.floor((h - g.height) / 2);
    blit(out, g, x0, gy);
    // Centre the glyphs' x-height band (rows 0..6 of 9) on the row's middle.
    drawText(out, rows[r].label, margin, y + Math.round(h / 2 - (7 * fs) / 2), { scale: fs, color: ink });
    (rows[r].captions ?? []).forEach((c, j) => {
      const w = rowCellW[r];
      const cx = x0 + gap + j * w + (w - gap) / 2 - measureText(c, capFs) / 2;
      drawText(out, c, Math.max(x0, cx), gy + g.height + 1, { scale: capFs, color: faint });
    });
    y += rowHeights[r];
  });
  return out;
}

/**
 * Labelled rows of images as PNG bytes: e.g. `[{ label: 'original', images: x }, { label:
 * 'reconstruction', images: recon }]`. See `StripOptions` for sizes and colours.
 */
export function imageStrip(rows: StripRow[], options: StripOptions = {}): Uint8Array {
  return encodePng(imageStripRaster(rows, options));
}

/** Writes `imageStrip(rows, options)` to `file` (atomically) and returns the path. */
export function saveImageStrip(rows: StripRow[], file: string, options: StripOptions = {}): string {
  writeFileAtomic(file, imageStrip(rows, options));
  return file;
}

/** Copies `src` into `dst` with its top-left corner at (x, y). */
function blit(dst: RgbaImage, src: RgbaImage, x: number, y: number): void {
  for (let r = 0; r < src.height; r++) {
    const yy = y + r;
    if (yy < 0 || yy >= dst.height) continue;
    const from = 4 * r * src.width;
    const w = Math.min(src.width, dst.width - x);
    dst.data.set(src.data.subarray(from, from + 4 * w), 4 * (yy * dst.width + x));
  }
}
