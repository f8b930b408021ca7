// W8A8-style evaluation: fake-quantize the input of every linear layer (8-bit, dynamic, per token)
// before its matmul, so a model can be evaluated as the int8 inference path would compute.
import type { Backend } from '../engine/backend.ts';
import { interceptLinearInputs } from './intercept.ts';
import { fakeQuantActPerToken } from './quant/act.ts';

export function act8Backend(
  be: Backend<Float32Array>,
  params: () => Float32Array | null,
): Backend<Float32Array> {
  let scratch = new Float32Array(0);
  return interceptLinearInputs(be, params, (_o, x, rows, cols) => {
    if (scratch.length < rows * cols) scratch = new Float32Array(rows * cols);
    return fakeQuantActPerToken(x, rows, cols, scratch.subarray(0, rows * cols));
  });
}
