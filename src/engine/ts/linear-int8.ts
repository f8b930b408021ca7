// Reference twin of the int8 x int8 inference linear kernel (Backend.linearInt8Forward): per-row
// asymmetric u8 activation codes (in float, ties to even), exact integer products, dequantization
// in double, and the outlier channels added in float. The native kernel computes the same codes; it dequantizes in float (equal
// to this double result within a few float roundings, the tests' tolerance).
import type { FloatArray, Int8Weights } from '../backend.ts';
import { checkLen, checkSize } from './check.ts';

/** 1 for each input channel whose largest |x| over the N rows exceeds `threshold`. */
export function outlierChannels(inp: FloatArray, N: number, In: number, threshold: number): Uint8Array {
  const out = new Uint8Array(In);
  if (!(threshold < Number.POSITIVE_INFINITY)) return out;
  for (let n = 0; n < N; n++)
    for (let j = 0; j < In; j++) if (Math.abs(inp[n * In + j]!) > threshold) out[j] = 1;
  return out;
}

/** v rounded to the nearest integer, ties to the even one (the default IEEE rounding, rint) */
function roundHalfEven(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  return d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
}

/** Quantizes row x[off, off + In) (outlier channels excluded) into codes; returns its scale and zero point. */
function quantizeRow(
  x: FloatArray,
  off: number,
  In: number,
  outlier: Uint8Array,
  codes: Int32Array,
): { sa: number; zp: number } {
  let mn = 0;
  let mx = 0;
  for (let j = 0; j < In; j++) {
    if (outlier[j]) continue;
    const v = x[off + j]!;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  // float arithmetic, one IEEE operation at a time (Math.fround of a double result of two floats is
  // the float result), rounding to nearest with ties to even: exactly the native kernel's
  const f = Math.fround;
  const sa = mx > mn ? f(f(mx - mn) / 255) : 1;
  const inv = f(1 / sa);
  const zp = Math.min(255, Math.max(0, roundHalfEven(f(-mn * inv))));
  for (let j = 0; j < In; j++) {
    const c = roundHalfEven(f(x[off + j]! * inv)) + zp;
    codes[j] = outlier[j] ? zp : Math.min(255, Math.max(0, c));
  }
  return { sa, zp };
}

/** out (N, Out) = dequant(q(inp) W_q^T) + outlier channels in float + bias; see Backend.linearInt8Forward. */
export function linearInt8Forward(
  out: FloatArray,
  inp: FloatArray,
  w: Int8Weights,
  bias: FloatArray | null,
  N: number,
  In: number,
  Out: number,
  outlierThreshold: number,
): void {
  const k = 'linearInt8Forward';
  checkSize(k, 'N', N);
  checkSize(k, 'In', In);
  checkSize(k, 'Out', Out);
  checkLen(k, 'out', out, N * Out);
  checkLen(k, 'inp', inp, N * In);
  checkLen(k, 'weight codes', w.q, Out * In);
  checkLen(k, 'weight scales', w.scales, Out);
  checkLen(k, 'weight row sums', w.rowSums, Out);
  if (bias) checkLen(k, 'bias', bias, Out);
  const outlier = outlierChannels(inp, N, In, outlierThreshold);
  const cols: number[] = [];
  for (let j = 0; j < In; j++) if (outlier[j]) cols.push(j);
  const codes = new Int32Array(In);
  for (let n = 0; n < N; n++) {
    const { sa, zp } = quantizeRow(inp, n * In, In, outlier, codes);
    for (let o = 0; o < Out; o++) {
      const wo = o * In;
      let acc = 0; // exact: |acc| < 255 * 127 * In < 2^53
      for (let j = 0; j < In; j++) acc += codes[j]! * w.q[wo + j]!;
      const s = w.scales[o]!;
      let v = (acc - zp * w.rowSums[o]!) * sa * s;
      let f = 0;
      for (const j of cols) f += inp[n * In + j]! * w.q[wo + j]! * s;
      v += f;
      out[n * Out + o] = bias ? v + bias[o]! : v;
    }
  }
}
