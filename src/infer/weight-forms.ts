// The forms a compressed runtime keeps a linear layer's weight in, as stored: int8 (q8_ch_sym,
// int8 x int8 kernel), k-bit (every other quantized format, weight-only kernel), CSR (a pruned fp32
// weight sparse enough for the sparse kernel to pay). Each form gives the layer's forward (a
// LinearImpl for Ctx.linear) and the bytes it holds. Which form a tensor takes is decided here;
// loading the container and running the model are runtime.ts's.
import type { StoredTensor } from '../compress/container.ts';
import type { Backend, CsrWeights, Int8Weights, KbitWeights } from '../engine/backend.ts';
import { int8WeightBytes } from '../engine/int8.ts';
import { kbitWeightBytes } from '../engine/kbit.ts';
import { CSR_MAX_COLS, csrFromDense, csrWeightBytes } from '../engine/sparse.ts';
import type { LinearImpl } from '../model/layers.ts';
import { INT8_FORMAT, int8FromQuant } from './int8-weights.ts';
import { kbitFromQuant } from './kbit-weights.ts';

export type WeightForm =
  | { kind: 'int8'; w: Int8Weights }
  | { kind: 'kbit'; format: string; w: KbitWeights }
  | { kind: 'csr'; sparsity: number; w: CsrWeights };

/**
 * Default least sparsity at which a pruned fp32 weight runs on the CSR kernel (below it, dense fp32):
 * where CSR overtook the fp32 linear on the 1024x4096 layer at 1 and 128 rows in
 * bench/linear-sparse.ts here (docs/inference.md), and well above 1/3, below which CSR (6 bytes per
 * kept weight) would hold more than fp32 (4 per weight).
 */
export const DEFAULT_SPARSE_MIN = 0.85;

export interface FormOptions {
  outlierThreshold: number;
  sparseMin: number;
  /** the stored tensors' buffers are the loader's own (StoredSource.fresh): int8 codes convert in place */
  inPlace?: boolean;
}

/** The compressed form of a linear weight (rows, cols) as stored, or null: keep it in fp32. */
export function formOf(
  name: string,
  rows: number,
  cols: number,
  t: StoredTensor,
  o: Pick<FormOptions, 'sparseMin' | 'inPlace'>,
): WeightForm | null {
  if (t.kind === 'quant') {
    if (t.q.format === INT8_FORMAT)
      return { kind: 'int8', w: int8FromQuant(name, t.q, t.mask, o.inPlace === true) };
    return { kind: 'kbit', format: t.q.format, w: kbitFromQuant(t.q, t.mask) };
  }
  if (t.kind === 'sparse') {
    const n = rows * cols;
    const sparsity = 1 - t.values.length / n;
    if (sparsity < o.sparseMin || cols > CSR_MAX_COLS) return null;
    const dense = new Float32Array(n);
    let j = 0;
    for (let i = 0; i < n; i++) if (t.mask[i]) dense[i] = t.values[j++]!;
    return { kind: 'csr', sparsity, w: csrFromDense(dense, t.mask, rows, cols) };
  }
  return null;
}

/** Bytes a form holds. */
export function formBytes(f: WeightForm): number {
  if (f.kind === 'int8') return int8WeightBytes(f.w);
  if (f.kind === 'kbit') return kbitWeightBytes(f.w);
  return csrWeightBytes(f.w);
}

/** The layer's forward on `be` with its weight in form `f`. */
export function linearImpl(
  be: Backend<Float32Array>,
  f: WeightForm,
  o: Pick<FormOptions, 'outlierThreshold'>,
): LinearImpl<Float32Array> {
  if (f.kind === 'int8')
    return (out, inp, bias, N, In, Out) =>
      be.linearInt8Forward(out, inp, f.w, bias, N, In, Out, o.outlierThreshold);
  if (f.kind === 'kbit')
    return (out, inp, bias, N, In, Out) => be.linearKbitForward(out, inp, f.w, bias, N, In, Out);
  return (out, inp, bias, N, In, Out) => be.linearSparseForward(out, inp, f.w, bias, N, In, Out);
}
