// The study's latency measurement on a real small compression run: a tiny encoder trained on real
// text, compressed over a small grid (int8, int4, 90% pruned) with latency on. Every point, dense
// included, carries a positive latency and throughput measured on the compressed runtime with the
// backend's threads; the record is kept beside the point's result and reused, and measured again
// when the thread count changes. A queue worker's grid (latency off) records none.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { compressGrid, type GridRun, type PointSums } from '../../src/study/compress-grid.ts';
import { LATENCY, LATENCY_FILE } from '../../src/study/latency.ts';
import { PRESETS } from '../../src/study/presets.ts';
import type { LatencyRecord } from '../../src/study/types.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-study-latency-'));
const runDir = path.join(tmp, 'run');
const study = path.join(tmp, 'study');
const preset = { ...PRESETS.quick, quantBits: [8, 4], sparsities: [0, 0.9] };
const run: GridRun = { id: 'd64-L2-s1', sizeId: 'd64-L2', seed: 1, runDir };
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
/** the int8 point's record as first measured */
let first: LatencyRecord | undefined;

before(() => {
  const r = runTlc(['train', '--config', 'tiny-encoder', '--set', 'budget.steps=20', '--run-dir', runDir]);
  assert.equal(r.status, 0, r.stderr);
});

test('every point of a real compression grid gets a positive latency and throughput on the compressed runtime', () => {
  const be = loadNativeBackend({ threads: 1 });
  const sums: PointSums = new Map();
  const pts = compressGrid(run, preset, study, be, () => {}, sums, { latency: true });
  assert.deepEqual(
    pts.map((p) => p.setting),
    ['fp32', 'int8:channel', 'int4:channel', '90%:global'],
  );
  for (const p of pts) {
    const l = p.latency;
    assert.ok(l, `${p.setting} has a latency`);
    for (const k of [
      'latency_ms_b1',
      'tokens_per_s_b32',
      'dense_latency_ms_b1',
      'dense_tokens_per_s_b32',
    ] as const)
      assert.ok(Number.isFinite(l[k]) && l[k] > 0, `${p.setting} ${k} = ${l[k]}`);
    assert.equal(l.threads, 1);
    assert.equal(l.seq_len, 64, 'the run’s sequence length');
    assert.equal(l.batch, LATENCY.batch);
    assert.ok(l.reps.b1 >= 1 && l.reps.b1 <= LATENCY.repsB1 && l.reps.b32 >= 1, JSON.stringify(l.reps));
  }
  // tokens/s at batch 32 against one sequence at a time: batching gains (here 0.9–2.9×), never 32×
  // (the median over the points: one timing disturbed by another process does not decide)
  const gains = pts.map((p) => p.latency!.tokens_per_s_b32 / ((64 * 1000) / p.latency!.latency_ms_b1));
  const gain = [...gains].sort((a, b) => a - b)[Math.floor(gains.length / 2)]!;
  assert.ok(gain > 0.2 && gain < 12, `throughput ${gains.map((g) => g.toFixed(2))}× the batch-1 rate`);
  const dense = pts[0]!.latency!;
  assert.equal(dense.latency_ms_b1, dense.dense_latency_ms_b1, 'the dense point is its own dense model');
  for (const p of pts.slice(1)) {
    assert.equal(p.latency!.dense_latency_ms_b1, dense.latency_ms_b1, 'one dense timing per run');
    assert.equal(p.latency!.sha256.length, 64, 'the container timed');
  }
  const file = path.join(study, 'compress', run.id, 'rtn-int8', LATENCY_FILE);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), pts[1]!.latency);
  first = pts[1]!.latency;
});

test('a latency record is reused under the same conditions and measured again on other threads', () => {
  const again = compressGrid(run, preset, study, loadNativeBackend({ threads: 1 }), () => {}, new Map(), {
    latency: true,
  });
  const file = path.join(study, 'compress', run.id, 'rtn-int8', LATENCY_FILE);
  assert.ok(first, 'the first test measured it');
  assert.deepEqual(again[1]!.latency, first, 'read back, not measured again');
  const two = compressGrid(run, preset, study, loadNativeBackend({ threads: 2 }), () => {}, new Map(), {
    latency: true,
  });
  assert.ok(two.every((p) => p.latency?.threads === 2));
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).threads, 2, 'rewritten for the new threads');
  const worker = compressGrid(run, preset, study, loadNativeBackend({ threads: 1 }), () => {}, new Map());
  assert.ok(
    worker.every((p) => p.latency === undefined),
    'latency off: no record',
  );
});
