// K-bit weights for the weight-only inference kernel (see Backend.linearKbitForward): a checked
// constructor over the packed codes, scales and zero points exactly as a quantization format stores
// them, and the bytes they hold. It does not quantize (compress/quant/formats.ts does).
import type { KbitWeights } from './backend.ts';
import { InputError } from './errors.ts';

/**
 * KbitWeights for a (rows, cols) matrix: `groupSize` columns per scale (cols for per-channel), and
 * `perTensor` for one scale in all. Checks every length against the shape.
 */
export function kbitWeights(
  w: { bits: number; codes: Uint8Array; scales: Float32Array; zeros: Uint8Array | null },
  rows: number,
  cols: number,
  groupSize: number,
  perTensor = false,
): KbitWeights {
  const bad = (what: string) =>
    new InputError(
      `k-bit weights (${rows}x${cols}, ${w.bits} bits, groups of ${groupSize}): ${what}`,
      'pass the codes, scales and zero points of one quantized (out, in) weight as the container stores them',
    );
  if (!Number.isInteger(w.bits) || w.bits < 2 || w.bits > 8) throw bad(`bits must be 2..8, found ${w.bits}`);
  if (!Number.isInteger(groupSize) || groupSize < 1) throw bad('the group size must be a positive integer');
  const groupsPerRow = perTensor ? 0 : Math.ceil(cols / groupSize);
  const nScales = perTensor ? 1 : rows * groupsPerRow;
  const nBytes = Math.ceil((rows * cols * w.bits) / 8);
  if (w.codes.length !== nBytes) throw bad(`expected ${nBytes} code bytes, found ${w.codes.length}`);
  if (w.scales.length !== nScales) throw bad(`expected ${nScales} scales, found ${w.scales.length}`);
  if (w.zeros && w.zeros.length !== nScales)
    throw bad(`expected ${nScales} zero points, found ${w.zeros.length}`);
  return { bits: w.bits, groupSize, groupsPerRow, codes: w.codes, scales: w.scales, zeros: w.zeros };
}

/** Bytes a KbitWeights holds (codes, scales, zero points). */
export function kbitWeightBytes(w: KbitWeights): number {
  return w.codes.byteLength + w.scales.byteLength + (w.zeros?.byteLength ?? 0);
}
