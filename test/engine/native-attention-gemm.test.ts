// Native attention at the head sizes models use (hs = 64: full 16-float vectors and 6-row tiles of the
// microgemm, plus row/column tails at T = 70), causal (triangular tiles skipped) and padded, against
// the ts reference; bit-identical at 1 and 2 threads. Small-shape cases live in native-attention.test.ts.

import { test } from 'node:test';
import type { AttnShape, Backend } from '../../src/engine/backend.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { assertClose, assertSameBits, atOneAndTwoThreads, maxAbs, randn } from './native-compare.ts';

const ts = createTsBackend('f32');
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });

interface Case {
  name: string;
  B: number;
  T: number;
  C: number;
  NH: number;
  causal: boolean;
  /** padded keys at the end of batch 1 */
  pad: number;
}

const CASES: Case[] = [
  { name: 'encoder, hs 64, T 70, padding', B: 2, T: 70, C: 128, NH: 2, causal: false, pad: 9 },
  { name: 'decoder, hs 64, T 70, causal', B: 2, T: 70, C: 128, NH: 2, causal: true, pad: 0 },
  { name: 'hs 48 (3 vectors), T 37, causal + padding', B: 2, T: 37, C: 96, NH: 2, causal: true, pad: 5 },
];

function setup(c: Case) {
  const rng = new Rng(c.T * 101 + c.C);
  const { B, T, C, NH } = c;
  const qkv = randn(rng, B * T * 3 * C, 0.7);
  const mask = c.pad > 0 ? Uint8Array.from({ length: B * T }, (_, i) => (i >= 2 * T - c.pad ? 0 : 1)) : null;
  const s: AttnShape = {
    B,
    Tq: T,
    Tk: T,
    C,
    NH,
    causal: c.causal,
    qStride: 3 * C,
    kStride: 3 * C,
    vStride: 3 * C,
  };
  const dout = randn(rng, B * T * C);
  return { qkv, mask, s, dout };
}

function run(be: Backend<Float32Array>, c: Case) {
  const { qkv, mask, s, dout } = setup(c);
  const { B, T, C, NH } = c;
  const out = new Float32Array(B * T * C).fill(Number.NaN);
  const probs = new Float32Array(B * NH * T * T).fill(Number.NaN);
  be.attentionForward(out, probs, qkv, qkv.subarray(C), qkv.subarray(2 * C), mask, s);
  const d = new Float32Array(qkv.length).fill(Number.NaN); // every element must be written
  be.attentionBackward(
    d,
    d.subarray(C),
    d.subarray(2 * C),
    dout,
    qkv,
    qkv.subarray(C),
    qkv.subarray(2 * C),
    probs,
    s,
  );
  return { out, probs, d };
}

for (const c of CASES) {
  test(`attention agrees with ts: ${c.name}`, () => {
    const want = run(ts, c);
    const got = run(native(), c);
    assertClose('out', got.out, want.out, { rtol: 1e-5, atol: 1e-6 });
    assertClose('probs', got.probs, want.probs, { rtol: 1e-5, atol: 1e-6 });
    // gradients: float sums over up to T terms, scaled by the largest gradient
    assertClose('dqkv', got.d, want.d, { rtol: 2e-5, atol: 2e-5 * maxAbs(want.d) });
  });
}

test('attention at hs 64 is bit-identical at 1 and 2 threads', () => {
  const c = CASES[1]!;
  const be = native(); // one backend: loading another would reset the shared thread count
  const [one, two] = atOneAndTwoThreads(be, () => run(be, c));
  assertSameBits('out', one.out, two.out);
  assertSameBits('probs', one.probs, two.probs);
  assertSameBits('dqkv', one.d, two.d);
});
