import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { writeFileAtomic } from '../io';

/** An 8-bit RGBA raster, row-major, 4 bytes a pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Options of `imageGrid` and `saveImage`: layout, padding and magnification. */
export interface GridOptions {
  /** Images per row (torchvision's `nrow`, default 8). */
  nrow?: number;
  /** Pixels of padding around each image (default 2). */
  padding?: number;
  /** Grey level of the padding in [0, 1] (default 0, black). */
  padValue?: number;
  /** Integer magnification of every pixel (default 1). */
  scale?: number;
}

/**
 * Lays out a batch of images as one grid, like torchvision's `make_grid`.
 * @param images `[n, h, w, c]` (c = 1 or 3), `[n, h, w]`, or flat `[n, h*w]` with square
 *   single-channel images (MNIST's `[n, 784]`); values in [0, 1], clamped outside it.
 */
export function imageGrid(images: tf.Tensor, options: GridOptions = {}): RgbaImage {
  const [n, h, w, c] = imageShape(images);
  const nrow = Math.min(checkInteger('nrow', options.nrow ?? 8, 1), n);
  const pad = checkInteger('padding', options.padding ?? 2, 0);
  const padGrey = Math.round(255 * checkNumber('padValue', options.padValue ?? 0, 0, 1));
  const scale = checkInteger('scale', options.scale ?? 1, 1, 64);
  const rows = Math.ceil(n / nrow);
  const cellW = w * scale + pad;
  const cellH = h * scale + pad;
  const width = nrow * cellW + pad;
  const height = rows * cellH + pad;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[4 * i] = data[4 * i + 1] = data[4 * i + 2] = padGrey;
    data[4 * i + 3] = 255;
  }
  const values = images.dataSync();
  const toByte = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  for (let k = 0; k < n; k++) {
    const x0 = (k % nrow) * cellW + pad;
    const y0 = Math.floor(k / nrow) * cellH + pad;
    for (let yy = 0; yy < h * scale; yy++) {
      for (let xx = 0; xx < w * scale; xx++) {
        const src = ((k * h + Math.floor(yy / scale)) * w + Math.floor(xx / scale)) * c;
        const dst = 4 * ((y0 + yy) * width + x0 + xx);
        const r = toByte(values[src]);
        data[dst] = r;
        data[dst + 1] = c === 3 ? toByte(values[src + 1]) : r;
        data[dst + 2] = c === 3 ? toByte(values[src + 2]) : r;
      }
    }
  }
  return { width, height, data };
}

/** Encodes an RGBA raster as PNG bytes. */
export function encodePng(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png);
}

/** Decodes PNG bytes into an RGBA raster (for tests and for loading pictures back). */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}

/**
 * Saves a batch of images as one PNG grid, like torchvision's `save_image`; the file is
 * written atomically. Returns the path.
 * @param images see `imageGrid` for accepted shapes; values in [0, 1].
 */
export function saveImage(images: tf.Tensor, file: string, options: GridOptions = {}): string {
  writeFileAtomic(file, encodePng(imageGrid(images, options)));
  return file;
}

/** [n, h, w, c] of an image batch in any accepted layout. */
function imageShape(t: tf.Tensor): [number, number, number, number] {
  const s = t.shape;
  if (s.length === 4 && (s[3] === 1 || s[3] === 3)) return [s[0], s[1], s[2], s[3]];
  if (s.length === 3) return [s[0], s[1], s[2], 1];
  if (s.length === 2) {
    const side = Math.round(Math.sqrt(s[1]));
    if (side * side === s[1]) return [s[0], side, side, 1];
  }
  throw new ArgumentError('images', t, '[n, h, w, 1|3], [n, h, w] or [n, side*side]');
}
