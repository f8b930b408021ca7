// Claim 3 at equal latency on hand-built results with known answers: each lightly compressed
// smaller point (dense, 8-bit) against the larger size's slowest point that is not slower than it
// (seeds averaged), paired over the windows with ties within 2 standard errors; points without a
// measured latency take no part. Also the Pareto front over latency and the timing rule (one
// warm-up, the median of at most `reps` calls, fewer once they exceed the cap).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveModelConfig } from '../../src/model/config.ts';
import { claim3 } from '../../src/study/claims/claim3.ts';
import { latencyFront, type PointSums } from '../../src/study/compress-grid.ts';
import { timeMedian, timingBatch } from '../../src/study/latency.ts';
import type { CompressionPoint, LatencyRecord } from '../../src/study/types.ts';
import { addRun, context, point, size, world } from './verdict-fixture.ts';

const two = [size('s', 1e6), size('l', 4e6)];

function ctx() {
  const w = world();
  addRun(w, 's-s1', 's', 1, 0.1);
  addRun(w, 'l-s1', 'l', 1, 0.0);
  return context(w, two);
}

function rec(ms: number, dense: number): LatencyRecord {
  return {
    version: 1,
    sha256: '',
    cpu: 'Test CPU',
    backend: 'native',
    threads: 2,
    seq_len: 128,
    batch: 32,
    latency_ms_b1: ms,
    tokens_per_s_b32: 4096 / ms,
    dense_latency_ms_b1: dense,
    dense_tokens_per_s_b32: 4096 / dense,
    reps: { b1: 5, b32: 3 },
    dense_reps: { b1: 5, b32: 3 },
  };
}

/** A point with a measured latency (or none: ms null). */
function timed(m: PointSums, ms: number | null, o: Parameters<typeof point>[1]): CompressionPoint {
  const p = point(m, o);
  if (ms !== null) p.latency = rec(ms, o.size === 's' ? 10 : 40);
  return p;
}

/**
 * s: dense at 10 ms, int8 at 6 ms (both light), 90% pruned at 5.5 ms; l: dense 40 ms, int8 15 ms, int4 9 ms, 90% pruned
 * 5 ms, and a 50% pruned point with no measured latency. Rule: s dense (10 ms) meets l int4 (9 ms,
 * the slowest within 10), s int8 (6 ms) meets l pruned 90% (5 ms).
 */
function grid(m: PointSums, l: { int4: number; p90: number }, s = { dense: 0.1, int8: 0.105 }) {
  return [
    timed(m, 10, { size: 's', method: 'dense', setting: 'fp32', bytes: 400, dense: s.dense, comp: s.dense }),
    timed(m, 6, {
      size: 's',
      method: 'rtn',
      setting: 'int8:channel',
      bits: 8,
      bytes: 100,
      dense: s.dense,
      comp: s.int8,
    }),
    // heavily pruned: not a light point, so it meets no larger point though l's 90% fits in its 5.5 ms
    timed(m, 5.5, {
      size: 's',
      method: 'magnitude',
      setting: '90%:global',
      sparsity: 0.9,
      bytes: 240,
      nonzero: 40,
      dense: s.dense,
      comp: s.dense + 0.3,
    }),
    timed(m, 40, { size: 'l', method: 'dense', setting: 'fp32', bytes: 1600, dense: 0, comp: 0 }),
    timed(m, 15, {
      size: 'l',
      method: 'rtn',
      setting: 'int8:channel',
      bits: 8,
      bytes: 400,
      dense: 0,
      comp: 0.01,
    }),
    timed(m, 9, {
      size: 'l',
      method: 'rtn',
      setting: 'int4:channel',
      bits: 4,
      bytes: 200,
      dense: 0,
      comp: l.int4,
    }),
    timed(m, 5, {
      size: 'l',
      method: 'magnitude',
      setting: '90%:global',
      sparsity: 0.9,
      bytes: 960,
      nonzero: 160,
      dense: 0,
      comp: l.p90,
    }),
    timed(m, null, {
      size: 'l',
      method: 'magnitude',
      setting: '50%:global',
      sparsity: 0.5,
      bytes: 1200,
      nonzero: 800,
      dense: 0,
      comp: 0.5,
    }),
  ];
}

test('claim 3 at equal latency: supported when the larger model at no more latency is better; pairs chosen by latency', () => {
  const m: PointSums = new Map();
  const v = claim3(ctx(), grid(m, { int4: 0.02, p90: 0.05 }), m, 'latency');
  assert.equal(v.claim, '3-latency');
  assert.deepEqual(
    v.comparisons.map((c) => c.what),
    ['s fp32 (10.00 ms) vs l int4:channel (9.00 ms)', 's int8:channel (6.00 ms) vs l 90%:global (5.00 ms)'],
  );
  assert.deepEqual(
    v.comparisons.map((c) => c.outcome),
    ['b', 'b'],
  );
  assert.ok(Math.abs(v.comparisons[0]!.diff - 0.08) < 0.02, `s fp32 − l int4: ${v.comparisons[0]!.diff}`);
  assert.equal(v.verdict, 'supported');
  assert.ok(
    v.caveats.includes('latency measured on Test CPU, 2 threads: specific to that machine and thread count'),
    v.caveats.join(' | '),
  );
  // counted in bytes, the same points pair differently (s fp32's 400 bytes hold l int8)
  const b: PointSums = new Map();
  const bytes = claim3(ctx(), grid(b, { int4: 0.02, p90: 0.05 }), b, 'bytes');
  assert.deepEqual(
    bytes.comparisons.map((c) => c.what),
    ['s fp32 (0.00 M bytes) vs l int8:channel (0.00 M)'],
  );
});

test('claim 3 at equal latency: not supported when the smaller model wins, a tie within 2 s.e. decides nothing', () => {
  const m: PointSums = new Map();
  const lose = claim3(ctx(), grid(m, { int4: 0.3, p90: 0.4 }), m, 'latency');
  assert.deepEqual(
    lose.comparisons.map((c) => c.outcome),
    ['a', 'a'],
  );
  assert.equal(lose.verdict, 'not supported');
  assert.match(lose.reason, /smaller model wins most comparisons at equal latency/);
  const t: PointSums = new Map();
  const tie = claim3(ctx(), grid(t, { int4: 0.1, p90: 0.105 }), t, 'latency');
  for (const c of tie.comparisons) {
    assert.equal(c.outcome, 'tie', `${c.what}: ${c.diff} ± ${c.se}`);
    assert.ok(Math.abs(c.diff) < 2 * c.se);
  }
  assert.equal(tie.comparisons.length, 2);
  assert.equal(tie.verdict, 'inconclusive');
  assert.match(tie.evidence, /0 for, 0 against, 2 tied within 2 s\.e\./);
});

test('claim 3 at equal latency: seeds are averaged before the fit; no measured latency is inconclusive', () => {
  const m: PointSums = new Map();
  const pts = grid(m, { int4: 0.02, p90: 0.05 });
  // a second seed of l int4 at 12 ms: the mean (10.5 ms) no longer fits in s dense's 10 ms
  pts.push(
    timed(m, 12, {
      size: 'l',
      seed: 2,
      method: 'rtn',
      setting: 'int4:channel',
      bits: 4,
      bytes: 200,
      dense: 0,
      comp: 0.02,
    }),
  );
  const v = claim3(ctx(), pts, m, 'latency');
  assert.equal(v.comparisons[0]!.what, 's fp32 (10.00 ms) vs l 90%:global (5.00 ms)');
  for (const p of pts) delete p.latency;
  const none = claim3(ctx(), pts, m, 'latency');
  assert.equal(none.comparisons.length, 0);
  assert.equal(none.verdict, 'inconclusive');
  assert.equal(none.reason, 'no latency was measured in this study');
});

test('the Pareto front over latency: lowest perplexity at each latency, ascending; unmeasured and matched points left out', () => {
  const m: PointSums = new Map();
  const pts = grid(m, { int4: 0.02, p90: 0.05 });
  const matched = timed(m, 1, {
    size: 'l',
    method: 'rtn',
    setting: 'int3:channel',
    bits: 3,
    bytes: 150,
    dense: 0,
    comp: 0,
    matched_to: 's',
  });
  const front = latencyFront([...pts, matched]);
  // 5 ms l p90 (0.05), 9 ms l int4 (0.02), 15 ms l int8 (0.01), 40 ms l dense (0.0): s's points are dominated
  assert.deepEqual(
    front.map((p) => [p.size_id, p.setting, p.latency!.latency_ms_b1]),
    [
      ['l', '90%:global', 5],
      ['l', 'int4:channel', 9],
      ['l', 'int8:channel', 15],
      ['l', 'fp32', 40],
    ],
  );
});

test('timing: one untimed warm-up, then the median of at most `reps` calls, fewer once they exceed the cap', () => {
  const durations = [100, 30, 10, 20, 40, 50];
  let t = 0;
  let calls = 0;
  const f = () => {
    t += durations[calls++]!;
  };
  const now = () => t;
  const a = timeMedian(f, 5, 1000, now);
  assert.deepEqual([a.ms, a.reps, calls], [30, 5, 6], 'warm-up (100) not counted; median of 30,10,20,40,50');
  calls = 0;
  const b = timeMedian(f, 5, 35, now);
  assert.deepEqual([b.ms, b.reps, calls], [30, 2, 3], 'stops after 30 + 10 ≥ 35 ms (of two, the upper)');
  calls = 0;
  const c = timeMedian(f, 5, 1, now);
  assert.deepEqual([c.reps, calls], [1, 2], 'at least one timed call');
});

test('the timing batch: B sequences of T in-vocabulary tokens, targets at the masked share of positions (encoder)', () => {
  const cfg = resolveModelConfig({
    family: 'encoder',
    d_model: 64,
    n_layers: 1,
    n_heads: 2,
    d_ff: 256,
    vocab: 300,
    max_len: 64,
  });
  const b = timingBatch(cfg, 32, 64, 0.15);
  assert.deepEqual([b.B, b.T, b.tokens.length, b.targets.length], [32, 64, 2048, 2048]);
  assert.ok(b.tokens.every((t) => t >= 0 && t < 300));
  const share = b.targets.filter((t) => t >= 0).length / b.targets.length;
  assert.ok(Math.abs(share - 0.15) < 0.02, `targets at ${share} of positions`);
  assert.equal(b.keyMask, null);
});
