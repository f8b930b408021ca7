// The report's view of measured latency: the quality-vs-latency figure draws every timed point and
// the Pareto front over latency, says where the latencies were measured, and is skipped with a note
// for studies without latencies; the compression table gains latency columns only when a point has one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allFigures } from '../../src/report/figures.ts';
import { compressionTable } from '../../src/report/tables.ts';
import { fixture } from './fixture.ts';

type Layer = { mark?: { type?: string }; data?: { values?: Array<Record<string, unknown>> } };

test('the quality-vs-latency figure draws every timed point and the front over latency', () => {
  const r = fixture();
  const fig = allFigures(r).find((f) => f.id === 'fig-6c-pareto-latency')!;
  assert.ok(fig.spec, fig.skipped);
  const layers = (fig.spec as { layer: Layer[] }).layer;
  const line = layers.find((l) => l.mark?.type === 'line')!;
  const front = r.pareto.latency!;
  assert.ok(front.length >= 2, 'fixture precondition: a front of several points');
  assert.deepEqual(
    line.data!.values!.map((v) => v['x']),
    front.map((p) => p.latency!.latency_ms_b1),
    'the black steps go through the front, at each point’s latency',
  );
  const faint = layers[0]!.data!.values!;
  assert.equal(faint.length, r.compression.length, 'every point with a latency, faint');
  const text = JSON.stringify(fig.spec);
  assert.ok(text.includes('latency at batch 1, ms (log scale)'), 'x axis');
  assert.ok(text.includes('latency measured on Fixture CPU @ 2.0GHz, 2 threads'), 'where it was measured');
  // a study from before latency was measured
  const old = fixture();
  for (const p of old.compression) delete p.latency;
  delete old.pareto.latency;
  const skipped = allFigures(old).find((f) => f.id === 'fig-6c-pareto-latency')!;
  assert.equal(skipped.spec, null);
  assert.match(skipped.skipped!, /no measured latencies/);
});

test('the compression table gives latency, its ratio to dense and throughput when measured', () => {
  const r = fixture();
  const html = compressionTable(r.compression, '', r.data.unigram_ppl);
  assert.match(
    html,
    /<th[^>]*>latency b1, ms<\/th><th[^>]*>latency vs dense<\/th><th[^>]*>tokens\/s b32<\/th>/,
  );
  const int8 = r.compression.find((p) => p.bits === 8)!;
  const l = int8.latency!;
  assert.ok(html.includes(`>${l.latency_ms_b1.toFixed(2)}</td>`));
  assert.ok(html.includes(`>${(l.latency_ms_b1 / l.dense_latency_ms_b1).toFixed(2)}×</td>`));
  for (const p of r.compression) delete p.latency;
  assert.doesNotMatch(compressionTable(r.compression, '', r.data.unigram_ppl), /latency/);
});
