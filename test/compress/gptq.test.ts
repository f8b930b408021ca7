// Tests of GPTQ: the Hessian accumulator, lower layer-output error than round-to-nearest on a layer
// fitted to correlated inputs (per-channel, group-wise, act-order), equality with RTN when H = I,
// agreement with an independent eager (OBQ-style, explicit inverse) implementation, blocksize
// independence, dead inputs, and input validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decode,
  encode,
  fitGrid,
  type Grid,
  getFormat,
  type QuantFormat,
} from '../../src/compress/quant/formats.ts';
import { gptqQuantize, HessianAccumulator, upperCholeskyOfInverse } from '../../src/compress/quant/gptq.ts';
import { rtnQuantize } from '../../src/compress/quant/rtn.ts';
import { InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

const IN = 128; // input features (4 groups of 32)
const OUT = 48; // output features
const N = 1024; // calibration rows

/** Correlated, anisotropic inputs: a rank-8 shared part plus as much independent noise, per-feature scales. */
function correlatedInputs(rng: Rng, n: number, B: Float64Array, featScale: Float64Array): Float64Array {
  const X = new Float64Array(n * IN);
  const z = new Float64Array(8);
  for (let t = 0; t < n; t++) {
    for (let k = 0; k < 8; k++) z[k] = rng.normal();
    for (let i = 0; i < IN; i++) {
      let v = rng.normal();
      for (let k = 0; k < 8; k++) v += z[k]! * B[k * IN + i]!;
      X[t * IN + i] = featScale[i]! * v;
    }
  }
  return X;
}

/** Solve the SPD system A x = b for several right-hand sides (Gauss-Jordan, test-only). */
function solveSpd(A: Float64Array, Bm: Float64Array, n: number, m: number): Float64Array {
  const a = Float64Array.from(A);
  const b = Float64Array.from(Bm); // (n, m)
  for (let p = 0; p < n; p++) {
    const d = a[p * n + p]!;
    for (let i = 0; i < n; i++) {
      if (i === p) continue;
      const f = a[i * n + p]! / d;
      if (f === 0) continue;
      for (let j = p; j < n; j++) a[i * n + j]! -= f * a[p * n + j]!;
      for (let j = 0; j < m; j++) b[i * m + j]! -= f * b[p * m + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) b[i * m + j] = b[i * m + j]! / a[i * n + i]!;
  return b;
}

interface Layer {
  W: Float32Array; // (OUT, IN), least-squares fit
  X: Float64Array; // calibration inputs (N, IN)
  Xtest: Float64Array; // held-out inputs from the same distribution
  H: Float64Array;
}

/** A linear layer fitted by (lightly ridged) least squares to a noisy teacher on correlated inputs. */
function trainedLayer(seed: number): Layer {
  const rng = new Rng(seed);
  const B = Float64Array.from({ length: 8 * IN }, () => rng.normal());
  const featScale = Float64Array.from({ length: IN }, () => Math.exp(2 * rng.uniform() - 1));
  const X = correlatedInputs(rng, N, B, featScale);
  const Xtest = correlatedInputs(rng, 256, B, featScale);
  const teacher = Float64Array.from({ length: OUT * IN }, () => 0.1 * rng.normal());
  const Y = new Float64Array(N * OUT); // (N, OUT)
  for (let t = 0; t < N; t++) {
    for (let o = 0; o < OUT; o++) {
      let s = 0.05 * rng.normal();
      for (let i = 0; i < IN; i++) s += X[t * IN + i]! * teacher[o * IN + i]!;
      Y[t * OUT + o] = s;
    }
  }
  const XtX = new Float64Array(IN * IN);
  const XtY = new Float64Array(IN * OUT);
  for (let t = 0; t < N; t++) {
    for (let i = 0; i < IN; i++) {
      const xi = X[t * IN + i]!;
      for (let j = 0; j < IN; j++) XtX[i * IN + j]! += xi * X[t * IN + j]!;
      for (let o = 0; o < OUT; o++) XtY[i * OUT + o]! += xi * Y[t * OUT + o]!;
    }
  }
  for (let i = 0; i < IN; i++) XtX[i * IN + i]! += 1e-3 * N;
  const Wt = solveSpd(XtX, XtY, IN, OUT); // (IN, OUT)
  const W = new Float32Array(OUT * IN);
  for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) W[o * IN + i] = Wt[i * OUT + o]!;
  const acc = new HessianAccumulator(IN);
  acc.add(X, N);
  return { W, X, Xtest, H: acc.hessian() };
}

/** ||X W^T - X Q^T||^2 over the rows of X. */
function outputError(X: Float64Array, W: Float32Array, Q: Float32Array): number {
  const n = X.length / IN;
  let s = 0;
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < OUT; o++) {
      let d = 0;
      for (let i = 0; i < IN; i++) d += X[t * IN + i]! * (W[o * IN + i]! - Q[o * IN + i]!);
      s += d * d;
    }
  }
  return s;
}

/**
 * Independent eager GPTQ (the OBQ form): explicit damped inverse Hessian, column by column, error
 * spread to every unprocessed column, then the inverse downdated by removing the column. Group
 * grids are fitted to the current weights when a group's first column comes up (same rule as gptq.ts).
 */
function eagerGptq(w: Float32Array, H: Float64Array, f: QuantFormat, actorder: boolean): Float32Array {
  const n = IN;
  const diag = Array.from({ length: n }, (_, i) => (H[i * n + i] === 0 ? 1 : H[i * n + i]!));
  const mean = diag.reduce((a, b) => a + b, 0) / n;
  const Hd = Float64Array.from(H);
  for (let i = 0; i < n; i++) Hd[i * n + i] = diag[i]! + 0.01 * mean;
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const Hinv = solveSpd(Hd, eye, n, n);
  const W = Float64Array.from(w);
  for (let i = 0; i < n; i++) if (H[i * n + i] === 0) for (let r = 0; r < OUT; r++) W[r * n + i] = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  if (actorder) order.sort((a, b) => diag[b]! - diag[a]!);
  const grids = new Map<string, Grid>();
  const gridOf = (r: number, c: number): Grid => {
    const G = f.granularity === 'group' ? f.groupSize! : n;
    const key = f.granularity === 'tensor' ? 't' : `${r}:${Math.floor(c / G)}`;
    let g = grids.get(key);
    if (!g) {
      const rs = f.granularity === 'tensor' ? Array.from({ length: OUT }, (_, k) => k) : [r];
      const c0 = f.granularity === 'group' ? Math.floor(c / G) * G : 0;
      const vals = rs.flatMap((rr) => Array.from(W.subarray(rr * n + c0, rr * n + Math.min(n, c0 + G))));
      g = fitGrid(Math.min(...vals), Math.max(...vals), f.bits, f.symmetric);
      grids.set(key, g);
    }
    return g;
  };
  if (f.granularity !== 'group') for (let r = 0; r < OUT; r++) gridOf(r, 0); // fitted before any update
  const done = new Uint8Array(n);
  const Q = new Float32Array(OUT * n);
  for (const j of order) {
    for (let r = 0; r < OUT; r++) gridOf(r, j); // fit this column's group for every row first
    const d = Hinv[j * n + j]!;
    for (let r = 0; r < OUT; r++) {
      const g = gridOf(r, j);
      const q = decode(encode(W[r * n + j]!, g), g);
      Q[r * n + j] = q;
      const e = (W[r * n + j]! - q) / d;
      for (let k = 0; k < n; k++) if (!done[k] && k !== j) W[r * n + k]! -= e * Hinv[j * n + k]!;
    }
    done[j] = 1;
    const row = Hinv.slice(j * n, j * n + n);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) Hinv[a * n + b]! -= (row[a]! * row[b]!) / d;
  }
  return Q;
}

describe('HessianAccumulator', () => {
  test('batches of any size give H = 2/N X^T X, symmetric', () => {
    const rng = new Rng(1);
    const C = 9;
    const X = Float32Array.from({ length: 40 * C }, () => rng.normal());
    const acc = new HessianAccumulator(C);
    let at = 0;
    for (const n of [7, 0, 1, 20, 12]) {
      acc.add(X.subarray(at * C), n);
      at += n;
    }
    assert.equal(acc.count, 40);
    const H = acc.hessian();
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        let s = 0;
        for (let t = 0; t < 40; t++) s += X[t * C + i]! * X[t * C + j]!;
        assert.ok(Math.abs(H[i * C + j]! - (2 * s) / 40) < 1e-12, `(${i}, ${j})`);
      }
    }
    assert.throws(() => acc.add(X, 41), InputError);
  });

  test('upperCholeskyOfInverse gives U upper triangular with U^T U H = I', () => {
    const { H } = trainedLayer(2);
    const n = IN;
    const Hd = Float64Array.from(H);
    for (let i = 0; i < n; i++) Hd[i * n + i]! += 0.01;
    const U = upperCholeskyOfInverse(Hd, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) assert.equal(U[i * n + j], 0);
      assert.ok(U[i * n + i]! > 0);
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0; // ((U^T U) H)[i, j]
        for (let k = 0; k < n; k++) {
          let uu = 0;
          for (let m = 0; m <= Math.min(i, k); m++) uu += U[m * n + i]! * U[m * n + k]!;
          s += uu * Hd[k * n + j]!;
        }
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    assert.ok(worst < 1e-8, `max |U^T U H - I| = ${worst}`);
  });
});

describe('GPTQ vs round-to-nearest on a fitted layer', () => {
  const layer = trainedLayer(3);
  const formats = [
    'q3_ch_sym',
    'q4_ch_sym',
    'q3_ch_asym',
    'q3_g32_sym',
    'q4_g32_sym',
    'q4_g64_asym',
    'q4_tensor_sym',
  ];
  for (const name of formats) {
    for (const actorder of [false, true]) {
      test(`${name}${actorder ? ' act-order' : ''}: lower layer-output error than RTN`, () => {
        const f = getFormat(name);
        const rtn = f.dequantize(rtnQuantize(layer.W, OUT, IN, f));
        const gq = f.dequantize(gptqQuantize(layer.W, OUT, IN, layer.H, f, { actorder }));
        const eR = outputError(layer.X, layer.W, rtn);
        const eG = outputError(layer.X, layer.W, gq);
        assert.ok(
          eG < 0.5 * eR,
          `GPTQ ${eG.toExponential(3)} vs RTN ${eR.toExponential(3)} (ratio ${(eG / eR).toFixed(3)})`,
        );
        const tR = outputError(layer.Xtest, layer.W, rtn);
        const tG = outputError(layer.Xtest, layer.W, gq);
        assert.ok(tG < tR, `held-out: GPTQ ${tG.toExponential(3)} vs RTN ${tR.toExponential(3)}`);
      });
    }
  }
});

describe('GPTQ exactness', () => {
  const layer = trainedLayer(4);

  test('with H = identity it equals RTN exactly (codes, scales, zero points)', () => {
    const I = new Float64Array(IN * IN);
    for (let i = 0; i < IN; i++) I[i * IN + i] = 1;
    for (const name of ['q3_ch_sym', 'q4_g32_asym', 'q2_g64_sym', 'q8_tensor_asym']) {
      const f = getFormat(name);
      for (const actorder of [false, true]) {
        assert.deepEqual(
          gptqQuantize(layer.W, OUT, IN, I, f, { actorder }),
          rtnQuantize(layer.W, OUT, IN, f),
          name,
        );
      }
    }
  });

  test('matches an independent eager implementation with an explicit inverse Hessian', () => {
    for (const name of ['q3_ch_sym', 'q4_g32_asym', 'q3_tensor_sym']) {
      for (const actorder of [false, true]) {
        const f = getFormat(name);
        const got = f.dequantize(gptqQuantize(layer.W, OUT, IN, layer.H, f, { actorder, blocksize: 48 }));
        const ref = eagerGptq(layer.W, layer.H, f, actorder);
        let same = 0;
        for (let i = 0; i < got.length; i++)
          if (Math.abs(got[i]! - ref[i]!) <= 1e-6 * Math.abs(ref[i]!)) same++;
        assert.ok(same >= 0.99 * got.length, `${name} act-order=${actorder}: ${same}/${got.length} agree`);
        const eG = outputError(layer.X, layer.W, got);
        const eR = outputError(layer.X, layer.W, ref);
        assert.ok(Math.abs(eG - eR) <= 0.01 * eR, `${name}: errors ${eG} vs ${eR}`);
      }
    }
  });

  test('the result does not depend on blocksize (groups spanning blocks included)', () => {
    for (const name of ['q4_g32_sym', 'q3_g128_asym', 'q4_ch_sym']) {
      const f = getFormat(name);
      for (const actorder of [false, true]) {
        const base = gptqQuantize(layer.W, OUT, IN, layer.H, f, { actorder });
        for (const blocksize of [1, 7, 20, 64]) {
          const q = gptqQuantize(layer.W, OUT, IN, layer.H, f, { actorder, blocksize });
          assert.deepEqual(q.codes, base.codes, `${name} act-order=${actorder} blocksize=${blocksize}`);
          assert.deepEqual(q.scales, base.scales, `${name} act-order=${actorder} blocksize=${blocksize}`);
        }
      }
    }
  });

  test('dead inputs (diag H = 0) quantize to exactly 0 and the rest still beats RTN', () => {
    const X = Float64Array.from(layer.X);
    const dead = [5, 64, 127];
    for (let t = 0; t < N; t++) for (const i of dead) X[t * IN + i] = 0;
    const acc = new HessianAccumulator(IN);
    acc.add(X, N);
    const H = acc.hessian();
    for (const name of ['q4_g32_asym', 'q3_ch_sym']) {
      const f = getFormat(name);
      for (const actorder of [false, true]) {
        const gq = f.dequantize(gptqQuantize(layer.W, OUT, IN, H, f, { actorder }));
        for (let r = 0; r < OUT; r++)
          for (const i of dead) assert.equal(gq[r * IN + i], 0, `${name} (${r}, ${i})`);
        assert.ok(gq.every(Number.isFinite));
        const rtn = f.dequantize(rtnQuantize(layer.W, OUT, IN, f));
        assert.ok(outputError(X, layer.W, gq) < outputError(X, layer.W, rtn), name);
      }
    }
  });

  test('bad inputs throw InputError with a hint', () => {
    const f = getFormat('q4_ch_sym');
    const negI = new Float64Array(IN * IN);
    for (let i = 0; i < IN; i++) negI[i * IN + i] = -1;
    assert.throws(
      () => gptqQuantize(layer.W, OUT, IN, negI, f),
      (e: unknown) => e instanceof InputError && /percdamp/.test(e.hint ?? ''),
    );
    assert.throws(() => gptqQuantize(layer.W, OUT, IN, new Float64Array(IN), f), InputError);
    const asym = Float64Array.from(layer.H);
    asym[1] = asym[1]! + 1;
    assert.throws(() => gptqQuantize(layer.W, OUT, IN, asym, f), /symmetric/);
    assert.throws(() => gptqQuantize(layer.W, OUT, IN, layer.H, f, { blocksize: 0 }), InputError);
    assert.throws(() => gptqQuantize(layer.W, OUT, IN, layer.H, f, { percdamp: -1 }), InputError);
    assert.throws(() => gptqQuantize(layer.W.subarray(1), OUT, IN, layer.H, f), InputError);
  });
});
