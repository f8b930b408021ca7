// Int8 weights for inference kernels (see Backend.linearInt8Forward): a checked constructor from
// int8 codes and per-row scales that precomputes each row's sum. It does not quantize (the formats
// in compress/ do) and holds no float copy of the weight.
import type { Int8Weights } from './backend.ts';
import { InputError } from './errors.ts';

/** Int8Weights for a (rows, cols) matrix q (row-major, values in [-127, 127]) with one scale per row. */
export function int8Weights(q: Int8Array, scales: Float32Array, rows: number, cols: number): Int8Weights {
  if (q.length !== rows * cols || scales.length !== rows) {
    throw new InputError(
      `int8 weights: expected ${rows}x${cols} codes and ${rows} scales, found ${q.length} codes and ${scales.length} scales`,
      'pass the codes and per-row scales of one (out, in) weight matrix',
    );
  }
  const rowSums = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const v = q[r * cols + c]!;
      if (v === -128) {
        throw new InputError(
          `int8 weights: code -128 at row ${r}, column ${c}; the symmetric range is [-127, 127]`,
          'quantize with a symmetric int8 format (q8_ch_sym)',
        );
      }
      s += v;
    }
    rowSums[r] = s;
  }
  return { q, scales, rowSums };
}

/** Bytes an Int8Weights holds (codes, scales, row sums): what an int8 runtime keeps per layer. */
export function int8WeightBytes(w: Int8Weights): number {
  return w.q.byteLength + w.scales.byteLength + w.rowSums.byteLength;
}
