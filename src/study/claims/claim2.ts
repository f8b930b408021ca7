// Claim 2: larger models are more robust to compression. Judged twice, per family of settings
// (quantization, pruning — each family one piece of evidence, not each bit width): (a) models
// trained for the same time, the smallest against the largest of each sweep; (b) at matched dense
// quality: a larger model's weight snapshot whose dense loss is closest to a smaller model's final
// one (within its standard error), or when the smaller models are the better ones, the smaller
// model's snapshot closest to the larger model's final loss; both compressed with the same
// setting. Robustness is the loss increase (compressed − dense) on the same windows; the
// comparison is paired over them. Without (b) the verdict is inconclusive.
import { type Paired, pairedDiffSeeds } from '../../eval/paired.ts';
import type { PointSums } from '../compress-grid.ts';
import type { Comparison, CompressionPoint, SizeSpec, Verdict, VerdictWord } from '../types.ts';
import {
  type ClaimContext,
  commonCaveats,
  fmtComparison,
  fmtTally,
  majority,
  sweepSizes,
  tally,
} from './common.ts';

export type Family = 'quantization' | 'pruning';

export function familyOf(p: CompressionPoint): Family | null {
  if (p.method === 'rtn' || p.method === 'gptq') return 'quantization';
  if (p.method === 'magnitude' || p.method === 'gradual') return 'pruning';
  return null;
}

/** Per-window loss increase of a point: compressed − dense window sums. */
function increase(p: CompressionPoint, sums: PointSums): Float64Array {
  const s = sums.get(p)!;
  return Float64Array.from(s.comp, (x, i) => x - s.dense[i]!);
}

/** A size's degradation vectors per seed: the mean increase over the family's settings (RTN and one-shot only). */
function familyIncrease(
  points: CompressionPoint[],
  sums: PointSums,
  size: string,
  fam: Family,
): Float64Array[] {
  const mine = points.filter(
    (p) => p.size_id === size && familyOf(p) === fam && (p.method === 'rtn' || p.method === 'magnitude'),
  );
  const bySeed = new Map<number, CompressionPoint[]>();
  for (const p of mine) bySeed.set(p.seed, [...(bySeed.get(p.seed) ?? []), p]);
  return [...bySeed.values()].map((ps) => {
    const vs = ps.map((p) => increase(p, sums));
    return Float64Array.from(vs[0]!, (_, i) => vs.reduce((a, v) => a + v[i]!, 0) / vs.length);
  });
}

function compareIncrease(c: ClaimContext, a: Float64Array[], b: Float64Array[]): Paired | null {
  return a.length && b.length ? pairedDiffSeeds(a, b, c.ev.counts) : null;
}

/** (a) same training time: the smallest against the largest size of each sweep, per family. */
function timeMatched(
  c: ClaimContext,
  points: CompressionPoint[],
  sums: PointSums,
  fam: Family,
): Comparison[] {
  const out: Comparison[] = [];
  for (const sweep of ['depth', 'width'] as const) {
    const ss = sweepSizes(c, sweep);
    if (ss.length < 2) continue;
    const small = ss[0]!;
    const large = ss[ss.length - 1]!;
    const p = compareIncrease(
      c,
      familyIncrease(points, sums, small.id, fam),
      familyIncrease(points, sums, large.id, fam),
    );
    if (p)
      out.push(
        c.ev.comparison(
          `${fam} loss increase, ${small.id} vs ${large.id} (${sweep} sweep, same time)`,
          small.id,
          large.id,
          p,
          'b',
        ),
      );
  }
  return out;
}

/**
 * (b) matched dense quality: each matched pair's increase under the family's matched setting —
 * a snapshot (size_id, at its step) against the final model of the size it matches (matched_to),
 * the smaller size always on side a.
 */
function qualityMatched(
  c: ClaimContext,
  points: CompressionPoint[],
  matched: CompressionPoint[],
  sums: PointSums,
  fam: Family,
): Comparison[] {
  const params = (id: string) => c.sizes.find((s) => s.id === id)?.params ?? 0;
  const out: Comparison[] = [];
  for (const m of matched.filter((p) => familyOf(p) === fam)) {
    const key = (p: CompressionPoint) => `${p.method} ${p.setting}`;
    const fin = m.matched_to!;
    const finals = points.filter((p) => p.size_id === fin && key(p) === key(m));
    if (finals.length === 0) continue;
    const snapFirst = params(m.size_id) < params(fin);
    const finInc = finals.map((x) => increase(x, sums));
    const snapInc = [increase(m, sums)];
    const p = snapFirst ? compareIncrease(c, snapInc, finInc) : compareIncrease(c, finInc, snapInc);
    if (!p) continue;
    const snap = `${m.size_id} at step ${m.step}`;
    const what = snapFirst ? `${snap} vs ${fin} (final)` : `${fin} (final) vs ${snap}`;
    const [a, b] = snapFirst ? [m.size_id, fin] : [fin, m.size_id];
    out.push(c.ev.comparison(`${m.setting} loss increase, ${what} (same dense quality)`, a, b, p, 'b'));
  }
  return out;
}

function combine(a: VerdictWord, b: VerdictWord | null): VerdictWord {
  if (b === null) return a;
  return a === b ? a : 'inconclusive';
}

function pruningShares(sizes: SizeSpec[], points: CompressionPoint[]): string {
  const rows = sizes.flatMap((s) => {
    const ps = points.filter(
      (p) => p.size_id === s.id && p.method === 'magnitude' && p.seed === points[0]?.seed,
    );
    return ps.length
      ? [
          `${s.id}: ${ps.map((p) => `${p.setting} of linear weights = ${(100 * (p.sparsity_all ?? 0)).toFixed(0)}% of all`).join(', ')}`,
        ]
      : [];
  });
  return rows.length ? ` Share of ALL parameters removed (embeddings stay dense) — ${rows.join('; ')}.` : '';
}

export function claim2(
  c: ClaimContext,
  points: CompressionPoint[],
  matched: CompressionPoint[],
  sums: PointSums,
): Verdict {
  const statement =
    'Larger models are more robust to compression (quantization, pruning): they lose relatively less.';
  const all: Comparison[] = [];
  const rows: string[] = [];
  const aVerdicts: VerdictWord[] = [];
  const bVerdicts: VerdictWord[] = [];
  for (const fam of ['quantization', 'pruning'] as const) {
    const a = timeMatched(c, points, sums, fam);
    const b = qualityMatched(c, points, matched, sums, fam);
    all.push(...a, ...b);
    const va = a.length ? majority(tally(a)) : 'inconclusive';
    const vb = b.length ? majority(tally(b)) : null;
    aVerdicts.push(va);
    if (vb) bVerdicts.push(vb);
    rows.push(
      `${fam}: (a) same time — ${va} (${fmtTally(tally(a))}); (b) same dense quality — ${vb ?? 'not formed (no matched pair in either direction)'}${b.length ? ` (${fmtTally(tally(b))})` : ''}`,
    );
  }
  const fold = (vs: VerdictWord[]): VerdictWord | null =>
    vs.length === 0
      ? null
      : vs.every((v) => v === vs[0])
        ? vs[0]!
        : vs.includes('supported') && vs.includes('not supported')
          ? 'inconclusive'
          : (vs.find((v) => v !== 'inconclusive') ?? 'inconclusive');
  const va = fold(aVerdicts) ?? 'inconclusive';
  const vb = fold(bVerdicts);
  const caveats = commonCaveats(c);
  const nearBase = caveats.some((x) => x.startsWith('near the unigram'));
  // without (b), (a) alone cannot separate robustness from how far each model has trained
  let verdict: VerdictWord = vb === null ? 'inconclusive' : combine(va, vb);
  if (nearBase || c.tooShort) verdict = 'inconclusive';
  const extra: string[] = [];
  if (vb === null)
    extra.push(
      'no snapshot of either size of a pair matched the other’s final dense quality: the training-level confound of (a) is not removed',
    );
  const reason =
    vb === null
      ? `comparison (b) at matched dense quality could not be formed (no snapshot within the standard error of the other size’s final loss); the same-time comparison (a) alone, ${va}, cannot separate robustness from training level`
      : va === vb
        ? `same-time and same-quality comparisons agree: ${va}`
        : `same-time comparison ${va}, same-quality comparison ${vb}: they disagree`;
  const evidence = `Loss increase under compression (compressed − dense, nats × 100, paired over windows; a family's settings averaged). ${rows.join('. ')}. Comparisons: ${all.map(fmtComparison).join('; ') || 'none'}.${pruningShares(c.sizes, points)}`;
  return {
    claim: '2',
    statement,
    verdict,
    reason: c.tooShort ? `too short to be evidence; ${reason}` : reason,
    caveats: [...caveats, ...extra],
    evidence,
    comparisons: all,
  };
}
