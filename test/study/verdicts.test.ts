// The verdict rules on study results built by hand, where the answer is known: each claim
// supported, not supported, inconclusive; a difference inside the noise is a tie; several seeds
// are averaged and their spread widens the error; claim 2's training-level confound (same-time
// and same-quality comparisons that disagree) is inconclusive; claim 3 picks the larger model's
// point by a fixed rule, not the best of many; the Pareto front and the crossings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claim1, claim1a } from '../../src/study/claims/claim1.ts';
import { claim2 } from '../../src/study/claims/claim2.ts';
import { claim3 } from '../../src/study/claims/claim3.ts';
import { type PointSums, paretoFront } from '../../src/study/compress-grid.ts';
import { crossings, frontier } from '../../src/study/fits.ts';
import type { CompressionPoint } from '../../src/study/types.ts';
import { addRun, BUDGET, context, depth3, point, robustness, size, world } from './verdict-fixture.ts';

test('claim 1: supported when the largest is clearly best, not supported when a smaller one is, a tie is inconclusive', () => {
  const w1 = world();
  addRun(w1, 's-s1', 's', 1, 0.1);
  addRun(w1, 'm-s1', 'm', 1, 0.05);
  addRun(w1, 'l-s1', 'l', 1, 0.0);
  const c1 = context(w1, depth3);
  const f1 = frontier(depth3, w1.runs, [BUDGET], [BUDGET], c1.ev);
  assert.equal(claim1(c1, f1).verdict, 'supported');
  assert.equal(f1.compute_optimal.size_id, 'l');

  const w2 = world();
  addRun(w2, 's-s1', 's', 1, 0.0);
  addRun(w2, 'm-s1', 'm', 1, 0.05);
  addRun(w2, 'l-s1', 'l', 1, 0.1);
  const c2 = context(w2, depth3);
  const v2 = claim1(c2, frontier(depth3, w2.runs, [BUDGET], [BUDGET], c2.ev));
  assert.equal(v2.verdict, 'not supported');
  assert.ok(
    v2.comparisons.every((x) => x.outcome === 'a'),
    'every smaller size beats the largest',
  );

  // 0.2% apart with per-window noise: inside 2 standard errors
  const w3 = world();
  addRun(w3, 's-s1', 's', 1, 0.002);
  addRun(w3, 'm-s1', 'm', 1, 0.001);
  addRun(w3, 'l-s1', 'l', 1, 0.0);
  const c3 = context(w3, depth3);
  const f3 = frontier(depth3, w3.runs, [BUDGET], [BUDGET], c3.ev);
  const v3 = claim1(c3, f3);
  assert.equal(v3.verdict, 'inconclusive');
  assert.ok(v3.comparisons.every((x) => x.outcome === 'tie'));
  assert.deepEqual([...f3.compute_optimal.ties].sort(), ['m', 's'], 'the optimum is tied with both');
});

test('several seeds are averaged and their spread widens the error: a seed-noisy difference is a tie', () => {
  // sizes 2% apart; one seed each: decided
  const w1 = world();
  addRun(w1, 's-s1', 's', 1, 0.02);
  addRun(w1, 'l-s1', 'l', 1, 0.0);
  const two = [size('s', 1e6), size('l', 4e6)];
  const c1 = context(w1, two);
  assert.equal(claim1(c1, frontier(two, w1.runs, [BUDGET], [BUDGET], c1.ev)).verdict, 'supported');
  // the same means, but each size's two seeds lie ±5% apart: the seed spread dominates → tie
  const w2 = world();
  addRun(w2, 's-s1', 's', 1, 0.07);
  addRun(w2, 's-s2', 's', 2, -0.03);
  addRun(w2, 'l-s1', 'l', 1, 0.05);
  addRun(w2, 'l-s2', 'l', 2, -0.05);
  const c2 = context(w2, two);
  const v2 = claim1(c2, frontier(two, w2.runs, [BUDGET], [BUDGET], c2.ev));
  assert.equal(v2.verdict, 'inconclusive');
  const cmp = v2.comparisons[0]!;
  assert.ok(Math.abs(cmp.diff - 0.02) < 0.005, `seeds averaged: diff ${cmp.diff}`);
  assert.ok(cmp.se > 0.02, `the seed spread is in the error (${cmp.se})`);
});

test('claim 1a: at equal tokens in the stable phase the larger model is compared with the smaller', () => {
  const w = world();
  // s runs 4x the tokens of l; at l's last stable tokens (80k) s is at +0.10, l at +0.02
  addRun(
    w,
    's-s1',
    's',
    1,
    0.0,
    [
      [40_000, 0.2],
      [80_000, 0.1],
      [160_000, 0.05],
      [320_000, 0.0],
    ],
    4000,
  );
  addRun(
    w,
    'l-s1',
    'l',
    1,
    0.0,
    [
      [40_000, 0.1],
      [80_000, 0.02],
      [100_000, 0.01],
    ],
    1000,
  );
  const two = [size('s', 1e6), size('l', 4e6)];
  const v = claim1a(context(w, two));
  assert.equal(v.verdict, 'supported');
  assert.equal(v.comparisons.length, 1);
  // l's stable phase ends at 0.8 × 120 s = 96 s = 96k tokens: its last evaluation before is 80k
  assert.match(v.comparisons[0]!.what, /0\.08 M tokens/);
  assert.ok(Math.abs(v.comparisons[0]!.diff - 0.08) < 0.01, `diff ${v.comparisons[0]!.diff}`);
});

test('claim 1a not supported: the smaller model is better at equal tokens, and the verdict points to the recipe evidence', () => {
  const w = world();
  // the same curves as above with the sizes' roles swapped: at 80k tokens s +0.02, l +0.10
  addRun(
    w,
    's-s1',
    's',
    1,
    0.0,
    [
      [40_000, 0.1],
      [80_000, 0.02],
      [160_000, 0.01],
      [320_000, 0.0],
    ],
    4000,
  );
  addRun(
    w,
    'l-s1',
    'l',
    1,
    0.0,
    [
      [40_000, 0.2],
      [80_000, 0.1],
      [100_000, 0.09],
    ],
    1000,
  );
  const v = claim1a(context(w, [size('s', 1e6), size('l', 4e6)]));
  assert.equal(v.verdict, 'not supported');
  assert.equal(v.comparisons[0]!.outcome, 'a');
  assert.ok(Math.abs(v.comparisons[0]!.diff + 0.08) < 0.01, `diff ${v.comparisons[0]!.diff}`);
  assert.match(v.reason, /the smaller model of most adjacent pairs has the lower loss/);
  assert.ok(
    v.caveats.some((x) => /docs\/recipe\.md/.test(x) && /PyTorch/.test(x)),
    v.caveats.join(' | '),
  );
});

test('claim 2: same-time and same-quality comparisons that agree decide; when they disagree it is inconclusive', () => {
  const two = [size('s', 1e6, ['depth', 'width']), size('l', 4e6, ['depth', 'width'])];
  const w = world();
  addRun(w, 's-s1', 's', 1, 0.1);
  addRun(w, 'l-s1', 'l', 1, 0.0);
  const c = context(w, two);
  // (a) the larger loses less under both families
  const m1: PointSums = new Map();
  const pts = robustness({ s: [0.2, 0.3], l: [0.05, 0.1] }, m1);
  // (a) alone cannot separate robustness from training level: inconclusive, and the line says why
  const only = claim2(c, pts, [], m1);
  assert.equal(only.verdict, 'inconclusive');
  assert.match(only.reason, /\(b\) at matched dense quality could not be formed/);
  assert.match(only.reason, /\(a\) alone, supported/);
  assert.ok(
    only.caveats.some((x) => /confound/.test(x)),
    'without a matched pair the confound is named',
  );
  // (b) a quality-matched snapshot of l degrades as much as s: agrees → supported; the opposite → inconclusive
  const agree = [
    point(m1, {
      size: 'l',
      method: 'rtn',
      setting: 'int3:channel',
      bits: 3,
      bytes: 20,
      dense: 0.1,
      comp: 0.15,
      matched_to: 's',
      step: 500,
    }),
    point(m1, {
      size: 'l',
      method: 'magnitude',
      setting: '70%:global',
      sparsity: 0.7,
      bytes: 60,
      dense: 0.1,
      comp: 0.2,
      matched_to: 's',
      step: 500,
    }),
  ];
  assert.equal(claim2(c, pts, agree, m1).verdict, 'supported');
  const disagree = [
    point(m1, {
      size: 'l',
      method: 'rtn',
      setting: 'int3:channel',
      bits: 3,
      bytes: 20,
      dense: 0.1,
      comp: 0.5,
      matched_to: 's',
      step: 500,
    }),
    point(m1, {
      size: 'l',
      method: 'magnitude',
      setting: '70%:global',
      sparsity: 0.7,
      bytes: 60,
      dense: 0.1,
      comp: 0.6,
      matched_to: 's',
      step: 500,
    }),
  ];
  const v = claim2(c, pts, disagree, m1);
  assert.equal(v.verdict, 'inconclusive');
  assert.match(v.reason, /disagree/);
  // larger models near the unigram baseline: inconclusive whatever the comparisons say
  const near = claim2(context(w, two, { unigramPpl: Math.exp(6.05) }), pts, agree, m1);
  assert.equal(near.verdict, 'inconclusive');
});

test('claim 3 picks the larger size’s least compressed point that fits, never the best of many', () => {
  const two = [size('s', 1e6), size('l', 4e6)];
  const w = world();
  addRun(w, 's-s1', 's', 1, 0.1);
  addRun(w, 'l-s1', 'l', 1, 0.0);
  const c = context(w, two);
  const m: PointSums = new Map();
  const pts = [
    point(m, { size: 's', method: 'dense', setting: 'fp32', bytes: 100, dense: 0.1, comp: 0.1 }),
    point(m, { size: 'l', method: 'dense', setting: 'fp32', bytes: 400, dense: 0.0, comp: 0.0 }),
    // fits in 100 bytes and is the least compressed that does: clearly worse than s
    point(m, {
      size: 'l',
      method: 'rtn',
      setting: 'int8:channel',
      bits: 8,
      bytes: 100,
      dense: 0.0,
      comp: 0.3,
    }),
    // a heavier setting that happens to look better: a best-of-many rule would pick it
    point(m, {
      size: 'l',
      method: 'rtn',
      setting: 'int4:channel',
      bits: 4,
      bytes: 50,
      dense: 0.0,
      comp: 0.05,
    }),
  ];
  const v = claim3(c, pts, m, 'bytes');
  assert.equal(v.comparisons.length, 1);
  assert.match(v.comparisons[0]!.what, /int8/);
  assert.equal(v.verdict, 'not supported');
});

test('Pareto front: the lowest perplexity at each size, ascending; crossings: where a larger size stays below', () => {
  const mk = (bytes: number, ppl: number) => ({ bytes, ppl }) as CompressionPoint;
  const front = paretoFront([mk(10, 50), mk(20, 40), mk(15, 60), mk(30, 45), mk(40, 30)], (p) => p.bytes);
  assert.deepEqual(
    front.map((p) => [p.bytes, p.ppl]),
    [
      [10, 50],
      [20, 40],
      [40, 30],
    ],
  );
  const sizes = [size('a', 1), size('b', 2)];
  const per = [
    { size_id: 'a', ppl: [10, 8, 7, 6.5], stderr: [] },
    { size_id: 'b', ppl: [12, 9, 6.8, 6], stderr: [] },
  ];
  assert.deepEqual(crossings(sizes, per, [1, 2, 3, 4]), [{ a: 'a', b: 'b', t: 3 }]);
  // b below from the start: no crossing reported
  assert.deepEqual(
    crossings(sizes, [per[0]!, { size_id: 'b', ppl: [9, 7, 6, 5], stderr: [] }], [1, 2, 3, 4]),
    [],
  );
});
