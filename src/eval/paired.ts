// Paired comparisons of two models scored on the same evaluation windows: the difference of
// their mean losses with a cluster standard error over windows, optionally combined with the
// spread over seeds. The noise rule every verdict uses (a difference within 2 standard errors is
// a tie) is stated here once. No model runs here: inputs are per-window loss sums.

/** A difference within TIE_SE standard errors is a tie. */
export const TIE_SE = 2;

export interface Paired {
  /** mean loss of a minus mean loss of b (nats per token); negative: a is better */
  diff: number;
  /** standard error of diff */
  se: number;
  /** windows compared */
  windows: number;
}

/**
 * Mean-loss difference over shared windows: d = (Σ a_w - Σ b_w) / Σ c_w, with the cluster
 * standard error sqrt(W/(W-1) Σ_w (a_w - b_w - d c_w)^2) / Σ c_w (windows as independent
 * clusters, as the perplexity's own error; the pairing removes the windows' shared difficulty).
 */
export function pairedDiff(a: ArrayLike<number>, b: ArrayLike<number>, counts: ArrayLike<number>): Paired {
  const W = counts.length;
  if (a.length !== W || b.length !== W)
    throw new Error(`pairedDiff: ${a.length} and ${b.length} window sums for ${W} windows`);
  let sa = 0;
  let sb = 0;
  let c = 0;
  for (let w = 0; w < W; w++) {
    sa += a[w]!;
    sb += b[w]!;
    c += counts[w]!;
  }
  const d = (sa - sb) / c;
  let ss = 0;
  for (let w = 0; w < W; w++) ss += (a[w]! - b[w]! - d * counts[w]!) ** 2;
  const se = W > 1 ? Math.sqrt((W / (W - 1)) * ss) / c : Number.NaN;
  return { diff: d, se, windows: W };
}

/**
 * Seeds averaged before comparing: window sums are averaged over each side's seeds, the paired
 * window error is computed on those means, and the seed spread — the standard error of the
 * per-seed mean losses, over the seeds each side has — is added in quadrature (the windows are
 * shared by every seed, so the two sources of noise are separate).
 */
export function pairedDiffSeeds(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
  counts: ArrayLike<number>,
): Paired {
  if (a.length === 0 || b.length === 0) throw new Error('pairedDiffSeeds: a side has no seeds');
  const mean = (xs: ArrayLike<number>[]) =>
    Float64Array.from({ length: counts.length }, (_, w) => xs.reduce((s, x) => s + x[w]!, 0) / xs.length);
  const p = pairedDiff(mean(a), mean(b), counts);
  const seedVar = (xs: ArrayLike<number>[]) => {
    if (xs.length < 2) return 0;
    let c = 0;
    for (let w = 0; w < counts.length; w++) c += counts[w]!;
    const losses = xs.map((x) => {
      let s = 0;
      for (let w = 0; w < counts.length; w++) s += x[w]!;
      return s / c;
    });
    const m = losses.reduce((s, x) => s + x, 0) / losses.length;
    return losses.reduce((s, x) => s + (x - m) ** 2, 0) / (losses.length - 1) / losses.length;
  };
  return { ...p, se: Math.sqrt(p.se ** 2 + seedVar(a) + seedVar(b)) };
}

/** -1: a clearly lower (better), 1: b clearly lower, 0: a tie (within TIE_SE standard errors). */
export function decide(p: Paired): -1 | 0 | 1 {
  if (!Number.isFinite(p.se)) return 0;
  if (p.diff < -TIE_SE * p.se) return -1;
  if (p.diff > TIE_SE * p.se) return 1;
  return 0;
}

/** Linear interpolation of two window-sum vectors (a at t0, b at t1) at time t in [t0, t1]. */
export function lerpSums(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  t0: number,
  t1: number,
  t: number,
): Float64Array {
  const w = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! + w * (b[i]! - a[i]!));
}
