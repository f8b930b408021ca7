// Reference kernels for layernorm, GELU (tanh approximation), tanh and counter-based dropout.
// Plain single-threaded loops following backend.ts; per-row statistics are computed in double.

import type { FloatArray } from '../backend.ts';
import { InputError } from '../errors.ts';
import { dropoutThreshold, hash32 } from '../rng.ts';
import { checkLen } from './check.ts';

/** layernorm epsilon, as in PyTorch's default */
export const LAYERNORM_EPS = 1e-5;
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** out (N,C) = (inp - mean) * rstd * weight + bias, biased variance; saves mean (N), rstd (N). */
export function layernormForward(
  out: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  bias: FloatArray,
  N: number,
  C: number,
): void {
  for (const [name, buf, n] of [
    ['out', out, N * C],
    ['inp', inp, N * C],
    ['mean', mean, N],
    ['rstd', rstd, N],
    ['weight', weight, C],
    ['bias', bias, C],
  ] as const)
    checkLen('layernormForward', name, buf, n);
  for (let r = 0; r < N; r++) {
    const off = r * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += inp[off + j]!;
    const m = s / C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = inp[off + j]! - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + LAYERNORM_EPS);
    for (let j = 0; j < C; j++) out[off + j] = (inp[off + j]! - m) * rs * weight[j]! + bias[j]!;
    mean[r] = m;
    rstd[r] = rs;
  }
}

/**
 * With xhat = (x - mean) * rstd and g = weight * dout (per row):
 * dinp += rstd * (g - mean(g) - xhat * mean(g * xhat)); dweight += dout * xhat; dbias += dout.
 */
export function layernormBackward(
  dinp: FloatArray,
  dweight: FloatArray,
  dbias: FloatArray,
  dout: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  N: number,
  C: number,
): void {
  for (const [name, buf, n] of [
    ['dinp', dinp, N * C],
    ['dout', dout, N * C],
    ['inp', inp, N * C],
    ['dweight', dweight, C],
    ['dbias', dbias, C],
    ['weight', weight, C],
    ['mean', mean, N],
    ['rstd', rstd, N],
  ] as const)
    checkLen('layernormBackward', name, buf, n);
  for (let r = 0; r < N; r++) {
    const off = r * C;
    const m = mean[r]!;
    const rs = rstd[r]!;
    let gMean = 0;
    let gxMean = 0;
    for (let j = 0; j < C; j++) {
      const xhat = (inp[off + j]! - m) * rs;
      const g = weight[j]! * dout[off + j]!;
      gMean += g;
      gxMean += g * xhat;
    }
    gMean /= C;
    gxMean /= C;
    for (let j = 0; j < C; j++) {
      const xhat = (inp[off + j]! - m) * rs;
      const d = dout[off + j]!;
      const g = weight[j]! * d;
      dinp[off + j] = dinp[off + j]! + rs * (g - gMean - xhat * gxMean);
      dweight[j] = dweight[j]! + d * xhat;
      dbias[j] = dbias[j]! + d;
    }
  }
}

/** gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
export function geluForward(out: FloatArray, inp: FloatArray, n: number): void {
  checkLen('geluForward', 'out', out, n);
  checkLen('geluForward', 'inp', inp, n);
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_A * x * x * x)));
  }
}

/** dinp = gelu'(inp) * dout (overwrites; dinp may alias dout). */
export function geluBackward(dinp: FloatArray, inp: FloatArray, dout: FloatArray, n: number): void {
  checkLen('geluBackward', 'dinp', dinp, n);
  checkLen('geluBackward', 'inp', inp, n);
  checkLen('geluBackward', 'dout', dout, n);
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    const t = Math.tanh(GELU_K * (x + GELU_A * x * x * x));
    const dudx = GELU_K * (1 + 3 * GELU_A * x * x);
    const grad = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dudx;
    dinp[i] = grad * dout[i]!;
  }
}

export function tanhForward(out: FloatArray, inp: FloatArray, n: number): void {
  checkLen('tanhForward', 'out', out, n);
  checkLen('tanhForward', 'inp', inp, n);
  for (let i = 0; i < n; i++) out[i] = Math.tanh(inp[i]!);
}

/** dinp = (1 - out^2) * dout from the saved output (overwrites; dinp may alias dout). */
export function tanhBackward(dinp: FloatArray, out: FloatArray, dout: FloatArray, n: number): void {
  checkLen('tanhBackward', 'dinp', dinp, n);
  checkLen('tanhBackward', 'out', out, n);
  checkLen('tanhBackward', 'dout', dout, n);
  for (let i = 0; i < n; i++) {
    const y = out[i]!;
    dinp[i] = (1 - y * y) * dout[i]!;
  }
}

function checkDropoutP(kernel: string, p: number): void {
  if (!(p >= 0 && p < 1)) {
    throw new InputError(
      `${kernel}: expected p in [0, 1), found ${p}`,
      'set the dropout probability below 1',
    );
  }
}

/** Keep element i iff hash32(seed, i) >= dropoutThreshold(p); kept values scaled by 1/(1-p). */
export function dropoutForward(
  out: FloatArray,
  mask: Uint8Array,
  inp: FloatArray,
  p: number,
  seed: number,
  n: number,
): void {
  checkDropoutP('dropoutForward', p);
  checkLen('dropoutForward', 'out', out, n);
  checkLen('dropoutForward', 'mask', mask, n);
  checkLen('dropoutForward', 'inp', inp, n);
  const threshold = dropoutThreshold(p); // 0 when p = 0: every element is kept, scale 1 (a copy)
  const s = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    const keep = hash32(seed, i) >= threshold;
    mask[i] = keep ? 1 : 0;
    out[i] = keep ? inp[i]! * s : 0;
  }
}

/** dinp = dout * mask / (1-p) (overwrites; dinp may alias dout). */
export function dropoutBackward(
  dinp: FloatArray,
  dout: FloatArray,
  mask: Uint8Array,
  p: number,
  n: number,
): void {
  checkDropoutP('dropoutBackward', p);
  checkLen('dropoutBackward', 'dinp', dinp, n);
  checkLen('dropoutBackward', 'dout', dout, n);
  checkLen('dropoutBackward', 'mask', mask, n);
  const s = 1 / (1 - p);
  for (let i = 0; i < n; i++) dinp[i] = mask[i] ? dout[i]! * s : 0;
}
