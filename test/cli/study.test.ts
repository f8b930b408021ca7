// `tlc study --preset quick` end to end on real data (prose-en, its default): runs with their cool-down
// branches, evaluation windows and the unigram baseline, compression grid, report, verdicts with
// reasons ("too short to be evidence"); re-running resumes without retraining; the report's
// numbers come from the run directories (editing a metric in a run changes the report).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { getRecipe } from '../../src/data/recipes.ts';
import type { StudyResults } from '../../src/study/types.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-study-'));
const out = path.join(tmp, 'study');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the quick study; `--json` unless `text` (then the CLI's lines are in stdout). */
function study(text = false): {
  json: { verdicts: unknown[]; report: string } | null;
  stdout: string;
  stderr: string;
} {
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'bin', 'tlc.mjs'),
      'study',
      '--preset',
      'quick',
      '--data',
      'prose-en',
      '--budget',
      '12',
      '--out',
      out,
      ...(text ? [] : ['--json']),
    ],
    { encoding: 'utf8', cwd: root, timeout: 900_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return {
    json: text ? null : JSON.parse(r.stdout.trim().split('\n').pop()!),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

const results = () =>
  JSON.parse(fs.readFileSync(path.join(out, 'report', 'results.json'), 'utf8')) as StudyResults;

test('the quick study trains every size, compresses each over the grid, and writes the report with verdicts', () => {
  const json = study().json!;
  const claims = (json.verdicts as Array<{ claim: string; reason: string }>).map((v) => v.claim);
  assert.deepEqual(claims, ['1', '1a', '2', '3-bytes', '3-nonzero', '3-latency']);
  for (const v of json.verdicts as Array<{ reason: string; verdict: string }>) {
    assert.match(v.reason, /too short to be evidence/);
    assert.equal(v.verdict, 'inconclusive');
  }
  const r = results();
  assert.equal(r.sizes.length, 3);
  assert.equal(r.runs.length, 3);
  assert.ok(r.data.eval.tokens >= 5000, `quick preset scores ${r.data.eval.tokens} tokens per evaluation`);
  assert.ok(r.data.unigram_ppl > 100 && r.data.unigram_ppl < 5000, `unigram ${r.data.unigram_ppl}`);
  // every source of the corpus has its windows and its perplexity, in every run
  const corpus = getRecipe('prose-en').sources.map((x) => x.name);
  assert.ok(corpus.length >= 3, `prose-en has ${corpus.length} sources`);
  for (const run of r.runs) {
    assert.deepEqual(
      run.per_source.map((x) => x.source).sort(),
      [...corpus].sort(),
      `${run.id}: per_source covers every source`,
    );
    for (const x of run.per_source)
      assert.ok(
        x.windows > 0 && x.tokens > 0 && Number.isFinite(x.ppl) && Number.isFinite(x.unigram_ppl),
        `${run.id} ${x.source}`,
      );
  }
  for (const run of r.runs) {
    assert.ok(run.wall_s >= 12 && run.wall_s < 16, `${run.id} trained ${run.wall_s} s for a 12 s budget`);
    assert.ok(run.curve.length >= 3 && Number.isFinite(run.final_ppl));
    assert.ok(run.final_ppl < r.data.unigram_ppl * 1.2, `${run.id} learned something beyond the unigram`);
    // the quick preset anneals at 15 of 30 s: at 6 s of a 12 s budget, and at the budget itself
    assert.deepEqual(
      run.annealed.map((a) => a.budget_s),
      [6, 12],
    );
    const c = run.annealed[0]!;
    assert.ok(c.wall_s >= 6 && c.wall_s < 8, `the cool-down ended at ${c.wall_s} s`);
    assert.ok(run.epochs > 0 && run.tokens_per_s > 0 && run.mfu > 0 && run.mfu < 1);
    assert.ok(run.curve.every((p) => p.count === r.data.eval.tokens));
  }
  // each run: dense + 3 bit widths + 2 sparsities
  assert.equal(r.compression.length, 3 * 6);
  for (const p of r.compression.filter((x) => x.method !== 'dense')) {
    const dense = r.compression.find((x) => x.method === 'dense' && x.run_id === p.run_id)!;
    assert.ok(p.bytes < dense.bytes, `${p.run_id} ${p.setting} is not smaller than dense`);
  }
  assert.ok(r.pareto.bytes.length >= 1);
  // every point of the grid, dense included, has its latency measured
  for (const p of r.compression)
    assert.ok(
      (p.latency?.latency_ms_b1 ?? 0) > 0 && p.latency!.threads >= 1,
      `${p.run_id} ${p.setting} latency`,
    );
  assert.ok((r.pareto.latency ?? []).length >= 1);
  assert.match(r.protocol['latency']!, /specific to this machine/);
  assert.deepEqual(r.frontier.annealed_times, [6, 12]);
  assert.equal(r.frontier.best.length, 2);
  assert.match(r.protocol['evaluation']!, /stratified by source/);
  const html = fs.readFileSync(path.join(out, 'report', 'index.html'), 'utf8');
  assert.ok((html.match(/<svg/g) ?? []).length >= 6, 'expected the figures inlined as SVG');
  assert.match(html, /prose-en/);
  assert.match(html, /unigram baseline/);
  for (const f of ['fig-1-ppl-vs-time.png', 'fig-3-iso-time-frontier.png', 'fig-4-quantization.png']) {
    const png = fs.readFileSync(path.join(out, 'report', f));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${f} is not a PNG`);
  }
});

test('re-running skips finished runs, and the report reads its numbers from the run directories', () => {
  const before = results();
  const target = before.runs[0]!;
  const metrics = path.join(target.run_dir, 'metrics.jsonl');
  const lines = fs.readFileSync(metrics, 'utf8').trim().split('\n');
  const lastValid = lines
    .map((l) => JSON.parse(l))
    .reduce((k, r, i) => (r.split === 'valid' && r.name === 'loss' ? i : k), -1);
  const rec = JSON.parse(lines[lastValid]!);
  rec.value = Math.log(1e6); // an absurd final perplexity for this run
  lines[lastValid] = JSON.stringify(rec);
  fs.writeFileSync(metrics, `${lines.join('\n')}\n`);
  const t0 = Date.now();
  const { stdout, stderr } = study(true);
  assert.ok(Date.now() - t0 < 120_000, 're-running must not retrain');
  assert.match(stderr, /3 already done/);
  // the text output: the compute-optimal line with its evaluation tokens, one line per verdict
  const r0 = results();
  assert.match(
    stdout,
    new RegExp(
      `compute-optimal size at 12 s: \\S+ \\(perplexity [\\d.]+ on ${r0.data.eval.tokens} evaluation tokens; unigram baseline`,
    ),
  );
  assert.equal((stdout.match(/^claim \S+: inconclusive — too short to be evidence/gm) ?? []).length, 6);
  const after = results();
  const run = after.runs.find((x) => x.id === target.id)!;
  assert.ok(Math.abs(run.final_ppl - 1e6) < 1, `report shows ${run.final_ppl}, the edited metric says 1e6`);
  assert.notEqual(run.final_ppl, target.final_ppl);
  const html = fs.readFileSync(path.join(out, 'report', 'index.html'), 'utf8');
  assert.match(html, /1000000|1\.0+e\+6|1,000,000/);
});
