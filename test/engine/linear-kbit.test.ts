// The weight-only k-bit inference linear: native (codes unpacked in registers, or dequantized tiles
// through sgemm for many rows) agrees with the ts twin (dequantize, multiply in double) on odd
// shapes, every bit width 2..8, every granularity (groups of 32/64/128, per channel, per tensor),
// sym and asym, at 1 and 2 threads; both equal the dequantized weight times the input; pruned
// elements fold to exact zeros; bad arguments are InputErrors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BIT_WIDTHS, getFormat } from '../../src/compress/quant/formats.ts';
import type { Backend, KbitWeights } from '../../src/engine/backend.ts';
import { InputError } from '../../src/engine/errors.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { kbitFromQuant } from '../../src/infer/kbit-weights.ts';
import { atOneAndTwoThreads, randn } from './native-compare.ts';

const ts = createTsBackend('f32');
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });

function run(
  be: Backend<Float32Array>,
  x: Float32Array,
  w: KbitWeights,
  b: Float32Array | null,
  s: number[],
) {
  const [N, In, Out] = s as [number, number, number];
  const out = new Float32Array(N * Out).fill(Number.NaN);
  be.linearKbitForward(out, x, w, b, N, In, Out);
  return out;
}

/** |native - ts| within 1e-5 of sum |w x| per output (float accumulation vs double). */
function assertNear(label: string, got: Float32Array, want: Float32Array, scale: Float64Array): void {
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 * scale[i]! + 1e-6;
    if (!(Math.abs(got[i]! - want[i]!) <= tol))
      assert.fail(`${label}: element ${i}: native ${got[i]} vs ts ${want[i]} (tol ${tol})`);
  }
}

/** sum over c of |W[o, c] x[n, c]| + |bias|: the scale of each output's rounding error. */
function absScale(
  x: Float32Array,
  W: Float32Array,
  b: Float32Array | null,
  N: number,
  In: number,
  Out: number,
) {
  const s = new Float64Array(N * Out);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Out; o++) {
      let a = b ? Math.abs(b[o]!) : 0;
      for (let c = 0; c < In; c++) a += Math.abs(W[o * In + c]! * x[n * In + c]!);
      s[n * Out + o] = a;
    }
  return s;
}

describe('linearKbitForward', () => {
  // odd widths (bit offsets of rows not byte-aligned, short last groups), 1..4 rows (direct path),
  // widths of whole 64-byte blocks (the lane path of 2/4/8 bits), 5 and 17+ rows (a second block of
  // rows, and the dequantized-tile sgemm path)
  const shapes = [
    [1, 13, 5],
    [1, 200, 33],
    [3, 129, 7],
    [4, 64, 64],
    [5, 77, 19],
    [2, 256, 24], // whole 64-byte blocks per row: the lane path for 2, 4 and 8 bits
    [1, 256, 7], // one row: output rows four at a time, and a remainder of 3
    [1, 512, 3], // one row, fewer output rows than four
    [5, 512, 9],
    [17, 150, 40],
    [70, 256, 96],
  ];
  const grans = ['g32', 'g64', 'g128', 'ch', 'tensor'];

  test('native equals the ts twin: bits 2..8, every granularity, sym and asym, 1 and 2 threads', () => {
    const rng = new Rng(21);
    for (const shape of shapes) {
      const [N, In, Out] = shape as [number, number, number];
      const x = randn(rng, N * In);
      const wf = randn(rng, Out * In, 0.1);
      const b = randn(rng, Out);
      for (const bits of BIT_WIDTHS)
        for (const g of grans)
          for (const sym of ['sym', 'asym']) {
            const f = getFormat(`q${bits}_${g}_${sym}`);
            const q = f.quantize(wf, Out, In);
            const w = kbitFromQuant(q);
            const bias = bits % 2 ? b : null;
            const want = run(ts, x, w, bias, shape);
            const scale = absScale(x, f.dequantize(q), bias, N, In, Out);
            const [one, two] = atOneAndTwoThreads(native(), () => run(native(), x, w, bias, shape));
            assertNear(`${N}x${In}x${Out} ${f.name} (1 thread)`, one, want, scale);
            assertNear(`${N}x${In}x${Out} ${f.name} (2 threads)`, two, want, scale);
          }
    }
  });

  test('many rows over a wide input: several dequantized tiles through sgemm, each with its bias slice', () => {
    const rng = new Rng(24);
    const [N, In, Out] = [20, 4100, 40]; // tiles of 16 output rows: 16 + 16 + 8
    const x = randn(rng, N * In);
    const wf = randn(rng, Out * In, 0.05);
    const b = randn(rng, Out);
    for (const name of ['q4_g32_sym', 'q3_g128_asym', 'q8_ch_sym']) {
      const f = getFormat(name);
      const q = f.quantize(wf, Out, In);
      const w = kbitFromQuant(q);
      const want = run(ts, x, w, b, [N, In, Out]);
      const scale = absScale(x, f.dequantize(q), b, N, In, Out);
      assertNear(`${N}x${In}x${Out} ${name}`, run(native(), x, w, b, [N, In, Out]), want, scale);
    }
  });

  test('the ts twin equals the dequantized weight times the input (the tlc eval path)', () => {
    const rng = new Rng(22);
    const [N, In, Out] = [3, 100, 9];
    const x = randn(rng, N * In);
    const wf = randn(rng, Out * In, 0.2);
    for (const name of ['q4_g32_sym', 'q3_g64_asym', 'q5_ch_asym', 'q2_tensor_sym', 'q8_g128_asym']) {
      const f = getFormat(name);
      const q = f.quantize(wf, Out, In);
      const ref = new Float32Array(N * Out);
      ts.linearForward(ref, x, f.dequantize(q), null, N, In, Out);
      const got = run(ts, x, kbitFromQuant(q), null, [N, In, Out]);
      for (let i = 0; i < ref.length; i++)
        assert.ok(Math.abs(got[i]! - ref[i]!) < 1e-5, `${name} ${i}: ${got[i]} vs ${ref[i]}`);
    }
  });

  test('a pruning mask folds into the codes: dropped weights are exact zeros on both backends', () => {
    const rng = new Rng(23);
    const [N, In, Out] = [2, 70, 11];
    const x = randn(rng, N * In);
    const wf = randn(rng, Out * In, 0.2);
    const mask = Uint8Array.from({ length: Out * In }, (_, i) => (i % 3 === 0 ? 0 : 1));
    for (const name of ['q4_g32_asym', 'q3_g64_sym']) {
      const f = getFormat(name);
      const q = f.quantize(wf, Out, In);
      const deq = f.dequantize(q);
      for (let i = 0; i < deq.length; i++) if (!mask[i]) deq[i] = 0;
      const ref = new Float32Array(N * Out);
      ts.linearForward(ref, x, deq, null, N, In, Out);
      const w = kbitFromQuant(q, mask);
      for (const be of [ts, native()]) {
        const got = run(be, x, w, null, [N, In, Out]);
        for (let i = 0; i < ref.length; i++)
          assert.ok(Math.abs(got[i]! - ref[i]!) < 1e-4, `${be.name} ${name} ${i}: ${got[i]} vs ${ref[i]}`);
      }
    }
  });

  test('wrong lengths and shapes are InputErrors on both backends', () => {
    const q = getFormat('q4_g32_sym').quantize(new Float32Array(64 * 8).fill(0.5), 8, 64);
    const w = kbitFromQuant(q);
    for (const be of [ts, native()]) {
      assert.throws(
        () => be.linearKbitForward(new Float32Array(8), new Float32Array(64), w, null, 1, 64, 9),
        InputError,
      );
      assert.throws(
        () => be.linearKbitForward(new Float32Array(8), new Float32Array(10), w, null, 1, 64, 8),
        InputError,
      );
      assert.throws(
        () =>
          be.linearKbitForward(
            new Float32Array(8),
            new Float32Array(64),
            { ...w, groupsPerRow: 5 },
            null,
            1,
            64,
            8,
          ),
        InputError,
      );
    }
  });
});
