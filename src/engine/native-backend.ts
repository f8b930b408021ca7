// The `native` backend: loads the C++ addon (build/Release/tlc_native.node: oneDNN GEMM plus fused
// OpenMP kernels) and adapts it to Backend<Float32Array>. It never falls back to `ts`: a missing,
// unloadable or stale addon is a SetupError with the command that builds it.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type {
  AdamWParams,
  AttnShape,
  Backend,
  CrossEntropyOptions,
  CsrWeights,
  Int8Weights,
  KbitWeights,
  LinearPrecision,
} from './backend.ts';
import type { AttendOneShape } from './decode-kernels.ts';
import { InputError, SetupError } from './errors.ts';

/** Where `npx node-gyp rebuild` puts the addon, relative to the repository root. */
export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../build/Release/tlc_native.node', import.meta.url),
);

const BUILD_HINT = 'run: bash scripts/bootstrap.sh  (or npm run build:native)';
/** Must equal kApiVersion in src/native/addon.cc (bumped when an argument list changes). */
const API_VERSION = 6;

type F32 = Float32Array;
type B = Backend<F32>;

/** The kernels whose argument lists are exactly the Backend methods'. */
type DirectKernels = Pick<
  B,
  | 'fill'
  | 'copy'
  | 'scale'
  | 'add'
  | 'sumSquares'
  | 'matmul'
  | 'linearForward'
  | 'linearBackward'
  | 'addBias'
  | 'biasBackward'
  | 'embeddingForward'
  | 'embeddingBackward'
  | 'gatherRows'
  | 'scatterAddRows'
  | 'layernormForward'
  | 'layernormBackward'
  | 'geluForward'
  | 'geluBackward'
  | 'tanhForward'
  | 'tanhBackward'
  | 'dropoutForward'
  | 'dropoutBackward'
  | 'copyRows'
  | 'logSoftmaxTopK'
>;

const DIRECT: readonly (keyof DirectKernels)[] = [
  'fill',
  'copy',
  'scale',
  'add',
  'sumSquares',
  'matmul',
  'linearForward',
  'linearBackward',
  'addBias',
  'biasBackward',
  'embeddingForward',
  'embeddingBackward',
  'gatherRows',
  'scatterAddRows',
  'layernormForward',
  'layernormBackward',
  'geluForward',
  'geluBackward',
  'tanhForward',
  'tanhBackward',
  'dropoutForward',
  'dropoutBackward',
  'copyRows',
  'logSoftmaxTopK',
];

type ShapeArgs = [number, number, number, number, number, boolean, number, number, number];
type OneArgs = [number, number, number, number, number, number, number, number, number];

/** What the addon exports (argument order as in src/native/*.cc). */
interface Addon extends DirectKernels {
  /** the same kernels with a trailing `bf16` flag (bf16 operands, fp32 accumulation) */
  linearForward(...args: [...Parameters<B['linearForward']>, bf16?: boolean]): void;
  linearBackward(...args: [...Parameters<B['linearBackward']>, bf16?: boolean]): void;
  linearInt8Forward(
    out: F32,
    inp: F32,
    q: Int8Array,
    scales: F32,
    rowSums: Int32Array,
    bias: F32 | null,
    N: number,
    In: number,
    Out: number,
    outlierThreshold: number,
  ): void;
  linearKbitForward(
    out: F32,
    inp: F32,
    codes: Uint8Array,
    scales: F32,
    zeros: Uint8Array | null,
    bias: F32 | null,
    N: number,
    In: number,
    Out: number,
    bits: number,
    groupSize: number,
    groupsPerRow: number,
  ): void;
  linearSparseForward(
    out: F32,
    inp: F32,
    rowPtr: Int32Array,
    colIdx: Uint16Array,
    values: F32,
    bias: F32 | null,
    N: number,
    In: number,
    Out: number,
  ): void;
  /** oneDNN's implementation of the u8s8s32 matmul on this CPU (e.g. 'brg:avx512_core_vnni') */
  int8MatmulImpl(): string;
  /** oneDNN's implementation for a bf16 matmul on this CPU (e.g. 'brg:avx512_core_bf16'); throws if none */
  bf16MatmulImpl(): string;
  apiVersion: number;
  setThreads(n: number): void;
  getThreads(): number;
  addressMod64(bytes: Uint8Array): number;
  matmulCacheSize(): number;
  /** FLOP/s of an FMA loop (12 chains x `iters`) on `threads` threads: the machine's FP32 ceiling */
  peakFlops(threads: number, iters: number): number;
  /** floats per FMA in that loop: 16 (AVX-512), 8 (AVX2) or 1 */
  simdLanes: number;
  attentionForward(
    out: F32,
    probs: F32,
    q: F32,
    k: F32,
    v: F32,
    mask: Uint8Array | null,
    ...s: ShapeArgs
  ): void;
  attendOne(
    out: F32,
    q: F32,
    k: F32,
    v: F32,
    mask: Uint8Array | null,
    blocks: Int32Array | null,
    ...s: OneArgs
  ): void;
  attentionBackward(
    dq: F32,
    dk: F32,
    dv: F32,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    probs: F32,
    ...s: ShapeArgs
  ): void;
  crossEntropy(
    logits: F32,
    targets: Int32Array,
    N: number,
    V: number,
    ignoreIndex: number,
    labelSmoothing: number,
    dlogits: F32 | null,
    gradScale: number,
    losses: F32 | null,
  ): { sum: number; count: number };
  adamw(
    param: F32,
    grad: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    gradScale: number,
  ): void;
}

/** Loads the addon itself (no wrapping); exported for tests of the loader and of the GEMM cache. */
export function loadNativeAddon(path: string = NATIVE_ADDON_PATH): Addon {
  // libgomp reads its settings once, when the addon loads it: spin briefly (enough to bridge the few
  // microseconds between kernels), then sleep. Its default (spin ~300k times) made 2-thread steps
  // up to 8x slower when another process competed for a core; passive waiting costs ~10% when idle.
  if (process.env['GOMP_SPINCOUNT'] === undefined && process.env['OMP_WAIT_POLICY'] === undefined) {
    process.env['GOMP_SPINCOUNT'] = '10000';
  }
  if (!existsSync(path)) {
    throw new SetupError(`native backend: expected the built addon at ${path}, found no file`, BUILD_HINT);
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SetupError(`native backend: the addon at ${path} failed to load: ${why}`, BUILD_HINT);
  }
  if (addon.apiVersion !== API_VERSION) {
    throw new SetupError(
      `native backend: expected addon API version ${API_VERSION}, found ${String(addon.apiVersion)} in ${path} (a stale build)`,
      BUILD_HINT,
    );
  }
  if (typeof addon.attendOne !== 'function') {
    throw new SetupError(
      `native backend: the addon at ${path} lacks the decoding kernels (attendOne): a stale build`,
      BUILD_HINT,
    );
  }
  return addon;
}

/** Argument errors from the addon (TypeError, RangeError) become InputError, as in the ts backend. */
function translate(kernel: string, e: unknown): unknown {
  if (e instanceof TypeError || e instanceof RangeError) {
    return new InputError(
      `native ${kernel}: ${e.message}`,
      'check the shape arguments and buffer types (Float32Array, Int32Array, Uint8Array) you passed',
    );
  }
  return e;
}

function guarded<F extends (...args: never[]) => unknown>(kernel: string, f: F): F {
  const g = (...args: Parameters<F>): ReturnType<F> => {
    try {
      return f(...args) as ReturnType<F>;
    } catch (e) {
      throw translate(kernel, e);
    }
  };
  return g as unknown as F;
}

function checkThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError(`native setThreads: expected an integer >= 1, found ${n}`, 'pass e.g. 1 or 2');
  }
}

function shapeArgs(s: AttnShape): ShapeArgs {
  return [s.B, s.Tq, s.Tk, s.C, s.NH, s.causal, s.qStride, s.kStride, s.vStride];
}

function attendOneArgs(s: AttendOneShape): OneArgs {
  return [s.n, s.Tk, s.C, s.NH, s.qStride, s.kvStride, s.blockStride, s.idxRowStride, s.idxKeyStride];
}

/** A zero-filled Float32Array of n floats whose first element is 64-byte aligned. */
function alignedAlloc(addon: Addon, n: number): F32 {
  if (!Number.isInteger(n) || n < 0) {
    throw new InputError(`native.alloc: expected a non-negative integer size, found ${n}`, 'check the shape');
  }
  const buf = new ArrayBuffer(n * 4 + 64);
  const offset = (64 - addon.addressMod64(new Uint8Array(buf, 0, 1))) % 64;
  return new Float32Array(buf, offset, n);
}

/**
 * oneDNN's bf16 matmul implementation on this CPU, or a SetupError saying that bf16 cannot run here.
 * Native bf16 instructions show as '..._bf16' (e.g. 'brg:avx512_core_bf16'); other names mean emulation.
 */
export function bf16MatmulImpl(addon: Addon = loadNativeAddon()): string {
  try {
    return addon.bf16MatmulImpl();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SetupError(
      `precision bf16: oneDNN has no bf16 matmul for this CPU (${why}); bf16 needs AVX-512 (best with AVX512_BF16 or AMX)`,
      'use --precision fp32',
    );
  }
}

/**
 * The native backend. Kernels run on one OpenMP pool (oneDNN shares it) of `threads` threads,
 * default all cores. `precision` 'bf16': linear layers multiply in bf16 (see LinearPrecision).
 * Throws SetupError if the addon is not built or does not load, or bf16 cannot run on this CPU.
 */
export function loadNativeBackend(opts?: {
  threads?: number;
  precision?: LinearPrecision;
}): Backend<Float32Array> {
  const addon = loadNativeAddon();
  const threads = opts?.threads ?? availableParallelism();
  const linearPrecision = opts?.precision ?? 'fp32';
  if (linearPrecision !== 'fp32' && linearPrecision !== 'bf16') {
    throw new InputError(
      `native backend: expected precision 'fp32' or 'bf16', found ${String(linearPrecision)}`,
      'use fp32 or bf16',
    );
  }
  checkThreads(threads);
  addon.setThreads(threads);
  const direct = Object.fromEntries(
    DIRECT.map((name) => [name, guarded(name, addon[name] as (...args: never[]) => unknown)]),
  ) as unknown as DirectKernels;
  if (linearPrecision === 'bf16') {
    bf16MatmulImpl(addon);
    const fwd = guarded('linearForward', addon.linearForward);
    const bwd = guarded('linearBackward', addon.linearBackward);
    direct.linearForward = (...a) => fwd(...a, true);
    direct.linearBackward = (...a) => bwd(...a, true);
  }
  const attnF = guarded('attentionForward', addon.attentionForward);
  const attnB = guarded('attentionBackward', addon.attentionBackward);
  const one = guarded('attendOne', addon.attendOne);
  const ce = guarded('crossEntropy', addon.crossEntropy);
  const adamw = guarded('adamw', addon.adamw);
  const int8 = guarded('linearInt8Forward', addon.linearInt8Forward);
  const kbit = guarded('linearKbitForward', addon.linearKbitForward);
  const sparse = guarded('linearSparseForward', addon.linearSparseForward);
  return {
    name: linearPrecision === 'bf16' ? 'native-bf16' : 'native',
    linearPrecision,
    alloc: (n) => alignedAlloc(addon, n),
    setThreads(n) {
      checkThreads(n);
      addon.setThreads(n);
    },
    getThreads: () => addon.getThreads(),
    ...direct,
    linearInt8Forward: (out, inp, w: Int8Weights, bias, N, In, Out, thr) =>
      int8(out, inp, w.q, w.scales, w.rowSums, bias, N, In, Out, thr),
    linearKbitForward: (out, inp, w: KbitWeights, bias, N, In, Out) =>
      kbit(out, inp, w.codes, w.scales, w.zeros, bias, N, In, Out, w.bits, w.groupSize, w.groupsPerRow),
    linearSparseForward: (out, inp, w: CsrWeights, bias, N, In, Out) =>
      sparse(out, inp, w.rowPtr, w.colIdx, w.values, bias, N, In, Out),
    attentionForward: (out, probs, q, k, v, keyMask, s) =>
      attnF(out, probs, q, k, v, keyMask, ...shapeArgs(s)),
    attentionBackward: (dq, dk, dv, dout, q, k, v, probs, s) =>
      attnB(dq, dk, dv, dout, q, k, v, probs, ...shapeArgs(s)),
    attendOne: (out, q, k, v, keyMask, blocks, s: AttendOneShape) =>
      one(out, q, k, v, keyMask, blocks, ...attendOneArgs(s)),
    crossEntropy: (logits, targets, N, V, o: CrossEntropyOptions<F32>) =>
      ce(logits, targets, N, V, o.ignoreIndex, o.labelSmoothing, o.dlogits, o.gradScale, o.losses),
    adamw: (param, grad, m, v, n, h: AdamWParams) =>
      adamw(param, grad, m, v, n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step, h.gradScale ?? 1),
  };
}

/**
 * The FP32 FMA ceiling in FLOP/s for MFU: the best of a few runs of the addon's FMA loop on
 * `threads` threads, and never below `threads` × the one-thread figure (a ceiling measured low
 * by a noisy neighbour would overstate MFU).
 */
export function fmaCeiling(threads: number, tries = 5): number {
  const addon = loadNativeAddon();
  const best = (t: number) => {
    let b = 0;
    for (let i = 0; i < tries; i++) b = Math.max(b, addon.peakFlops(t, 2e7));
    return b;
  };
  return Math.max(best(threads), threads * best(1));
}

/** Whether this CPU multiplies bf16 natively (AVX512_BF16 or AMX), not by emulation. */
export function hasNativeBf16(): boolean {
  try {
    return /bf16|amx/.test(bf16MatmulImpl());
  } catch {
    return false;
  }
}
