// Argument checks shared by the ts reference kernels: buffer lengths, integer sizes, index ranges.
// Cheap O(1) checks (plus one pass over index arrays); they never inspect float values.

import { InputError } from '../errors.ts';

/** Throws unless `n` is a non-negative integer. */
export function checkSize(kernel: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new InputError(
      `${kernel}: expected ${name} to be a non-negative integer, found ${n}`,
      'pass integer shapes to backend kernels',
    );
  }
}

/** Throws unless `buf` holds at least `n` elements. */
export function checkLen(kernel: string, name: string, buf: { length: number }, n: number): void {
  if (buf.length < n) {
    throw new InputError(
      `${kernel}: expected ${name} to hold at least ${n} elements, found ${buf.length}`,
      'check the shape arguments against the buffer (or view) you passed',
    );
  }
}

/** Elements a strided view of `rows` rows, each `width` wide and `stride` apart, must hold. */
export function stridedLen(rows: number, width: number, stride: number): number {
  return rows === 0 ? 0 : (rows - 1) * stride + width;
}

/** Throws unless every idx[i] (i < n) lies in [0, rows). */
export function checkIndices(kernel: string, name: string, idx: Int32Array, n: number, rows: number): void {
  for (let i = 0; i < n; i++) {
    const r = idx[i]!;
    if (r < 0 || r >= rows) {
      throw new InputError(
        `${kernel}: expected ${name}[${i}] in [0, ${rows}), found ${r}`,
        'the index refers to a row outside the table; check the vocabulary size and the data',
      );
    }
  }
}

/** Number of whole rows of width C in `buf` (unbounded when C is 0: there is nothing to read). */
export function rowsOf(buf: { length: number }, C: number): number {
  return C > 0 ? Math.floor(buf.length / C) : Number.MAX_SAFE_INTEGER;
}
