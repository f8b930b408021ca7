// bf16 mixed precision of the linear kernels: the rounding itself (nearest even, NaN and overflow),
// native bf16 agreeing with the ts bf16 reference (same rounded operands, fp32 accumulation) at 1 and
// 2 threads on odd, model and LM-head (runtime row count) shapes, and bf16 really being used: its
// results differ from fp32 by bf16's rounding, far more than from the bf16 reference.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bf16MatmulImpl, loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { roundBf16 } from '../../src/engine/ts/linear.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { assertClose, type LinearCase, maxAbs, randn, runLinear } from './native-compare.ts';

const ts32 = createTsBackend('f32');
const tsBf = createTsBackend('f32', 'bf16');

describe('bf16 rounding', () => {
  const cases: [number, number][] = [
    [1, 1],
    [1 + 2 ** -8, 1], // halfway between 1 and 1 + 2^-7: ties to even (1)
    [1 + 3 * 2 ** -8, 1 + 2 ** -6], // halfway between 1 + 2^-7 and 1 + 2^-6: ties to even
    [1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -7], // just above halfway: up
    [-(1 + 2 ** -8 + 2 ** -20), -(1 + 2 ** -7)],
    [3.4028234663852886e38, Number.POSITIVE_INFINITY], // fp32 max rounds past bf16 max
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    [1e-40, 2 ** -133], // subnormal 0x000116c2: the low half (0x16c2) is below halfway
    [0, 0],
  ];
  test('ts reference: nearest, ties to even, overflow to inf, NaN stays NaN', () => {
    for (const [x, want] of cases) assert.equal(roundBf16(x), want, `roundBf16(${x})`);
    assert.ok(Number.isNaN(roundBf16(Number.NaN)));
    assert.ok(Object.is(roundBf16(-0), -0), '-0 keeps its sign');
  });

  // Subnormal inputs are left out: the bf16 dot-product instruction (VDPBF16PS) reads them as zero.
  test('native rounds exactly like the reference (a 1x1 identity layer passes the rounded input)', () => {
    const rng = new Rng(5);
    const normal = cases.map((c) => c[0]).filter((x) => x === 0 || Math.abs(x) >= 2 ** -126);
    const xs = [...normal, Number.NaN, -0, ...randn(rng, 200)];
    const N = xs.length;
    const x = Float32Array.from(xs);
    for (const threads of [1, 2]) {
      const be = loadNativeBackend({ threads, precision: 'bf16' });
      const out = new Float32Array(N);
      be.linearForward(out, x, Float32Array.of(1), null, N, 1, 1);
      for (let i = 0; i < N; i++) {
        const want = roundBf16(x[i]!);
        // === (not Object.is): a GEMM's sum starts at +0, so -0 in gives +0 out
        const same = out[i] === want || (Number.isNaN(out[i]) && Number.isNaN(want));
        assert.ok(same, `threads=${threads} x=${x[i]}: got ${out[i]}, want ${want}`);
      }
    }
  });
});

/** Odd shapes, a layer of the reference model, a widening layer, and an LM head (irregular rows). */
const CASES: LinearCase[] = [
  { N: 7, In: 5, Out: 3 },
  { N: 33, In: 20, Out: 60 },
  { N: 256, In: 64, Out: 192 },
  { N: 300, In: 256, Out: 1024 },
  { N: 301, In: 64, Out: 700 },
];

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('bf16 linear: native agrees with the ts bf16 reference', () => {
  test(`oneDNN has a bf16 matmul here: ${(() => {
    try {
      return bf16MatmulImpl();
    } catch {
      return 'none';
    }
  })()}`, () => {
    assert.match(bf16MatmulImpl(), /\S/);
  });

  for (const c of CASES) {
    for (const accumulate of [false, true]) {
      test(`N=${c.N} In=${c.In} Out=${c.Out} accumulate=${accumulate}`, () => {
        const seed = c.N * 7 + c.In;
        const want = runLinear(tsBf, c, seed, accumulate);
        const fp32 = runLinear(ts32, c, seed, accumulate);
        for (const threads of [2, 1]) {
          const got = runLinear(loadNativeBackend({ threads, precision: 'bf16' }), c, seed, accumulate);
          const tol = (ref: Float32Array, k: number) => ({
            rtol: 1e-5,
            atol: 2e-6 * Math.sqrt(k) * maxAbs(ref),
          });
          assertClose(`threads=${threads} out`, got.out, want.out, tol(want.out, c.In));
          assertClose(`threads=${threads} dinp`, got.dx, want.dx, tol(want.dx, c.Out));
          assertClose(`threads=${threads} dweight`, got.dw, want.dw, tol(want.dw, c.N));
          // the bias gradient sums the fp32 output gradient: as fp32 does
          assertClose(`threads=${threads} dbias`, got.db, fp32.db, tol(fp32.db, c.N));
          // bf16 is really used: fp32 results are far from bf16's (8-bit mantissas) in every product
          if (c.In * c.Out >= 1000) {
            for (const k of ['out', 'dx', 'dw'] as const) {
              const toRef = maxDiff(got[k], want[k]);
              const toFp32 = maxDiff(got[k], fp32[k]);
              assert.ok(
                toFp32 > 20 * toRef,
                `${k}: bf16 result is as close to fp32 (${toFp32}) as to the bf16 reference (${toRef})`,
              );
            }
          }
        }
      });
    }
  }

  test('the ts reference is named for what it does', () => {
    assert.equal(tsBf.linearPrecision, 'bf16');
    assert.equal(loadNativeBackend({ precision: 'bf16' }).linearPrecision, 'bf16');
    assert.equal(loadNativeBackend().linearPrecision, 'fp32');
  });
});
