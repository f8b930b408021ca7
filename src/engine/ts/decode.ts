// Reference kernels of incremental decoding (see ../decode-kernels.ts): one-query attention over
// per-row key/value blocks, strided row copies, fused log-softmax + top-k. Plain loops, in double.
import type { FloatArray } from '../backend.ts';
import type { AttendOneShape } from '../decode-kernels.ts';
import { InputError } from '../errors.ts';
import { checkIndices, checkLen, checkSize, stridedLen } from './check.ts';

function checkAttendOne(
  s: AttendOneShape,
  out: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  keyMask: Uint8Array | null,
  blocks: Int32Array | null,
): number {
  const kernel = 'attendOne';
  for (const key of [
    'n',
    'Tk',
    'C',
    'NH',
    'qStride',
    'kvStride',
    'blockStride',
    'idxRowStride',
    'idxKeyStride',
  ] as const)
    checkSize(kernel, key, s[key]);
  if (s.NH < 1 || s.C % s.NH !== 0)
    throw new InputError(
      `${kernel}: expected C divisible by NH, found C=${s.C}, NH=${s.NH}`,
      'pick NH dividing C',
    );
  if (s.qStride < s.C || s.kvStride < s.C)
    throw new InputError(
      `${kernel}: expected qStride and kvStride >= C (${s.C}), found ${s.qStride} and ${s.kvStride}`,
      'rows of a view must not overlap',
    );
  checkLen(kernel, 'out', out, s.n * s.C);
  checkLen(kernel, 'q', q, stridedLen(s.n, s.C, s.qStride));
  let nb = s.n;
  if (blocks && s.n > 0 && s.Tk > 0) {
    checkLen(kernel, 'blocks', blocks, (s.n - 1) * s.idxRowStride + (s.Tk - 1) * s.idxKeyStride + 1);
    nb = 0;
    for (let r = 0; r < s.n; r++)
      for (let j = 0; j < s.Tk; j++) {
        const b = blocks[r * s.idxRowStride + j * s.idxKeyStride]!;
        if (b < 0)
          throw new InputError(`${kernel}: expected block indices >= 0, found ${b}`, 'check the index table');
        nb = Math.max(nb, b + 1);
      }
  }
  const span = nb === 0 || s.Tk === 0 ? 0 : (nb - 1) * s.blockStride + (s.Tk - 1) * s.kvStride + s.C;
  checkLen(kernel, 'k', k, span);
  checkLen(kernel, 'v', v, span);
  if (keyMask) checkLen(kernel, 'keyMask', keyMask, nb * s.Tk);
  return s.C / s.NH;
}

export function attendOne(
  out: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  keyMask: Uint8Array | null,
  blocks: Int32Array | null,
  s: AttendOneShape,
): void {
  const hs = checkAttendOne(s, out, q, k, v, keyMask, blocks);
  const { n, Tk, C, NH } = s;
  const scale = 1 / Math.sqrt(hs);
  const p = new Float64Array(Tk);
  const blk = new Int32Array(Tk);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < Tk; j++) blk[j] = blocks ? blocks[r * s.idxRowStride + j * s.idxKeyStride]! : r;
    for (let h = 0; h < NH; h++) {
      const qOff = r * s.qStride + h * hs;
      let max = -Infinity;
      for (let j = 0; j < Tk; j++) {
        if (keyMask && keyMask[blk[j]! * Tk + j] === 0) continue;
        const kOff = blk[j]! * s.blockStride + j * s.kvStride + h * hs;
        let dot = 0;
        for (let d = 0; d < hs; d++) dot += q[qOff + d]! * k[kOff + d]!;
        p[j] = dot * scale;
        if (p[j]! > max) max = p[j]!;
      }
      let sum = 0;
      for (let j = 0; j < Tk; j++) {
        p[j] = keyMask && keyMask[blk[j]! * Tk + j] === 0 ? 0 : Math.exp(p[j]! - max);
        sum += p[j]!;
      }
      const oOff = r * C + h * hs;
      for (let d = 0; d < hs; d++) {
        let acc = 0;
        for (let j = 0; j < Tk; j++)
          if (p[j] !== 0) acc += p[j]! * v[blk[j]! * s.blockStride + j * s.kvStride + h * hs + d]!;
        out[oOff + d] = sum > 0 ? acc / sum : 0;
      }
    }
  }
}

export function copyRows(
  out: FloatArray,
  outStride: number,
  inp: FloatArray,
  inStride: number,
  idx: Int32Array | null,
  n: number,
  len: number,
): void {
  const kernel = 'copyRows';
  for (const [name, x] of [
    ['outStride', outStride],
    ['inStride', inStride],
    ['n', n],
    ['len', len],
  ] as const)
    checkSize(kernel, name, x);
  if (n > 1 && (outStride < len || inStride < len))
    throw new InputError(
      `${kernel}: expected strides >= len (${len}), found outStride ${outStride}, inStride ${inStride}`,
      'rows of a view must not overlap',
    );
  checkLen(kernel, 'out', out, stridedLen(n, len, outStride));
  let rows = n;
  if (idx) {
    checkLen(kernel, 'idx', idx, n);
    checkIndices(kernel, 'idx', idx, n, Number.MAX_SAFE_INTEGER);
    rows = 0;
    for (let i = 0; i < n; i++) rows = Math.max(rows, idx[i]! + 1);
  }
  checkLen(kernel, 'inp', inp, stridedLen(rows, len, inStride));
  for (let i = 0; i < n; i++) {
    const src = (idx ? idx[i]! : i) * inStride;
    const dst = i * outStride;
    for (let c = 0; c < len; c++) out[dst + c] = inp[src + c]!;
  }
}

export function logSoftmaxTopK(
  logits: FloatArray,
  n: number,
  V: number,
  k: number,
  idx: Int32Array,
  logprobs: Float64Array,
): void {
  const kernel = 'logSoftmaxTopK';
  checkSize(kernel, 'n', n);
  checkSize(kernel, 'V', V);
  checkSize(kernel, 'k', k);
  if (k < 1 || k > V)
    throw new InputError(`${kernel}: expected 1 <= k <= V (${V}), found k=${k}`, 'ask for at most V entries');
  checkLen(kernel, 'logits', logits, n * V);
  checkLen(kernel, 'idx', idx, n * k);
  checkLen(kernel, 'logprobs', logprobs, n * k);
  for (let r = 0; r < n; r++) {
    const off = r * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[off + v]! > max) max = logits[off + v]!;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v]! - max);
    const lse = max + Math.log(sum);
    // insertion into the sorted top list: a later entry replaces only a strictly smaller one
    let m = 0;
    const top = idx.subarray(r * k, (r + 1) * k);
    for (let v = 0; v < V; v++) {
      const x = logits[off + v]!;
      if (m === k && !(x > logits[off + top[k - 1]!]!)) continue;
      let i = m < k ? m++ : k - 1;
      while (i > 0 && logits[off + top[i - 1]!]! < x) {
        top[i] = top[i - 1]!;
        i--;
      }
      top[i] = v;
    }
    for (let i = 0; i < k; i++) logprobs[r * k + i] = logits[off + top[i]!]! - lse;
  }
}
