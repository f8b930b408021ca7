// Reference twins of the compressed-weight inference linears: k-bit weights dequantized element by
// element and multiplied in double (Backend.linearKbitForward), and CSR weights multiplied in double
// (Backend.linearSparseForward). The native kernels compute the same sums in float.
import type { CsrWeights, FloatArray, KbitWeights } from '../backend.ts';
import { InputError } from '../errors.ts';
import { checkCsr } from '../sparse.ts';
import { checkLen, checkSize } from './check.ts';

function checkDims(
  k: string,
  out: FloatArray,
  inp: FloatArray,
  bias: FloatArray | null,
  N: number,
  In: number,
  Out: number,
) {
  checkSize(k, 'N', N);
  checkSize(k, 'In', In);
  checkSize(k, 'Out', Out);
  checkLen(k, 'out', out, N * Out);
  checkLen(k, 'inp', inp, N * In);
  if (bias) checkLen(k, 'bias', bias, Out);
}

/** W (Out, In) of k-bit weights, dequantized in double. */
export function dequantKbit(w: KbitWeights, Out: number, In: number): Float64Array {
  const W = new Float64Array(Out * In);
  const mask = (1 << w.bits) - 1;
  const half = 1 << (w.bits - 1);
  for (let o = 0; o < Out; o++) {
    for (let c = 0; c < In; c++) {
      const i = o * In + c;
      const bit = i * w.bits;
      const byte = bit >>> 3;
      const sh = bit & 7;
      let v = w.codes[byte]! >>> sh;
      if (sh + w.bits > 8) v |= w.codes[byte + 1]! << (8 - sh);
      const s = w.groupsPerRow === 0 ? 0 : o * w.groupsPerRow + Math.floor(c / w.groupSize);
      W[i] = ((v & mask) - (w.zeros ? w.zeros[s]! : half)) * w.scales[s]!;
    }
  }
  return W;
}

/** out (N, Out) = inp W^T + bias with W dequantized from k-bit codes; see Backend.linearKbitForward. */
export function linearKbitForward(
  out: FloatArray,
  inp: FloatArray,
  w: KbitWeights,
  bias: FloatArray | null,
  N: number,
  In: number,
  Out: number,
): void {
  const k = 'linearKbitForward';
  checkDims(k, out, inp, bias, N, In, Out);
  const gpr = In === 0 ? 0 : Math.ceil(In / w.groupSize);
  if (w.groupsPerRow !== 0 && w.groupsPerRow !== gpr)
    throw new InputError(
      `${k}: expected groupsPerRow 0 (one scale) or ceil(In / groupSize) = ${gpr}, found ${w.groupsPerRow}`,
      'build the weights with kbitWeights for this layer shape',
    );
  const nScales = w.groupsPerRow === 0 ? 1 : Out * w.groupsPerRow;
  checkLen(k, 'weight codes', w.codes, Math.ceil((Out * In * w.bits) / 8));
  checkLen(k, 'weight scales', w.scales, nScales);
  if (w.zeros) checkLen(k, 'weight zeros', w.zeros, nScales);
  const W = dequantKbit(w, Out, In);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Out; o++) {
      let acc = 0;
      for (let c = 0; c < In; c++) acc += inp[n * In + c]! * W[o * In + c]!;
      out[n * Out + o] = bias ? acc + bias[o]! : acc;
    }
}

/** out (N, Out) = inp W^T + bias with W in CSR form; see Backend.linearSparseForward. */
export function linearSparseForward(
  out: FloatArray,
  inp: FloatArray,
  w: CsrWeights,
  bias: FloatArray | null,
  N: number,
  In: number,
  Out: number,
): void {
  checkDims('linearSparseForward', out, inp, bias, N, In, Out);
  checkCsr(w, Out, In);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Out; o++) {
      let acc = 0;
      for (let j = w.rowPtr[o]!; j < w.rowPtr[o + 1]!; j++) acc += w.values[j]! * inp[n * In + w.colIdx[j]!]!;
      out[n * Out + o] = bias ? acc + bias[o]! : acc;
    }
}
