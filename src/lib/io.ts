import * as fs from 'node:fs';
import * as path from 'node:path';
import { AelabError } from './errors';

/**
 * Writes a file atomically: the bytes go to a temporary file beside the target, which is
 * flushed and then renamed over it. A crash or a full disk mid-write leaves the previous
 * file intact; on failure the temporary file is removed and a clear error is thrown.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeFileSynced(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new AelabError(`could not write ${file}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim());
  }
}

/** Writes a file and flushes it to the disk before returning (a building block of atomic saves). */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
