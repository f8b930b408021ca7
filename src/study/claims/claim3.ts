// Claim 3: at the same inference budget a heavily compressed large model beats a lightly
// compressed small one — judged separately for bytes (quantization), non-zero parameters
// (pruning), measured latency at batch 1 (quantization and pruning together, on the study's
// machine) and, with a fine-tuning arm, downstream accuracy. For each lightly compressed point of
// a smaller size and each larger size, the larger size's point is chosen by a rule fixed in
// advance — its least compressed setting that fits in the smaller point's budget — never by its
// quality (no best-of-many). Seeds are averaged; comparisons are paired over the same windows.
import { pairedDiffSeeds } from '../../eval/paired.ts';
import type { PointSums } from '../compress-grid.ts';
import type { Comparison, CompressionPoint, SizeSpec, Verdict, VerdictWord } from '../types.ts';
import {
  type ClaimContext,
  commonCaveats,
  fmtComparison,
  fmtTally,
  majority,
  type Tally,
  tally,
} from './common.ts';

export type Budget = 'bytes' | 'nonzero' | 'latency' | 'accuracy';

type Kind = 'quant' | 'prune' | 'both';

interface Group {
  size: string;
  setting: string;
  method: string;
  budget: number;
  points: CompressionPoint[];
}

const isQuant = (p: CompressionPoint) => p.bits !== null && p.method === 'rtn';
const isPrune = (p: CompressionPoint) => p.method === 'magnitude';

/** Points of one setting of one size, seeds together (latency: those measured, their mean). */
function groups(points: CompressionPoint[], kind: Kind, measure: (p: CompressionPoint) => number): Group[] {
  const keep = points.filter((p) =>
    kind === 'both'
      ? p.latency !== undefined && (p.method === 'dense' || isQuant(p) || isPrune(p))
      : p.method === 'dense' || (kind === 'quant' ? isQuant(p) : isPrune(p)),
  );
  const m = new Map<string, Group>();
  for (const p of keep) {
    const k = `${p.size_id}|${p.method}|${p.setting}`;
    const g = m.get(k) ?? {
      size: p.size_id,
      setting: p.setting,
      method: p.method,
      budget: measure(p),
      points: [],
    };
    g.points.push(p);
    m.set(k, g);
  }
  const gs = [...m.values()];
  if (kind === 'both')
    for (const g of gs) g.budget = g.points.reduce((a, p) => a + measure(p), 0) / g.points.length;
  return gs;
}

function isLight(g: Group, kind: Kind): boolean {
  if (g.method === 'dense') return true;
  const p = g.points[0]!;
  const light = { quant: (p.bits ?? 0) >= 8, prune: (p.sparsity ?? 1) <= 0.3 };
  if (kind === 'both') return g.method === 'rtn' ? light.quant : light.prune;
  return light[kind];
}

const WHAT: Record<Budget, string> = {
  bytes: 'bytes',
  nonzero: 'non-zero parameters',
  latency: 'latency at batch 1, measured on this machine',
  accuracy: 'bytes, on the fine-tuned task',
};

/** A budget as the comparison's text gives it. */
function fmtBudget(x: number, budget: Budget, unit: boolean): string {
  if (budget === 'latency') return `${x.toFixed(2)} ms`;
  return `${(x / 1e6).toFixed(2)} M${unit ? (budget === 'nonzero' ? ' non-zeros' : ' bytes') : ''}`;
}

/** The machine and threads the latencies were measured on (the latency row's caveat). */
function machineCaveat(points: CompressionPoint[]): string[] {
  const on = [
    ...new Set(points.flatMap((p) => (p.latency ? [`${p.latency.cpu}, ${p.latency.threads} threads`] : []))),
  ];
  return on.length ? [`latency measured on ${on.join('; ')}: specific to that machine and thread count`] : [];
}

function sideSums(g: Group, sums: PointSums, accuracy: boolean): ArrayLike<number>[] {
  return g.points.map((p) => {
    const s = sums.get(p)!;
    // accuracy: compare error indicators (1 - correct), so that lower is better as for loss
    return accuracy ? (s.comp_correct ?? []).map((x) => 1 - x) : s.comp;
  });
}

export function claim3(
  c: ClaimContext,
  points: CompressionPoint[],
  sums: PointSums,
  budget: Budget,
  sizes: SizeSpec[] = c.sizes,
): Verdict {
  const kind: Kind = budget === 'nonzero' ? 'prune' : budget === 'latency' ? 'both' : 'quant';
  const measure = (p: CompressionPoint) =>
    budget === 'nonzero'
      ? p.nonzero_params
      : budget === 'latency'
        ? (p.latency?.latency_ms_b1 ?? Number.NaN)
        : p.bytes;
  const order = new Map([...sizes].sort((a, b) => a.params - b.params).map((s, i) => [s.id, i]));
  const gs = groups(points, kind, measure);
  const comparisons: Comparison[] = [];
  const counts = budget === 'accuracy' ? null : c.ev.counts;
  for (const light of gs.filter((g) => isLight(g, kind))) {
    for (const s of sizes) {
      if ((order.get(s.id) ?? -1) <= (order.get(light.size) ?? 1e9)) continue;
      // the larger size's least compressed setting that fits in the light point's budget
      const fit = gs
        .filter((g) => g.size === s.id && g.budget <= light.budget)
        .sort((x, y) => y.budget - x.budget)[0];
      if (!fit) continue;
      const a = sideSums(light, sums, budget === 'accuracy');
      const b = sideSums(fit, sums, budget === 'accuracy');
      const n = a[0]?.length ?? 0;
      if (n === 0 || (b[0]?.length ?? 0) !== n) continue;
      const p = pairedDiffSeeds(a, b, counts ?? new Array<number>(n).fill(1));
      comparisons.push(
        c.ev.comparison(
          `${light.size} ${light.setting} (${fmtBudget(light.budget, budget, true)}) vs ${fit.size} ${fit.setting} (${fmtBudget(fit.budget, budget, false)})`,
          light.size,
          fit.size,
          p,
          'b',
        ),
      );
    }
  }
  const t = tally(comparisons);
  const verdict = comparisons.length ? majority(t) : 'inconclusive';
  const measured = budget !== 'latency' || points.some((p) => p.latency !== undefined);
  const words = texts(budget, kind, comparisons, t, verdict, measured);
  return {
    claim: `3-${budget}`,
    statement: words.statement,
    verdict: c.tooShort ? 'inconclusive' : verdict,
    reason: c.tooShort ? `too short to be evidence; ${words.reason}` : words.reason,
    caveats: [...commonCaveats(c), ...(budget === 'latency' ? machineCaveat(points) : [])],
    evidence: words.evidence,
    comparisons,
  };
}

/** The verdict's statement, one-line reason and evidence. */
function texts(
  budget: Budget,
  kind: Kind,
  comparisons: Comparison[],
  t: Tally,
  verdict: VerdictWord,
  measured: boolean,
): { statement: string; reason: string; evidence: string } {
  const what = WHAT[budget];
  const metric = budget === 'accuracy' ? 'error rate' : 'loss';
  const statement = `At the same inference budget (${what}), a heavily compressed large model beats a lightly compressed small model.`;
  const reason = !measured
    ? 'no latency was measured in this study'
    : comparisons.length === 0
      ? `no larger model fits in the ${what} of a lightly compressed smaller one`
      : verdict === 'supported'
        ? `the larger model wins most comparisons at equal ${what}`
        : verdict === 'not supported'
          ? `the smaller model wins most comparisons at equal ${what}`
          : `the comparisons at equal ${what} are split or tied`;
  const light = { quant: '8-bit', prune: '≤ 30% pruned', both: '8-bit or ≤ 30% pruned' }[kind];
  const family = { quant: 'quantization', prune: 'pruning', both: 'quantization or pruning' }[kind];
  const evidence = comparisons.length
    ? `Lightly compressed smaller models (dense, ${light}) against each larger size's least compressed ${family} setting within the same ${what}${budget === 'latency' ? ' (the slowest that is not slower)' : ''} (${metric} of smaller − larger${budget === 'accuracy' ? '' : ', nats × 100'}; paired): ${comparisons.map(fmtComparison).join('; ')}. ${fmtTally(t)}.`
    : !measured
      ? 'No point of this study carries a measured latency: nothing to compare.'
      : `No larger model fits in the ${what} of a lightly compressed smaller one: nothing to compare.`;
  return { statement, reason, evidence };
}
