// Fake quantization for quantization-aware fine-tuning with the straight-through estimator (STE).
// The trainer keeps fp32 master weights; this swaps quantized values in for the forward/backward
// and puts the masters back before the optimizer step. It does not run training itself.
//
// Per step:  fq.apply(params)      // target tensors now hold dequantize(quantize(master))
//            forward + backward    // grads are w.r.t. the fake-quantized weights
//            fq.restore(params)    // fp32 masters back, bit for bit
//            fq.maskGrad(grads)    // STE: d loss/d master = d loss/d fake-quantized weight,
//                                  // zeroed where the master fell outside the grid (clipped) when
//                                  // clipGrad is on. Formats fitted to min/max (all current ones)
//                                  // clip nothing, so there the STE is exactly the identity.
//            optimizer step on params (the masters)
import { InputError } from '../../engine/errors.ts';
import type { ParamSpec } from '../../model/params.ts';
import { type QuantFormat, scaleIndex } from './formats.ts';
import { matrixShape, paramSlice } from './rtn.ts';

/** dequantize(quantize(w)): a fresh array with the values the quantized model computes with. */
export function fakeQuantize(w: Float32Array, rows: number, cols: number, format: QuantFormat): Float32Array {
  return format.dequantize(format.quantize(w, rows, cols));
}

export interface FakeQuantOptions {
  /** zero the gradient of masters that the grid clipped (|w - fq(w)| > scale/2); default true */
  clipGrad?: boolean;
}

/** Indices (within the tensor) where the quantizer clipped, i.e. |w - fq| exceeds half a step. */
function clippedIndices(
  w: Float32Array,
  fq: Float32Array,
  scales: Float32Array,
  f: QuantFormat,
  cols: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < w.length; i++) {
    const s = scales[scaleIndex(f, cols, Math.floor(i / cols), i % cols)]!;
    if (Math.abs(w[i]! - fq[i]!) > 0.5 * s * (1 + 1e-6)) out.push(i);
  }
  return out;
}

export class FakeQuant {
  private readonly targets: readonly ParamSpec[];
  private masters: Float32Array[] | null = null;
  private clipped: number[] = [];
  private readonly clipGrad: boolean;

  constructor(
    targets: readonly ParamSpec[],
    readonly format: QuantFormat,
    opts: FakeQuantOptions = {},
  ) {
    for (const s of targets) matrixShape(s);
    this.targets = targets;
    this.clipGrad = opts.clipGrad ?? true;
  }

  /** Save the fp32 masters of the targets and write their fake-quantized values in place. */
  apply(params: Float32Array): void {
    if (this.masters) {
      throw new InputError(
        'FakeQuant.apply called twice without restore',
        'call restore(params) after each backward pass',
      );
    }
    const f = this.format;
    this.masters = [];
    this.clipped = [];
    for (const s of this.targets) {
      const [rows, cols] = matrixShape(s);
      const v = paramSlice(params, s);
      const q = f.quantize(v, rows, cols);
      const fq = f.dequantize(q);
      if (this.clipGrad)
        for (const i of clippedIndices(v, fq, q.scales, f, cols)) this.clipped.push(s.offset + i);
      this.masters.push(v.slice());
      v.set(fq);
    }
  }

  /** Put the fp32 masters back (bit-identical to before apply). */
  restore(params: Float32Array): void {
    if (!this.masters)
      throw new InputError(
        'FakeQuant.restore called without apply',
        'call apply(params) before the forward pass',
      );
    for (let k = 0; k < this.targets.length; k++) paramSlice(params, this.targets[k]!).set(this.masters[k]!);
    this.masters = null;
  }

  /** Straight-through estimator on the flat gradient buffer (same layout as params). */
  maskGrad(grads: Float32Array): void {
    for (const i of this.clipped) grads[i] = 0;
  }

  /** Flat indices whose gradient maskGrad zeroes (from the last apply). */
  clippedCount(): number {
    return this.clipped.length;
  }
}
