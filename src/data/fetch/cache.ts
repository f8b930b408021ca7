// The tlc cache folder (TLC_CACHE, default ~/.cache/tlc) and sha256 of files and bytes.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The cache root: $TLC_CACHE, else ~/.cache/tlc. Created on demand. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['TLC_CACHE'] || path.join(os.homedir(), '.cache', 'tlc');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function sha256Bytes(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
