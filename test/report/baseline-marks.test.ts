// "Near the unigram baseline" (within 5% of its perplexity) beside every perplexity the report
// shows — compression table, sources table (against each source's own baseline), headline, the
// compression and Pareto figures — and the evaluation tokens beside the compression table's
// perplexities.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allFigures } from '../../src/report/figures.ts';
import { headline } from '../../src/report/html.ts';
import { compressionTable, fmtInt, sourcesTable } from '../../src/report/tables.ts';
import { fixture } from './fixture.ts';

const NEAR = '(near the unigram baseline)';

/** The text of each cell of each body row of the first table in `html`. */
function cells(html: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((tr) =>
    [...tr[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((td) => td[1]!),
  );
}

/** A study whose first dense point is 3% and second point 10% below the unigram baseline. */
function study() {
  const r = fixture();
  const u = r.data.unigram_ppl;
  const near = r.compression.find((p) => p.method === 'dense')!;
  const far = r.compression.find((p) => p.method === 'rtn' && p.size_id !== near.size_id)!;
  near.ppl = 0.97 * u;
  far.ppl = 0.9 * u;
  near.tokens = 21_337;
  return { r, near, far };
}

test('the compression table marks a perplexity within 5% of the baseline and gives its evaluation tokens', () => {
  const { r, near, far } = study();
  const rows = cells(compressionTable(r.compression, '', r.data.unigram_ppl));
  const row = (p: typeof near) => rows[r.compression.indexOf(p)]!;
  assert.equal(row(near)[8], `${near.ppl.toFixed(2)} ${NEAR}`);
  assert.equal(row(near)[9], fmtInt(21_337));
  assert.equal(row(far)[8], far.ppl.toFixed(2));
  assert.equal(rows.filter((x) => x[8]!.includes(NEAR)).length, 1, 'only the near point');
  // the fine-tuned arm's table has no unigram baseline to compare with
  assert.doesNotMatch(compressionTable(r.compression, '', null), /near the unigram/);
});

test('the sources table marks a run near its source’s own baseline', () => {
  const r = fixture();
  const [a, b] = r.runs[0]!.per_source;
  a!.ppl = 0.96 * a!.unigram_ppl;
  b!.ppl = 0.9 * b!.unigram_ppl;
  const row = cells(sourcesTable(r))[0]!;
  assert.equal(row[1], `${a!.ppl.toFixed(1)} ${NEAR}`);
  assert.equal(row[2], b!.ppl.toFixed(1));
});

test('the headline gives the winner’s evaluation tokens and marks it near the baseline', () => {
  const r = fixture();
  assert.doesNotMatch(headline(r), /near the unigram/);
  assert.match(headline(r), new RegExp(`on ${fmtInt(r.data.eval.tokens)} evaluation tokens`));
  r.frontier.compute_optimal.ppl = 0.99 * r.data.unigram_ppl;
  assert.ok(headline(r).includes(NEAR), headline(r));
});

test('compression and Pareto figures name the points near the baseline in a subtitle, tooltip and label', () => {
  const { r, near, far } = study();
  r.pareto.bytes = [near];
  const specs = new Map(allFigures(r).map((f) => [f.id, f.spec]));
  const figs = new Map([...specs].map(([id, spec]) => [id, JSON.stringify(spec)]));
  const quant = figs.get('fig-4-quantization')!;
  // the tooltip is encoded on the drawn points (not only carried in their data)
  type Layer = {
    mark?: { type?: string };
    encoding?: { tooltip?: { field?: string } };
    data?: { values?: Array<{ tooltip?: string }> };
  };
  const tipped = ((specs.get('fig-4-quantization') as { layer: Layer[] }).layer ?? []).filter(
    (l) => l.encoding?.tooltip?.field === 'tooltip',
  );
  assert.ok(
    tipped.some((l) => (l.data?.values ?? []).some((v) => v.tooltip?.endsWith(NEAR))),
    'a drawn layer shows the near point’s tooltip',
  );
  assert.ok(
    quant.includes(
      `near the unigram baseline (perplexity within 5% of ${r.data.unigram_ppl.toFixed(1)}): ${near.size_id}`,
    ),
    'subtitle',
  );
  assert.ok(
    quant.includes(
      `${near.size_id} dense fp32, seed ${near.seed}: perplexity ${near.ppl.toFixed(2)} on 21337 evaluation tokens ${NEAR}`,
    ),
    'tooltip of the near point',
  );
  assert.ok(
    quant.includes(`perplexity ${far.ppl.toFixed(2)} on ${far.tokens} evaluation tokens"`),
    'far point unmarked',
  );
  assert.ok(figs.get('fig-6a-pareto-bytes')!.includes(`${near.size_id} · dense · near the unigram baseline`));
  // no point near: no subtitle line
  const clean = fixture();
  assert.doesNotMatch(JSON.stringify(allFigures(clean).map((f) => f.spec)), /near the unigram/);
});
