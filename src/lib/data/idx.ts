/**
 * Reader for IDX files, the format of MNIST and Fashion-MNIST
 * (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"): a 4-byte magic number
 * `0x0000TTDD` (TT = item type code, DD = number of dimensions), DD big-endian uint32
 * dimension sizes, then the items in row-major order, multi-byte items big-endian.
 * Files may be gzipped; that is detected from the content, not the file name.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataFormatError } from '../errors';

/** Item types an IDX file can hold. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The contents of an IDX file. */
export interface IdxArray {
  /** Item type, from the type code of the magic number. */
  dtype: IdxDtype;
  /** Dimension sizes, outermost first, e.g. `[60000, 28, 28]` for MNIST training images. */
  shape: number[];
  /**
   * The items in row-major order, `product(shape)` of them, converted to host byte order.
   * For `uint8` / `int8` this is a view on the file's bytes (no copy).
   */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Default cap on the size of decompressed gzip data: 1 GiB, far above MNIST's 47 MB. */
export const MAX_IDX_BYTES = 1 << 30;

/** Largest number of dimensions accepted; real files have 1 to 4. */
const MAX_DIMS = 8;

const ITEM_TYPES: Record<number, { dtype: IdxDtype; bytes: number; name: string }> = {
  0x08: { dtype: 'uint8', bytes: 1, name: 'unsigned byte' },
  0x09: { dtype: 'int8', bytes: 1, name: 'signed byte' },
  0x0b: { dtype: 'int16', bytes: 2, name: 'short' },
  0x0c: { dtype: 'int32', bytes: 4, name: 'int' },
  0x0d: { dtype: 'float32', bytes: 4, name: 'float' },
  0x0e: { dtype: 'float64', bytes: 8, name: 'double' },
};

const hex = (v: number, digits: number) => `0x${v.toString(16).toUpperCase().padStart(digits, '0')}`;

/**
 * Reads an IDX file, raw or gzipped.
 *
 * @param file path of the file
 * @returns dtype, shape and items of the file
 * @throws DataFormatError naming `file` when it does not exist, cannot be read, or is not
 *   a complete, well-formed IDX file
 */
export function readIdx(file: string): IdxArray {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new DataFormatError(file, 'file does not exist');
    throw new DataFormatError(file, `could not be read: ${e.message}`);
  }
  if (stat.isDirectory()) throw new DataFormatError(file, 'is a directory, not an IDX file');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new DataFormatError(file, `could not be read: ${(err as Error).message}`);
  }
  return parseIdx(bytes, file);
}

/**
 * Parses the bytes of an IDX file (raw, or gzip detected by the magic bytes 0x1f 0x8b).
 * Every size in the header is checked against the real length before anything is
 * allocated, so a corrupt header cannot cause a huge allocation.
 *
 * @param bytes the file's contents
 * @param file name used in error messages
 * @param maxBytes cap on the decompressed size of gzip data, in bytes (default 1 GiB), so
 *   a gzip bomb fails cleanly instead of exhausting memory
 * @throws DataFormatError naming `file` and the problem
 */
export function parseIdx(bytes: Uint8Array, file: string, maxBytes = MAX_IDX_BYTES): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = gunzip(bytes, file, maxBytes);
  }
  if (bytes.length < 4) {
    throw new DataFormatError(file, `too short for an IDX file: ${bytes.length} bytes, the header alone needs at least 4`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFormatError(file, `wrong magic number: expected 0x0000TTDD, found ${hex(magic, 8)} (not an IDX file?)`);
  }
  const type = ITEM_TYPES[bytes[2]];
  if (!type) {
    const known = Object.entries(ITEM_TYPES)
      .map(([code, t]) => `${hex(Number(code), 2)} ${t.name}`)
      .join(', ');
    throw new DataFormatError(file, `unknown item type code ${hex(bytes[2], 2)} in magic number ${hex(magic, 8)}; expected one of ${known}`);
  }
  const ndim = bytes[3];
  if (ndim < 1 || ndim > MAX_DIMS) {
    throw new DataFormatError(file, `number of dimensions must be 1 to ${MAX_DIMS}, found ${ndim}`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new DataFormatError(
      file,
      `header truncated: ${ndim} dimensions need a ${headerBytes}-byte header, found only ${bytes.length} bytes`,
    );
  }
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    if (size === 0) throw new DataFormatError(file, `dimension ${d} has size 0; sizes must be positive`);
    shape.push(size);
  }
  // BigInt: eight uint32 sizes can multiply past 2^53, and the message should be exact.
  const count = shape.reduce((p, s) => p * BigInt(s), 1n);
  const expected = count * BigInt(type.bytes);
  const found = BigInt(bytes.length - headerBytes);
  const described = `[${shape.join(', ')}] ${type.dtype}`;
  if (found < expected) {
    throw new DataFormatError(
      file,
      `truncated: expected ${expected} bytes of data after the header (${described}), found ${found}`,
    );
  }
  if (found > expected) {
    throw new DataFormatError(
      file,
      `${found - expected} bytes of trailing data after the ${expected} bytes of data the header declares (${described})`,
    );
  }
  // The length now matches the file, so `n` is a real, in-memory size.
  const n = Number(count);
  const offset = bytes.byteOffset + headerBytes;
  return { dtype: type.dtype, shape, data: decode(type.dtype, bytes.buffer, offset, n, view, headerBytes) };
}

function gunzip(bytes: Uint8Array, file: string, maxBytes: number): Uint8Array {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new DataFormatError(file, `gzip data decompresses to more than ${maxBytes} bytes (the limit); refusing to read it`);
    }
    throw new DataFormatError(file, `gzip data is truncated or corrupt (${e.message})`);
  }
}

function decode(
  dtype: IdxDtype,
  buffer: ArrayBufferLike,
  offset: number,
  n: number,
  view: DataView,
  start: number,
): IdxArray['data'] {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(buffer, offset, n);
    case 'int8':
      return new Int8Array(buffer, offset, n);
    // Multi-byte items are big-endian in the file; DataView converts whatever the host order.
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(start + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(start + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(start + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(start + 8 * i, false);
      return out;
    }
  }
}
