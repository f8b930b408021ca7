// Linear layers of an ONNX export: y = x W^T + b with tlc's W stored (Out, In). fp32 is MatMul on
// the transposed weight; int8 is onnxruntime's dynamic quantization — activations quantized per
// tensor to uint8 at run time, weights int8, symmetric, one scale per output channel — in one of
// three spellings (INT8_SCHEMES) that differ only in which ops carry it.
import type { LinearNames } from '../../model/names.ts';
import { DT, rawBytes } from './proto.ts';
import type { Ctx } from './transformer.ts';

/**
 * - qdq: standard ops only (DynamicQuantizeLinear, MatMulInteger, Cast, Mul, Add); onnxruntime fuses
 *   them into com.microsoft DynamicQuantizeMatMul at optimization level "extended" or higher
 * - dqmm: com.microsoft DynamicQuantizeMatMul written directly (quantize, int8 GEMM, scale, bias)
 * - mitf: DynamicQuantizeLinear + com.microsoft MatMulIntegerToFloat (scale and bias fused)
 */
export const INT8_SCHEMES = ['qdq', 'dqmm', 'mitf'] as const;
export type Int8Scheme = (typeof INT8_SCHEMES)[number];

export interface QuantWeight {
  /** (In, Out) row-major: W^T, as MatMul's B */
  q: Int8Array;
  /** (Out): per output channel */
  scale: Float32Array;
}

/** Symmetric per-output-channel int8 of W (Out, In): q = clamp(round(w / s), -127, 127), s = max|w| / 127. */
export function quantizeWeight(w: Float32Array, Out: number, In: number): QuantWeight {
  const q = new Int8Array(In * Out);
  const scale = new Float32Array(Out);
  for (let o = 0; o < Out; o++) {
    let m = 0;
    for (let i = 0; i < In; i++) m = Math.max(m, Math.abs(w[o * In + i]!));
    const s = m > 0 ? Math.fround(m / 127) : 1;
    scale[o] = s;
    for (let i = 0; i < In; i++) {
      const v = Math.round(w[o * In + i]! / s);
      q[i * Out + o] = Math.max(-127, Math.min(127, v));
    }
  }
  return { q, scale };
}

/** W (Out, In) -> W^T (In, Out) */
export function transpose(w: Float32Array, Out: number, In: number): Float32Array {
  const t = new Float32Array(In * Out);
  for (let o = 0; o < Out; o++) for (let i = 0; i < In; i++) t[i * Out + o] = w[o * In + i]!;
  return t;
}

/**
 * y (..., Out) = x (..., In) W^T + b for the tlc linear layer `n`; the initializers carry its
 * checkpoint names (the int8 weight and scale: the weight's name + `_quantized` / `_scale`).
 */
export function linear(c: Ctx, x: string, n: LinearNames, In: number, Out: number): string {
  const { g, w } = c;
  const W = w(n.weight);
  const bias = g.f32(n.bias, [Out], w(n.bias));
  if (!c.int8) {
    const wt = g.f32(n.weight, [In, Out], transpose(W, Out, In));
    return g.op('Add', [g.op('MatMul', [x, wt]), bias]);
  }
  const qw = quantizeWeight(W, Out, In);
  const B = g.init(`${n.weight}_quantized`, DT.INT8, [In, Out], rawBytes(qw.q));
  const bScale = g.f32(`${n.weight}_scale`, [Out], qw.scale);
  if (c.int8 === 'dqmm')
    return g.op('DynamicQuantizeMatMul', [x, B, bScale, '', bias], {}, { domain: 'com.microsoft' });
  const [xq, xs, xz] = g.ops('DynamicQuantizeLinear', [x], {}, { outputs: 3 }) as [string, string, string];
  if (c.int8 === 'mitf')
    return g.op('MatMulIntegerToFloat', [xq, B, xs, bScale, xz, '', bias], {}, { domain: 'com.microsoft' });
  const yi = g.op('MatMulInteger', [xq, B, xz]);
  const y = g.op('Mul', [g.op('Cast', [yi], { to: { i: DT.FLOAT } }), g.op('Mul', [xs, bScale])]);
  return g.op('Add', [y, bias]);
}
