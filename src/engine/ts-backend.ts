// The `ts` backend: plain TypeScript loops, the reference twin every native kernel is tested
// against; 'f64' runs the same code in float64 for finite differences. Single-threaded, not fast.

import type { Backend, FloatArray, LinearPrecision } from './backend.ts';
import { InputError } from './errors.ts';
import { attentionBackward, attentionForward } from './ts/attention.ts';
import * as decode from './ts/decode.ts';
import * as dense from './ts/dense.ts';
import * as layers from './ts/layers.ts';
import { linearBackward, linearBackwardBf16, linearForward, linearForwardBf16 } from './ts/linear.ts';
import { linearInt8Forward } from './ts/linear-int8.ts';
import { linearKbitForward, linearSparseForward } from './ts/linear-kbit.ts';
import { adamw, crossEntropy } from './ts/loss.ts';

export type TsPrecision = 'f32' | 'f64';

/**
 * A reference backend computing in Float32Array ('f32') or Float64Array ('f64'). Scalars and
 * reductions are carried in double in both; only stored values are rounded to the buffer type.
 * setThreads records the requested count (getThreads returns it) but every kernel runs on the
 * calling thread: the ts backend has no thread pool.
 * `linear` 'bf16' rounds the linear layers' operands to bf16 (the reference for native bf16).
 */
export function createTsBackend(precision: 'f32', linear?: LinearPrecision): Backend<Float32Array>;
export function createTsBackend(precision: 'f64', linear?: LinearPrecision): Backend<Float64Array>;
export function createTsBackend(
  precision: TsPrecision,
  linear: LinearPrecision = 'fp32',
): Backend<Float32Array> | Backend<Float64Array> {
  if (linear !== 'fp32' && linear !== 'bf16') {
    throw new InputError(
      `ts backend: expected linear precision 'fp32' or 'bf16', found ${String(linear)}`,
      "use 'fp32'",
    );
  }
  const suffix = linear === 'bf16' ? '-bf16' : '';
  if (precision === 'f32') return makeBackend(`ts-f32${suffix}`, linear, (n) => new Float32Array(n));
  if (precision === 'f64') return makeBackend(`ts-f64${suffix}`, linear, (n) => new Float64Array(n));
  throw new InputError(
    `ts backend: expected precision 'f32' or 'f64', found ${String(precision)}`,
    "use 'f32'",
  );
}

function makeBackend<A extends FloatArray>(
  name: string,
  linearPrecision: LinearPrecision,
  alloc: (n: number) => A,
): Backend<A> {
  let threads = 1;
  const bf16 = linearPrecision === 'bf16';
  return {
    name,
    linearPrecision,
    alloc(n) {
      if (!Number.isInteger(n) || n < 0) {
        throw new InputError(
          `${name}.alloc: expected a non-negative integer size, found ${n}`,
          'check the shape',
        );
      }
      return alloc(n);
    },
    setThreads(n) {
      if (!Number.isInteger(n) || n < 1) {
        throw new InputError(`${name}.setThreads: expected an integer >= 1, found ${n}`, 'pass e.g. 1 or 2');
      }
      threads = n; // recorded only: ts kernels always run on the calling thread
    },
    getThreads: () => threads,
    fill: dense.fill,
    copy: dense.copy,
    scale: dense.scale,
    add: dense.add,
    sumSquares: dense.sumSquares,
    matmul: dense.matmul,
    linearForward: bf16 ? linearForwardBf16 : linearForward,
    linearBackward: bf16 ? linearBackwardBf16 : linearBackward,
    linearInt8Forward,
    linearKbitForward,
    linearSparseForward,
    addBias: dense.addBias,
    biasBackward: dense.biasBackward,
    embeddingForward: dense.embeddingForward,
    embeddingBackward: dense.embeddingBackward,
    gatherRows: dense.gatherRows,
    scatterAddRows: dense.scatterAddRows,
    layernormForward: layers.layernormForward,
    layernormBackward: layers.layernormBackward,
    geluForward: layers.geluForward,
    geluBackward: layers.geluBackward,
    tanhForward: layers.tanhForward,
    tanhBackward: layers.tanhBackward,
    dropoutForward: layers.dropoutForward,
    dropoutBackward: layers.dropoutBackward,
    attentionForward,
    attentionBackward,
    attendOne: decode.attendOne,
    copyRows: decode.copyRows,
    logSoftmaxTopK: decode.logSoftmaxTopK,
    crossEntropy,
    adamw,
  };
}
