// AdamW over a flat parameter buffer, with per-range weight decay, and global grad-norm clipping.
// The moments live in two flat buffers (same layout as the parameters). No schedules here.
import type { AdamWParams, Backend, FloatArray } from './backend.ts';

/** A contiguous slice of the flat buffer and whether weight decay applies to it. */
export interface DecayRange {
  offset: number;
  size: number;
  decay: boolean;
}

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * The one AdamW default (the training config's optim section and the study's protocol quote it):
 * RoBERTa's betas and eps (beta2 0.98 is steadier than 0.999 with large batches and short warm-up),
 * decoupled weight decay 0.01 as BERT and RoBERTa.
 */
export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = Object.freeze({
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-6,
  weightDecay: 0.01,
});

/** Merge adjacent ranges with the same decay flag so the kernel runs on few, long slices. */
export function mergeRanges(ranges: DecayRange[]): DecayRange[] {
  const out: DecayRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.offset - b.offset)) {
    const last = out[out.length - 1];
    if (last && last.decay === r.decay) last.size = r.offset + r.size - last.offset;
    else out.push({ ...r });
  }
  return out;
}

export class AdamW<A extends FloatArray> {
  readonly m: A;
  readonly v: A;
  /** number of steps taken (the next step is t + 1) */
  t = 0;
  private readonly ranges: DecayRange[];

  constructor(
    private readonly be: Backend<A>,
    readonly n: number,
    ranges: DecayRange[],
    readonly cfg: AdamWConfig = ADAMW_DEFAULTS,
  ) {
    this.m = be.alloc(n);
    this.v = be.alloc(n);
    this.ranges = mergeRanges(ranges);
  }

  /** One update; every gradient is first multiplied by gradScale (see gradClipScale). */
  step(params: A, grads: A, lr: number, gradScale = 1): void {
    this.t++;
    for (const r of this.ranges) {
      const h: AdamWParams = {
        lr,
        beta1: this.cfg.beta1,
        beta2: this.cfg.beta2,
        eps: this.cfg.eps,
        weightDecay: r.decay ? this.cfg.weightDecay : 0,
        step: this.t,
        gradScale,
      };
      const e = r.offset + r.size;
      this.be.adamw(
        params.subarray(r.offset, e) as A,
        grads.subarray(r.offset, e) as A,
        this.m.subarray(r.offset, e) as A,
        this.v.subarray(r.offset, e) as A,
        r.size,
        h,
      );
    }
  }
}

/**
 * Global L2 norm of the gradient and the factor that clips it to maxNorm (1 when maxNorm <= 0, the
 * norm is within it, or it is not finite). The gradients are not touched: pass the scale to
 * AdamW.step, which applies it as it reads them (one pass over the gradients fewer than scaling here).
 */
export function gradClipScale<A extends FloatArray>(
  be: Backend<A>,
  grads: A,
  n: number,
  maxNorm: number,
): { norm: number; scale: number } {
  const norm = Math.sqrt(be.sumSquares(grads, n));
  const clip = maxNorm > 0 && norm > maxNorm && Number.isFinite(norm);
  return { norm, scale: clip ? maxNorm / (norm + 1e-6) : 1 };
}
