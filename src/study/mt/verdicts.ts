// The translation study's verdicts in BLEU terms: the paper's three claims and whether width or
// depth helps more. Every comparison is a paired bootstrap over the sample's sentences (1000
// resamples, seeded; corpus BLEU recomputed from summed n-gram statistics: src/eval/bleu-bootstrap.ts);
// a difference whose 95% interval holds 0 is a tie. Verdicts add up as the MLM arm's do
// (src/study/claims/common.ts: a two-to-one majority of decided comparisons, else inconclusive).
import type { BleuStats } from '../../eval/bleu.ts';
import {
  bleuOfStats,
  decideInterval,
  pairedBleuBootstrap,
  pairedBootstrap,
} from '../../eval/bleu-bootstrap.ts';
import { majority, type Tally } from '../claims/common.ts';
import type { VerdictWord } from '../types.ts';
import type { BleuComparison, BleuPoint, MtCompressionPoint, MtSize, MtVerdict } from './types.ts';

export interface MtClaimContext {
  /** ascending by parameters */
  sizes: MtSize[];
  budgetS: number;
  /** the quick preset: every verdict is "too short to be evidence" */
  tooShort: boolean;
  /** the final model of each size (beam search at the budget) */
  final: Map<string, BleuPoint>;
  /** per-sentence statistics of an outputs file */
  stats: (file: string) => BleuStats[];
}

const SWEEPS = ['depth', 'width'] as const;

export function sweepOf(c: MtClaimContext, sweep: 'depth' | 'width'): MtSize[] {
  return c.sizes.filter((s) => s.sweeps.includes(sweep)).sort((a, b) => a.params - b.params);
}

function outcomeOf(d: { low: number; high: number }, higherIsBetter: boolean): 'a' | 'b' | 'tie' {
  const k = decideInterval(d);
  if (k === 0) return 'tie';
  return k < 0 === higherIsBetter ? 'a' : 'b';
}

/** BLEU of a minus BLEU of b over the same sentences, as a verdict records it. */
export function bleuComparison(
  what: string,
  a: string,
  b: string,
  sa: BleuStats[],
  sb: BleuStats[],
  favours: 'a' | 'b',
): BleuComparison {
  const d = pairedBleuBootstrap(sa, sb);
  return {
    what,
    a,
    b,
    diff: d.diff,
    low: d.low,
    high: d.high,
    outcome: outcomeOf(d, true),
    claim_favours: favours,
  };
}

function tallyOf(cs: BleuComparison[]): Tally {
  const t = { support: 0, against: 0, ties: 0 };
  for (const c of cs.filter((x) => !x.not_counted)) {
    if (c.outcome === 'tie') t.ties++;
    else if (c.outcome === c.claim_favours) t.support++;
    else t.against++;
  }
  return t;
}

const fmtTally = (t: Tally) => `${t.support} for, ${t.against} against, ${t.ties} inside the noise`;

export function fmtBleuComparison(c: BleuComparison): string {
  const sign = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
  const won = c.outcome === 'tie' ? 'inside the noise' : `${c.outcome === 'a' ? c.a : c.b} better`;
  const left = c.not_counted ? `; not counted: ${c.not_counted}` : '';
  return `${c.what}: ${sign(c.diff)} BLEU (95% ${sign(c.low)} to ${sign(c.high)}; ${won}${left})`;
}

function finish(c: MtClaimContext, v: Omit<MtVerdict, 'caveats'> & { caveats?: string[] }): MtVerdict {
  const caveats = [...(v.caveats ?? [])];
  if (c.tooShort)
    caveats.unshift(
      'the quick preset is too short to be evidence: it checks that the pipeline runs, nothing more',
    );
  return {
    ...v,
    verdict: c.tooShort ? 'inconclusive' : v.verdict,
    reason: c.tooShort ? `too short to be evidence; ${v.reason}` : v.reason,
    caveats,
  };
}

const statsOfSize = (c: MtClaimContext, id: string) => {
  const f = c.final.get(id);
  return f ? c.stats(f.file) : null;
};

/** Claim 1: under one wall-clock budget, the largest model of each sweep translates best. */
export function mtClaim1(c: MtClaimContext): MtVerdict {
  const comparisons: BleuComparison[] = [];
  const parts: string[] = [];
  let support = 0;
  let against = 0;
  for (const sweep of SWEEPS) {
    const ss = sweepOf(c, sweep);
    if (ss.length < 2) continue;
    const largest = ss[ss.length - 1]!;
    const sl = statsOfSize(c, largest.id);
    const mine: BleuComparison[] = [];
    for (const s of ss.slice(0, -1)) {
      const sa = statsOfSize(c, s.id);
      if (sa && sl)
        mine.push(
          bleuComparison(`${s.id} vs ${largest.id} at ${c.budgetS} s`, s.id, largest.id, sa, sl, 'b'),
        );
    }
    comparisons.push(...mine);
    const t = tallyOf(mine);
    const beatsAll = mine.length > 0 && t.support === mine.length;
    const beaten = mine.filter((x) => x.outcome === 'a').map((x) => x.a);
    if (beatsAll) support++;
    else if (beaten.length) against++;
    parts.push(
      `${sweep} sweep: ${beatsAll ? `the largest, ${largest.id}, translates better than every smaller size` : beaten.length ? `${beaten.join(', ')} beat${beaten.length === 1 ? 's' : ''} the largest, ${largest.id}` : `${largest.id} is inside the noise of a smaller size`} (${fmtTally(t)})`,
    );
  }
  const verdict: VerdictWord =
    support > 0 && against === 0
      ? 'supported'
      : against > 0 && support === 0
        ? 'not supported'
        : 'inconclusive';
  const reason =
    verdict === 'supported'
      ? 'the largest model of each sweep reached the highest BLEU at the budget'
      : verdict === 'not supported'
        ? `a smaller model reached a clearly higher BLEU than the largest at ${c.budgetS} s`
        : 'the sweeps disagree, or the largest models are inside the noise of smaller ones';
  return finish(c, {
    claim: '1',
    statement:
      'Under the same wall-clock training budget, larger (wider or deeper) models translate better (BLEU).',
    verdict,
    reason,
    evidence: `Final models at the ${c.budgetS} s budget, beam search, BLEU smaller − largest (paired bootstrap over the same sentences): ${comparisons.map(fmtBleuComparison).join('; ')}. ${parts.join('. ')}.`,
    comparisons,
  });
}

/**
 * Width vs depth: the model grown in width (the largest of the width sweep) against the model grown
 * in depth (the largest of the depth sweep) at the budget. Each is also compared with the centre
 * (the size both sweeps share): when neither grown model beats it, neither direction helped at this
 * budget and the row is inconclusive whichever of the two lost less.
 */
export function widthVsDepth(c: MtClaimContext): MtVerdict {
  const statement =
    'At equal training time, widening helps more than deepening: the model grown in width translates better than the model grown in depth.';
  const largest = (sweep: 'depth' | 'width') =>
    sweepOf(c, sweep)
      .filter((s) => c.final.has(s.id))
      .at(-1) ?? null;
  const centre = c.sizes.find(
    (s) => s.sweeps.includes('depth') && s.sweeps.includes('width') && c.final.has(s.id),
  );
  const w = largest('width');
  const d = largest('depth');
  const bleus = (sweep: 'depth' | 'width') =>
    sweepOf(c, sweep)
      .map((s) => `${s.id} ${c.final.get(s.id)?.bleu.toFixed(2) ?? '—'}`)
      .join(', ');
  const listed = `BLEU at ${c.budgetS} s (beam) — width sweep: ${bleus('width')}; depth sweep: ${bleus('depth')}`;
  if (!w || !d || !centre || w.id === centre.id || d.id === centre.id)
    return finish(c, {
      claim: 'width-depth',
      statement,
      verdict: 'inconclusive',
      reason: 'a sweep has no trained size beyond the centre',
      evidence: `${listed}. Nothing to compare.`,
      comparisons: [],
    });
  const statsOf = (id: string) => c.stats(c.final.get(id)!.file);
  const vs = (what: string, a: string, b: string) =>
    bleuComparison(`${what} at ${c.budgetS} s`, a, b, statsOf(a), statsOf(b), 'a');
  const cmp = vs(`widened ${w.id} vs deepened ${d.id}`, w.id, d.id);
  const wc = vs(`widened ${w.id} vs centre ${centre.id}`, w.id, centre.id);
  const dc = vs(`deepened ${d.id} vs centre ${centre.id}`, d.id, centre.id);
  const comparisons = [cmp, wc, dc];
  const evidence = `${listed}. ${comparisons.map(fmtBleuComparison).join('; ')}.`;
  if (wc.outcome !== 'a' && dc.outcome !== 'a')
    return finish(c, {
      claim: 'width-depth',
      statement,
      verdict: 'inconclusive',
      reason: `neither widening (${w.id}) nor deepening (${d.id}) beat the centre size ${centre.id} at this budget, so neither direction helped`,
      evidence,
      comparisons,
    });
  const verdict: VerdictWord =
    cmp.outcome === 'tie' ? 'inconclusive' : cmp.outcome === 'a' ? 'supported' : 'not supported';
  const reason =
    verdict === 'supported'
      ? `width helps more: the widened ${w.id} translates better than the deepened ${d.id}`
      : verdict === 'not supported'
        ? `depth helps more: the deepened ${d.id} translates better than the widened ${w.id}`
        : `the widened ${w.id} and the deepened ${d.id} are inside the noise of each other`;
  return finish(c, { claim: 'width-depth', statement, verdict, reason, evidence, comparisons });
}

const familyOf = (p: MtCompressionPoint) =>
  p.method === 'rtn' ? 'quantization' : p.method === 'magnitude' ? 'pruning' : 'dense';

/**
 * Claim 2: larger models lose less BLEU when compressed. Per family and sweep, the smallest and
 * the largest size's BLEU drop (dense − compressed, averaged over the family's settings both
 * have) compared with the same bootstrap draws: a − b is the smaller model's drop minus the
 * larger one's, so a positive difference favours the larger model.
 */
export function mtClaim2(c: MtClaimContext, points: MtCompressionPoint[]): MtVerdict {
  const comparisons: BleuComparison[] = [];
  for (const fam of ['quantization', 'pruning'] as const)
    for (const sweep of SWEEPS) {
      const ss = sweepOf(c, sweep);
      if (ss.length < 2) continue;
      const small = ss[0]!;
      const large = ss[ss.length - 1]!;
      const of = (id: string) => points.filter((p) => p.size_id === id && familyOf(p) === fam);
      const ps = of(small.id);
      const pl = of(large.id);
      const settings = ps.map((p) => p.setting).filter((s) => pl.some((q) => q.setting === s));
      const ds = points.find((p) => p.size_id === small.id && p.method === 'dense');
      const dl = points.find((p) => p.size_id === large.id && p.method === 'dense');
      if (!settings.length || !ds || !dl) continue;
      const drop = (dense: MtCompressionPoint, comp: MtCompressionPoint[]) => {
        const d = c.stats(dense.file);
        const cs = settings.map((s) => c.stats(comp.find((p) => p.setting === s)!.file));
        return (idx?: Int32Array) => {
          const base = bleuOfStats(d, idx);
          return cs.reduce((a, x) => a + base - bleuOfStats(x, idx), 0) / cs.length;
        };
      };
      const fs = drop(ds, ps);
      const fl = drop(dl, pl);
      const n = c.stats(ds.file).length;
      const r = pairedBootstrap(
        n,
        () => fs() - fl(),
        (idx) => fs(idx) - fl(idx),
      );
      // a smaller drop is better: a positive difference means the larger model (b) lost less
      const outcome = outcomeOf(r, false);
      // the floor: a model cannot lose more BLEU than it has; when the larger model's dense BLEU is
      // at most the smaller model's drop, "it lost less" says only that it had less to lose
      const denseLarge = bleuOfStats(c.stats(dl.file));
      const dropSmall = fs();
      const floor =
        outcome === 'b' && denseLarge <= dropSmall
          ? `${large.id}'s dense BLEU ${denseLarge.toFixed(2)} is no more than ${small.id}'s drop ${dropSmall.toFixed(2)}: it had less to lose`
          : null;
      comparisons.push({
        what: `${fam} (${settings.join(', ')}), ${sweep} sweep: BLEU drop of ${small.id} − drop of ${large.id}`,
        a: small.id,
        b: large.id,
        diff: r.diff,
        low: r.low,
        high: r.high,
        outcome,
        claim_favours: 'b',
        ...(floor ? { not_counted: floor } : {}),
      });
    }
  const t = tallyOf(comparisons);
  const verdict = comparisons.length ? majority(t) : 'inconclusive';
  const reason =
    verdict === 'supported'
      ? 'the larger model of most sweeps and families loses less BLEU when compressed'
      : verdict === 'not supported'
        ? 'the smaller model of most sweeps and families loses less BLEU when compressed'
        : comparisons.some((x) => x.not_counted)
          ? 'the drops that favour the larger models are bounded by their low BLEU (they had less to lose), the rest are split or inside the noise'
          : comparisons.length
            ? 'the BLEU drops are split or inside the noise'
            : 'no sweep has compressed points for its smallest and largest size';
  return finish(c, {
    claim: '2',
    statement: 'Larger models are more robust to compression: they lose less BLEU when quantized or pruned.',
    verdict,
    reason,
    evidence: `Same training time (${c.budgetS} s), greedy decoding, BLEU drop = dense − compressed averaged over each family's settings; paired bootstrap of the difference of drops: ${comparisons.map(fmtBleuComparison).join('; ')}. ${fmtTally(t)}.`,
    comparisons,
    caveats: [
      'only the same-training-time comparison; the MLM arm’s quality-matched snapshots are not run for translation',
      ...comparisons.filter((x) => x.not_counted).map((x) => `not counted (${x.what}): ${x.not_counted}`),
    ],
  });
}

/**
 * Claim 3: at equal inference budget (container bytes, or non-zero parameters) a heavily
 * compressed larger model beats a lightly compressed smaller one. Each lightly compressed point of
 * a smaller size (dense or 8-bit; dense for pruning — the grid's lightest pruning is 50%) against
 * each larger size's least compressed setting that fits in its budget (fixed in advance).
 */
export function mtClaim3(
  c: MtClaimContext,
  points: MtCompressionPoint[],
  by: 'bytes' | 'nonzero',
): MtVerdict {
  const fam = by === 'bytes' ? 'quantization' : 'pruning';
  const inFamily = (p: MtCompressionPoint) => p.method === 'dense' || familyOf(p) === fam;
  const size = (p: MtCompressionPoint) => (by === 'bytes' ? p.bytes : p.nonzero_params);
  const light = (p: MtCompressionPoint) =>
    p.method === 'dense' || (by === 'bytes' ? p.bits === 8 : (p.sparsity ?? 1) <= 0.3);
  const label = (p: MtCompressionPoint) => `${p.size_id} ${p.method === 'dense' ? 'dense' : p.setting}`;
  const comparisons: BleuComparison[] = [];
  for (let i = 0; i < c.sizes.length; i++) {
    const small = c.sizes[i]!;
    for (const a of points.filter((p) => p.size_id === small.id && inFamily(p) && light(p))) {
      for (const large of c.sizes.slice(i + 1)) {
        const fit = points
          .filter((p) => p.size_id === large.id && inFamily(p) && size(p) <= size(a))
          .sort((x, y) => size(y) - size(x))[0];
        if (!fit) continue;
        comparisons.push(
          bleuComparison(
            `${label(a)} vs ${label(fit)} (${by === 'bytes' ? `${a.bytes} vs ${fit.bytes} bytes` : `${a.nonzero_params} vs ${fit.nonzero_params} non-zeros`})`,
            label(a),
            label(fit),
            c.stats(a.file),
            c.stats(fit.file),
            'b',
          ),
        );
      }
    }
  }
  const t = tallyOf(comparisons);
  const verdict = comparisons.length ? majority(t) : 'inconclusive';
  const unit = by === 'bytes' ? 'bytes' : 'non-zero parameters';
  const reason =
    verdict === 'supported'
      ? `at equal ${unit} the compressed larger model translates better in most pairs`
      : verdict === 'not supported'
        ? `at equal ${unit} the lightly compressed smaller model translates better in most pairs`
        : comparisons.length
          ? 'the pairs are split or inside the noise'
          : `no larger model's ${fam} setting fits in a smaller model's ${unit}`;
  return finish(c, {
    claim: `3-${by}`,
    statement: `At equal ${unit}, a heavily compressed (${fam}) larger model translates better than a lightly compressed smaller one.`,
    verdict,
    reason,
    evidence: `Greedy BLEU, lighter smaller point − the larger size's least compressed setting that fits: ${comparisons.map(fmtBleuComparison).join('; ') || 'none'}. ${fmtTally(t)}.`,
    comparisons,
  });
}
