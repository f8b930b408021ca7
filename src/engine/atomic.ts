// Durable, all-or-nothing file writes, the one way every stage writes a file another process may
// read: write a tmp file in the same folder, fsync it, rename it over the target, fsync the folder
// (so the rename itself survives a crash). A reader sees the old file or the new one, never half.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Marks an in-progress write (`<file>.tmp-<pid>-<random>`); leftovers come from a killed process. */
export const TMP_MARK = '.tmp-';

/** fsync a folder so a rename inside it is durable (a no-op where folders cannot be opened, e.g. Windows). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on folders; the rename is still atomic there
  } finally {
    fs.closeSync(fd);
  }
}

/** Write all of `bytes` to `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Write `file` atomically with a writer that streams into the open tmp file (for files too large
 * to build in memory, or hashed while written). The parent folder is created if missing; on any
 * error the tmp file is removed and the target is left as it was.
 */
export function writeAtomicWith(file: string, write: (fd: number) => void): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      write(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Write a whole file (bytes or UTF-8 text) atomically. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  writeAtomicWith(file, (fd) => writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data));
}
