// Reference softmax cross-entropy (ignore index, label smoothing, scaled gradient) and the AdamW
// update. Single-threaded loops following backend.ts; losses are summed in double.

import type { AdamWParams, CrossEntropyOptions, FloatArray } from '../backend.ts';
import { InputError } from '../errors.ts';
import { checkLen } from './check.ts';

/**
 * Per counted row with target t, logp = x - logsumexp(x) (stable: max subtracted) and target
 * distribution y = (1-eps) onehot(t) + eps/V: loss = -sum_j y_j logp_j; dlogits = gradScale (softmax - y).
 */
export function crossEntropy(
  logits: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
  opts: CrossEntropyOptions<FloatArray>,
): { sum: number; count: number } {
  const { ignoreIndex, labelSmoothing: eps, dlogits, gradScale, losses } = opts;
  if (!(eps >= 0 && eps < 1)) {
    throw new InputError(
      `crossEntropy: expected labelSmoothing in [0, 1), found ${eps}`,
      'use e.g. 0 or 0.1',
    );
  }
  checkLen('crossEntropy', 'logits', logits, N * V);
  checkLen('crossEntropy', 'targets', targets, N);
  if (dlogits) checkLen('crossEntropy', 'dlogits', dlogits, N * V);
  if (losses) checkLen('crossEntropy', 'losses', losses, N);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < N; r++) {
    const off = r * V;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      if (losses) losses[r] = 0;
      if (dlogits) for (let j = 0; j < V; j++) dlogits[off + j] = 0;
      continue;
    }
    if (t < 0 || t >= V) {
      throw new InputError(
        `crossEntropy: expected targets[${r}] in [0, ${V}) or the ignore index ${ignoreIndex}, found ${t}`,
        'check the vocabulary size and the ignore index used by the batcher',
      );
    }
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[off + j]! > max) max = logits[off + j]!;
    let sumExp = 0;
    let sumLogits = 0;
    for (let j = 0; j < V; j++) {
      sumExp += Math.exp(logits[off + j]! - max);
      sumLogits += logits[off + j]!;
    }
    const lse = max + Math.log(sumExp);
    // -sum_j y_j logp_j = (1-eps) (lse - x_t) + (eps/V) sum_j (lse - x_j)
    const loss = (1 - eps) * (lse - logits[off + t]!) + eps * (lse - sumLogits / V);
    sum += loss;
    count++;
    if (losses) losses[r] = loss;
    if (dlogits) {
      for (let j = 0; j < V; j++) {
        const y = eps / V + (j === t ? 1 - eps : 0);
        dlogits[off + j] = gradScale * (Math.exp(logits[off + j]! - lse) - y);
      }
    }
  }
  return { sum, count };
}

/**
 * AdamW, PyTorch semantics: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; mhat = m/(1-b1^t);
 * vhat = v/(1-b2^t); p -= lr (mhat / (sqrt(vhat) + eps) + wd p), with p on the right the old value.
 */
export function adamw(
  param: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  h: AdamWParams,
): void {
  if (!(Number.isInteger(h.step) && h.step >= 1)) {
    throw new InputError(
      `adamw: expected a 1-based integer step, found ${h.step}`,
      'count optimizer steps from 1',
    );
  }
  for (const [name, buf] of [
    ['param', param],
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const)
    checkLen('adamw', name, buf, n);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  const gs = h.gradScale ?? 1;
  for (let i = 0; i < n; i++) {
    const g = grad[i]! * gs;
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
    const mi = m[i]!; // read back: in f32 the update uses the stored (rounded) moments
    const vi = v[i]!;
    const p = param[i]!;
    param[i] = p - h.lr * (mi / bc1 / (Math.sqrt(vi / bc2) + h.eps) + h.weightDecay * p);
  }
}
