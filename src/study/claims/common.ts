// What every claim's verdict shares: the context it reads (sizes, runs, the evidence of
// per-window losses, the preset), the caveats that apply to all claims (too short to be evidence,
// near the unigram baseline), and how outcomes of paired comparisons add up to a verdict.

import { NEAR_UNIGRAM, nearUnigram } from '../baseline.ts';
import type { Evidence } from '../evidence.ts';
import { score } from '../evidence.ts';
import type { Comparison, SizeSpec, TrainedRun, VerdictWord } from '../types.ts';

export interface ClaimContext {
  sizes: SizeSpec[];
  runs: TrainedRun[];
  ev: Evidence;
  budgetS: number;
  /** the share of the budget the schedule spends decaying (the stable phase ends before it) */
  decayFraction: number;
  unigramPpl: number;
  /** the quick preset: every verdict carries "too short to be evidence" */
  tooShort: boolean;
}

export { NEAR_UNIGRAM, nearUnigram } from '../baseline.ts';

export function runsOf(c: ClaimContext, sizeId: string): TrainedRun[] {
  return c.runs.filter((r) => r.size_id === sizeId);
}

/** Sizes of one sweep, ascending by parameters. */
export function sweepSizes(c: ClaimContext, sweep: 'depth' | 'width'): SizeSpec[] {
  return c.sizes.filter((s) => s.sweeps.includes(sweep)).sort((a, b) => a.params - b.params);
}

/** The caveats shared by every claim. */
export function commonCaveats(c: ClaimContext): string[] {
  const out: string[] = [];
  if (c.tooShort)
    out.push('the quick preset is too short to be evidence: it checks that the pipeline runs, nothing more');
  const near = c.sizes.filter((s) => {
    const rs = runsOf(c, s.id);
    const ppl = Math.exp(rs.reduce((a, r) => a + r.final_loss, 0) / rs.length);
    return nearUnigram(ppl, c.unigramPpl);
  });
  if (near.length > 0)
    out.push(
      `near the unigram baseline (perplexity within ${100 * NEAR_UNIGRAM}% of ${c.unigramPpl.toFixed(1)}): ${near.map((s) => s.id).join(', ')}`,
    );
  return out;
}

export interface Tally {
  support: number;
  against: number;
  ties: number;
}

export function tally(cs: Comparison[]): Tally {
  const t = { support: 0, against: 0, ties: 0 };
  for (const c of cs) {
    const s = score(c);
    if (s > 0) t.support++;
    else if (s < 0) t.against++;
    else t.ties++;
  }
  return t;
}

/** A clear majority of decided comparisons (at least two to one) decides; otherwise inconclusive. */
export function majority(t: Tally): VerdictWord {
  if (t.support > 0 && t.support >= 2 * t.against) return 'supported';
  if (t.against > 0 && t.against >= 2 * t.support) return 'not supported';
  return 'inconclusive';
}

export function fmtTally(t: Tally): string {
  return `${t.support} for, ${t.against} against, ${t.ties} tied within 2 s.e.`;
}

/** "d128-L1 vs d256-L4: +1.23 ± 0.40" — a loss difference a − b in nats × 100 (≈ % perplexity). */
export function fmtComparison(c: Comparison): string {
  const d = `${c.diff >= 0 ? '+' : '−'}${(100 * Math.abs(c.diff)).toFixed(2)} ± ${(100 * c.se).toFixed(2)}`;
  const won = c.outcome === 'tie' ? 'tie' : `${c.outcome === 'a' ? c.a : c.b} better`;
  return `${c.what}: ${d} (${won})`;
}
