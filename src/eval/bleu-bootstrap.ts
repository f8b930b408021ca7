// Paired bootstrap resampling for corpus BLEU (Koehn 2004; sacreBLEU's `--paired-bs`): both
// systems translated the same sentences; each resample draws sentences with replacement (the same
// draw for both systems), recomputes each system's corpus BLEU from the summed per-sentence n-gram
// statistics (never an average of sentence BLEU), and keeps the difference. The result is the
// observed difference with the 2.5% and 97.5% percentiles of the resampled ones. A difference
// whose interval holds 0 is inside the noise. No model runs here: inputs are statistics.
import { Rng } from '../engine/rng.ts';
import { type BleuStats, bleuFromStats } from './bleu.ts';

/** Resamples per comparison (sacreBLEU's default for --paired-bs). */
export const BOOTSTRAP_RESAMPLES = 1000;
/** The seed every study comparison uses, so a comparison is reproducible from its saved outputs. */
export const BOOTSTRAP_SEED = 12345;

export interface BleuDiff {
  /** BLEU of a and of b on all sentences (0-100) */
  a: number;
  b: number;
  /** a - b in BLEU points */
  diff: number;
  /** 95% percentile interval of the resampled differences */
  low: number;
  high: number;
  sentences: number;
  resamples: number;
}

/** Corpus BLEU (0-100) of the sentences `idx` (repeats allowed; all sentences when omitted). */
export function bleuOfStats(stats: readonly BleuStats[], idx?: ArrayLike<number>): number {
  const counts = [0, 0, 0, 0];
  const totals = [0, 0, 0, 0];
  let sys = 0;
  let ref = 0;
  const n = idx ? idx.length : stats.length;
  for (let k = 0; k < n; k++) {
    const s = stats[idx ? idx[k]! : k]!;
    sys += s.sysLen;
    ref += s.refLen;
    for (let o = 0; o < 4; o++) {
      counts[o]! += s.counts[o] ?? 0;
      totals[o]! += s.totals[o] ?? 0;
    }
  }
  return bleuFromStats(counts, totals, sys, ref).score;
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Draws of sentence indices, one array per resample: the same draws serve every comparison made
 * with the same seed and sentence count, so both systems of a pair always share them.
 */
export function bootstrapDraws(
  n: number,
  resamples = BOOTSTRAP_RESAMPLES,
  seed = BOOTSTRAP_SEED,
): Int32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: resamples }, () => {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    return idx;
  });
}

/**
 * Paired bootstrap of f(a) - f(b) where f is computed from per-sentence statistics. `stat`
 * turns one system's draw into its score; the generic form lets the drop of a compressed model
 * (dense − compressed, of two sizes) be compared with the same draws.
 */
export function pairedBootstrap(
  n: number,
  observed: () => number,
  resampled: (idx: Int32Array) => number,
  o: { resamples?: number; seed?: number } = {},
): { diff: number; low: number; high: number; resamples: number } {
  if (n === 0) throw new Error('pairedBootstrap: no sentences');
  const draws = bootstrapDraws(n, o.resamples, o.seed);
  const ds = Float64Array.from(draws, (idx) => resampled(idx)).sort();
  return {
    diff: observed(),
    low: quantileSorted(ds, 0.025),
    high: quantileSorted(ds, 0.975),
    resamples: draws.length,
  };
}

/** Paired bootstrap of BLEU(a) - BLEU(b) over the same sentences. */
export function pairedBleuBootstrap(
  a: readonly BleuStats[],
  b: readonly BleuStats[],
  o: { resamples?: number; seed?: number } = {},
): BleuDiff {
  if (a.length !== b.length)
    throw new Error(
      `pairedBleuBootstrap: ${a.length} and ${b.length} sentences; both systems must translate the same ones`,
    );
  const A = bleuOfStats(a);
  const B = bleuOfStats(b);
  const r = pairedBootstrap(
    a.length,
    () => A - B,
    (idx) => bleuOfStats(a, idx) - bleuOfStats(b, idx),
    o,
  );
  return { a: A, b: B, ...r, sentences: a.length };
}

/** -1: a clearly better (interval above 0), 1: b clearly better, 0: inside the noise (interval holds 0). */
export function decideInterval(d: { low: number; high: number }): -1 | 0 | 1 {
  if (d.low > 0) return -1;
  if (d.high < 0) return 1;
  return 0;
}
