// W8A8-style evaluation: a backend wrapper that fake-quantizes the input of every linear layer
// (8-bit, dynamic, per token) before its matmul, so a model can be evaluated as the int8 path
// would compute. A linear forward is recognised as a matmul by a slice of the model's parameters
// with transB (y = x W^T); other matmuls (attention, backward) pass through unchanged.
import type { Backend } from '../engine/backend.ts';
import { fakeQuantActPerToken } from './quant/act.ts';

export function act8Backend(be: Backend<Float32Array>, params: () => Float32Array | null): Backend<Float32Array> {
  const spy: Backend<Float32Array> = Object.create(be);
  let scratch = new Float32Array(0);
  spy.matmul = (c, a, b, M, N, K, transA, transB, alpha, accumulate) => {
    const p = params();
    if (p && transB && !transA && b.buffer === p.buffer) {
      if (scratch.length < M * K) scratch = new Float32Array(M * K);
      const q = scratch.subarray(0, M * K);
      fakeQuantActPerToken(a.subarray(0, M * K) as Float32Array, M, K, q);
      be.matmul(c, q, b, M, N, K, transA, transB, alpha, accumulate);
      return;
    }
    be.matmul(c, a, b, M, N, K, transA, transB, alpha, accumulate);
  };
  return spy;
}
