// Claim 3: at the same inference budget a heavily compressed large model beats a lightly
// compressed small one — judged separately for bytes (quantization), non-zero parameters
// (pruning) and, with a fine-tuning arm, downstream accuracy. For each lightly compressed point of
// a smaller size and each larger size, the larger size's point is chosen by a rule fixed in
// advance — its least compressed setting that fits in the smaller point's budget — never by its
// quality (no best-of-many). Seeds are averaged; comparisons are paired over the same windows.
import { pairedDiffSeeds } from '../../eval/paired.ts';
import type { PointSums } from '../compress-grid.ts';
import type { Comparison, CompressionPoint, SizeSpec, Verdict } from '../types.ts';
import { type ClaimContext, commonCaveats, fmtComparison, fmtTally, majority, tally } from './common.ts';

export type Budget = 'bytes' | 'nonzero' | 'accuracy';

interface Group {
  size: string;
  setting: string;
  method: string;
  budget: number;
  points: CompressionPoint[];
}

/** Points of one setting of one size, seeds together. */
function groups(
  points: CompressionPoint[],
  kind: 'quant' | 'prune',
  measure: (p: CompressionPoint) => number,
): Group[] {
  const keep = points.filter((p) =>
    p.method === 'dense'
      ? true
      : kind === 'quant'
        ? p.bits !== null && p.method === 'rtn'
        : p.method === 'magnitude',
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
  return [...m.values()];
}

function isLight(g: Group, kind: 'quant' | 'prune'): boolean {
  if (g.method === 'dense') return true;
  return kind === 'quant' ? (g.points[0]!.bits ?? 0) >= 8 : (g.points[0]!.sparsity ?? 1) <= 0.3;
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
  const kind = budget === 'nonzero' ? 'prune' : 'quant';
  const measure = (p: CompressionPoint) => (budget === 'nonzero' ? p.nonzero_params : p.bytes);
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
      const unit = budget === 'nonzero' ? 'non-zeros' : 'bytes';
      comparisons.push(
        c.ev.comparison(
          `${light.size} ${light.setting} (${(light.budget / 1e6).toFixed(2)} M ${unit}) vs ${fit.size} ${fit.setting} (${(fit.budget / 1e6).toFixed(2)} M)`,
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
  const what = { bytes: 'bytes', nonzero: 'non-zero parameters', accuracy: 'bytes, on the fine-tuned task' }[
    budget
  ];
  const metric = budget === 'accuracy' ? 'error rate' : 'loss';
  const statement = `At the same inference budget (${what}), a heavily compressed large model beats a lightly compressed small model.`;
  const reason =
    comparisons.length === 0
      ? `no larger model fits in the ${what} of a lightly compressed smaller one`
      : verdict === 'supported'
        ? `the larger model wins most comparisons at equal ${what}`
        : verdict === 'not supported'
          ? `the smaller model wins most comparisons at equal ${what}`
          : `the comparisons at equal ${what} are split or tied`;
  const evidence = comparisons.length
    ? `Lightly compressed smaller models (dense, ${kind === 'quant' ? '8-bit' : '≤ 30% pruned'}) against each larger size's least compressed ${kind === 'quant' ? 'quantization' : 'pruning'} setting within the same ${what} (${metric} of smaller − larger${budget === 'accuracy' ? '' : ', nats × 100'}; paired): ${comparisons.map(fmtComparison).join('; ')}. ${fmtTally(t)}.`
    : `No larger model fits in the ${what} of a lightly compressed smaller one: nothing to compare.`;
  const v: Verdict = {
    claim: budget === 'bytes' ? '3-bytes' : budget === 'nonzero' ? '3-nonzero' : '3-accuracy',
    statement,
    verdict: c.tooShort ? 'inconclusive' : verdict,
    reason: c.tooShort ? `too short to be evidence; ${reason}` : reason,
    caveats: commonCaveats(c),
    evidence,
    comparisons,
  };
  return v;
}
