// Sees (and may replace) the input of every linear layer of a model: a backend wrapper that
// recognises y = x W^T by W being a slice of the model's parameter buffer, whether the model
// calls the fused linearForward or a plain matmul with transB (the tied LM head). Used for GPTQ
// calibration (Hessians) and 8-bit activation evaluation; it changes no other kernel.
import type { Backend } from '../engine/backend.ts';

/** Called with the weight's offset in the flat buffer and the layer input (rows, cols). */
export type LinearInputHook = (
  weightOffset: number,
  x: Float32Array,
  rows: number,
  cols: number,
) => Float32Array | undefined;

export function interceptLinearInputs(
  be: Backend<Float32Array>,
  params: () => Float32Array | null,
  hook: LinearInputHook,
): Backend<Float32Array> {
  const spy: Backend<Float32Array> = Object.create(be);
  const offsetOf = (w: Float32Array): number => {
    const p = params();
    return p && w.buffer === p.buffer ? (w.byteOffset - p.byteOffset) / 4 : -1;
  };
  spy.matmul = (c, a, b, M, N, K, transA, transB, alpha, accumulate) => {
    const o = transB && !transA ? offsetOf(b) : -1;
    const x = o >= 0 ? (hook(o, a.subarray(0, M * K), M, K) ?? a) : a;
    be.matmul(c, x, b, M, N, K, transA, transB, alpha, accumulate);
  };
  spy.linearForward = (out, inp, weight, bias, N, In, Out) => {
    const o = offsetOf(weight);
    const x = o >= 0 ? (hook(o, inp.subarray(0, N * In), N, In) ?? inp) : inp;
    be.linearForward(out, x, weight, bias, N, In, Out);
  };
  return spy;
}
