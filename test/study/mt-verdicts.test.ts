// The translation study's verdicts on synthetic per-sentence BLEU statistics with a known answer:
// width better, depth better, inside the noise (inconclusive), and the three claims' rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BleuStats } from '../../src/eval/bleu.ts';
import type { BleuPoint, MtCompressionPoint, MtSize } from '../../src/study/mt/types.ts';
import {
  type MtClaimContext,
  mtClaim1,
  mtClaim2,
  mtClaim3,
  widthVsDepth,
} from '../../src/study/mt/verdicts.ts';

const N = 120;

/** A sentence of 12 tokens whose n-gram matches fall with the quality q in [0, 1]. */
function sentence(q: number): BleuStats {
  const totals = [12, 11, 10, 9];
  return { counts: totals.map((t, n) => Math.round(t * q ** (n + 1))), totals, sysLen: 12, refLen: 12 };
}

/** A system of N sentences: quality q, and `noise` alternating ± on every sentence. */
function system(q: number, noise = 0, phase = 0): BleuStats[] {
  return Array.from({ length: N }, (_, i) =>
    sentence(Math.min(1, Math.max(0, q + ((i + phase) % 2 ? noise : -noise)))),
  );
}

function size(id: string, d: number, L: number, sweeps: MtSize['sweeps']): MtSize {
  return {
    id,
    sweeps,
    d_model: d,
    n_layers: L,
    n_heads: d / 32,
    d_ff: 4 * d,
    params: d * d * L * 24,
    lr: 1e-3,
    warmup_steps: 10,
    max_tokens: 1024,
  };
}

// centre d128-L2; depth sweep L1, L2, L4; width sweep d64, d128, d256
const SIZES = [
  size('d64-L2', 64, 2, ['width']),
  size('d128-L1', 128, 1, ['depth']),
  size('d128-L2', 128, 2, ['depth', 'width']),
  size('d128-L4', 128, 4, ['depth']),
  size('d256-L2', 256, 2, ['width']),
].sort((a, b) => a.params - b.params);

function ctx(quality: Record<string, BleuStats[]>, tooShort = false): MtClaimContext {
  const files = new Map<string, BleuStats[]>();
  const final = new Map<string, BleuPoint>();
  for (const [id, st] of Object.entries(quality)) {
    files.set(`final-${id}`, st);
    const counts = [0, 0, 0, 0];
    for (const s of st)
      s.counts.forEach((c, n) => {
        counts[n]! += c;
      });
    // the BLEU a point reports: corpus BLEU of its statistics (the verdicts rank by it)
    const bleu =
      100 * Math.exp(counts.reduce((a, c, n) => a + Math.log(c / (st.length * [12, 11, 10, 9][n]!)), 0) / 4);
    final.set(id, { t: 100, step: 1, wall_s: 100, decoding: 'beam', bleu, chrf: 0, file: `final-${id}` });
  }
  return { sizes: SIZES, budgetS: 100, tooShort, final, stats: (f) => files.get(f)! };
}

describe('width vs depth (paired bootstrap over sentences)', () => {
  test('width better: the widened model clearly beats the deepened one → supported, naming both', () => {
    const v = widthVsDepth(
      ctx({
        'd64-L2': system(0.5),
        'd128-L1': system(0.55),
        'd128-L2': system(0.6),
        'd128-L4': system(0.7),
        'd256-L2': system(0.85),
      }),
    );
    assert.equal(v.verdict, 'supported');
    assert.equal(v.comparisons.length, 3, 'widened vs deepened, each vs the centre');
    assert.equal(v.comparisons[0]!.a, 'd256-L2');
    assert.equal(v.comparisons[0]!.b, 'd128-L4');
    assert.ok(v.comparisons[0]!.low > 0);
    assert.match(v.reason, /width helps more/);
  });

  test('depth better → not supported (depth helps more)', () => {
    const v = widthVsDepth(
      ctx({
        'd64-L2': system(0.5),
        'd128-L1': system(0.55),
        'd128-L2': system(0.6),
        'd128-L4': system(0.85),
        'd256-L2': system(0.62),
      }),
    );
    assert.equal(v.verdict, 'not supported');
    assert.equal(v.comparisons[0]!.outcome, 'b');
    assert.match(v.reason, /depth helps more: the deepened d128-L4/);
  });

  test('inside the noise → inconclusive', () => {
    // the two bests differ by a sentence-level wobble of opposite phase, no systematic gap
    const v = widthVsDepth(
      ctx({
        'd64-L2': system(0.3),
        'd128-L1': system(0.3),
        'd128-L2': system(0.4),
        'd128-L4': system(0.7, 0.2, 0),
        'd256-L2': system(0.7, 0.2, 1),
      }),
    );
    assert.equal(v.verdict, 'inconclusive');
    assert.equal(v.comparisons[0]!.outcome, 'tie');
    assert.ok(v.comparisons[0]!.low <= 0 && v.comparisons[0]!.high >= 0);
  });

  test('neither grown model beats the centre → inconclusive, whichever lost less', () => {
    // the smaller sizes win (as at a short budget): the widened model loses less than the deepened
    // one, but neither widening nor deepening helped
    const v = widthVsDepth(
      ctx({
        'd64-L2': system(0.85),
        'd128-L1': system(0.9),
        'd128-L2': system(0.8),
        'd128-L4': system(0.4),
        'd256-L2': system(0.6),
      }),
    );
    assert.equal(v.verdict, 'inconclusive');
    assert.equal(v.comparisons[0]!.outcome, 'a', 'the widened model is ahead of the deepened one');
    assert.match(
      v.reason,
      /neither widening \(d256-L2\) nor deepening \(d128-L4\) beat the centre size d128-L2/,
    );
  });

  test('one grown model beats the centre: the widened-vs-deepened comparison decides', () => {
    const v = widthVsDepth(
      ctx({
        'd64-L2': system(0.3),
        'd128-L1': system(0.3),
        'd128-L2': system(0.6),
        'd128-L4': system(0.5),
        'd256-L2': system(0.8),
      }),
    );
    assert.equal(v.verdict, 'supported');
    assert.equal(v.comparisons[1]!.outcome, 'a');
    assert.equal(v.comparisons[2]!.outcome, 'b');
  });

  test('the quick preset: too short to be evidence', () => {
    const v = widthVsDepth(
      ctx(
        {
          'd64-L2': system(0.5),
          'd128-L1': system(0.55),
          'd128-L2': system(0.6),
          'd128-L4': system(0.62),
          'd256-L2': system(0.8),
        },
        true,
      ),
    );
    assert.equal(v.verdict, 'inconclusive');
    assert.match(v.reason, /^too short to be evidence/);
  });
});

describe('claim 1 in BLEU', () => {
  test('the largest of each sweep beats every smaller size → supported', () => {
    const v = mtClaim1(
      ctx({
        'd64-L2': system(0.3),
        'd128-L1': system(0.3),
        'd128-L2': system(0.5),
        'd128-L4': system(0.8),
        'd256-L2': system(0.8),
      }),
    );
    assert.equal(v.verdict, 'supported');
    assert.equal(v.comparisons.length, 4);
    assert.ok(v.comparisons.every((c) => c.outcome === 'b'));
  });

  test('smaller sizes ahead in both sweeps → not supported', () => {
    const v = mtClaim1(
      ctx({
        'd64-L2': system(0.8),
        'd128-L1': system(0.8),
        'd128-L2': system(0.6),
        'd128-L4': system(0.3),
        'd256-L2': system(0.3),
      }),
    );
    assert.equal(v.verdict, 'not supported');
  });

  test('all inside the noise → inconclusive', () => {
    const v = mtClaim1(
      ctx({
        'd64-L2': system(0.5, 0.2, 0),
        'd128-L1': system(0.5, 0.2, 1),
        'd128-L2': system(0.5, 0.2, 0),
        'd128-L4': system(0.5, 0.2, 1),
        'd256-L2': system(0.5, 0.2, 1),
      }),
    );
    assert.equal(v.verdict, 'inconclusive');
    assert.ok(v.comparisons.every((c) => c.outcome === 'tie'));
  });
});

function cpoint(
  size_id: string,
  method: string,
  setting: string,
  bytes: number,
  nonzero: number,
  bits: number | null,
  sparsity: number | null,
): MtCompressionPoint {
  return {
    run_id: `${size_id}-s1`,
    size_id,
    method,
    setting,
    bits,
    sparsity,
    bytes,
    nonzero_params: nonzero,
    loss: 0,
    bleu: 0,
    chrf: 0,
    file: `${size_id}/${setting}`,
  };
}

describe('claims 2 and 3 in BLEU', () => {
  // dense qualities per size, and the quality each compressed setting keeps
  const dense: Record<string, number> = {
    'd64-L2': 0.5,
    'd128-L1': 0.5,
    'd128-L2': 0.6,
    'd128-L4': 0.7,
    'd256-L2': 0.75,
  };
  const bytes: Record<string, number> = {
    'd64-L2': 400,
    'd128-L1': 600,
    'd128-L2': 1000,
    'd128-L4': 1800,
    'd256-L2': 3600,
  };
  function grid(loss: (id: string, setting: string) => number) {
    const files = new Map<string, BleuStats[]>();
    const points: MtCompressionPoint[] = [];
    for (const id of Object.keys(dense)) {
      const b = bytes[id]!;
      const add = (p: MtCompressionPoint) => {
        files.set(p.file, system(p.method === 'dense' ? dense[id]! : dense[id]! - loss(id, p.setting)));
        points.push(p);
      };
      add(cpoint(id, 'dense', 'fp32', b, b / 4, null, null));
      add(cpoint(id, 'rtn', 'int8:channel', b / 4, b / 4, 8, null));
      add(cpoint(id, 'rtn', 'int4:channel', b / 8, b / 4, 4, null));
      add(cpoint(id, 'magnitude', '50%:global', b, b / 8, null, 0.5));
      add(cpoint(id, 'magnitude', '90%:global', b, b / 40, null, 0.9));
    }
    const c = ctx({});
    return { points, c: { ...c, stats: (f: string) => files.get(f)! } };
  }

  test('claim 2: larger models lose less → supported; smaller lose less → not supported', () => {
    const big = (id: string) => bytes[id]! >= 1800;
    const robust = grid(
      (id, s) => (big(id) ? 0.02 : 0.25) * (s.startsWith('int4') || s.startsWith('90') ? 2 : 1),
    );
    const v = mtClaim2(robust.c, robust.points);
    assert.equal(v.verdict, 'supported', v.evidence);
    assert.equal(v.comparisons.length, 4); // 2 families × 2 sweeps
    const fragile = grid((id) => (big(id) ? 0.3 : 0.02));
    assert.equal(mtClaim2(fragile.c, fragile.points).verdict, 'not supported');
    const same = grid(() => 0); // lossless compression: every drop is 0
    const s = mtClaim2(same.c, same.points);
    assert.equal(s.verdict, 'inconclusive');
    assert.ok(s.comparisons.every((x) => x.outcome === 'tie' && x.diff === 0));
  });

  test('claim 2: a larger model with no BLEU to lose is not evidence of robustness (the floor)', () => {
    const big = (id: string) => bytes[id]! >= 1800;
    // the largest sizes barely translate (quality 0.05): compression cannot cost them anything,
    // while the smaller ones lose most of what they have
    const g = grid((id) => (big(id) ? 0 : 0.25));
    const floor = { ...g, points: g.points.map((p) => p) };
    const low = new Map<string, BleuStats[]>();
    for (const p of floor.points) if (big(p.size_id)) low.set(p.file, system(0.05));
    const c = { ...floor.c, stats: (f: string) => low.get(f) ?? g.c.stats(f) };
    const v = mtClaim2(c, floor.points);
    const decided = v.comparisons.filter((x) => x.outcome === 'b');
    assert.ok(decided.length > 0, 'the larger models do lose less');
    assert.ok(
      decided.every((x) => x.not_counted),
      'each such comparison is bounded by the floor',
    );
    assert.equal(v.verdict, 'inconclusive', v.evidence);
    assert.match(v.reason, /had less to lose/);
    assert.match(v.evidence, /not counted: d(128-L4|256-L2)'s dense BLEU/);
  });

  test('claim 3: each light smaller point against the larger size’s least compressed setting that fits', () => {
    const g = grid((_, s) =>
      s.startsWith('int4') ? 0.05 : s.startsWith('int8') ? 0.01 : s.startsWith('50') ? 0.05 : 0.2,
    );
    const v = mtClaim3(g.c, g.points, 'bytes');
    // d64-L2 dense (400 bytes) vs d128-L1's int4 (75 bytes? no: least compressed that fits is int8, 150)
    const first = v.comparisons.find((c) => c.a === 'd64-L2 dense' && c.b.startsWith('d128-L1'));
    assert.ok(first, v.evidence);
    assert.equal(first.b, 'd128-L1 int8:channel');
    assert.ok(
      v.comparisons.every((c) => !c.a.includes('int4')),
      'only dense or 8-bit smaller points',
    );
    const byNz = mtClaim3(g.c, g.points, 'nonzero');
    assert.ok(byNz.comparisons.length > 0);
    assert.ok(byNz.comparisons.every((c) => c.a.endsWith('dense')));
  });
});
