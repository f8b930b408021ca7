// Where the compute-optimal size moves with the budget: a parametric loss law
// L(N, D) = E + A / N^α + B / D^β (Hoffmann et al. 2022) fitted to the annealed points of a
// sweep (N: non-embedding parameters, D: training tokens), a throughput law tokens/s = k N^-γ
// measured on this machine, and from both the loss-optimal size for a training time t:
// N_opt(t) ∝ t^(β / (α + βγ)). Bootstrap intervals resample the runs. Pure math: no I/O.
import { Rng } from '../engine/rng.ts';

export interface LawPoint {
  /** non-embedding parameters */
  n: number;
  /** training tokens */
  d: number;
  /** validation loss (nats) */
  loss: number;
  /** which run the point comes from (bootstrap resamples runs, not points) */
  run: string;
}

export interface LossLaw {
  E: number;
  A: number;
  alpha: number;
  B: number;
  beta: number;
}

export function lawLoss(p: LossLaw, n: number, d: number): number {
  return p.E + p.A * n ** -p.alpha + p.B * d ** -p.beta;
}

/** Huber loss on log residuals (δ = 1e-3, as Hoffmann et al.), the fit's objective. */
function objective(pts: LawPoint[], x: number[]): number {
  const [e, a, alpha, b, beta] = x as [number, number, number, number, number];
  if (alpha <= 0 || beta <= 0 || alpha > 3 || beta > 3) return Number.POSITIVE_INFINITY;
  const delta = 1e-3;
  let s = 0;
  for (const p of pts) {
    const pred = Math.exp(e) + Math.exp(a - alpha * Math.log(p.n)) + Math.exp(b - beta * Math.log(p.d));
    const r = Math.log(pred) - Math.log(p.loss);
    s += Math.abs(r) <= delta ? 0.5 * r * r : delta * (Math.abs(r) - 0.5 * delta);
  }
  return s;
}

/** Nelder–Mead minimisation from x0 (small dimension, smooth-enough objective). */
export function nelderMead(f: (x: number[]) => number, x0: number[], step: number[], iters = 4000): number[] {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (j === i ? v + step[i]! : v)))];
  let vals = simplex.map(f);
  for (let it = 0; it < iters; it++) {
    const order = vals.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    simplex = order.map(([, i]) => simplex[i]!);
    vals = order.map(([v]) => v);
    if (Math.abs(vals[n]! - vals[0]!) < 1e-14 * (1 + Math.abs(vals[0]!))) break;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, x) => s + x[j]!, 0) / n);
    const along = (t: number) => centroid.map((c, j) => c + t * (simplex[n]![j]! - c));
    const xr = along(-1);
    const fr = f(xr);
    if (fr < vals[0]!) {
      const xe = along(-2);
      const fe = f(xe);
      simplex[n] = fe < fr ? xe : xr;
      vals[n] = Math.min(fe, fr);
    } else if (fr < vals[n - 1]!) {
      simplex[n] = xr;
      vals[n] = fr;
    } else {
      const xc = along(fr < vals[n]! ? -0.5 : 0.5);
      const fc = f(xc);
      if (fc < Math.min(fr, vals[n]!)) {
        simplex[n] = xc;
        vals[n] = fc;
      } else {
        simplex = simplex.map((x) => x.map((v, j) => simplex[0]![j]! + 0.5 * (v - simplex[0]![j]!)));
        vals = simplex.map(f);
      }
    }
  }
  const best = vals.indexOf(Math.min(...vals));
  return simplex[best]!;
}

/** Fit the loss law: Nelder–Mead from a grid of starts (the objective has local minima). */
export function fitLossLaw(pts: LawPoint[]): LossLaw & { objective: number } {
  if (pts.length < 5) throw new Error(`fitLossLaw: ${pts.length} points for 5 parameters`);
  const minLoss = Math.min(...pts.map((p) => p.loss));
  let best: { x: number[]; v: number } = { x: [], v: Number.POSITIVE_INFINITY };
  for (const eFrac of [0.3, 0.6, 0.85])
    for (const alpha of [0.2, 0.5, 1])
      for (const beta of [0.2, 0.5, 1]) {
        const x0 = [Math.log(eFrac * minLoss), Math.log(minLoss) + 3, alpha, Math.log(minLoss) + 5, beta];
        const x = nelderMead((y) => objective(pts, y), x0, [0.3, 1, 0.1, 1, 0.1]);
        const v = objective(pts, x);
        if (v < best.v) best = { x, v };
      }
  const [e, a, alpha, b, beta] = best.x as [number, number, number, number, number];
  return { E: Math.exp(e), A: Math.exp(a), alpha, B: Math.exp(b), beta, objective: best.v };
}

/** Throughput law tokens/s = k N^-γ by least squares in log–log over (N, tokens/s) pairs. */
export function fitThroughput(xs: Array<{ n: number; tps: number }>): { k: number; gamma: number } {
  const lx = xs.map((x) => Math.log(x.n));
  const ly = xs.map((x) => Math.log(x.tps));
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((x, i) => {
    sxy += (x - mx) * (ly[i]! - my);
    sxx += (x - mx) ** 2;
  });
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { k: Math.exp(my - slope * mx), gamma: -slope };
}

/** The loss-optimal N for t training seconds, and the exponent of N_opt in t. */
export function optimalN(law: LossLaw, tp: { k: number; gamma: number }, t: number): number {
  // dL/dN = 0: α A N^(-α-1) = β γ B (t k)^(-β) N^(βγ-1)
  const { A, alpha, B, beta } = law;
  return (((alpha * A) / (beta * tp.gamma * B)) * (t * tp.k) ** beta) ** (1 / (alpha + beta * tp.gamma));
}

export function optimalExponent(law: LossLaw, tp: { gamma: number }): number {
  return law.beta / (law.alpha + law.beta * tp.gamma);
}

/** Predicted loss of a size with throughput tps after t seconds. */
export function predictAt(law: LossLaw, n: number, tps: number, t: number): number {
  return lawLoss(law, n, tps * t);
}

/**
 * For grid sizes (ascending N, each with its own measured tokens/s): the smallest training time
 * (on a log grid from tMin to tMax) from which each size has the lowest predicted loss, or null.
 */
export function takeoverTimes(
  law: LossLaw,
  sizes: Array<{ id: string; n: number; tps: number }>,
  tMin = 1,
  tMax = 1e8,
): Array<{ id: string; from_s: number | null }> {
  const grid: number[] = [];
  for (let t = tMin; t <= tMax; t *= 1.05) grid.push(t);
  const best = grid.map((t) => {
    let arg = 0;
    sizes.forEach((s, i) => {
      if (predictAt(law, s.n, s.tps, t) < predictAt(law, sizes[arg]!.n, sizes[arg]!.tps, t)) arg = i;
    });
    return arg;
  });
  return sizes.map((s, i) => {
    const k = best.indexOf(i);
    return { id: s.id, from_s: k >= 0 ? grid[k]! : null };
  });
}

export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** Percentile bootstrap over runs (resampled with replacement): intervals of named statistics. */
export function bootstrapLaw(
  pts: LawPoint[],
  stats: (law: LossLaw) => Record<string, number>,
  resamples = 200,
  seed = 1,
): Record<string, Interval> {
  const full = stats(fitLossLaw(pts));
  const runs = [...new Set(pts.map((p) => p.run))];
  const byRun = new Map(runs.map((r) => [r, pts.filter((p) => p.run === r)]));
  const rng = new Rng(seed);
  const draws: Array<Record<string, number>> = [];
  for (let i = 0; i < resamples; i++) {
    const sample = Array.from({ length: runs.length }, () => byRun.get(runs[rng.int(runs.length)]!)!).flat();
    if (new Set(sample.map((p) => p.n)).size < 3) continue; // a fit needs several sizes
    draws.push(stats(fitLossLaw(sample)));
  }
  const out: Record<string, Interval> = {};
  for (const k of Object.keys(full)) {
    const v = draws
      .map((d) => d[k]!)
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    const q = (f: number) => v[Math.min(v.length - 1, Math.max(0, Math.floor(f * v.length)))] ?? Number.NaN;
    out[k] = { value: full[k]!, low: q(0.025), high: q(0.975) };
  }
  return out;
}
