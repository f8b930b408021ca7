// Claim 1, in its two parts. 1: under the same wall-clock budget larger models reach a lower
// validation loss (annealed models at the full budget, the largest of each sweep against every
// smaller size). 1a: larger models reach a given loss in fewer tokens (each adjacent pair of a
// sweep compared at the same tokens, both still in their constant-rate phase).
import type { Comparison, Frontier, Verdict } from '../types.ts';
import {
  type ClaimContext,
  commonCaveats,
  fmtComparison,
  fmtTally,
  majority,
  runsOf,
  sweepSizes,
  tally,
} from './common.ts';

const SWEEPS = ['depth', 'width'] as const;

function finish(
  claim: string,
  statement: string,
  c: ClaimContext,
  verdict: Verdict['verdict'],
  reason: string,
  evidence: string,
  comparisons: Comparison[],
  extraCaveats: string[] = [],
): Verdict {
  const caveats = [...commonCaveats(c), ...extraCaveats];
  let v = verdict;
  if (c.tooShort && v !== 'inconclusive') v = 'inconclusive';
  return {
    claim,
    statement,
    verdict: v,
    reason: c.tooShort ? `too short to be evidence; ${reason}` : reason,
    caveats,
    evidence,
    comparisons,
  };
}

export function claim1(c: ClaimContext, fr: Frontier): Verdict {
  const statement =
    'Under the same wall-clock training budget, larger (wider or deeper) models reach lower validation loss.';
  const comparisons: Comparison[] = [];
  const parts: string[] = [];
  let support = 0;
  let against = 0;
  for (const sweep of SWEEPS) {
    const ss = sweepSizes(c, sweep);
    if (ss.length < 2) continue;
    const largest = ss[ss.length - 1]!;
    const mine: Comparison[] = [];
    for (const s of ss.slice(0, -1)) {
      const p = c.ev.compare(runsOf(c, s.id), runsOf(c, largest.id), (r) => c.ev.annealed(r, c.budgetS));
      if (p)
        mine.push(c.ev.comparison(`${s.id} vs ${largest.id} at ${c.budgetS} s`, s.id, largest.id, p, 'b'));
    }
    comparisons.push(...mine);
    const t = tally(mine);
    const beatsAll = t.support === mine.length && mine.length > 0;
    const beaten = mine.filter((x) => x.outcome === 'a').map((x) => x.a);
    if (beatsAll) support++;
    else if (beaten.length > 0) against++;
    parts.push(
      `${sweep} sweep: ${beatsAll ? `the largest, ${largest.id}, is better than every smaller size` : beaten.length ? `${beaten.join(', ')} beat${beaten.length === 1 ? 's' : ''} the largest, ${largest.id}` : `${largest.id} is tied with a smaller size`} (${fmtTally(t)})`,
    );
  }
  const verdict =
    support > 0 && against === 0
      ? 'supported'
      : against > 0 && support === 0
        ? 'not supported'
        : 'inconclusive';
  const opt = fr.best
    .map((b) => `${b.t} s: ${b.size_id}${b.ties.length ? ` (tied: ${b.ties.join(', ')})` : ''}`)
    .join('; ');
  const reason =
    verdict === 'supported'
      ? 'the largest model of each sweep reached the lowest annealed loss at the budget'
      : verdict === 'not supported'
        ? `a smaller model reached a clearly lower loss than the largest at ${c.budgetS} s; compute-optimal: ${fr.compute_optimal.size_id}`
        : 'the sweeps disagree, or the largest models are tied with smaller ones within the noise';
  const evidence =
    `Annealed models at the ${c.budgetS} s budget, loss differences (smaller − largest, nats × 100 ≈ % perplexity; paired over the same windows): ${comparisons.map(fmtComparison).join('; ')}. ` +
    `${parts.join('. ')}. Compute-optimal size by annealed budget — ${opt}.`;
  return finish('1', statement, c, verdict, reason, evidence, comparisons);
}

/** Tokens at which a run's constant-rate phase ends: its last evaluation before the decay starts. */
function stableTokens(c: ClaimContext, runId: string): number {
  const run = c.runs.find((r) => r.id === runId)!;
  const end = (1 - c.decayFraction) * c.budgetS;
  const inStable = run.curve.filter((p) => p.wall_s <= end && p.step > 0);
  return inStable[inStable.length - 1]?.tokens ?? Number.NaN;
}

export function claim1a(c: ClaimContext): Verdict {
  const statement =
    'Larger models reach a given loss in fewer steps (tokens): they are more sample-efficient.';
  const comparisons: Comparison[] = [];
  for (const sweep of SWEEPS) {
    const ss = sweepSizes(c, sweep);
    for (let i = 0; i + 1 < ss.length; i++) {
      const a = ss[i]!;
      const b = ss[i + 1]!;
      const ra = runsOf(c, a.id);
      const rb = runsOf(c, b.id);
      // the larger model runs fewer tokens: compare at the end of its constant-rate phase
      const d = Math.min(...rb.map((r) => stableTokens(c, r.id)));
      if (!Number.isFinite(d)) continue;
      const p = c.ev.compare(ra, rb, (r) => c.ev.at(r, 'tokens', d));
      if (p)
        comparisons.push(
          c.ev.comparison(`${a.id} vs ${b.id} at ${(d / 1e6).toFixed(2)} M tokens`, a.id, b.id, p, 'b'),
        );
    }
  }
  const t = tally(comparisons);
  const verdict = comparisons.length ? majority(t) : 'inconclusive';
  const reason =
    verdict === 'supported'
      ? 'at equal tokens the larger model of most adjacent pairs has the lower loss'
      : verdict === 'not supported'
        ? 'at equal tokens the smaller model of most adjacent pairs has the lower loss'
        : comparisons.length
          ? 'at equal tokens the pairs are split or tied within the noise'
          : 'no pair of sizes could be compared at equal tokens';
  const evidence = comparisons.length
    ? `Un-annealed losses at the same training tokens (both models before their learning-rate decay), smaller − larger in nats × 100: ${comparisons.map(fmtComparison).join('; ')}. ${fmtTally(t)}.`
    : 'No pair of adjacent sizes has evaluations around a common token count in the constant-rate phase.';
  // what rules out the trainer and the recipe as the cause (the issue's question when 1a fails)
  const why =
    verdict === 'not supported' && !c.tooShort
      ? [
          "measured outside this study (docs/recipe.md): tlc trains d256-L4 like PyTorch on the same 600 batches (within 0.003 nats), and each size's learning rate follows a rule checked against a five-rate sweep per size; what is left is the regime (few steps and tokens, the masked-LM plateau), not the trainer or the recipe",
        ]
      : [];
  return finish('1a', statement, c, verdict, reason, evidence, comparisons, why);
}
