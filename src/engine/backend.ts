// The Backend interface: allocation plus the kernels every model in tlc is built from.
// It knows nothing of Transformers; shapes are passed explicitly. Two implementations:
// `ts` (plain TypeScript, the reference twin, also runs in float64 for finite differences)
// and `native` (C++ on oneDNN). Nothing here picks a backend from a global.
//
// Conventions (every implementation must follow them exactly; the shared test suite checks):
// - All tensors are row-major, contiguous unless a row stride is given. A "view" is a
//   subarray; kernels read and write starting at the view's first element.
// - Forward kernels overwrite their outputs.
// - Backward kernels ACCUMULATE (+=) into parameter gradients (weights, biases, embedding
//   tables) and into input gradients marked "accumulates" below; the others overwrite.
// - Shapes in comments use B (batch), T (time), C (channels), NH (heads), V (vocab).

import type { DecodeKernels } from './decode-kernels.ts';

/** The float buffer type a backend computes in: Float32Array (both backends) or Float64Array (ts only). */
export type FloatArray = Float32Array | Float64Array;

/** Attention geometry. q, k, v are views whose rows are `*Stride` floats apart. */
export interface AttnShape {
  B: number;
  /** query length */
  Tq: number;
  /** key/value length */
  Tk: number;
  /** model width; head size is C / NH */
  C: number;
  NH: number;
  /** query i may attend to key j only if j <= i (requires Tq == Tk) */
  causal: boolean;
  /** distance in floats between consecutive time rows of q, k, v (e.g. 3C for a fused qkv) */
  qStride: number;
  kStride: number;
  vStride: number;
}

export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction */
  step: number;
  /** every gradient is multiplied by this first (gradient-norm clipping folded in); default 1 */
  gradScale?: number;
}

export interface CrossEntropyOptions<A extends FloatArray> {
  /** targets equal to this are skipped (no loss, zero gradient) */
  ignoreIndex: number;
  /** label smoothing epsilon in [0, 1): target distribution (1-eps)*onehot + eps/V */
  labelSmoothing: number;
  /** if given, receives d(loss * gradScale)/dlogits, shape (N, V); ignored rows are zeroed */
  dlogits: A | null;
  /** multiplier for the gradient (usually 1 / number of counted positions) */
  gradScale: number;
  /** if given, receives each row's loss, shape (N); ignored rows get 0 */
  losses: A | null;
}

/**
 * Precision of the linear layers' products: 'fp32', or 'bf16' (mixed precision: the input, the
 * weight and the output gradient are rounded to bf16, nearest even, and the products accumulate in
 * fp32 into fp32 outputs; weights, gradients, optimizer state, normalization and losses stay fp32).
 */
export type LinearPrecision = 'fp32' | 'bf16';

/**
 * A linear layer's weight held as int8 for inference: W (Out, In) ~ q * scale[row] (symmetric, one
 * scale per output row, q in [-127, 127]), plus each row's integer sum (the zero-point compensation
 * of the activations' asymmetric quantization). Built by `int8Weights` (engine/int8.ts).
 */
export interface Int8Weights {
  /** (Out, In) row-major */
  q: Int8Array;
  /** (Out) */
  scales: Float32Array;
  /** (Out): sum over the row of q */
  rowSums: Int32Array;
}

/**
 * A linear layer's weight held k-bit for inference (weight-only quantization), exactly as the
 * container stores it (compress/quant/formats.ts): codes packed LSB-first into one bitstream over
 * the row-major (Out, In) elements (element i in bits [i*bits, i*bits + bits)), and
 * W[o, c] = (code - zero) * scale with scale index s = o * groupsPerRow + floor(c / groupSize)
 * (groupsPerRow 0: one scale for the whole tensor). zero = zeros[s] (asymmetric) or 2^(bits-1)
 * (symmetric, zeros null). Built by `kbitWeights` (engine/kbit.ts).
 */
export interface KbitWeights {
  bits: number;
  /** columns per scale group: 32/64/128, or In for per-channel and per-tensor scales */
  groupSize: number;
  /** ceil(In / groupSize), or 0 for a single per-tensor scale */
  groupsPerRow: number;
  /** ceil(Out * In * bits / 8) bytes */
  codes: Uint8Array;
  scales: Float32Array;
  zeros: Uint8Array | null;
}

/**
 * A linear layer's weight (Out, In) in CSR form for unstructured-sparse inference: row o's kept
 * weights are values[rowPtr[o] .. rowPtr[o+1]) at columns colIdx[...] (In <= 65536). Built by
 * `csrWeights` (engine/sparse.ts), which checks the structure.
 */
export interface CsrWeights {
  /** (Out + 1), rowPtr[0] = 0, non-decreasing */
  rowPtr: Int32Array;
  /** (nnz) column of each kept weight, ascending within a row */
  colIdx: Uint16Array;
  /** (nnz) */
  values: Float32Array;
}

export interface Backend<A extends FloatArray = Float32Array> extends DecodeKernels<A> {
  readonly name: string;
  /** how linearForward/linearBackward multiply (every other kernel is fp32 or wider) */
  readonly linearPrecision: LinearPrecision;
  /** A zero-filled buffer of n floats. */
  alloc(n: number): A;
  /** Threads kernels may use (native: one shared OpenMP pool; ts: remembered, but computes on one). */
  setThreads(n: number): void;
  getThreads(): number;

  // ---- elementwise / memory --------------------------------------------------------------
  /** x[i] = value */
  fill(x: A, value: number, n: number): void;
  /** dst[i] = src[i] */
  copy(dst: A, src: A, n: number): void;
  /** x[i] *= s */
  scale(x: A, s: number, n: number): void;
  /** out[i] = a[i] + b[i] (out may alias a or b) */
  add(out: A, a: A, b: A, n: number): void;
  /** sum of x[i]^2, accumulated in double */
  sumSquares(x: A, n: number): number;

  // ---- dense algebra -----------------------------------------------------------------------
  /**
   * C (M,N) = alpha * op(A) op(B) + (accumulate ? C : 0), where op(A) is (M,K) and op(B) is (K,N).
   * A is stored (M,K) or, if transA, (K,M); B is stored (K,N) or, if transB, (N,K). Row-major.
   */
  matmul(
    c: A,
    a: A,
    b: A,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
    alpha: number,
    accumulate: boolean,
  ): void;
  /**
   * A linear layer: out (N, Out) = inp (N, In) W^T + (bias ?? 0), W stored (Out, In). Fused so the
   * bias is added inside the GEMM (one pass over out instead of two).
   */
  linearForward(out: A, inp: A, weight: A, bias: A | null, N: number, In: number, Out: number): void;
  /**
   * An int8 x int8 linear layer for inference: out (N, Out) = dequant(q(inp) W_q^T) + (bias ?? 0).
   * Each input row is quantized on the fly to u8 with its own scale and zero point over the range
   * [min(x, 0), max(x, 0)] (sa = range / 255, zp = round(-min / sa), code = clamp(round(x / sa) + zp),
   * with x / sa computed as x * (1 / sa),
   * round = floor(v + 0.5), computed in double); products accumulate exactly in int32 and
   * out[n, o] = (acc - zp_n rowSum_o) sa_n scale_o + bias_o. Outlier guard (LLM.int8()-style): input
   * channels whose largest |x| over the N rows exceeds `outlierThreshold` are left out of the int8
   * product and added in float as x[:, j] q[:, j] scale (the int8 weight itself, no fp32 copy).
   * Infinity turns the guard off.
   */
  linearInt8Forward(
    out: A,
    inp: A,
    w: Int8Weights,
    bias: A | null,
    N: number,
    In: number,
    Out: number,
    outlierThreshold: number,
  ): void;
  /**
   * A weight-only k-bit linear layer for inference: out (N, Out) = inp W^T + (bias ?? 0) with
   * W[o, c] = (code - zero) * scale as KbitWeights describes (inputs and output fp32; the weight is
   * never dequantized whole: native unpacks codes in registers, or tiles of rows for many inputs).
   */
  linearKbitForward(out: A, inp: A, w: KbitWeights, bias: A | null, N: number, In: number, Out: number): void;
  /** An unstructured-sparse linear layer: out (N, Out) = inp W^T + (bias ?? 0), W in CSR form. */
  linearSparseForward(
    out: A,
    inp: A,
    w: CsrWeights,
    bias: A | null,
    N: number,
    In: number,
    Out: number,
  ): void;
  /**
   * Backward of linearForward: dinp (N, In) = dout W (overwrites; += if accumulate; skipped if
   * null), dweight (Out, In) += dout^T inp, dbias (Out) += column sums of dout  [dweight and dbias
   * accumulate]. Fused so the two GEMMs can run concurrently (native, 2 threads).
   */
  linearBackward(
    dinp: A | null,
    dweight: A,
    dbias: A | null,
    dout: A,
    inp: A,
    weight: A,
    N: number,
    In: number,
    Out: number,
    accumulate: boolean,
  ): void;
  /** x (N, C) += bias (C) per row */
  addBias(x: A, bias: A, N: number, C: number): void;
  /** dbias (C) += column sums of dout (N, C)  [accumulates] */
  biasBackward(dbias: A, dout: A, N: number, C: number): void;

  // ---- embeddings --------------------------------------------------------------------------
  /** out (B,T,C) = wte[tokens[b,t]] + (wpe ? wpe[t] : 0); token ids must be in [0, V) */
  embeddingForward(out: A, tokens: Int32Array, wte: A, wpe: A | null, B: number, T: number, C: number): void;
  /** dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]  [accumulates] */
  embeddingBackward(
    dwte: A,
    dwpe: A | null,
    dout: A,
    tokens: Int32Array,
    B: number,
    T: number,
    C: number,
  ): void;
  /** out (n, C) = inp[idx[i]] rows */
  gatherRows(out: A, inp: A, idx: Int32Array, n: number, C: number): void;
  /** dinp[idx[i]] += dout[i]  [accumulates] */
  scatterAddRows(dinp: A, dout: A, idx: Int32Array, n: number, C: number): void;

  // ---- normalization and activations ----------------------------------------------------
  /** out (N,C) = (inp - mean) * rstd * weight + bias; saves mean (N), rstd (N). eps = 1e-5 */
  layernormForward(out: A, mean: A, rstd: A, inp: A, weight: A, bias: A, N: number, C: number): void;
  /** dinp += ..., dweight += ..., dbias += ...  [all three accumulate] */
  layernormBackward(
    dinp: A,
    dweight: A,
    dbias: A,
    dout: A,
    inp: A,
    weight: A,
    mean: A,
    rstd: A,
    N: number,
    C: number,
  ): void;
  /** out = gelu(inp), tanh approximation (as GPT-2 / PyTorch approximate='tanh') */
  geluForward(out: A, inp: A, n: number): void;
  /** dinp = gelu'(inp) * dout  [overwrites; dinp may alias dout] */
  geluBackward(dinp: A, inp: A, dout: A, n: number): void;
  /** out = tanh(inp) */
  tanhForward(out: A, inp: A, n: number): void;
  /** dinp = (1 - out^2) * dout, from the saved output  [overwrites; may alias dout] */
  tanhBackward(dinp: A, out: A, dout: A, n: number): void;

  /**
   * Dropout with a counter-based RNG: element i is kept iff hash(seed, i) >= p * 2^32
   * (see `dropoutKeep` in rng.ts, which every backend reproduces exactly). Kept elements are
   * scaled by 1/(1-p). mask (n) receives 1 for kept, 0 for dropped. p = 0 copies.
   */
  dropoutForward(out: A, mask: Uint8Array, inp: A, p: number, seed: number, n: number): void;
  /** dinp = dout * mask / (1-p)  [overwrites; may alias dout] */
  dropoutBackward(dinp: A, dout: A, mask: Uint8Array, p: number, n: number): void;

  // ---- attention ---------------------------------------------------------------------------
  /**
   * Multi-head scaled dot-product attention. out (B,Tq,C) contiguous; probs (B,NH,Tq,Tk) saved
   * softmax. keyMask (B,Tk) with 1 = attend, 0 = padding, or null. A query row whose keys are
   * all masked gets zero output and zero probs.
   */
  attentionForward(out: A, probs: A, q: A, k: A, v: A, keyMask: Uint8Array | null, s: AttnShape): void;
  /**
   * Gradients wrt q, k, v, written with the same strides as q, k, v. [overwrites] — for a fused
   * qkv the three views interleave and together cover the buffer exactly.
   */
  attentionBackward(dq: A, dk: A, dv: A, dout: A, q: A, k: A, v: A, probs: A, s: AttnShape): void;

  // ---- loss ----------------------------------------------------------------------------------
  /**
   * Softmax cross-entropy over rows of logits (N, V). Returns the summed loss over counted rows
   * and the number of counted rows (targets != ignoreIndex). Row losses and dlogits optional.
   */
  crossEntropy(
    logits: A,
    targets: Int32Array,
    N: number,
    V: number,
    opts: CrossEntropyOptions<A>,
  ): { sum: number; count: number };

  // ---- optimizer ---------------------------------------------------------------------------
  /**
   * AdamW (decoupled weight decay, PyTorch semantics):
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; mhat = m/(1-b1^t); vhat = v/(1-b2^t);
   * p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p)
   */
  adamw(param: A, grad: A, m: A, v: A, n: number, h: AdamWParams): void;
}
