// The k-bit form of a stored weight matrix, for the weight-only inference kernel: a container's
// quantized tensor (any format: 2..8 bits, per tensor, per channel or groups of 32/64/128, sym or
// asym) becomes KbitWeights over the same packed codes, scales and zero points. A pruning mask is
// folded in by giving each dropped element its group's zero-point code (so it dequantizes to 0
// exactly, and no mask is held).
import { getFormat, packCodes, type QuantTensor, unpackCodes } from '../compress/quant/formats.ts';
import type { KbitWeights } from '../engine/backend.ts';
import { kbitWeights } from '../engine/kbit.ts';

/** KbitWeights of a quantized tensor; elements a pruning mask drops become exact zeros. */
export function kbitFromQuant(q: QuantTensor, mask: Uint8Array | null = null): KbitWeights {
  const f = getFormat(q.format);
  const G = f.granularity === 'group' ? f.groupSize! : q.cols;
  let codes = q.codes;
  if (mask) {
    const all = unpackCodes(q.codes, f.bits, q.rows * q.cols);
    const gpr = Math.ceil(q.cols / G);
    for (let r = 0; r < q.rows; r++)
      for (let c = 0; c < q.cols; c++) {
        const i = r * q.cols + c;
        if (mask[i]) continue;
        const s = f.granularity === 'tensor' ? 0 : r * gpr + Math.floor(c / G);
        all[i] = q.zeros ? q.zeros[s]! : 1 << (f.bits - 1);
      }
    codes = packCodes(all, f.bits);
  }
  return kbitWeights(
    { bits: f.bits, codes, scales: q.scales, zeros: q.zeros },
    q.rows,
    q.cols,
    G,
    f.granularity === 'tensor',
  );
}
