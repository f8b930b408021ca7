// Float64 central-difference gradient checks for the kernel tests: per element for small tensors,
// along random probe directions for large ones. It checks gradients; it does not build objectives.

import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/rng.ts';

export interface GradCheckOptions {
  /** step for central differences; ~cbrt(machine eps * |L|) suits objectives of size O(1..100) */
  h?: number;
  /** tensors with at most this many elements are checked element by element */
  perElementMax?: number;
  /** number of random directions for larger tensors */
  probes?: number;
  /** relative errors are taken against max(|fd|, |analytic|, floor), so near-zero entries compare absolutely */
  floor?: number;
  /** seed of the probe directions */
  seed?: number;
}

export interface GradCheckReport {
  maxRelErr: number;
  /** element index (per-element mode) or probe number (probe mode) of the worst error */
  worst: number;
  fd: number;
  analytic: number;
  mode: 'element' | 'probe';
  checked: number;
}

function relErr(fd: number, an: number, floor: number): number {
  return Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), floor);
}

/**
 * Compares `analytic` (dL/dx) with central differences of `loss`, which must read `x` afresh on
 * every call. `x` is perturbed in place and restored exactly before returning.
 */
export function gradCheck(
  x: Float64Array,
  analytic: Float64Array,
  loss: () => number,
  opts: GradCheckOptions = {},
): GradCheckReport {
  const { h = 1e-5, perElementMax = 512, probes = 12, floor = 1e-3, seed = 1 } = opts;
  assert.equal(analytic.length, x.length, 'gradient and input lengths differ');
  const report: GradCheckReport = {
    maxRelErr: 0,
    worst: -1,
    fd: 0,
    analytic: 0,
    mode: 'element',
    checked: 0,
  };
  const note = (i: number, fd: number, an: number): void => {
    const e = relErr(fd, an, floor);
    report.checked++;
    if (e > report.maxRelErr || Number.isNaN(e))
      Object.assign(report, { maxRelErr: e, worst: i, fd, analytic: an });
  };
  if (x.length <= perElementMax) {
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i]!;
      x[i] = x0 + h;
      const lp = loss();
      x[i] = x0 - h;
      const lm = loss();
      x[i] = x0;
      note(i, (lp - lm) / (2 * h), analytic[i]!);
    }
    return report;
  }
  report.mode = 'probe';
  const rng = new Rng(seed);
  const x0 = Float64Array.from(x);
  const d = new Float64Array(x.length);
  for (let p = 0; p < probes; p++) {
    let an = 0;
    for (let i = 0; i < d.length; i++) {
      d[i] = rng.normal();
      an += d[i]! * analytic[i]!;
    }
    for (let i = 0; i < x.length; i++) x[i] = x0[i]! + h * d[i]!;
    const lp = loss();
    for (let i = 0; i < x.length; i++) x[i] = x0[i]! - h * d[i]!;
    const lm = loss();
    x.set(x0);
    note(p, (lp - lm) / (2 * h), an);
  }
  return report;
}

/** gradCheck, then assert maxRelErr < tol with a message naming the tensor and the worst entry. */
export function expectGrad(
  name: string,
  x: Float64Array,
  analytic: Float64Array,
  loss: () => number,
  tol: number,
  opts: GradCheckOptions = {},
): GradCheckReport {
  const r = gradCheck(x, analytic, loss, opts);
  assert.ok(r.checked > 0, `${name}: nothing was checked`);
  assert.ok(
    r.maxRelErr < tol,
    `${name}: max relative error ${r.maxRelErr.toExponential(2)} >= ${tol} at ${r.mode} ${r.worst} ` +
      `(finite difference ${r.fd}, analytic ${r.analytic})`,
  );
  return r;
}

/** n standard-normal draws times `s`, in float64. */
export function randn(rng: Rng, n: number, s = 1): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = s * rng.normal();
  return x;
}

/** The scalar objective sum_i out[i] * r[i]; its gradient wrt out is r. */
export function weightedSum(out: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += out[i]! * r[i]!;
  return s;
}

/** a - b elementwise: what an accumulating backward added on top of a pre-filled gradient. */
export function minus(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => x - b[i]!);
}

/** max_i |a[i] - b[i]| / max(max_i |b[i]|, tiny): a scale-aware error of a against reference b. */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let diff = 0;
  let scale = 1e-300;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
