// One test per verdict rule that a slip could break without the other tests noticing: claim 3's
// non-zero row counts non-zeros (not bytes) and its accuracy row scores errors (not loss); the
// quick preset makes every claim inconclusive; a two-to-one majority decides; "near the unigram
// baseline" is 5%; a family's settings are averaged into one piece of evidence; claim 2 not
// supported, and its quality match in the reverse direction (a smaller model's snapshot).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claim1, claim1a } from '../../src/study/claims/claim1.ts';
import { claim2 } from '../../src/study/claims/claim2.ts';
import { claim3 } from '../../src/study/claims/claim3.ts';
import { majority, nearUnigram } from '../../src/study/claims/common.ts';
import type { PointSums } from '../../src/study/compress-grid.ts';
import { frontier } from '../../src/study/fits.ts';
import type { CompressionPoint } from '../../src/study/types.ts';
import { addRun, BUDGET, context, point, robustness, size, type World, world } from './verdict-fixture.ts';

const two = [size('s', 1e6), size('l', 4e6)];

function twoRuns(): World {
  const w = world();
  addRun(w, 's-s1', 's', 1, 0.1);
  addRun(w, 'l-s1', 'l', 1, 0.0);
  return w;
}

/** s dense (100 non-zeros in 400 bytes) against l pruned: only 80% pruning fits in 100 non-zeros, none in 400 bytes. */
function pruned(m: PointSums): CompressionPoint[] {
  const p = (
    size: string,
    method: string,
    setting: string,
    sparsity: number | null,
    bytes: number,
    nonzero: number,
    dense: number,
    comp: number,
  ) => point(m, { size, method, setting, sparsity, bytes, nonzero, dense, comp });
  return [
    p('s', 'dense', 'fp32', null, 400, 100, 0.1, 0.1),
    p('l', 'dense', 'fp32', null, 1600, 400, 0.0, 0.0),
    p('l', 'magnitude', '50%:global', 0.5, 1200, 200, 0.0, 0.02),
    p('l', 'magnitude', '80%:global', 0.8, 900, 80, 0.0, 0.05),
  ];
}

test('claim 3 (non-zeros): supported when the larger model pruned to the smaller one’s non-zeros is better; budgets are non-zeros, not bytes', () => {
  const m: PointSums = new Map();
  const v = claim3(context(twoRuns(), two), pruned(m), m, 'nonzero');
  assert.equal(v.claim, '3-nonzero');
  assert.equal(
    v.comparisons.length,
    1,
    'no l point fits in s’s 400 bytes: counted in bytes there is no pair',
  );
  assert.match(v.comparisons[0]!.what, /^s fp32 .* vs l 80%:global/);
  assert.equal(v.verdict, 'supported');
});

test('claim 3 (accuracy): scored on the fine-tuned task’s errors, not on the loss', () => {
  const m: PointSums = new Map();
  const n = 400;
  const right = (share: number) => Array.from({ length: n }, (_, i) => (i % 10 < share * 10 ? 1 : 0));
  // l at 4 bits fits in s's dense bytes: a higher loss, but it classifies 80% right against s's 70%
  const pts = [
    point(m, {
      size: 's',
      method: 'dense',
      setting: 'fp32',
      bytes: 100,
      dense: 0.0,
      comp: 0.0,
      correct: right(0.7),
    }),
    point(m, {
      size: 'l',
      method: 'dense',
      setting: 'fp32',
      bytes: 400,
      dense: 0.1,
      comp: 0.1,
      correct: right(0.9),
    }),
    point(m, {
      size: 'l',
      method: 'rtn',
      setting: 'int4:channel',
      bits: 4,
      bytes: 50,
      dense: 0.1,
      comp: 0.3,
      correct: right(0.8),
    }),
  ];
  const v = claim3(context(twoRuns(), two), pts, m, 'accuracy');
  assert.equal(v.claim, '3-accuracy');
  assert.equal(v.comparisons.length, 1);
  assert.ok(Math.abs(v.comparisons[0]!.diff - 0.1) < 1e-9, `error-rate difference ${v.comparisons[0]!.diff}`);
  assert.equal(v.verdict, 'supported');
  // the same points on the loss: the smaller model wins
  assert.equal(claim3(context(twoRuns(), two), pts, m, 'bytes').verdict, 'not supported');
});

test('the quick preset: every claim is inconclusive and says it is too short to be evidence', () => {
  const w = world();
  addRun(
    w,
    's-s1',
    's',
    1,
    0.1,
    [
      [40_000, 0.3],
      [80_000, 0.2],
      [160_000, 0.1],
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
  const m: PointSums = new Map();
  const rob = robustness({ s: [0.2, 0.3], l: [0.05, 0.1] }, m);
  const matched = [
    point(m, {
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
    point(m, {
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
  const pr = pruned(m);
  const verdicts = (tooShort: boolean) => {
    const c = context(w, two, { tooShort });
    return [
      claim1(c, frontier(two, w.runs, [BUDGET], [BUDGET], c.ev)),
      claim1a(c),
      claim2(c, rob, matched, m),
      claim3(c, pr, m, 'nonzero'),
    ];
  };
  assert.deepEqual(
    verdicts(false).map((v) => v.verdict),
    ['supported', 'supported', 'supported', 'supported'],
    'the same results decide when the preset is not the quick one',
  );
  for (const v of verdicts(true)) {
    assert.equal(v.verdict, 'inconclusive', `claim ${v.claim}`);
    assert.match(v.reason, /^too short to be evidence; /, `claim ${v.claim}`);
  }
});

test('a verdict needs a two-to-one majority of decided comparisons; ties do not count', () => {
  assert.equal(majority({ support: 2, against: 1, ties: 0 }), 'supported');
  assert.equal(majority({ support: 1, against: 2, ties: 0 }), 'not supported');
  assert.equal(majority({ support: 3, against: 2, ties: 0 }), 'inconclusive');
  assert.equal(majority({ support: 2, against: 3, ties: 9 }), 'inconclusive');
  assert.equal(majority({ support: 1, against: 0, ties: 9 }), 'supported');
  assert.equal(majority({ support: 0, against: 0, ties: 3 }), 'inconclusive');
});

test('near the unigram baseline means within 5% of its perplexity, no further', () => {
  assert.equal(nearUnigram(96, 100), true);
  assert.equal(nearUnigram(90, 100), false);
  assert.equal(nearUnigram(120, 100), true, 'worse than the baseline is near it too');
  // claim 2 with the sizes 10% and 18% below the baseline decides; with s 4% below (l 13%), it does not
  const m: PointSums = new Map();
  const pts = robustness({ s: [0.2, 0.3], l: [0.05, 0.1] }, m);
  const matched = [
    point(m, {
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
    point(m, {
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
  const far = claim2(context(twoRuns(), two, { unigramPpl: Math.exp(6.2) }), pts, matched, m);
  assert.equal(far.verdict, 'supported');
  assert.ok(!far.caveats.some((x) => /unigram/.test(x)));
  const near = claim2(context(twoRuns(), two, { unigramPpl: Math.exp(6.14) }), pts, matched, m);
  assert.equal(near.verdict, 'inconclusive');
  assert.ok(
    near.caveats.some((x) => /near the unigram baseline .*: s$/.test(x)),
    near.caveats.join(' | '),
  );
});

test('claim 2 averages a family’s settings into one comparison per sweep', () => {
  const m: PointSums = new Map();
  const q = (size: string, bits: number, dense: number, inc: number) =>
    point(m, {
      size,
      method: 'rtn',
      setting: `int${bits}:channel`,
      bits,
      bytes: 10 * bits,
      dense,
      comp: dense + inc,
    });
  const pts = [
    point(m, { size: 's', method: 'dense', setting: 'fp32', bytes: 100, dense: 0.1, comp: 0.1 }),
    point(m, { size: 'l', method: 'dense', setting: 'fp32', bytes: 400, dense: 0.0, comp: 0.0 }),
    // s: +0.20 at 3 bits, +0.02 at 4 bits (mean 0.11); l: +0.05 and +0.03 (mean 0.04)
    q('s', 3, 0.1, 0.2),
    q('s', 4, 0.1, 0.02),
    q('l', 3, 0.0, 0.05),
    q('l', 4, 0.0, 0.03),
  ];
  const v = claim2(context(twoRuns(), two), pts, [], m);
  const quant = v.comparisons.filter((x) => /^quantization/.test(x.what));
  assert.equal(quant.length, 1, 'one piece of evidence per family and sweep, not one per bit width');
  assert.ok(Math.abs(quant[0]!.diff - 0.07) < 0.005, `mean increase s − l: ${quant[0]!.diff}`);
});

test('claim 2: not supported when the larger model loses more, both at the same time and at the same dense quality', () => {
  const m: PointSums = new Map();
  const pts = robustness({ s: [0.05, 0.1], l: [0.2, 0.3] }, m);
  const matched = [
    point(m, {
      size: 'l',
      method: 'rtn',
      setting: 'int3:channel',
      bits: 3,
      bytes: 20,
      dense: 0.1,
      comp: 0.4,
      matched_to: 's',
      step: 500,
    }),
    point(m, {
      size: 'l',
      method: 'magnitude',
      setting: '70%:global',
      sparsity: 0.7,
      bytes: 60,
      dense: 0.1,
      comp: 0.5,
      matched_to: 's',
      step: 500,
    }),
  ];
  const v = claim2(context(twoRuns(), two), pts, matched, m);
  assert.equal(v.verdict, 'not supported');
  assert.match(v.reason, /agree: not supported/);
});

test('claim 2 (b) in reverse: a smaller model’s snapshot at the larger model’s final quality, the smaller size on side a', () => {
  const m: PointSums = new Map();
  const pts = robustness({ s: [0.2, 0.3], l: [0.05, 0.1] }, m);
  // s's snapshot at step 900 has l's final dense loss (offset 0.0) and loses more than l does
  const matched = [
    point(m, {
      size: 's',
      method: 'rtn',
      setting: 'int3:channel',
      bits: 3,
      bytes: 20,
      dense: 0.0,
      comp: 0.2,
      matched_to: 'l',
      step: 900,
    }),
    point(m, {
      size: 's',
      method: 'magnitude',
      setting: '70%:global',
      sparsity: 0.7,
      bytes: 60,
      dense: 0.0,
      comp: 0.25,
      matched_to: 'l',
      step: 900,
    }),
  ];
  const v = claim2(context(twoRuns(), two), pts, matched, m);
  const b = v.comparisons.filter((x) => /same dense quality/.test(x.what));
  assert.equal(b.length, 2);
  for (const x of b) {
    assert.match(x.what, /s at step 900 vs l \(final\)/);
    assert.deepEqual([x.a, x.b, x.outcome], ['s', 'l', 'b']);
    assert.ok(x.diff > 0.1, `increase of s’s snapshot − l’s: ${x.diff}`);
  }
  assert.equal(v.verdict, 'supported');
});
