// Finite-difference checks (float64 ts backend) of attentionBackward, and attentionForward against
// a naive per-head softmax: causal, padding (incl. fully masked rows), cross-attention, fused qkv.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttnShape } from '../../src/engine/backend.ts';
import { InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { expectGrad, maxScaledDiff, randn, weightedSum } from './finite-diff.ts';

/** Max relative error allowed between analytic gradients and float64 central differences (h = 1e-5). */
const FD_TOL = 1e-6;
/** Forward results against the naive float64 reference: only summation order differs. */
const FWD_TOL = 1e-12;
/** Written into buffer entries a kernel must not touch (gap columns between strided rows). */
const SENTINEL = 12345.5;

const be = createTsBackend('f64');

interface Case {
  name: string;
  B: number;
  Tq: number;
  Tk: number;
  C: number;
  NH: number;
  causal: boolean;
  /** (B, Tk) key mask, or null */
  mask: number[] | null;
  /** q, k, v as interleaved views of one (B, T, 3C) buffer, else separate buffers with gap columns */
  fused: boolean;
}

/** Naive reference: per (b, h, i), scores over allowed keys, softmax, weighted sum of values. */
function naiveAttention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  mask: Uint8Array | null,
  s: AttnShape,
) {
  const hs = s.C / s.NH;
  const out = new Float64Array(s.B * s.Tq * s.C);
  const probs = new Float64Array(s.B * s.NH * s.Tq * s.Tk);
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++)
      for (let i = 0; i < s.Tq; i++) {
        const keys = [...Array(s.Tk).keys()].filter(
          (j) => !(s.causal && j > i) && (!mask || mask[b * s.Tk + j] === 1),
        );
        const sc = keys.map((j) => {
          let dot = 0;
          for (let d = 0; d < hs; d++)
            dot += q[(b * s.Tq + i) * s.qStride + h * hs + d]! * k[(b * s.Tk + j) * s.kStride + h * hs + d]!;
          return Math.exp(dot / Math.sqrt(hs));
        });
        const z = sc.reduce((a, x) => a + x, 0);
        keys.forEach((j, n) => {
          const p = sc[n]! / z;
          probs[((b * s.NH + h) * s.Tq + i) * s.Tk + j] = p;
          for (let d = 0; d < hs; d++)
            out[(b * s.Tq + i) * s.C + h * hs + d]! += p * v[(b * s.Tk + j) * s.vStride + h * hs + d]!;
        });
      }
  return { out, probs };
}

/** Buffers for q, k, v (or dq, dk, dv): fused interleaved views, or separate buffers with gaps. */
function makeViews(c: Case, fill: (n: number) => Float64Array) {
  const { B, Tq, Tk, C } = c;
  if (c.fused) {
    const all = fill(B * Tq * 3 * C);
    // the three views together own every column of the one buffer: it has no gaps
    return {
      bufs: [all],
      q: all,
      k: all.subarray(C),
      v: all.subarray(2 * C),
      strides: [3 * C, 3 * C, 3 * C],
      owned: 3 * C,
    };
  }
  const strides = [C + 2, C + 1, C + 3]; // gap columns that the kernels must never touch
  const [q, k, v] = [fill(B * Tq * strides[0]!), fill(B * Tk * strides[1]!), fill(B * Tk * strides[2]!)];
  return { bufs: [q, k, v], q: q!, k: k!, v: v!, strides, owned: C };
}

/** The gap entries (column >= owned) of a buffer whose rows are `stride` apart. */
function gapIndices(len: number, owned: number, stride: number): number[] {
  return [...Array(len).keys()].filter((i) => i % stride >= owned);
}

function checkForward(
  c: Case,
  s: AttnShape,
  out: Float64Array,
  probs: Float64Array,
  ref: ReturnType<typeof naiveAttention>,
  mask: Uint8Array | null,
) {
  assert.ok(maxScaledDiff(out, ref.out) < FWD_TOL, `${c.name}: out differs from the naive reference`);
  assert.ok(maxScaledDiff(probs, ref.probs) < FWD_TOL, `${c.name}: probs differ from the naive reference`);
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++)
      for (let i = 0; i < s.Tq; i++) {
        const row = probs.subarray(
          ((b * s.NH + h) * s.Tq + i) * s.Tk,
          ((b * s.NH + h) * s.Tq + i + 1) * s.Tk,
        );
        const anyKey = [...row.keys()].some(
          (j) => !(s.causal && j > i) && (!mask || mask[b * s.Tk + j] === 1),
        );
        const sum = row.reduce((a, x) => a + x, 0);
        assert.ok(
          Math.abs(sum - (anyKey ? 1 : 0)) < FWD_TOL,
          `${c.name}: probs row (${b},${h},${i}) sums to ${sum}`,
        );
        row.forEach((p, j) => {
          if ((s.causal && j > i) || (mask && mask[b * s.Tk + j] === 0))
            assert.equal(p, 0, `${c.name}: masked prob`);
        });
        if (!anyKey) {
          const o = out.subarray(
            (b * s.Tq + i) * s.C + (h * s.C) / s.NH,
            (b * s.Tq + i) * s.C + ((h + 1) * s.C) / s.NH,
          );
          assert.ok(
            o.every((x) => x === 0),
            `${c.name}: fully masked row must output zeros`,
          );
        }
      }
}

function runCase(c: Case): void {
  const rng = new Rng(c.B * 1000 + c.Tq * 100 + c.Tk * 10 + c.C);
  const x = makeViews(c, (n) => randn(rng, n));
  const s: AttnShape = {
    B: c.B,
    Tq: c.Tq,
    Tk: c.Tk,
    C: c.C,
    NH: c.NH,
    causal: c.causal,
    qStride: x.strides[0]!,
    kStride: x.strides[1]!,
    vStride: x.strides[2]!,
  };
  const mask = c.mask ? Uint8Array.from(c.mask) : null;
  const out = be.alloc(c.B * c.Tq * c.C);
  const probs = be.alloc(c.B * c.NH * c.Tq * c.Tk);
  const R = randn(rng, out.length);
  const L = () => {
    be.attentionForward(out, probs, x.q, x.k, x.v, mask, s);
    return weightedSum(out, R);
  };
  L();
  checkForward(c, s, out, probs, naiveAttention(x.q, x.k, x.v, mask, s), mask);
  // gradients overwrite: start from NaN in every column the kernel owns, a sentinel in the gaps
  const g = makeViews(c, (n) => new Float64Array(n).fill(Number.NaN));
  g.bufs.forEach((buf, n) => {
    for (const i of gapIndices(buf.length, x.owned, x.strides[n]!)) buf[i] = SENTINEL;
  });
  be.attentionBackward(g.q, g.k, g.v, R, x.q, x.k, x.v, probs, s);
  g.bufs.forEach((buf, n) => {
    const gaps = gapIndices(buf.length, x.owned, x.strides[n]!);
    for (const i of gaps)
      assert.equal(buf[i], SENTINEL, `${c.name}: backward wrote gap entry ${i} of buffer ${n}`);
    for (const i of gaps) buf[i] = 0; // gaps do not affect the loss
    expectGrad(`${c.name}: d${c.fused ? 'qkv' : 'qkv'[n]}`, x.bufs[n]!, buf, L, FD_TOL);
  });
}

const cases: Case[] = [
  { name: 'causal self-attention', B: 2, Tq: 5, Tk: 5, C: 6, NH: 2, causal: true, mask: null, fused: false },
  {
    name: 'padding mask, batch 1 fully masked',
    B: 2,
    Tq: 4,
    Tk: 4,
    C: 6,
    NH: 3,
    causal: false,
    mask: [1, 0, 1, 1, 0, 0, 0, 0],
    fused: false,
  },
  {
    name: 'causal + padding, query 0 fully masked',
    B: 1,
    Tq: 4,
    Tk: 4,
    C: 5,
    NH: 1,
    causal: true,
    mask: [0, 1, 1, 0],
    fused: false,
  },
  {
    name: 'cross-attention Tq=3 Tk=5 with padding',
    B: 2,
    Tq: 3,
    Tk: 5,
    C: 6,
    NH: 2,
    causal: false,
    mask: [1, 1, 1, 0, 1, 1, 0, 1, 1, 1],
    fused: false,
  },
  {
    name: 'fused qkv stride 3C, C=10, causal + padding',
    B: 2,
    Tq: 4,
    Tk: 4,
    C: 10,
    NH: 2,
    causal: true,
    mask: [1, 1, 0, 1, 1, 1, 1, 0],
    fused: true,
  },
  {
    name: 'fused qkv, fully masked batch',
    B: 2,
    Tq: 3,
    Tk: 3,
    C: 4,
    NH: 2,
    causal: false,
    mask: [1, 1, 1, 0, 0, 0],
    fused: true,
  },
  { name: 'T=1 causal', B: 3, Tq: 1, Tk: 1, C: 4, NH: 2, causal: true, mask: null, fused: false },
  { name: 'T=1 fused', B: 2, Tq: 1, Tk: 1, C: 9, NH: 3, causal: true, mask: null, fused: true },
];

for (const c of cases) test(`attention: ${c.name}`, () => runCase(c));

test('attention: causal with Tq != Tk and C not divisible by NH are InputErrors', () => {
  const s: AttnShape = { B: 1, Tq: 2, Tk: 3, C: 4, NH: 2, causal: true, qStride: 4, kStride: 4, vStride: 4 };
  const [q, kv] = [be.alloc(8), be.alloc(12)];
  assert.throws(() => be.attentionForward(be.alloc(8), be.alloc(12), q, kv, kv, null, s), InputError);
  const s2 = { ...s, causal: false, NH: 3 };
  assert.throws(() => be.attentionForward(be.alloc(8), be.alloc(18), q, kv, kv, null, s2), InputError);
});
