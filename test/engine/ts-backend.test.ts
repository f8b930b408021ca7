// The ts backend as a whole: the f32 build agrees with f64 within float32 rounding on a few kernels,
// the small elementwise ops match naive loops, AdamW matches PyTorch's update, setup calls validate.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AttnShape, Backend, FloatArray } from '../../src/engine/backend.ts';
import { InputError } from '../../src/engine/errors.ts';
import { gradClipScale } from '../../src/engine/optim.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { maxScaledDiff, randn } from './finite-diff.ts';

/**
 * f32 vs f64 on the same (f32-representable) inputs, as max |diff| / max |f64|. The ts backend
 * sums in double in both precisions, so only stored values (outputs and saved statistics) are
 * rounded: errors stay a few float32 ulps (~6e-8 each); 1e-6 leaves room, a wrong formula does not fit.
 */
const F32_TOL = 1e-6;

/** AdamW against the hand-written PyTorch update in float64: only rounding order differs. */
const FWD_TOL = 1e-12;

const f32 = createTsBackend('f32');
const f64 = createTsBackend('f64');

/** The same random values as a Float32Array and as the Float64Array of those f32 values. */
function pair(rng: Rng, n: number, s = 1): [Float32Array, Float64Array] {
  const a = Float32Array.from(randn(rng, n, s));
  return [a, Float64Array.from(a)];
}

function close(name: string, a: FloatArray, b: FloatArray, tol = F32_TOL): void {
  const e = maxScaledDiff(a, b);
  assert.ok(e < tol, `${name}: f32 vs f64 scaled difference ${e.toExponential(2)} >= ${tol}`);
}

test('backends report their names and allocate zeroed buffers of their precision', () => {
  assert.ok(f32.alloc(3) instanceof Float32Array);
  assert.ok(f64.alloc(3) instanceof Float64Array);
  assert.deepEqual(Array.from(f64.alloc(4)), [0, 0, 0, 0]);
  assert.notEqual(f32.name, f64.name);
  assert.throws(() => f32.alloc(-1), InputError);
});

test('setThreads records the count (kernels still run on one thread); bad counts are InputErrors', () => {
  const be = createTsBackend('f32');
  assert.equal(be.getThreads(), 1);
  be.setThreads(2);
  assert.equal(be.getThreads(), 2);
  assert.equal(createTsBackend('f32').getThreads(), 1, 'no state shared between backends');
  assert.throws(() => be.setThreads(0), InputError);
  assert.throws(() => be.setThreads(1.5), InputError);
});

test('fill, copy, scale, add (aliasing), sumSquares against naive loops', () => {
  const rng = new Rng(1);
  const n = 13;
  const [a, b] = [randn(rng, n), randn(rng, n)];
  const x = f64.alloc(n + 2); // the trailing 2 must be left alone
  f64.fill(x, 2.5, n);
  assert.deepEqual(Array.from(x), [...Array(n).fill(2.5), 0, 0]);
  f64.copy(x, a, n);
  assert.deepEqual(x.subarray(0, n), a);
  f64.scale(x, -3, n);
  for (let i = 0; i < n; i++) assert.equal(x[i], -3 * a[i]!);
  const s = a.slice();
  f64.add(s, s, b, n); // out aliases a
  for (let i = 0; i < n; i++) assert.equal(s[i], a[i]! + b[i]!);
  const ss = a.reduce((acc, v) => acc + v * v, 0);
  assert.ok(Math.abs(f64.sumSquares(a, n) - ss) < 1e-12 * ss);
  const big = new Float32Array(1 << 16).fill(0.1); // a float32 accumulator would drift visibly here
  const want = (1 << 16) * Math.fround(0.1) ** 2;
  assert.ok(
    Math.abs(f32.sumSquares(big, big.length) - want) < 1e-9 * want,
    'sumSquares accumulates in double',
  );
});

test('f32 matches f64: matmul (all transposes), layernorm, gelu', () => {
  const rng = new Rng(2);
  const [M, N, K] = [5, 6, 37];
  const [a32, a64] = pair(rng, M * K);
  const [b32, b64] = pair(rng, K * N);
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      const [c32, c64] = [f32.alloc(M * N), f64.alloc(M * N)];
      f32.matmul(c32, a32, b32, M, N, K, tA, tB, 0.5, false);
      f64.matmul(c64, a64, b64, M, N, K, tA, tB, 0.5, false);
      close(`matmul ${tA} ${tB}`, c32, c64);
    }
  }
  const [R, C] = [4, 11];
  const [x32, x64] = pair(rng, R * C, 3);
  const [w32, w64] = pair(rng, C);
  const [bi32, bi64] = pair(rng, C);
  const o32 = [f32.alloc(R * C), f32.alloc(R), f32.alloc(R)] as const;
  const o64 = [f64.alloc(R * C), f64.alloc(R), f64.alloc(R)] as const;
  f32.layernormForward(o32[0], o32[1], o32[2], x32, w32, bi32, R, C);
  f64.layernormForward(o64[0], o64[1], o64[2], x64, w64, bi64, R, C);
  for (const i of [0, 1, 2]) close(`layernorm output ${i} (out, mean, rstd)`, o32[i]!, o64[i]!);
  const [g32, g64] = [f32.alloc(R * C), f64.alloc(R * C)];
  f32.geluForward(g32, x32, R * C);
  f64.geluForward(g64, x64, R * C);
  close('gelu', g32, g64);
});

function runCrossEntropy<A extends FloatArray>(
  be: Backend<A>,
  logits: A,
  targets: Int32Array,
  N: number,
  V: number,
) {
  const [dlogits, losses] = [be.alloc(N * V), be.alloc(N)];
  const opts = { ignoreIndex: -1, labelSmoothing: 0.1, gradScale: 1 / 3, dlogits, losses };
  return { ...be.crossEntropy(logits, targets, N, V, opts), dlogits, losses };
}

test('f32 matches f64: attention (causal, masked) and crossEntropy', () => {
  const rng = new Rng(3);
  const s: AttnShape = { B: 2, Tq: 5, Tk: 5, C: 6, NH: 2, causal: true, qStride: 6, kStride: 6, vStride: 6 };
  const mask = Uint8Array.from([1, 1, 0, 1, 1, 1, 1, 1, 1, 0]);
  const [q32, q64] = pair(rng, 60);
  const [k32, k64] = pair(rng, 60);
  const [v32, v64] = pair(rng, 60);
  const [out32, p32, out64, p64] = [f32.alloc(60), f32.alloc(100), f64.alloc(60), f64.alloc(100)];
  f32.attentionForward(out32, p32, q32, k32, v32, mask, s);
  f64.attentionForward(out64, p64, q64, k64, v64, mask, s);
  close('attention out', out32, out64);
  close('attention probs', p32, p64);
  const [N, V] = [4, 9];
  const [l32, l64] = pair(rng, N * V, 3);
  const targets = Int32Array.from([2, -1, 8, 0]);
  const [r32, r64] = [runCrossEntropy(f32, l32, targets, N, V), runCrossEntropy(f64, l64, targets, N, V)];
  assert.equal(r32.count, 3);
  assert.ok(Math.abs(r32.sum - r64.sum) < F32_TOL * Math.abs(r64.sum), 'crossEntropy sum');
  close('crossEntropy dlogits', r32.dlogits, r64.dlogits);
  close('crossEntropy losses', r32.losses, r64.losses);
});

describe('adamw', () => {
  const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 3 };

  test("one step equals PyTorch's update order: decay p, update moments, step by lr/bc1 * m/(sqrt(v)/sqrt(bc2)+eps)", () => {
    const rng = new Rng(90);
    const n = 9;
    const [p, g, m] = [randn(rng, n), randn(rng, n), randn(rng, n, 0.1)];
    const v = randn(rng, n, 0.1).map((x) => x * x);
    const [p0, m0, v0] = [p.slice(), m.slice(), v.slice()];
    f64.adamw(p, g, m, v, n, h);
    const [bc1, bc2] = [1 - 0.9 ** 3, 1 - 0.999 ** 3];
    for (let i = 0; i < n; i++) {
      const mi = 0.9 * m0[i]! + 0.1 * g[i]!;
      const vi = 0.999 * v0[i]! + 0.001 * g[i]! ** 2;
      const decayed = p0[i]! * (1 - h.lr * h.weightDecay);
      const want = decayed - (h.lr / bc1) * (mi / (Math.sqrt(vi) / Math.sqrt(bc2) + h.eps));
      assert.ok(Math.abs(m[i]! - mi) < FWD_TOL && Math.abs(v[i]! - vi) < FWD_TOL, `moments of ${i}`);
      assert.ok(Math.abs(p[i]! - want) < FWD_TOL, `param ${i}: ${p[i]}, expected ${want}`);
    }
  });

  test('gradScale s gives the update of the gradients multiplied by s beforehand', () => {
    const rng = new Rng(91);
    const n = 7;
    const [p, g] = [randn(rng, n), randn(rng, n)];
    const [m, v] = [randn(rng, n, 0.1), randn(rng, n, 0.1).map((x) => x * x)];
    const [p2, m2, v2] = [p.slice(), m.slice(), v.slice()];
    f64.adamw(p, g, m, v, n, { ...h, gradScale: 0.25 });
    f64.adamw(
      p2,
      g.map((x) => x * 0.25),
      m2,
      v2,
      n,
      h,
    );
    assert.deepEqual([...p, ...m, ...v], [...p2, ...m2, ...v2]);
    const p3 = p.slice();
    f64.adamw(p3, g, m.slice(), v.slice(), n, { ...h, step: 4 });
    f64.adamw(p, g, m, v, n, { ...h, step: 4, gradScale: 1 });
    assert.deepEqual([...p3], [...p], 'gradScale defaults to 1');
  });

  test('gradClipScale: the norm, the factor that clips it, and the gradients untouched', () => {
    const g = Float64Array.from([3, 4, 0]);
    const r = gradClipScale(f64, g, 3, 1);
    assert.equal(r.norm, 5);
    assert.ok(Math.abs(r.scale - 1 / (5 + 1e-6)) < 1e-15, `scale ${r.scale}`);
    assert.deepEqual([...g], [3, 4, 0], 'the gradients are not scaled here');
    assert.equal(gradClipScale(f64, g, 3, 10).scale, 1, 'within maxNorm: no clipping');
    assert.equal(gradClipScale(f64, g, 3, 0).scale, 1, 'maxNorm 0 turns clipping off');
    const bad = gradClipScale(f64, Float64Array.from([Number.NaN, 1]), 2, 1);
    assert.ok(Number.isNaN(bad.norm) && bad.scale === 1, 'a NaN norm is reported, not used to scale');
  });

  test('first step from zero moments moves each weight by about lr * sign(g) plus decay', () => {
    const [p, g] = [Float64Array.from([1, -2, 0.5]), Float64Array.from([0.3, -4, 1e-3])];
    const [m, v] = [f64.alloc(3), f64.alloc(3)];
    f64.adamw(p, g, m, v, 3, { ...h, step: 1 });
    const want = [
      1 - 1e-2 * (0.3 / (0.3 + 1e-8) + 0.1),
      -2 - 1e-2 * (-4 / (4 + 1e-8) - 0.2),
      0.5 - 1e-2 * (1e-3 / (1e-3 + 1e-8) + 0.05),
    ];
    want.forEach((w, i) => {
      assert.ok(Math.abs(p[i]! - w) < FWD_TOL, `param ${i}: ${p[i]}, expected ${w}`);
    });
  });
});
