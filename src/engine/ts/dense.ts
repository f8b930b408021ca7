// Reference kernels for elementwise ops, matmul, bias, embeddings and row gather/scatter.
// Plain single-threaded loops that follow backend.ts exactly; sums are carried in double.

import type { FloatArray } from '../backend.ts';
import { checkIndices, checkLen, checkSize, rowsOf } from './check.ts';

export function fill(x: FloatArray, value: number, n: number): void {
  checkLen('fill', 'x', x, n);
  for (let i = 0; i < n; i++) x[i] = value;
}

export function copy(dst: FloatArray, src: FloatArray, n: number): void {
  checkLen('copy', 'dst', dst, n);
  checkLen('copy', 'src', src, n);
  for (let i = 0; i < n; i++) dst[i] = src[i]!;
}

export function scale(x: FloatArray, s: number, n: number): void {
  checkLen('scale', 'x', x, n);
  for (let i = 0; i < n; i++) x[i] = x[i]! * s;
}

/** out = a + b elementwise; out may alias a or b. */
export function add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  checkLen('add', 'out', out, n);
  checkLen('add', 'a', a, n);
  checkLen('add', 'b', b, n);
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}

export function sumSquares(x: FloatArray, n: number): number {
  checkLen('sumSquares', 'x', x, n);
  let s = 0; // JS numbers are doubles, so this accumulates in double for both precisions
  for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
  return s;
}

/**
 * C (M,N) = alpha * op(A) op(B) + (accumulate ? C : 0). Each output row is built in a double
 * buffer: row i of op(A) is first gathered (contiguous), then either dotted with rows of B
 * (transB, B stored (N,K)) or used to scale-and-add rows of B (B stored (K,N)); both inner
 * loops run over contiguous memory.
 */
export function matmul(
  c: FloatArray,
  a: FloatArray,
  b: FloatArray,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  accumulate: boolean,
): void {
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
  ] as const)
    checkSize('matmul', name, v);
  checkLen('matmul', 'c', c, M * N);
  checkLen('matmul', 'a', a, M * K);
  checkLen('matmul', 'b', b, K * N);
  const aRow = new Float64Array(K); // row i of op(A): (K)
  const cRow = new Float64Array(N); // row i of op(A) op(B): (N)
  for (let i = 0; i < M; i++) {
    for (let p = 0; p < K; p++) aRow[p] = transA ? a[p * M + i]! : a[i * K + p]!;
    cRow.fill(0);
    if (transB) {
      for (let j = 0; j < N; j++) {
        const bOff = j * K;
        let s = 0;
        for (let p = 0; p < K; p++) s += aRow[p]! * b[bOff + p]!;
        cRow[j] = s;
      }
    } else {
      for (let p = 0; p < K; p++) {
        const ap = aRow[p]!;
        const bOff = p * N;
        for (let j = 0; j < N; j++) cRow[j] = cRow[j]! + ap * b[bOff + j]!;
      }
    }
    const cOff = i * N;
    for (let j = 0; j < N; j++) c[cOff + j] = alpha * cRow[j]! + (accumulate ? c[cOff + j]! : 0);
  }
}

/** x (N, C) += bias (C) per row. */
export function addBias(x: FloatArray, bias: FloatArray, N: number, C: number): void {
  checkLen('addBias', 'x', x, N * C);
  checkLen('addBias', 'bias', bias, C);
  for (let r = 0; r < N; r++) {
    const off = r * C;
    for (let j = 0; j < C; j++) x[off + j] = x[off + j]! + bias[j]!;
  }
}

/** dbias (C) += column sums of dout (N, C). */
export function biasBackward(dbias: FloatArray, dout: FloatArray, N: number, C: number): void {
  checkLen('biasBackward', 'dbias', dbias, C);
  checkLen('biasBackward', 'dout', dout, N * C);
  for (let j = 0; j < C; j++) {
    let s = 0;
    for (let r = 0; r < N; r++) s += dout[r * C + j]!;
    dbias[j] = dbias[j]! + s;
  }
}

/** out (B,T,C) = wte[tokens[b,t]] + (wpe ? wpe[t] : 0). */
export function embeddingForward(
  out: FloatArray,
  tokens: Int32Array,
  wte: FloatArray,
  wpe: FloatArray | null,
  B: number,
  T: number,
  C: number,
): void {
  const n = B * T;
  checkLen('embeddingForward', 'out', out, n * C);
  checkLen('embeddingForward', 'tokens', tokens, n);
  if (wpe) checkLen('embeddingForward', 'wpe', wpe, T * C);
  checkIndices('embeddingForward', 'tokens', tokens, n, rowsOf(wte, C));
  for (let bt = 0; bt < n; bt++) {
    const t = bt % T;
    const outOff = bt * C;
    const teOff = tokens[bt]! * C;
    for (let j = 0; j < C; j++) out[outOff + j] = wte[teOff + j]! + (wpe ? wpe[t * C + j]! : 0);
  }
}

/** dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]. */
export function embeddingBackward(
  dwte: FloatArray,
  dwpe: FloatArray | null,
  dout: FloatArray,
  tokens: Int32Array,
  B: number,
  T: number,
  C: number,
): void {
  const n = B * T;
  checkLen('embeddingBackward', 'dout', dout, n * C);
  checkLen('embeddingBackward', 'tokens', tokens, n);
  if (dwpe) checkLen('embeddingBackward', 'dwpe', dwpe, T * C);
  checkIndices('embeddingBackward', 'tokens', tokens, n, rowsOf(dwte, C));
  for (let bt = 0; bt < n; bt++) {
    const t = bt % T;
    const dOff = bt * C;
    const teOff = tokens[bt]! * C;
    for (let j = 0; j < C; j++) {
      const g = dout[dOff + j]!;
      dwte[teOff + j] = dwte[teOff + j]! + g;
      if (dwpe) dwpe[t * C + j] = dwpe[t * C + j]! + g;
    }
  }
}

/** out (n, C) = rows idx[i] of inp. */
export function gatherRows(out: FloatArray, inp: FloatArray, idx: Int32Array, n: number, C: number): void {
  checkLen('gatherRows', 'out', out, n * C);
  checkLen('gatherRows', 'idx', idx, n);
  checkIndices('gatherRows', 'idx', idx, n, rowsOf(inp, C));
  for (let i = 0; i < n; i++) {
    const src = idx[i]! * C;
    for (let j = 0; j < C; j++) out[i * C + j] = inp[src + j]!;
  }
}

/** dinp[idx[i]] += dout[i]. */
export function scatterAddRows(
  dinp: FloatArray,
  dout: FloatArray,
  idx: Int32Array,
  n: number,
  C: number,
): void {
  checkLen('scatterAddRows', 'dout', dout, n * C);
  checkLen('scatterAddRows', 'idx', idx, n);
  checkIndices('scatterAddRows', 'idx', idx, n, rowsOf(dinp, C));
  for (let i = 0; i < n; i++) {
    const dst = idx[i]! * C;
    for (let j = 0; j < C; j++) dinp[dst + j] = dinp[dst + j]! + dout[i * C + j]!;
  }
}
