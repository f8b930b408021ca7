// The native backend agrees with the ts reference (f32) on every kernel but attention (see
// native-attention.test.ts) over odd shapes; dropout masks are bit-identical; kernels meant to be
// deterministic give the same bits at 1 and 2 threads. An unbuilt addon FAILS here (SetupError).

import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/engine/backend.ts';
import { InputError, SetupError } from '../../src/engine/errors.ts';
import { loadNativeAddon, loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import {
  assertClose,
  assertSameBits,
  atOneAndTwoThreads,
  EPS32,
  maxAbs,
  randInts,
  randn,
} from './native-compare.ts';

const ts = createTsBackend('f32');
/** Every test loads the addon itself, so a missing build fails each one with the SetupError. */
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });
const EXACT = { rtol: 0, atol: 0 };

describe('loading', () => {
  test('the addon loads; a missing one is a SetupError naming the path and the build command', () => {
    assert.equal(native().name, 'native');
    assert.throws(
      () => loadNativeAddon('/nonexistent/tlc_native.node'),
      (e: unknown) =>
        e instanceof SetupError &&
        e.message.includes('/nonexistent/tlc_native.node') &&
        (e.hint ?? '').includes('bash scripts/bootstrap.sh'),
    );
  });

  test('threads default to all cores and are settable', () => {
    const be = loadNativeBackend();
    assert.equal(be.getThreads(), availableParallelism());
    be.setThreads(1);
    assert.equal(be.getThreads(), 1);
    be.setThreads(2);
    assert.equal(be.getThreads(), 2);
    assert.throws(() => be.setThreads(0), InputError);
    assert.throws(() => be.setThreads(1.5), InputError);
  });

  test('alloc returns zero-filled, 64-byte aligned Float32Arrays', () => {
    const addon = loadNativeAddon();
    for (const n of [0, 1, 3, 17, 1000, 12345]) {
      const a = native().alloc(n);
      assert.ok(a instanceof Float32Array);
      assert.equal(a.length, n);
      assert.ok(a.every((x) => x === 0));
      if (n > 0)
        assert.equal(addon.addressMod64(new Uint8Array(a.buffer, a.byteOffset, 1)), 0, `alloc(${n})`);
    }
  });

  test('bad arguments are InputErrors, as in the ts backend', () => {
    const be = native();
    assert.throws(() => be.fill(new Float32Array(3), 1, 4), InputError);
    const out = new Float32Array(8);
    const wte = new Float32Array(3 * 4);
    assert.throws(
      () => be.embeddingForward(out, Int32Array.of(0, 3), wte, null, 1, 2, 4),
      /outside \[0, 3\)/,
    );
    assert.throws(() => ts.embeddingForward(out, Int32Array.of(0, 3), wte, null, 1, 2, 4), InputError);
    assert.throws(() => be.fill(new Float64Array(3) as unknown as Float32Array, 1, 3), /Float32Array/);
  });
});

describe('elementwise', () => {
  test('fill, copy, add (aliased too) are exact; scale within one rounding', () => {
    const rng = new Rng(1);
    const be = native();
    for (const n of [1, 7, 33, 100003]) {
      const a = randn(rng, n);
      const b = randn(rng, n);
      const [x1, x2] = [a.slice(), a.slice()];
      be.fill(x1, 0.3, n - 1);
      ts.fill(x2, 0.3, n - 1);
      assertClose('fill', x1, x2, EXACT);
      be.copy(x1, b, n);
      ts.copy(x2, b, n);
      assertClose('copy', x1, x2, EXACT);
      be.scale(x1, -0.37, n);
      ts.scale(x2, -0.37, n);
      assertClose('scale', x1, x2, { rtol: 2 * EPS32, atol: 0 });
      const [o1, o2] = [new Float32Array(n), new Float32Array(n)];
      be.add(o1, a, b, n);
      ts.add(o2, a, b, n);
      assertClose('add', o1, o2, EXACT);
      const [y1, y2] = [b.slice(), b.slice()];
      be.add(y1, a, y1, n); // out aliases b
      ts.add(y2, a, y2, n);
      assertClose('add aliased', y1, y2, EXACT);
    }
  });

  test('sumSquares matches in double (rel 1e-12) and is bit-identical at 1 and 2 threads', () => {
    const rng = new Rng(2);
    for (const n of [0, 1, 7, 8193, 300001]) {
      const x = randn(rng, n, 3);
      assertClose('sumSquares', [native().sumSquares(x, n)], [ts.sumSquares(x, n)], { rtol: 1e-12, atol: 0 });
      const [one, two] = atOneAndTwoThreads(native(), () => native().sumSquares(x, n));
      assert.ok(Object.is(one, two), `sumSquares n=${n}: ${one} at 1 thread vs ${two} at 2`);
    }
  });

  test('gelu and tanh forward/backward within rel 1e-5 (dinp may alias dout)', () => {
    const rng = new Rng(3);
    const n = 40001;
    const x = randn(rng, n, 3);
    x.set([0, -0, 12, -12, 40, -40, 1e-8, -1e-8]);
    const dout = randn(rng, n);
    const tol = { rtol: 1e-5, atol: 1e-7 };
    for (const [fwd, bwd] of [
      ['geluForward', 'geluBackward'],
      ['tanhForward', 'tanhBackward'],
    ] as const) {
      const [y1, y2] = [new Float32Array(n), new Float32Array(n)];
      native()[fwd](y1, x, n);
      ts[fwd](y2, x, n);
      assertClose(fwd, y1, y2, tol);
      const [d1, d2] = [dout.slice(), dout.slice()];
      const saved = bwd === 'geluBackward' ? x : y2; // gelu uses the input, tanh the saved output
      native()[bwd](d1, saved, d1, n);
      ts[bwd](d2, saved, d2, n);
      assertClose(bwd, d1, d2, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  test('dropout masks are bit-identical to rng.ts; outputs and gradients exact', () => {
    const rng = new Rng(4);
    const n = 50003;
    const x = randn(rng, n);
    for (const [p, seed] of [
      [0, 7],
      [0.1, 0xdeadbeef],
      [0.5, -5],
      [0.999, 2 ** 32 + 3],
    ] as const) {
      const [o1, o2] = [new Float32Array(n), new Float32Array(n)];
      const [m1, m2] = [new Uint8Array(n), new Uint8Array(n)];
      native().dropoutForward(o1, m1, x, p, seed, n);
      ts.dropoutForward(o2, m2, x, p, seed, n);
      assertSameBits(`dropout mask p=${p}`, m1, m2);
      assertSameBits(`dropout out p=${p}`, o1, o2);
      if (p === 0) assertSameBits('p = 0 copies', o1, x);
      const [d1, d2] = [x.slice(), x.slice()];
      native().dropoutBackward(d1, d1, m1, p, n);
      ts.dropoutBackward(d2, d2, m2, p, n);
      assertSameBits(`dropout backward p=${p}`, d1, d2);
    }
    assert.throws(
      () => native().dropoutForward(new Float32Array(1), new Uint8Array(1), x, 1, 0, 1),
      InputError,
    );
  });

  test('adamw over three steps within rel 1e-6 (the last with a clipping gradScale)', () => {
    const rng = new Rng(5);
    const n = 10007;
    const [p1, m1, v1] = [randn(rng, n), new Float32Array(n), new Float32Array(n)];
    const [p2, m2, v2] = [p1.slice(), new Float32Array(n), new Float32Array(n)];
    for (let step = 1; step <= 3; step++) {
      const g = randn(rng, n, 0.1);
      const h = {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        step,
        gradScale: step === 3 ? 0.3 : 1,
      };
      native().adamw(p1, g, m1, v1, n, h);
      ts.adamw(p2, g, m2, v2, n, h);
    }
    const tol = { rtol: 1e-6, atol: 1e-9 };
    assertClose('adamw m', m1, m2, tol);
    assertClose('adamw v', v1, v2, tol);
    assertClose('adamw param', p1, p2, tol);
  });
});

describe('matmul', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [33, 17, 65],
    [1, 100, 37],
    [129, 3, 257],
    [64, 48, 130],
  ];

  test('all transposes, alpha and accumulate, within 4 sqrt(K) eps of the output scale', () => {
    const rng = new Rng(6);
    let k = 0;
    for (const [M, N, K] of shapes) {
      const a = randn(rng, M * K);
      const b = randn(rng, K * N);
      const c0 = randn(rng, M * N);
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const acc of [false, true]) {
            const alpha = [1, 0.37, -2][k++ % 3]!;
            const [c1, c2] = [c0.slice(), c0.slice()];
            native().matmul(c1, a, b, M, N, K, ta, tb, alpha, acc);
            ts.matmul(c2, a, b, M, N, K, ta, tb, alpha, acc);
            // outputs are ~ |alpha| sqrt(K) in size; float accumulation error ~ sqrt(K) eps of that
            const atol = 4 * Math.sqrt(K) * EPS32 * Math.abs(alpha) * Math.sqrt(K) + 2 * EPS32 * maxAbs(c0);
            assertClose(`matmul ${M}x${N}x${K} ta=${ta} tb=${tb} alpha=${alpha} acc=${acc}`, c1, c2, {
              rtol: 0,
              atol,
            });
          }
        }
      }
    }
  });

  test('K = 0 gives zero (or leaves C when accumulating); a repeated shape reuses its primitive', () => {
    const c = Float32Array.of(1, 2, 3, 4);
    native().matmul(c, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, 1, true);
    assert.deepEqual(Array.from(c), [1, 2, 3, 4]);
    native().matmul(c, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, 1, false);
    assert.deepEqual(Array.from(c), [0, 0, 0, 0]);
    const addon = loadNativeAddon();
    const rng = new Rng(7);
    const [a, b, out] = [randn(rng, 11 * 9), randn(rng, 9 * 5), new Float32Array(11 * 5)];
    native().matmul(out, a, b, 11, 5, 9, false, true, 0.5, false);
    const size = addon.matmulCacheSize();
    native().matmul(out, a, b, 11, 5, 9, false, true, 0.5, false);
    assert.equal(addon.matmulCacheSize(), size);
    native().matmul(out, a, b, 11, 5, 9, false, true, 0.25, false);
    assert.equal(addon.matmulCacheSize(), size + 1);
  });
});

describe('rows, embeddings, layernorm', () => {
  test('addBias exact; biasBackward rel 1e-6 and bit-identical at 1 and 2 threads', () => {
    const rng = new Rng(8);
    for (const [N, C] of [
      [1, 1],
      [5, 13],
      [300, 131],
    ] as const) {
      const x = randn(rng, N * C);
      const bias = randn(rng, C);
      const [x1, x2] = [x.slice(), x.slice()];
      native().addBias(x1, bias, N, C);
      ts.addBias(x2, bias, N, C);
      assertClose('addBias', x1, x2, EXACT);
      const [d1, d2] = [bias.slice(), bias.slice()];
      native().biasBackward(d1, x, N, C);
      ts.biasBackward(d2, x, N, C);
      assertClose('biasBackward', d1, d2, { rtol: 1e-6, atol: 1e-6 });
      const [one, two] = atOneAndTwoThreads(native(), () => {
        const d = bias.slice();
        native().biasBackward(d, x, N, C);
        return d;
      });
      assertSameBits('biasBackward threads', one, two);
    }
  });

  test('embedding forward/backward with repeated ids, with and without wpe, T = 1', () => {
    const rng = new Rng(9);
    for (const [B, T, C, V, withPe] of [
      [2, 5, 7, 3, true],
      [3, 1, 16, 50, false],
      [4, 37, 67, 11, true],
    ] as const) {
      const tokens = randInts(rng, B * T, V);
      tokens[0] = tokens[B * T - 1] = 0; // at least one repeat
      const wte = randn(rng, V * C);
      const wpe = withPe ? randn(rng, T * C) : null;
      const [o1, o2] = [new Float32Array(B * T * C), new Float32Array(B * T * C)];
      native().embeddingForward(o1, tokens, wte, wpe, B, T, C);
      ts.embeddingForward(o2, tokens, wte, wpe, B, T, C);
      assertClose('embeddingForward', o1, o2, EXACT);
      const dout = randn(rng, B * T * C);
      const te1 = randn(rng, V * C);
      const te2 = te1.slice();
      const pe1 = withPe ? randn(rng, T * C) : null;
      const pe2 = pe1 ? pe1.slice() : null;
      native().embeddingBackward(te1, pe1, dout, tokens, B, T, C);
      ts.embeddingBackward(te2, pe2, dout, tokens, B, T, C);
      // both add rows in position order in float: the same roundings
      assertClose('embeddingBackward dwte', te1, te2, EXACT);
      if (pe1 && pe2) assertClose('embeddingBackward dwpe', pe1, pe2, EXACT);
    }
  });

  test('gatherRows and scatterAddRows with repeated indices (exact)', () => {
    const rng = new Rng(10);
    for (const [rows, n, C] of [
      [3, 8, 5],
      [40, 1000, 33],
    ] as const) {
      const inp = randn(rng, rows * C);
      const idx = randInts(rng, n, rows);
      idx[1] = idx[0]!;
      const [g1, g2] = [new Float32Array(n * C), new Float32Array(n * C)];
      native().gatherRows(g1, inp, idx, n, C);
      ts.gatherRows(g2, inp, idx, n, C);
      assertClose('gatherRows', g1, g2, EXACT);
      const dout = randn(rng, n * C);
      const [s1, s2] = [inp.slice(), inp.slice()];
      native().scatterAddRows(s1, dout, idx, n, C);
      ts.scatterAddRows(s2, dout, idx, n, C);
      assertClose('scatterAddRows', s1, s2, EXACT);
      const [one, two] = atOneAndTwoThreads(native(), () => {
        const s = inp.slice();
        native().scatterAddRows(s, dout, idx, n, C);
        return s;
      });
      assertSameBits('scatterAddRows threads', one, two);
    }
  });

  test('layernorm forward/backward within rel 1e-5; parameter grads bit-identical at 1 and 2 threads', () => {
    const rng = new Rng(11);
    for (const [N, C] of [
      [1, 1],
      [3, 7],
      [257, 129],
    ] as const) {
      const x = randn(rng, N * C, 2);
      for (let i = 0; i < C; i++) x[i] = x[i]! + 5; // an offset row
      const [w, b] = [randn(rng, C), randn(rng, C)];
      const f = [0, 1].map(() => ({
        out: new Float32Array(N * C),
        mean: new Float32Array(N),
        rstd: new Float32Array(N),
      }));
      native().layernormForward(f[0]!.out, f[0]!.mean, f[0]!.rstd, x, w, b, N, C);
      ts.layernormForward(f[1]!.out, f[1]!.mean, f[1]!.rstd, x, w, b, N, C);
      assertClose('layernorm out', f[0]!.out, f[1]!.out, { rtol: 1e-5, atol: 1e-5 });
      assertClose('layernorm mean', f[0]!.mean, f[1]!.mean, { rtol: 1e-6, atol: 1e-6 });
      assertClose('layernorm rstd', f[0]!.rstd, f[1]!.rstd, { rtol: 1e-6, atol: 0 });
      const dout = randn(rng, N * C);
      const init = [randn(rng, N * C), randn(rng, C), randn(rng, C)] as const;
      const run = (be: Backend<Float32Array>): Float32Array[] => {
        const g = init.map((a) => a.slice());
        be.layernormBackward(g[0]!, g[1]!, g[2]!, dout, x, w, f[1]!.mean, f[1]!.rstd, N, C);
        return g;
      };
      const [g1, g2] = [run(native()), run(ts)];
      const scale = maxAbs(dout) * maxAbs(w) * maxAbs(f[1]!.rstd);
      assertClose('layernorm dinp', g1[0]!, g2[0]!, { rtol: 1e-5, atol: 1e-5 * scale });
      // ts rounds dweight/dbias to float after every row: a random walk of N roundings of the partial sums
      const sumTol = (i: number) => ({
        rtol: 0,
        atol: 4 * Math.sqrt(N) * EPS32 * (maxAbs(g2[i]!) + maxAbs(init[i]!)),
      });
      assertClose('layernorm dweight', g1[1]!, g2[1]!, sumTol(1));
      assertClose('layernorm dbias', g1[2]!, g2[2]!, sumTol(2));
      const [one, two] = atOneAndTwoThreads(native(), () => run(native()));
      for (let i = 0; i < 3; i++) assertSameBits(`layernormBackward threads [${i}]`, one[i]!, two[i]!);
    }
  });
});

describe('crossEntropy', () => {
  test('loss, row losses and dlogits within rel 1e-5, with ignoreIndex, smoothing and extreme logits', () => {
    const rng = new Rng(12);
    for (const [N, V, eps] of [
      [1, 1, 0],
      [9, 37, 0],
      [9, 37, 0.1],
      [64, 301, 0.2],
    ] as const) {
      const logits = randn(rng, N * V, 3);
      logits[0] = 80;
      if (V > 1) logits[1] = -80;
      const targets = randInts(rng, N, V);
      if (N > 2) targets[2] = -100;
      if (N > 3) targets[3] = targets[4]!;
      const run = (be: Backend<Float32Array>, full: boolean) => {
        const dlogits = full ? new Float32Array(N * V).fill(9) : null;
        const losses = full ? new Float32Array(N).fill(9) : null;
        const r = be.crossEntropy(logits, targets, N, V, {
          ignoreIndex: -100,
          labelSmoothing: eps,
          dlogits,
          gradScale: 0.5,
          losses,
        });
        return { ...r, dlogits, losses };
      };
      for (const full of [true, false]) {
        const [a, b] = [run(native(), full), run(ts, full)];
        assert.equal(a.count, b.count);
        assertClose('ce sum', [a.sum], [b.sum], { rtol: 1e-6, atol: 1e-6 });
        if (a.losses && b.losses) assertClose('ce losses', a.losses, b.losses, { rtol: 1e-5, atol: 1e-6 });
        if (a.dlogits && b.dlogits)
          assertClose('ce dlogits', a.dlogits, b.dlogits, { rtol: 1e-5, atol: 1e-7 });
      }
      if (N > 2)
        assert.ok(
          run(native(), true)
            .dlogits!.subarray(2 * V, 3 * V)
            .every((x) => x === 0),
        );
      const [one, two] = atOneAndTwoThreads(native(), () => run(native(), true));
      assert.ok(Object.is(one.sum, two.sum), `ce sum: ${one.sum} at 1 thread vs ${two.sum} at 2`);
      assertSameBits('ce dlogits threads', one.dlogits!, two.dlogits!);
    }
  });
});
