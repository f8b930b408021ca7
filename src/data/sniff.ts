// Is this file text? Decided by content, for files whose name does not say: valid UTF-8 (the
// offset of the first bad byte otherwise), no NUL byte, few control characters. No file formats here.
import * as fs from 'node:fs';

/** Bytes looked at to decide whether a file without a known extension is text. */
const SNIFF_BYTES = 64 * 1024;
/** Text has almost no control characters besides tab, newlines and form feed (licence texts use it). */
const MAX_CONTROL_SHARE = 0.01;

/** Offset of the first byte that does not start a valid UTF-8 sequence (or -1 if all valid). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Why the bytes (a file's start, `truncated` when the file goes on) are not plain text, or null
 * when they are: text is valid UTF-8 with no NUL byte and few control characters.
 */
export function notTextReason(b: Uint8Array, truncated = false): string | null {
  if (b.includes(0)) return 'it holds NUL bytes (binary data)';
  const bad = firstInvalidUtf8(b);
  // a multi-byte character cut by the end of the sample is not an error
  if (bad >= 0 && !(truncated && bad >= b.length - 3)) return `invalid UTF-8 at byte offset ${bad}`;
  let controls = 0;
  for (const c of b) if ((c < 0x20 && c !== 9 && c !== 10 && c !== 12 && c !== 13) || c === 0x7f) controls++;
  if (b.length > 0 && controls / b.length > MAX_CONTROL_SHARE)
    return `${((100 * controls) / b.length).toFixed(1)}% of its bytes are control characters`;
  return null;
}

/** notTextReason of a file's first SNIFF_BYTES; null also when it cannot be read (readPart says why). */
export function sniffFile(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const n = fs.readSync(fd, buf, 0, SNIFF_BYTES, 0);
    return notTextReason(buf.subarray(0, n), n === SNIFF_BYTES);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
