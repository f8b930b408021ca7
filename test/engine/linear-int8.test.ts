// The int8 x int8 inference linear kernel: native (oneDNN u8s8s32) agrees with the ts twin to float
// rounding on odd shapes, one row and both thread counts; the int8 result stays close to the fp32
// linear; and the outlier guard keeps a layer with a few large input channels in top-1 agreement.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getFormat } from '../../src/compress/quant/formats.ts';
import { argmaxRow } from '../../src/engine/argmax.ts';
import type { Backend, Int8Weights } from '../../src/engine/backend.ts';
import { InputError } from '../../src/engine/errors.ts';
import { int8Weights } from '../../src/engine/int8.ts';
import { loadNativeAddon, loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { int8FromQuant } from '../../src/infer/int8-weights.ts';
import { assertClose, atOneAndTwoThreads, EPS32, randn } from './native-compare.ts';

const ts = createTsBackend('f32');
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });

function quantize(w: Float32Array, rows: number, cols: number): Int8Weights {
  return int8FromQuant('w', getFormat('q8_ch_sym').quantize(w, rows, cols));
}

function run(
  be: Backend<Float32Array>,
  x: Float32Array,
  w: Int8Weights,
  b: Float32Array | null,
  shape: number[],
  thr: number,
) {
  const [N, In, Out] = shape as [number, number, number];
  const out = new Float32Array(N * Out).fill(Number.NaN);
  be.linearInt8Forward(out, x, w, b, N, In, Out, thr);
  return out;
}

/** ||a - b|| / ||b|| */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

describe('linearInt8Forward', () => {
  const shapes = [
    [1, 256, 256],
    [1, 13, 5],
    [3, 200, 10], // few rows (the VNNI dot-product path): a 64-code tail, 4 + 4 + 2 output rows
    [4, 64, 7],
    [7, 29, 31],
    [64, 64, 48],
    [128, 256, 768],
    [130, 512, 17],
  ];

  test('native equals the ts twin within float rounding, at 1 and 2 threads, with and without outliers', () => {
    const rng = new Rng(11);
    for (const shape of shapes) {
      const [N, In, Out] = shape as [number, number, number];
      const x = randn(rng, N * In);
      for (let j = 0; j < In; j += 17) x[(j * 7) % (N * In)] = 40 * (j % 2 ? 1 : -1); // a few big values
      const w = quantize(randn(rng, Out * In, 0.1), Out, In);
      const b = randn(rng, Out);
      for (const thr of [Number.POSITIVE_INFINITY, 6]) {
        for (const bias of [b, null]) {
          const want = run(ts, x, w, bias, shape, thr);
          const [one, two] = atOneAndTwoThreads(native(), () => run(native(), x, w, bias, shape, thr));
          const label = `${N}x${In}x${Out} thr=${thr} bias=${bias !== null}`;
          assertClose(`${label} (1 thread)`, one, want, { rtol: EPS32, atol: 1e-6 });
          assertClose(`${label} (2 threads)`, two, want, { rtol: EPS32, atol: 1e-6 });
        }
      }
    }
  });

  test('the int8 product is within 2% (relative Frobenius error) of the fp32 linear', () => {
    const rng = new Rng(12);
    for (const shape of shapes) {
      const [N, In, Out] = shape as [number, number, number];
      if (In < 64) continue; // a handful of terms has no meaningful relative error
      const x = randn(rng, N * In);
      const wf = randn(rng, Out * In, 0.05);
      const b = randn(rng, Out, 0.1);
      const ref = new Float32Array(N * Out);
      ts.linearForward(ref, x, wf, b, N, In, Out);
      const got = run(native(), x, quantize(wf, Out, In), b, shape, Number.POSITIVE_INFINITY);
      const e = relErr(got, ref);
      assert.ok(e < 0.02, `${N}x${In}x${Out}: relative error ${e.toFixed(4)} >= 0.02`);
    }
  });

  test('outlier guard: a layer whose input has 3 large channels keeps top-1 agreement with fp32', () => {
    // 64 inputs ~ N(0, 1) carry the signal; channels 5, 20 and 41 sit near +-60 in every row (as
    // LayerNorm outlier dimensions do) and add an almost constant shift through small weights.
    // Reference: the fp32 linear with the same int8 weights dequantized (what activation
    // quantization must preserve); the fp32 weights' own agreement is the ceiling it can reach.
    const rng = new Rng(13);
    const [N, In, Out] = [400, 64, 10];
    const x = randn(rng, N * In);
    for (let n = 0; n < N; n++)
      for (const [j, v] of [
        [5, 60],
        [20, -55],
        [41, 70],
      ] as const)
        x[n * In + j] = v + rng.normal();
    const wf = randn(rng, Out * In, 0.3);
    for (let o = 0; o < Out; o++) for (const j of [5, 20, 41]) wf[o * In + j] = 0.02 * rng.normal();
    const q = getFormat('q8_ch_sym').quantize(wf, Out, In);
    const linear = (wt: Float32Array) => {
      const y = new Float32Array(N * Out);
      ts.linearForward(y, x, wt, null, N, In, Out);
      return y;
    };
    const [fp32, deq] = [linear(wf), linear(getFormat('q8_ch_sym').dequantize(q))];
    const agree = (a: Float32Array, b: Float32Array) => {
      let same = 0;
      for (let n = 0; n < N; n++) same += Number(argmaxRow(a, n * Out, Out) === argmaxRow(b, n * Out, Out));
      return same / N;
    };
    const int8 = (thr: number) => run(native(), x, int8FromQuant('w', q), null, [N, In, Out], thr);
    const [plain, guarded] = [int8(Number.POSITIVE_INFINITY), int8(6)];
    const p = agree(plain, deq);
    assert.ok(p < 0.95, `per-token int8 alone agreed on ${p} of rows: the case does not test the guard`);
    assert.ok(
      agree(guarded, deq) >= 0.99,
      `guarded int8 vs fp32 (int8 weights): ${agree(guarded, deq)} < 0.99`,
    );
    const ceiling = agree(deq, fp32);
    assert.ok(
      agree(guarded, fp32) >= ceiling - 0.01,
      `guarded vs fp32: ${agree(guarded, fp32)}, weights alone ${ceiling}`,
    );
  });

  test('oneDNN runs the u8s8s32 product with an int8 implementation; bad weights are InputErrors', () => {
    assert.match(loadNativeAddon().int8MatmulImpl(), /int8|vnni|avx512|gemm/);
    assert.throws(() => int8Weights(Int8Array.of(1, -128), Float32Array.of(1), 1, 2), InputError);
    assert.throws(() => int8Weights(Int8Array.of(1, 2), Float32Array.of(1, 1), 1, 2), InputError);
    const w = int8Weights(Int8Array.of(1, -2, 3, 4), Float32Array.of(1, 1), 2, 2);
    assert.deepEqual([...w.rowSums], [-1, 7]);
    assert.throws(
      () => native().linearInt8Forward(new Float32Array(1), new Float32Array(2), w, null, 1, 2, 2, 6),
      InputError,
    );
  });
});
