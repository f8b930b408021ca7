// Reference multi-head scaled dot-product attention (forward and backward) over strided q/k/v
// views, with causal and key-padding masks. Single-threaded; one (batch, head, query) row at a time.

import type { AttnShape, FloatArray } from '../backend.ts';
import { InputError } from '../errors.ts';
import { checkLen, checkSize, stridedLen } from './check.ts';

function checkShape(kernel: string, s: AttnShape): number {
  for (const key of ['B', 'Tq', 'Tk', 'C', 'NH', 'qStride', 'kStride', 'vStride'] as const) {
    checkSize(kernel, key, s[key]);
  }
  if (s.NH < 1 || s.C % s.NH !== 0) {
    throw new InputError(
      `${kernel}: expected C divisible by NH, found C=${s.C}, NH=${s.NH}`,
      'pick NH dividing C',
    );
  }
  if (s.causal && s.Tq !== s.Tk) {
    throw new InputError(
      `${kernel}: causal attention needs Tq == Tk, found Tq=${s.Tq}, Tk=${s.Tk}`,
      'use causal only for self-attention',
    );
  }
  for (const key of ['qStride', 'kStride', 'vStride'] as const) {
    if (s[key] < s.C) {
      throw new InputError(
        `${kernel}: expected ${key} >= C (${s.C}), found ${s[key]}`,
        'rows of a view must not overlap',
      );
    }
  }
  return s.C / s.NH;
}

function checkViews(
  kernel: string,
  prefix: string,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  s: AttnShape,
): void {
  checkLen(kernel, `${prefix}q`, q, stridedLen(s.B * s.Tq, s.C, s.qStride));
  checkLen(kernel, `${prefix}k`, k, stridedLen(s.B * s.Tk, s.C, s.kStride));
  checkLen(kernel, `${prefix}v`, v, stridedLen(s.B * s.Tk, s.C, s.vStride));
}

/** Whether query i of batch b may attend to key j. */
function allowed(keyMask: Uint8Array | null, s: AttnShape, b: number, i: number, j: number): boolean {
  if (s.causal && j > i) return false;
  return keyMask === null || keyMask[b * s.Tk + j] !== 0;
}

/**
 * out (B,Tq,C) contiguous; probs (B,NH,Tq,Tk) = softmax over allowed keys of q.k / sqrt(hs), zero
 * for disallowed keys; a query row with no allowed key gets zero probs and zero output.
 */
export function attentionForward(
  out: FloatArray,
  probs: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  keyMask: Uint8Array | null,
  s: AttnShape,
): void {
  const hs = checkShape('attentionForward', s);
  const { B, Tq, Tk, C, NH } = s;
  checkViews('attentionForward', '', q, k, v, s);
  checkLen('attentionForward', 'out', out, B * Tq * C);
  checkLen('attentionForward', 'probs', probs, B * NH * Tq * Tk);
  if (keyMask) checkLen('attentionForward', 'keyMask', keyMask, B * Tk);
  const scale = 1 / Math.sqrt(hs);
  const scores = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < Tq; i++) {
        const qOff = (b * Tq + i) * s.qStride + h * hs;
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) {
          if (!allowed(keyMask, s, b, i, j)) continue;
          const kOff = (b * Tk + j) * s.kStride + h * hs;
          let dot = 0;
          for (let d = 0; d < hs; d++) dot += q[qOff + d]! * k[kOff + d]!;
          scores[j] = dot * scale;
          if (scores[j]! > max) max = scores[j]!;
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) {
          scores[j] = allowed(keyMask, s, b, i, j) ? Math.exp(scores[j]! - max) : 0;
          sum += scores[j]!;
        }
        const pOff = ((b * NH + h) * Tq + i) * Tk;
        for (let j = 0; j < Tk; j++) probs[pOff + j] = sum > 0 ? scores[j]! / sum : 0;
        const oOff = (b * Tq + i) * C + h * hs;
        for (let d = 0; d < hs; d++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += probs[pOff + j]! * v[(b * Tk + j) * s.vStride + h * hs + d]!;
          out[oOff + d] = acc;
        }
      }
    }
  }
}

/**
 * With P = probs and dO = dout (per batch and head): dV = P^T dO; dP = dO V^T;
 * dS = P * (dP - rowsum(P * dP)); dQ = dS K / sqrt(hs); dK = dS^T Q / sqrt(hs).
 * Each (batch, head) is summed in double scratch and then written once, so dq, dk, dv (views
 * with the strides of q, k, v) are overwritten on exactly their own C columns and nothing else.
 */
export function attentionBackward(
  dq: FloatArray,
  dk: FloatArray,
  dv: FloatArray,
  dout: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  probs: FloatArray,
  s: AttnShape,
): void {
  const hs = checkShape('attentionBackward', s);
  const { B, Tq, Tk, C, NH } = s;
  checkViews('attentionBackward', '', q, k, v, s);
  checkViews('attentionBackward', 'd', dq, dk, dv, s);
  checkLen('attentionBackward', 'dout', dout, B * Tq * C);
  checkLen('attentionBackward', 'probs', probs, B * NH * Tq * Tk);
  const scratch = {
    dq: new Float64Array(Tq * hs),
    dk: new Float64Array(Tk * hs),
    dv: new Float64Array(Tk * hs),
  };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      headBackward(scratch, dout, q, k, v, probs, s, b, h, hs);
      writeHead(dq, scratch.dq, Tq, b * Tq * s.qStride + h * hs, s.qStride, hs);
      writeHead(dk, scratch.dk, Tk, b * Tk * s.kStride + h * hs, s.kStride, hs);
      writeHead(dv, scratch.dv, Tk, b * Tk * s.vStride + h * hs, s.vStride, hs);
    }
  }
}

/** Gradients of one (batch b, head h) into scratch dq (Tq, hs), dk (Tk, hs), dv (Tk, hs). */
function headBackward(
  g: { dq: Float64Array; dk: Float64Array; dv: Float64Array },
  dout: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  probs: FloatArray,
  s: AttnShape,
  b: number,
  h: number,
  hs: number,
): void {
  const { Tq, Tk, C, NH } = s;
  const scale = 1 / Math.sqrt(hs);
  const dp = new Float64Array(Tk);
  g.dq.fill(0);
  g.dk.fill(0);
  g.dv.fill(0);
  for (let i = 0; i < Tq; i++) {
    const pOff = ((b * NH + h) * Tq + i) * Tk;
    const qOff = (b * Tq + i) * s.qStride + h * hs;
    const oOff = (b * Tq + i) * C + h * hs;
    let pdp = 0; // sum_j P_ij dP_ij
    for (let j = 0; j < Tk; j++) {
      const pij = probs[pOff + j]!;
      const vOff = (b * Tk + j) * s.vStride + h * hs;
      let dot = 0;
      for (let d = 0; d < hs; d++) {
        dot += dout[oOff + d]! * v[vOff + d]!;
        g.dv[j * hs + d] = g.dv[j * hs + d]! + pij * dout[oOff + d]!;
      }
      dp[j] = dot;
      pdp += pij * dot;
    }
    for (let j = 0; j < Tk; j++) {
      const ds = probs[pOff + j]! * (dp[j]! - pdp) * scale;
      const kOff = (b * Tk + j) * s.kStride + h * hs;
      for (let d = 0; d < hs; d++) {
        g.dq[i * hs + d] = g.dq[i * hs + d]! + ds * k[kOff + d]!;
        g.dk[j * hs + d] = g.dk[j * hs + d]! + ds * q[qOff + d]!;
      }
    }
  }
}

/** Writes scratch (rows, hs) into x at `off`, rows `stride` apart. */
function writeHead(
  x: FloatArray,
  src: Float64Array,
  rows: number,
  off: number,
  stride: number,
  hs: number,
): void {
  for (let r = 0; r < rows; r++) for (let d = 0; d < hs; d++) x[off + r * stride + d] = src[r * hs + d]!;
}
