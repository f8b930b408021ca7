// Native attention agrees with the ts reference (f32): causal, padding masks with fully masked query
// rows, cross-attention (Tq != Tk), T = 1, strided views and a fused qkv buffer whose interleaved
// gradient views must be written exactly on their own columns; bit-identical at 1 and 2 threads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttnShape, Backend } from '../../src/engine/backend.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { assertClose, assertSameBits, atOneAndTwoThreads, maxAbs, randn } from './native-compare.ts';

const ts = createTsBackend('f32');
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });

/** Forward outputs and probabilities: softmax of float dot products over at most Tk terms. */
const FWD_TOL = { rtol: 1e-5, atol: 1e-6 };
/** Gradients: float sums over Tq or Tk terms; atol scaled by the largest gradient. */
const BWD_REL = 2e-5;

interface Case {
  name: string;
  s: Omit<AttnShape, 'qStride' | 'kStride' | 'vStride'>;
  /** fused: one (B*T, 3C) buffer; otherwise separate views with this row stride (>= C) */
  layout: 'fused' | number;
  /** key mask per batch as a function of the key index, or none */
  mask: ((b: number, j: number) => number) | null;
}

const CASES: Case[] = [
  {
    name: 'causal, strided views',
    s: { B: 2, Tq: 7, Tk: 7, C: 12, NH: 3, causal: true },
    layout: 15,
    mask: null,
  },
  {
    name: 'fused qkv, padding',
    s: { B: 2, Tq: 5, Tk: 5, C: 20, NH: 4, causal: false },
    layout: 'fused',
    mask: (b, j) => (b === 1 && j >= 3 ? 0 : 1),
  },
  {
    name: 'cross-attention, one batch fully masked',
    s: { B: 2, Tq: 3, Tk: 9, C: 16, NH: 2, causal: false },
    layout: 16,
    mask: (b, j) => (b === 1 ? 0 : j % 3 === 1 ? 0 : 1),
  },
  { name: 'T = 1', s: { B: 3, Tq: 1, Tk: 1, C: 8, NH: 1, causal: true }, layout: 8, mask: null },
  {
    name: 'causal + mask: query 0 of batch 0 sees nothing; hs = 7',
    s: { B: 2, Tq: 6, Tk: 6, C: 21, NH: 3, causal: true },
    layout: 'fused',
    mask: (b, j) => (b === 0 && j === 0 ? 0 : 1),
  },
  {
    name: 'larger causal fused with padding (threaded path)',
    s: { B: 2, Tq: 33, Tk: 33, C: 48, NH: 4, causal: true },
    layout: 'fused',
    mask: (b, j) => (b === 1 && j >= 29 ? 0 : 1),
  },
];

interface Inputs {
  shape: AttnShape;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  mask: Uint8Array | null;
  /** views of a gradient buffer laid out like q, k, v (pre-filled with `fill`) */
  grads(fill: number): { buf: Float32Array; dq: Float32Array; dk: Float32Array; dv: Float32Array };
}

function makeInputs(c: Case, rng: Rng): Inputs {
  const { B, Tq, Tk, C } = c.s;
  const mask = c.mask
    ? Uint8Array.from({ length: B * Tk }, (_, i) => c.mask!(Math.floor(i / Tk), i % Tk))
    : null;
  if (c.layout === 'fused') {
    const stride = 3 * C;
    const qkv = randn(rng, B * Tq * stride);
    const views = (buf: Float32Array) => ({
      buf,
      dq: buf.subarray(0),
      dk: buf.subarray(C),
      dv: buf.subarray(2 * C),
    });
    const shape = { ...c.s, qStride: stride, kStride: stride, vStride: stride };
    const x = views(qkv);
    return {
      shape,
      q: x.dq,
      k: x.dk,
      v: x.dv,
      mask,
      grads: (f) => views(new Float32Array(qkv.length).fill(f)),
    };
  }
  const st = c.layout;
  const qLen = (B * Tq - 1) * st + C;
  const kLen = (B * Tk - 1) * st + C;
  const shape = { ...c.s, qStride: st, kStride: st, vStride: st };
  const [q, k, v] = [randn(rng, qLen), randn(rng, kLen), randn(rng, kLen)];
  const grads = (f: number) => {
    const buf = new Float32Array(qLen + 2 * kLen).fill(f);
    return {
      buf,
      dq: buf.subarray(0, qLen),
      dk: buf.subarray(qLen, qLen + kLen),
      dv: buf.subarray(qLen + kLen),
    };
  };
  return { shape, q, k, v, mask, grads };
}

function forward(be: Backend<Float32Array>, x: Inputs) {
  const { B, Tq, Tk, C, NH } = x.shape;
  const out = new Float32Array(B * Tq * C).fill(5);
  const probs = new Float32Array(B * NH * Tq * Tk).fill(5);
  be.attentionForward(out, probs, x.q, x.k, x.v, x.mask, x.shape);
  return { out, probs };
}

function backward(
  be: Backend<Float32Array>,
  x: Inputs,
  dout: Float32Array,
  probs: Float32Array,
  fill: number,
) {
  const g = x.grads(fill);
  be.attentionBackward(g.dq, g.dk, g.dv, dout, x.q, x.k, x.v, probs, x.shape);
  return g.buf;
}

/** Query rows of (b, i) that may attend to no key: their probs and outputs must be exactly zero. */
function assertMaskedRowsZero(x: Inputs, out: Float32Array, probs: Float32Array): number {
  const { B, Tq, Tk, C, NH, causal } = x.shape;
  let rows = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      let any = false;
      for (let j = 0; j < Tk; j++) if ((!causal || j <= i) && (!x.mask || x.mask[b * Tk + j])) any = true;
      if (any) continue;
      rows++;
      assert.ok(
        out.subarray((b * Tq + i) * C, (b * Tq + i + 1) * C).every((y) => y === 0),
        `out row ${b},${i}`,
      );
      for (let h = 0; h < NH; h++) {
        const off = ((b * NH + h) * Tq + i) * Tk;
        assert.ok(
          probs.subarray(off, off + Tk).every((p) => p === 0),
          `probs row ${b},${h},${i}`,
        );
      }
    }
  }
  return rows;
}

for (const c of CASES) {
  test(`attention agrees with ts: ${c.name}`, () => {
    const rng = new Rng(c.name.length * 7919);
    const x = makeInputs(c, rng);
    const [fn, ft] = [forward(native(), x), forward(ts, x)];
    assertClose('attention out', fn.out, ft.out, FWD_TOL);
    assertClose('attention probs', fn.probs, ft.probs, FWD_TOL);
    const masked = assertMaskedRowsZero(x, fn.out, fn.probs);
    if (c.name.includes('fully masked') || c.name.includes('sees nothing')) assert.ok(masked > 0);

    const dout = randn(rng, fn.out.length);
    // NaN sentinel: every element the gradient views cover must be written (fused: all of them);
    // 777 sentinel: elements outside the views (stride gaps) must be left alone.
    const sentinel = c.layout === 'fused' ? Number.NaN : 777;
    const [bn, bt] = [
      backward(native(), x, dout, ft.probs, sentinel),
      backward(ts, x, dout, ft.probs, sentinel),
    ];
    const scale = maxAbs(bt.filter((y) => Number.isFinite(y) && y !== sentinel));
    assertClose('attention grads', bn, bt, { rtol: BWD_REL, atol: BWD_REL * scale });
    if (c.layout === 'fused') assert.ok(bn.every(Number.isFinite), 'fused dqkv fully written');
    else
      assert.equal(
        bn.filter((y) => y === 777).length,
        bt.filter((y) => y === 777).length,
        'gap columns untouched',
      );
  });
}

test('attention forward and backward are bit-identical at 1 and 2 threads', () => {
  const c = CASES[CASES.length - 1]!;
  const x = makeInputs(c, new Rng(3));
  const dout = randn(new Rng(4), c.s.B * c.s.Tq * c.s.C);
  const [one, two] = atOneAndTwoThreads(native(), () => {
    const f = forward(native(), x);
    return { ...f, grads: backward(native(), x, dout, f.probs, 0) };
  });
  assertSameBits('out', one.out, two.out);
  assertSameBits('probs', one.probs, two.probs);
  assertSameBits('grads', one.grads, two.grads);
});

test('attention rejects causal cross-attention and C not divisible by NH, like ts', () => {
  const x = makeInputs(CASES[2]!, new Rng(5));
  for (const be of [native(), ts]) {
    assert.throws(() => forward(be, { ...x, shape: { ...x.shape, causal: true } }), /Tq/);
    assert.throws(() => forward(be, { ...x, shape: { ...x.shape, NH: 3 } }), /NH/);
  }
});
