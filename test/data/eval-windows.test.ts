// The evaluation windows: spread over the whole split (strided), every source represented in
// proportion (with a floor), fixed masks, counts per window, and the unigram baseline's value on
// a case computed by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  allocate,
  evalWindows,
  sourceOfId,
  strided,
  unigramBaseline,
  unigramCounts,
} from '../../src/data/batch/eval-windows.ts';
import type { TokenizedDocs } from '../../src/data/tokens.ts';

/** docs of the given lengths whose tokens encode (doc, position) so windows can be traced back */
function docs(lens: number[]): TokenizedDocs {
  const ids = new Int32Array(lens.reduce((a, b) => a + b, 0));
  const offsets = new Float64Array(lens.length + 1);
  let o = 0;
  lens.forEach((l, d) => {
    for (let i = 0; i < l; i++) ids[o + i] = 5 + d * 1000 + i;
    o += l;
    offsets[d + 1] = o;
  });
  return { ids, offsets };
}

test('source of a document id: the prefix before the first / or :', () => {
  assert.equal(sourceOfId('sotu/1790-Washington'), 'sotu');
  assert.equal(sourceOfId('ddtp-en:apt:1234abcd'), 'ddtp-en');
  assert.equal(sourceOfId('plain'), 'plain');
});

test('allocation is proportional with a floor, and takes everything when there is too little', () => {
  assert.deepEqual(allocate([800, 100, 100], 100, 16), [80, 16, 16]);
  assert.deepEqual(allocate([5, 3], 100, 16), [5, 3]);
  assert.deepEqual(allocate([1000, 4], 100, 16), [100, 4]);
});

test('strided rows cover the whole range evenly', () => {
  assert.deepEqual(strided(100, 4), [12, 37, 62, 87]);
  assert.deepEqual(strided(3, 3), [0, 1, 2]);
});

test('MLM windows: every source represented, spread over its stream, ~target tokens, fixed masks', () => {
  // source a: 40 docs of 300 tokens; source b: 4 docs of 300 tokens
  const lens = Array.from({ length: 44 }, () => 300);
  const src = lens.map((_, d) => (d < 40 ? 'a' : 'b'));
  const o = {
    kind: 'mlm' as const,
    batchSize: 8,
    seqLen: 33,
    targetTokens: 600,
    vocabSize: 1000,
    maskProb: 0.15,
    seed: 7,
  };
  const w = evalWindows(docs(lens), src, o);
  assert.deepEqual(w.sources, ['a', 'b']);
  const nA = [...w.source].filter((s) => s === 0).length;
  const nB = [...w.source].filter((s) => s === 1).length;
  assert.ok(nB >= 16, `the small source has its floor of windows (${nB})`);
  assert.ok(nA > nB, 'the large source has more windows');
  const total = w.count.reduce((a, b) => a + b, 0);
  assert.ok(total > 0.6 * 600 && total < 2 * 600, `predicted tokens ${total} near the target`);
  // count[w] is exactly the targets in that row
  w.batches.forEach((b, bi) => {
    for (let r = 0; r < b.B; r++) {
      let c = 0;
      for (let t = 0; t < b.T; t++) if (b.targets[r * b.T + t]! >= 0) c++;
      assert.equal(w.count[bi * 8 + r], c);
    }
  });
  const again = evalWindows(docs(lens), src, o);
  assert.deepEqual(again.batches, w.batches, 'the same windows and masks every time');
});

test('windows are strided over the split, not taken from its start', () => {
  const lens = Array.from({ length: 100 }, () => 64);
  const w = evalWindows(
    docs(lens),
    lens.map(() => 'x'),
    {
      kind: 'causal',
      batchSize: 4,
      seqLen: 16,
      targetTokens: 16 * 8,
      vocabSize: 1000,
      maskProb: 0.15,
      seed: 1,
      minPerSource: 1,
    },
  );
  assert.equal(w.source.length, 8);
  // causal rows start at multiples of 16 of the packed stream (65 tokens per doc with </s>)
  const starts = w.batches.flatMap((b) => Array.from({ length: b.B }, (_, r) => b.tokens[r * b.T]!));
  const lastDocHit = Math.max(...starts.filter((t) => t >= 5).map((t) => Math.floor((t - 5) / 1000)));
  assert.ok(lastDocHit >= 80, `windows reach the end of the split (last doc ${lastDocHit})`);
});

test('unigram baseline: add-one smoothed training counts, by hand', () => {
  // V = 8 (ids 0..4 special, 5..7 real); training counts 5:3, 6:1, 7:0 → denominators 4 + 3 = 7
  const counts = unigramCounts(new Int32Array([5, 5, 5, 6, 1, 2]), 8);
  const batch = {
    B: 1,
    T: 4,
    tokens: new Int32Array([1, 4, 4, 4]),
    keyMask: null,
    targets: new Int32Array([-1, 5, 6, 7]),
  };
  const w = {
    batches: [batch],
    sources: ['x'],
    source: new Int32Array([0]),
    count: new Int32Array([3]),
    available: [1],
    taken: [1],
  };
  const u = unigramBaseline(counts, w, 'mlm');
  const nll = -Math.log(4 / 7) - Math.log(2 / 7) - Math.log(1 / 7);
  assert.ok(Math.abs(u.windowNll[0]! - nll) < 1e-12);
  assert.ok(Math.abs(u.ppl - Math.exp(nll / 3)) < 1e-9);
});
