// Helpers for the native-vs-ts agreement tests: seeded random inputs, elementwise closeness with a
// stated tolerance, bit-identity, and running a native kernel at 1 and at 2 threads.

import assert from 'node:assert/strict';
import type { Backend } from '../../src/engine/backend.ts';
import { Rng } from '../../src/engine/rng.ts';

/** float32 machine epsilon */
export const EPS32 = 2 ** -23;

export interface Tol {
  /** relative to |ts value| */
  rtol: number;
  /** absolute floor */
  atol: number;
}

export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

export function randInts(rng: Rng, n: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(hi);
  return a;
}

/** Fails at the first element where |native - ts| > atol + rtol |ts| (NaN on one side only fails too). */
export function assertClose(label: string, native: ArrayLike<number>, ts: ArrayLike<number>, tol: Tol): void {
  assert.equal(native.length, ts.length, `${label}: lengths differ`);
  for (let i = 0; i < ts.length; i++) {
    const g = native[i]!;
    const w = ts[i]!;
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    const lim = tol.atol + tol.rtol * Math.abs(w);
    const d = Math.abs(g - w);
    if (!(d <= lim)) {
      assert.fail(
        `${label}[${i}]: native ${g} vs ts ${w}: |diff| ${d.toExponential(3)} > ${lim.toExponential(3)}`,
      );
    }
  }
}

/** Same bits (so -0 vs 0 and NaN payloads count as different). */
export function assertSameBits(
  label: string,
  a: Float32Array | Uint8Array,
  b: Float32Array | Uint8Array,
): void {
  assert.equal(a.length, b.length, `${label}: lengths differ`);
  const ba = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (!ba.equals(bb)) {
    const i = a.findIndex((x, k) => !Object.is(x, b[k]));
    assert.fail(`${label}: differs at element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** Runs `run` with the backend at 1 thread and at 2 threads (restoring 2) and returns both results. */
export function atOneAndTwoThreads<T>(be: Backend<Float32Array>, run: () => T): [T, T] {
  be.setThreads(1);
  try {
    const one = run();
    be.setThreads(2);
    const two = run();
    return [one, two];
  } finally {
    be.setThreads(2);
  }
}

/** Largest |x| (for tolerances scaled to a tensor's magnitude). */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** A linear layer's shape: N rows, In inputs, Out outputs. */
export interface LinearCase {
  N: number;
  In: number;
  Out: number;
}

/**
 * One linear forward and backward on be with seeded random inputs (the same for every backend):
 * out, and dinp (null when !withDinp), dweight, dbias accumulated or written onto random contents.
 */
export function runLinear(
  be: Backend<Float32Array>,
  c: LinearCase,
  seed: number,
  accumulate: boolean,
  withDinp = true,
) {
  const rng = new Rng(seed);
  const { N, In, Out } = c;
  const [x, w, b, dout] = [randn(rng, N * In), randn(rng, Out * In), randn(rng, Out), randn(rng, N * Out)];
  const out = new Float32Array(N * Out).fill(Number.NaN);
  be.linearForward(out, x, w, b, N, In, Out);
  const dx = randn(rng, N * In);
  const dw = randn(rng, Out * In);
  const db = randn(rng, Out);
  be.linearBackward(withDinp ? dx : null, dw, db, dout, x, w, N, In, Out, accumulate);
  return { out, dx, dw, db };
}
