// The fused linear kernels: float64 finite differences of linearBackward against linearForward (ts),
// forward against matmul + addBias, accumulate/null semantics, and native agreeing with ts at 1 and at
// 2 threads (the 2-thread backward runs its GEMMs as concurrent tasks), on odd and on model shapes.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../src/engine/errors.ts';
import { loadNativeAddon, loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { expectGrad, maxScaledDiff, minus, randn, weightedSum } from './finite-diff.ts';
import { assertClose, assertSameBits, type LinearCase, maxAbs, runLinear } from './native-compare.ts';

const f64 = createTsBackend('f64');
const ts = createTsBackend('f32');
const FD_TOL = 1e-6;

describe('linear (ts, float64)', () => {
  for (const withBias of [true, false]) {
    test(`finite differences of every gradient, bias=${withBias}; forward = matmul + addBias`, () => {
      const rng = new Rng(withBias ? 1 : 2);
      const [N, In, Out] = [5, 4, 3];
      const [x, w, b, R] = [randn(rng, N * In), randn(rng, Out * In), randn(rng, Out), randn(rng, N * Out)];
      const out = f64.alloc(N * Out);
      const L = () => {
        f64.linearForward(out, x, w, withBias ? b : null, N, In, Out);
        return weightedSum(out, R);
      };
      L();
      const ref = f64.alloc(N * Out);
      f64.matmul(ref, x, w, N, Out, In, false, true, 1, false);
      if (withBias) f64.addBias(ref, b, N, Out);
      assert.ok(maxScaledDiff(out, ref) < 1e-15, 'forward differs from matmul + addBias');
      const [dx0, dw0, db0] = [randn(rng, N * In), randn(rng, Out * In), randn(rng, Out)];
      const [dx, dw, db] = [dx0.slice(), dw0.slice(), db0.slice()];
      f64.linearBackward(dx, dw, withBias ? db : null, R, x, w, N, In, Out, true);
      expectGrad('dinp (accumulated)', x, minus(dx, dx0), L, FD_TOL);
      expectGrad('dweight', w, minus(dw, dw0), L, FD_TOL);
      if (withBias) expectGrad('dbias', b, minus(db, db0), L, FD_TOL);
      else assert.deepEqual(db, db0, 'a null dbias leaves nothing to write');
      const over = f64.alloc(N * In).fill(Number.NaN); // accumulate=false must not read dinp
      f64.linearBackward(over, dw0.slice(), null, R, x, w, N, In, Out, false);
      expectGrad('dinp (overwritten)', x, over, L, FD_TOL);
    });
  }
});

/**
 * Odd shapes (tails everywhere), a 1-row case, few rows and many outputs (the forward splits W's
 * columns between 2 threads), and the shapes of one layer of the reference model.
 */
const CASES: LinearCase[] = [
  { N: 7, In: 5, Out: 3 },
  { N: 1, In: 9, Out: 17 },
  { N: 33, In: 20, Out: 60 },
  { N: 24, In: 40, Out: 397 },
  { N: 256, In: 64, Out: 192 },
  { N: 300, In: 256, Out: 1024 },
];

describe('linear: native agrees with ts', () => {
  const n1 = loadNativeBackend({ threads: 1 });
  for (const c of CASES) {
    for (const [accumulate, withDinp] of [
      [false, true],
      [true, true],
      [true, false],
    ] as const) {
      test(`N=${c.N} In=${c.In} Out=${c.Out} accumulate=${accumulate} dinp=${withDinp}`, () => {
        const seed = c.N * 31 + c.Out;
        const want = runLinear(ts, c, seed, accumulate, withDinp);
        const n2 = loadNativeBackend({ threads: 2 });
        const two = runLinear(n2, c, seed, accumulate, withDinp);
        n1.setThreads(1); // the thread count is the addon's: set it right before the run
        const one = runLinear(n1, c, seed, accumulate, withDinp);
        n2.setThreads(2);
        // float sums of In (forward) or N / Out (backward) products; atol scaled to the result
        for (const [name, got] of [
          ['2 threads', two],
          ['1 thread', one],
        ] as const) {
          const tol = (ref: Float32Array, k: number) => ({
            rtol: 1e-5,
            atol: 2e-6 * Math.sqrt(k) * maxAbs(ref),
          });
          assertClose(`${name} out`, got.out, want.out, tol(want.out, c.In));
          assertClose(`${name} dinp`, got.dx, want.dx, tol(want.dx, c.Out));
          assertClose(`${name} dweight`, got.dw, want.dw, tol(want.dw, c.N));
          assertClose(`${name} dbias`, got.db, want.db, tol(want.db, c.N));
        }
        // the bias sum is deterministic: same bits whether split across tasks or columns
        assertSameBits('dbias 1 vs 2 threads', one.db, two.db);
      });
    }
  }

  test('row counts that change every call (the LM head) share one primitive per layer shape', () => {
    const addon = loadNativeAddon();
    const be = loadNativeBackend({ threads: 2 });
    const [In, Out] = [24, 40];
    const runAndCount = (N: number) => {
      runLinear(be, { N, In, Out }, N, false, true);
      return addon.matmulCacheSize();
    };
    runAndCount(301); // plans the runtime-row primitives of this layer shape
    const planned = addon.matmulCacheSize();
    for (const N of [302, 333, 290]) {
      assert.equal(runAndCount(N), planned, `N=${N} planned new primitives`);
      const want = runLinear(ts, { N, In, Out }, N, false, true);
      const got = runLinear(be, { N, In, Out }, N, false, true);
      const tol = (ref: Float32Array) => ({ rtol: 1e-5, atol: 1e-5 * maxAbs(ref) });
      for (const k of ['out', 'dx', 'dw', 'db'] as const)
        assertClose(`N=${N} ${k}`, got[k], want[k], tol(want[k]));
    }
  });

  test('empty shapes: In = 0 gives bias rows and a zero (or kept) dinp; N = 0 changes nothing', () => {
    const be = loadNativeBackend({ threads: 2 });
    const out = new Float32Array(6).fill(Number.NaN);
    be.linearForward(out, new Float32Array(0), new Float32Array(0), Float32Array.of(1, 2, 3), 2, 0, 3);
    assert.deepEqual([...out], [1, 2, 3, 1, 2, 3]);
    const dx = new Float32Array(8).fill(7);
    be.linearBackward(
      dx,
      new Float32Array(0),
      null,
      new Float32Array(0),
      new Float32Array(8),
      new Float32Array(0),
      2,
      4,
      0,
      false,
    );
    assert.deepEqual([...dx], [0, 0, 0, 0, 0, 0, 0, 0]);
    const db = Float32Array.of(1, 1);
    be.linearBackward(
      null,
      new Float32Array(0),
      db,
      Float32Array.of(1, 2, 3, 4),
      new Float32Array(0),
      new Float32Array(0),
      2,
      0,
      2,
      false,
    );
    assert.deepEqual([...db], [5, 7]);
    const dw = Float32Array.of(5, 6);
    be.linearBackward(
      null,
      dw,
      Float32Array.of(1),
      new Float32Array(0),
      new Float32Array(0),
      Float32Array.of(1, 1),
      0,
      2,
      1,
      true,
    );
    assert.deepEqual([...dw], [5, 6]);
  });

  test('bad shapes are InputErrors on both backends', () => {
    for (const be of [ts, loadNativeBackend({ threads: 2 })]) {
      assert.throws(
        () => be.linearForward(new Float32Array(5), new Float32Array(6), new Float32Array(9), null, 2, 3, 3),
        InputError,
      );
      assert.throws(
        () =>
          be.linearBackward(
            null,
            new Float32Array(9),
            new Float32Array(1),
            new Float32Array(6),
            new Float32Array(6),
            new Float32Array(9),
            2,
            3,
            3,
            false,
          ),
        InputError,
      );
    }
  });
});
