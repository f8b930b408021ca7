// The kernels incremental decoding needs beyond training's: attention of ONE query per row over
// that row's (or its source's) key/value block, strided row copies for the key/value cache, and the
// fused log-softmax + top-k of next-token logits. Part of the Backend interface (backend.ts);
// the ts twins are in ts/decode.ts, the native ones in src/native/decode.cc.
import type { FloatArray } from './backend.ts';

/**
 * Geometry of attendOne: n query rows; key j of row r lies in block
 * b(r, j) = blocks[r * idxRowStride + j * idxKeyStride] (or r without `blocks`), at
 * k[b * blockStride + j * kvStride + (head offset)], its value likewise in v. One block per row:
 * idxRowStride 1, idxKeyStride 0 (cross-attention: a row reads its source's keys). One per key:
 * idxRowStride Tcap, idxKeyStride 1 (a beam's self-attention cache: position j of a row lives in
 * the cache row of the ancestor that wrote it, so reordering rows moves indices, not keys).
 */
export interface AttendOneShape {
  n: number;
  Tk: number;
  /** model width; head size is C / NH */
  C: number;
  NH: number;
  /** floats between consecutive query rows */
  qStride: number;
  /** floats between consecutive keys (and values) of one block */
  kvStride: number;
  /** floats between the key/value blocks of consecutive block indices */
  blockStride: number;
  /** strides of the block index table (ignored without `blocks`) */
  idxRowStride: number;
  idxKeyStride: number;
}

export interface DecodeKernels<A extends FloatArray> {
  /**
   * out (n, C) contiguous: per row and head, softmax over the allowed keys of q.k / sqrt(hs), then
   * the weighted sum of the values. keyMask (blocks, Tk), 1 = attend: key j of row r is allowed
   * when keyMask[b(r, j) * Tk + j] is 1; null = every key. A row whose keys are all masked gets
   * zero output. Same scores as attentionForward with Tq = 1 over the row's keys.
   */
  attendOne(
    out: A,
    q: A,
    k: A,
    v: A,
    keyMask: Uint8Array | null,
    blocks: Int32Array | null,
    s: AttendOneShape,
  ): void;
  /** out[i * outStride + c] = inp[(idx ? idx[i] : i) * inStride + c] for i < n, c < len (no overlap) */
  copyRows(
    out: A,
    outStride: number,
    inp: A,
    inStride: number,
    idx: Int32Array | null,
    n: number,
    len: number,
  ): void;
  /**
   * Per row r of logits (n, V): the k largest entries, largest first (ties: the lower index),
   * into idx (n, k), and their log-softmax x[v] - logsumexp(x) into logprobs (n, k), in double.
   * k <= V.
   */
  logSoftmaxTopK(logits: A, n: number, V: number, k: number, idx: Int32Array, logprobs: Float64Array): void;
}
