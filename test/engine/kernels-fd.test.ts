// Finite-difference checks (float64 ts backend) of every non-attention backward kernel, plus forward
// checks against independent naive formulas where a backward check cannot see a forward bug.
// Attention lives in attention-fd.test.ts; f32-vs-f64 agreement and AdamW in ts-backend.test.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../src/engine/errors.ts';
import { dropoutThreshold, hash32, Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { expectGrad, maxScaledDiff, minus, randn, weightedSum } from './finite-diff.ts';

/** Max relative error allowed between analytic gradients and float64 central differences (h = 1e-5). */
const FD_TOL = 1e-6;
/** Forward results against naive float64 formulas: only summation order differs. */
const FWD_TOL = 1e-12;

const be = createTsBackend('f64');

/** Triple-loop reference for C = alpha op(A) op(B) (+ C0). */
function naiveMatmul(
  a: Float64Array,
  b: Float64Array,
  M: number,
  N: number,
  K: number,
  tA: boolean,
  tB: boolean,
) {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++)
      for (let p = 0; p < K; p++)
        c[i * N + j]! += (tA ? a[p * M + i]! : a[i * K + p]!) * (tB ? b[j * K + p]! : b[p * N + j]!);
  return c;
}

describe('matmul', () => {
  for (const [tA, tB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    test(`transA=${tA} transB=${tB}: forward vs triple loop, gradients of A, B and accumulated C`, () => {
      const rng = new Rng(10);
      const [M, N, K, alpha] = [3, 4, 5, 0.7];
      const a = randn(rng, M * K);
      const b = randn(rng, K * N);
      const c0 = randn(rng, M * N);
      const R = randn(rng, M * N);
      const c = new Float64Array(M * N).fill(Number.NaN); // accumulate=false must not read C
      be.matmul(c, a, b, M, N, K, tA, tB, alpha, false);
      const ref = naiveMatmul(a, b, M, N, K, tA, tB).map((x) => alpha * x);
      assert.ok(maxScaledDiff(c, ref) < FWD_TOL, 'forward differs from the triple loop');
      const L = () => {
        c.set(c0);
        be.matmul(c, a, b, M, N, K, tA, tB, alpha, true);
        return weightedSum(c, R);
      };
      // backward formulas (as the model uses them), accumulated onto random pre-filled gradients
      const [ga0, gb0] = [randn(rng, M * K), randn(rng, K * N)];
      const [ga, gb] = [ga0.slice(), gb0.slice()];
      if (!tA) be.matmul(ga, R, b, M, K, N, false, !tB, alpha, true);
      else be.matmul(ga, b, R, K, M, N, tB, true, alpha, true);
      if (!tB) be.matmul(gb, a, R, K, N, M, !tA, false, alpha, true);
      else be.matmul(gb, R, a, N, K, M, true, tA, alpha, true);
      expectGrad('dA', a, minus(ga, ga0), L, FD_TOL);
      expectGrad('dB', b, minus(gb, gb0), L, FD_TOL);
      expectGrad('dC (accumulate)', c0, R, L, FD_TOL);
    });
  }

  test('degenerate shapes: M=1, N=1, K=1 against the triple loop', () => {
    const rng = new Rng(11);
    for (const [M, N, K] of [
      [1, 7, 3],
      [6, 1, 4],
      [2, 3, 1],
      [1, 1, 9],
    ] as const) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const [a, b] = [randn(rng, M * K), randn(rng, K * N)];
          const c = be.alloc(M * N);
          be.matmul(c, a, b, M, N, K, tA, tB, 1, false);
          assert.ok(
            maxScaledDiff(c, naiveMatmul(a, b, M, N, K, tA, tB)) < FWD_TOL,
            `${M}x${N}x${K} ${tA} ${tB}`,
          );
        }
      }
    }
  });
});

test('addBias / biasBackward (accumulates)', () => {
  const rng = new Rng(20);
  const [N, C] = [5, 3];
  const [x, bias, R] = [randn(rng, N * C), randn(rng, C), randn(rng, N * C)];
  const out = be.alloc(N * C);
  const L = () => {
    be.copy(out, x, N * C);
    be.addBias(out, bias, N, C);
    return weightedSum(out, R);
  };
  L();
  for (let i = 0; i < N * C; i++) assert.equal(out[i], x[i]! + bias[i % C]!);
  const db0 = randn(rng, C);
  const db = db0.slice();
  be.biasBackward(db, R, N, C);
  expectGrad('dbias', bias, minus(db, db0), L, FD_TOL);
  expectGrad('dx', x, R, L, FD_TOL);
});

describe('embedding', () => {
  const [B, T, C, V] = [2, 3, 5, 4];
  const tokens = Int32Array.from([1, 3, 1, 0, 1, 1]); // token 1 repeats, token 2 is never used

  test('forward with wpe matches wte[token] + wpe[t]; gradients of wte and wpe with repeated tokens', () => {
    const rng = new Rng(30);
    const [wte, wpe, R] = [randn(rng, V * C), randn(rng, T * C), randn(rng, B * T * C)];
    const out = be.alloc(B * T * C);
    const L = () => {
      be.embeddingForward(out, tokens, wte, wpe, B, T, C);
      return weightedSum(out, R);
    };
    L();
    for (let bt = 0; bt < B * T; bt++)
      for (let j = 0; j < C; j++)
        assert.equal(out[bt * C + j], wte[tokens[bt]! * C + j]! + wpe[(bt % T) * C + j]!);
    const [dwte0, dwpe0] = [randn(rng, V * C), randn(rng, T * C)];
    const [dwte, dwpe] = [dwte0.slice(), dwpe0.slice()];
    be.embeddingBackward(dwte, dwpe, R, tokens, B, T, C);
    expectGrad('dwte', wte, minus(dwte, dwte0), L, FD_TOL);
    expectGrad('dwpe', wpe, minus(dwpe, dwpe0), L, FD_TOL);
  });

  test('without wpe; out-of-range token is an InputError', () => {
    const rng = new Rng(31);
    const [wte, R] = [randn(rng, V * C), randn(rng, B * T * C)];
    const out = be.alloc(B * T * C);
    const L = () => {
      be.embeddingForward(out, tokens, wte, null, B, T, C);
      return weightedSum(out, R);
    };
    L();
    for (let bt = 0; bt < B * T; bt++)
      assert.deepEqual(out.subarray(bt * C, bt * C + C), wte.subarray(tokens[bt]! * C, tokens[bt]! * C + C));
    const dwte = be.alloc(V * C);
    be.embeddingBackward(dwte, null, R, tokens, B, T, C);
    expectGrad('dwte (no wpe)', wte, dwte, L, FD_TOL);
    assert.throws(
      () => be.embeddingForward(out, Int32Array.from([0, 1, 4, 0, 0, 0]), wte, null, B, T, C),
      InputError,
    );
  });
});

test('gatherRows / scatterAddRows with repeated indices (accumulates)', () => {
  const rng = new Rng(40);
  const [rows, C] = [4, 3];
  const idx = Int32Array.from([2, 0, 2, 2, 1]); // row 2 three times, row 3 never
  const n = idx.length;
  const [inp, R] = [randn(rng, rows * C), randn(rng, n * C)];
  const out = be.alloc(n * C);
  const L = () => {
    be.gatherRows(out, inp, idx, n, C);
    return weightedSum(out, R);
  };
  L();
  for (let i = 0; i < n; i++)
    assert.deepEqual(out.subarray(i * C, i * C + C), inp.subarray(idx[i]! * C, idx[i]! * C + C));
  const d0 = randn(rng, rows * C);
  const d = d0.slice();
  be.scatterAddRows(d, R, idx, n, C);
  expectGrad('dinp', inp, minus(d, d0), L, FD_TOL);
});

describe('layernorm', () => {
  const [N, C] = [4, 7];

  test('gradients of inp, weight, bias (all accumulate)', () => {
    const rng = new Rng(50);
    const inp = randn(rng, N * C, 2).map((x) => x + 1);
    const [w, bias, R] = [randn(rng, C), randn(rng, C), randn(rng, N * C)];
    const [out, mean, rstd] = [be.alloc(N * C), be.alloc(N), be.alloc(N)];
    const L = () => {
      be.layernormForward(out, mean, rstd, inp, w, bias, N, C);
      return weightedSum(out, R);
    };
    L();
    const [di0, dw0, db0] = [randn(rng, N * C), randn(rng, C), randn(rng, C)];
    const [di, dw, db] = [di0.slice(), dw0.slice(), db0.slice()];
    be.layernormBackward(di, dw, db, R, inp, w, mean, rstd, N, C);
    expectGrad('dinp', inp, minus(di, di0), L, FD_TOL);
    expectGrad('dweight', w, minus(dw, dw0), L, FD_TOL);
    expectGrad('dbias', bias, minus(db, db0), L, FD_TOL);
  });

  test('forward: saved mean/rstd are the biased statistics; normalized rows have mean 0, var v/(v+eps)', () => {
    const rng = new Rng(51);
    const inp = randn(rng, N * C, 3).map((x) => x - 2);
    const [ones, zeros] = [new Float64Array(C).fill(1), new Float64Array(C)];
    const [out, mean, rstd] = [be.alloc(N * C), be.alloc(N), be.alloc(N)];
    be.layernormForward(out, mean, rstd, inp, ones, zeros, N, C);
    for (let r = 0; r < N; r++) {
      const row = Array.from(inp.subarray(r * C, r * C + C));
      const mu = row.reduce((s, x) => s + x, 0) / C;
      const v = row.reduce((s, x) => s + (x - mu) ** 2, 0) / C; // biased, as PyTorch
      assert.ok(Math.abs(mean[r]! - mu) < FWD_TOL, 'saved mean');
      assert.ok(Math.abs(rstd[r]! - 1 / Math.sqrt(v + 1e-5)) < FWD_TOL, 'saved rstd (eps = 1e-5)');
      const y = Array.from(out.subarray(r * C, r * C + C));
      const ym = y.reduce((s, x) => s + x, 0) / C;
      assert.ok(Math.abs(ym) < FWD_TOL, `row ${r} mean ${ym}`);
      const yv = y.reduce((s, x) => s + x * x, 0) / C;
      assert.ok(Math.abs(yv - v / (v + 1e-5)) < FWD_TOL, `row ${r} variance ${yv}`);
    }
  });
});

/** Checks an elementwise kernel pair: FD of dinp, and that the backward may alias dout. */
function checkElementwise(
  name: string,
  fwd: (out: Float64Array, inp: Float64Array, n: number) => void,
  bwd: (dinp: Float64Array, inp: Float64Array, out: Float64Array, dout: Float64Array, n: number) => void,
  inp: Float64Array,
  R: Float64Array,
): void {
  const n = inp.length;
  const out = be.alloc(n);
  const L = () => {
    fwd(out, inp, n);
    return weightedSum(out, R);
  };
  L();
  const d = new Float64Array(n).fill(Number.NaN); // overwrites
  bwd(d, inp, out, R, n);
  const aliased = R.slice(); // before the finite differences, which leave `out` at a perturbed point
  bwd(aliased, inp, out, aliased, n);
  assert.deepEqual(aliased, d, `${name}: backward with dinp aliasing dout differs`);
  expectGrad(`${name} dinp`, inp, d, L, FD_TOL);
}

const gradPoints = Float64Array.from([-4, -2.5, -1, -0.3, 0, 0.2, 0.7, 1, 1.9, 3, 5.5]);

test('gelu: gradient, aliasing, forward = x * sigmoid(2u) with u = sqrt(2/pi)(x + 0.044715 x^3)', () => {
  const R = randn(new Rng(60), gradPoints.length);
  checkElementwise(
    'gelu',
    be.geluForward,
    (d, inp, _out, dout, n) => be.geluBackward(d, inp, dout, n),
    gradPoints.slice(),
    R,
  );
  const out = be.alloc(gradPoints.length);
  be.geluForward(out, gradPoints, gradPoints.length);
  gradPoints.forEach((x, i) => {
    const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
    const ref = x / (1 + Math.exp(-2 * u));
    assert.ok(
      Math.abs(out[i]! - ref) < FWD_TOL * (1 + Math.abs(ref)),
      `gelu(${x}) = ${out[i]}, expected ${ref}`,
    );
  });
});

test('tanh: gradient from the saved output, aliasing, forward = (e^2x - 1)/(e^2x + 1)', () => {
  const R = randn(new Rng(61), gradPoints.length);
  checkElementwise(
    'tanh',
    be.tanhForward,
    (d, _inp, out, dout, n) => be.tanhBackward(d, out, dout, n),
    gradPoints.slice(),
    R,
  );
  const out = be.alloc(gradPoints.length);
  be.tanhForward(out, gradPoints, gradPoints.length);
  gradPoints.forEach((x, i) => {
    assert.ok(Math.abs(out[i]! - Math.expm1(2 * x) / (Math.exp(2 * x) + 1)) < FWD_TOL, `tanh(${x})`);
  });
});

describe('dropout', () => {
  test('gradient with the mask fixed by the seed; backward may alias dout', () => {
    const rng = new Rng(70);
    const [n, p, seed] = [40, 0.3, 7];
    const [x, R] = [randn(rng, n), randn(rng, n)];
    const [out, mask] = [be.alloc(n), new Uint8Array(n)];
    const L = () => {
      be.dropoutForward(out, mask, x, p, seed, n);
      return weightedSum(out, R);
    };
    L();
    assert.ok(mask.includes(0) && mask.includes(1), 'this seed should both keep and drop');
    const d = new Float64Array(n).fill(Number.NaN);
    be.dropoutBackward(d, R, mask, p, n);
    expectGrad('dropout dinp', x, d, L, FD_TOL);
    const aliased = R.slice();
    be.dropoutBackward(aliased, aliased, mask, p, n);
    assert.deepEqual(aliased, d);
  });

  test('mask is exactly hash32(seed, i) >= dropoutThreshold(p); keeps about (1-p); p = 0 copies', () => {
    const [n, p, seed] = [20000, 0.25, 12345];
    const x = randn(new Rng(71), n);
    const [out, mask] = [be.alloc(n), new Uint8Array(n)];
    be.dropoutForward(out, mask, x, p, seed, n);
    const thr = Math.floor(p * 2 ** 32);
    assert.equal(dropoutThreshold(p), thr);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const keep = hash32(seed, i) >= thr;
      assert.equal(mask[i], keep ? 1 : 0, `mask[${i}]`);
      assert.ok(Math.abs(out[i]! - (keep ? x[i]! / (1 - p) : 0)) <= 1e-15 * Math.abs(x[i]!) * 2, `out[${i}]`);
      kept += mask[i]!;
    }
    const sigma = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(kept / n - (1 - p)) < 4 * sigma, `kept fraction ${kept / n}, expected ${1 - p}`);
    const mask2 = new Uint8Array(n);
    be.dropoutForward(be.alloc(n), mask2, x, p, seed + 1, n);
    assert.notDeepEqual(mask2, mask, 'another seed gives another mask');
    be.dropoutForward(out, mask, x, 0, seed, n);
    assert.deepEqual(out, x);
    assert.ok(mask.every((m) => m === 1));
  });
});

describe('crossEntropy', () => {
  const [N, V, IGN] = [6, 7, -100];
  const targets = Int32Array.from([3, IGN, 0, 6, 3, IGN]);

  /** -sum_j y_j log softmax_j by hand, without max subtraction (logits here are small). */
  function naiveLoss(row: Float64Array, t: number, eps: number): number {
    const logZ = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
    let loss = 0;
    row.forEach((x, j) => {
      loss -= (eps / V + (j === t ? 1 - eps : 0)) * (x - logZ);
    });
    return loss;
  }

  for (const eps of [0, 0.1]) {
    test(`labelSmoothing=${eps}: losses vs log-sum-exp by hand, ignore index, gradient with gradScale`, () => {
      const rng = new Rng(80);
      const logits = randn(rng, N * V, 2);
      const losses = new Float64Array(N).fill(Number.NaN);
      const dlogits = new Float64Array(N * V).fill(Number.NaN);
      const gradScale = 0.25;
      const opts = { ignoreIndex: IGN, labelSmoothing: eps, gradScale, dlogits, losses };
      const { sum, count } = be.crossEntropy(logits, targets, N, V, opts);
      assert.equal(count, 4);
      let total = 0;
      for (let r = 0; r < N; r++) {
        const want = targets[r] === IGN ? 0 : naiveLoss(logits.subarray(r * V, r * V + V), targets[r]!, eps);
        assert.ok(Math.abs(losses[r]! - want) < FWD_TOL, `row ${r}: loss ${losses[r]}, expected ${want}`);
        total += want;
      }
      assert.ok(Math.abs(sum - total) < FWD_TOL);
      for (const r of [1, 5])
        assert.ok(
          dlogits.subarray(r * V, r * V + V).every((g) => g === 0),
          'ignored row',
        );
      const L = () =>
        gradScale * be.crossEntropy(logits, targets, N, V, { ...opts, dlogits: null, losses: null }).sum;
      expectGrad('dlogits', logits, dlogits, L, FD_TOL);
    });
  }

  test('numerically stable: shifting a row by 1000 changes neither loss nor gradient', () => {
    const rng = new Rng(81);
    const logits = randn(rng, N * V);
    const shifted = logits.map((x, i) => (i < 2 * V ? x + 1000 : x - 1000));
    const run = (l: Float64Array) => {
      const [dlogits, losses] = [be.alloc(N * V), be.alloc(N)];
      be.crossEntropy(l, targets, N, V, {
        ignoreIndex: IGN,
        labelSmoothing: 0.1,
        gradScale: 1,
        dlogits,
        losses,
      });
      return { dlogits, losses };
    };
    const [a, b] = [run(logits), run(shifted)];
    assert.ok(maxScaledDiff(b.losses, a.losses) < 1e-10, 'losses');
    assert.ok(maxScaledDiff(b.dlogits, a.dlogits) < 1e-10, 'dlogits');
  });

  test('a target outside [0, V) that is not the ignore index is an InputError', () => {
    const opts = { ignoreIndex: IGN, labelSmoothing: 0, gradScale: 1, dlogits: null, losses: null };
    assert.throws(() => be.crossEntropy(be.alloc(2 * V), Int32Array.from([0, V]), 2, V, opts), InputError);
  });
});
