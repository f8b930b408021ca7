// Reference twins of the fused linear kernels: exactly matmul + addBias, and the three backward
// products, composed from dense.ts (so they inherit its checks and its double accumulation).

import type { FloatArray } from '../backend.ts';
import { checkLen, checkSize } from './check.ts';
import { addBias, biasBackward, matmul } from './dense.ts';

/** out (N, Out) = inp (N, In) W^T + bias, W stored (Out, In). */
export function linearForward(
  out: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  bias: FloatArray | null,
  N: number,
  In: number,
  Out: number,
): void {
  for (const [name, v] of [
    ['N', N],
    ['In', In],
    ['Out', Out],
  ] as const)
    checkSize('linearForward', name, v);
  if (bias) checkLen('linearForward', 'bias', bias, Out);
  matmul(out, inp, weight, N, Out, In, false, true, 1, false);
  if (bias) addBias(out, bias, N, Out);
}

/** dinp = dout W (or += when accumulate; skipped if null); dW += dout^T inp; db += colsum(dout). */
export function linearBackward(
  dinp: FloatArray | null,
  dweight: FloatArray,
  dbias: FloatArray | null,
  dout: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  N: number,
  In: number,
  Out: number,
  accumulate: boolean,
): void {
  for (const [name, v] of [
    ['N', N],
    ['In', In],
    ['Out', Out],
  ] as const)
    checkSize('linearBackward', name, v);
  if (dbias) checkLen('linearBackward', 'dbias', dbias, Out);
  if (dinp) matmul(dinp, dout, weight, N, In, Out, false, false, 1, accumulate);
  matmul(dweight, dout, inp, Out, In, N, true, false, 1, true);
  if (dbias) biasBackward(dbias, dout, N, Out);
}
