// Reference twins of the fused linear kernels: exactly matmul + addBias, and the three backward
// products, composed from dense.ts (so they inherit its checks and its double accumulation).
// The bf16 twins round the GEMM operands to bf16 first (as the native kernels do) and multiply the
// rounded values in the same way: the reference for the native bf16 path.

import type { FloatArray } from '../backend.ts';
import { checkLen, checkSize } from './check.ts';
import { addBias, biasBackward, matmul } from './dense.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to the nearest bf16 (ties to even), as a float; NaN stays NaN, overflow goes to inf. */
export function roundBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return Number.NaN;
  u32[0] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return f32[0];
}

/** A copy of the first n values of x, each rounded to bf16. */
export function bf16Copy<A extends FloatArray>(x: A, n: number): A {
  const y = x.slice(0, n) as A;
  for (let i = 0; i < n; i++) y[i] = roundBf16(y[i]!);
  return y;
}

function checkShape(kernel: string, N: number, In: number, Out: number): void {
  checkSize(kernel, 'N', N);
  checkSize(kernel, 'In', In);
  checkSize(kernel, 'Out', Out);
}

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
  checkShape('linearForward', N, In, Out);
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
  checkShape('linearBackward', N, In, Out);
  if (dbias) checkLen('linearBackward', 'dbias', dbias, Out);
  if (dinp) matmul(dinp, dout, weight, N, In, Out, false, false, 1, accumulate);
  matmul(dweight, dout, inp, Out, In, N, true, false, 1, true);
  if (dbias) biasBackward(dbias, dout, N, Out);
}

/** linearForward with bf16 operands (inp and W rounded), fp32 output. */
export const linearForwardBf16: typeof linearForward = (out, inp, weight, bias, N, In, Out) => {
  checkShape('linearForward', N, In, Out);
  linearForward(out, bf16Copy(inp, N * In), bf16Copy(weight, Out * In), bias, N, In, Out);
};

/** linearBackward with bf16 operands (dout, inp and W rounded); the bias gradient sums fp32 dout. */
export const linearBackwardBf16: typeof linearBackward = (
  dinp,
  dweight,
  dbias,
  dout,
  inp,
  weight,
  N,
  In,
  Out,
  acc,
) => {
  checkShape('linearBackward', N, In, Out);
  if (dbias) checkLen('linearBackward', 'dbias', dbias, Out);
  const [d, x, w] = [bf16Copy(dout, N * Out), bf16Copy(inp, N * In), bf16Copy(weight, Out * In)];
  linearBackward(dinp, dweight, null, d, x, w, N, In, Out, acc);
  if (dbias) biasBackward(dbias, dout, N, Out);
};
