// The int8 form of a stored weight matrix, for the int8 inference kernel: a container's q8_ch_sym
// tensor (code = q + 128, one scale per output row) becomes Int8Weights without any float copy.
// Other formats are refused with the format the runtime needs.

import type { QuantTensor } from '../compress/quant/formats.ts';
import type { Int8Weights } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { int8Weights } from '../engine/int8.ts';

/** The format whose tensors run on the int8 kernel as they are stored. */
export const INT8_FORMAT = 'q8_ch_sym';

/**
 * Int8Weights of a q8_ch_sym tensor (8-bit codes are one byte each, so the codes map one to one);
 * elements a pruning mask drops become 0. `inPlace`: the codes are converted in their own bytes
 * (the tensor's buffer must be the caller's alone, as a streamed read's is), so no copy is made.
 */
export function int8FromQuant(
  name: string,
  q: QuantTensor,
  mask: Uint8Array | null = null,
  inPlace = false,
): Int8Weights {
  if (q.format !== INT8_FORMAT) {
    throw new InputError(
      `${name}: the int8 runtime runs ${INT8_FORMAT} weights, this tensor is ${q.format}`,
      `compress with --quant int8 (${INT8_FORMAT}), or evaluate it with tlc eval (dequantized)`,
    );
  }
  const n = q.rows * q.cols;
  // 8-bit codes are whole bytes: code - 128 in [-127, 127]
  const codes = inPlace ? new Int8Array(q.codes.buffer, q.codes.byteOffset, n) : new Int8Array(n);
  const src = q.codes;
  for (let i = 0; i < n; i++) codes[i] = mask && !mask[i] ? 0 : src[i]! - 128;
  return int8Weights(codes, q.scales, q.rows, q.cols);
}
