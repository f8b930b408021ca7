// The study's two side arms without training: the batch arm's plan (the centre and the largest
// size at 1×, 4× and 16× the batch, the rate × √(batch ratio)), its judgement (the smaller model at
// a larger batch against the larger model at the base batch) and its page (loss against training
// time, per-run steps, tokens, epochs, tokens/s, MFU, the epoch warning); the check arm's
// judgement (predicted against measured optimum) and its page.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { batchSpec, writeBatchReport, writeCheckReport } from '../../src/report/arms.ts';
import { judgeBatchArm, planBatchRuns } from '../../src/study/batch-arm.ts';
import { judgeCheck } from '../../src/study/check.ts';
import { optimalN } from '../../src/study/lawfit.ts';
import { PRESETS } from '../../src/study/presets.ts';
import type { ScalingFit } from '../../src/study/types.ts';
import { parseConfig, trainConfigSchema } from '../../src/train/config.ts';
import { addRun, BUDGET, context, size, type World, world } from './verdict-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-arms-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('batch arm plan: the centre and the largest size at 16, 64 and 256, the rate × √(batch / 16)', () => {
  const outDir = path.join(tmp, 'plan');
  const o = { preset: PRESETS.default, data: 'prose-en-large', outDir, budgetS: 120, backend: 'native' };
  const { plan, batches, small, big } = planBatchRuns({ ...o, precision: 'fp32' });
  assert.deepEqual(batches, [16, 64, 256]);
  assert.deepEqual([small, big], ['d128-L4', 'd256-L4']);
  const got = plan.map((r) => {
    const c = parseConfig(trainConfigSchema, YAML.parse(fs.readFileSync(r.configFile, 'utf8')), r.id);
    assert.equal(c.optim.lr, r.lr, r.id);
    assert.deepEqual(c.checkpoint.branch_at_seconds, [], `${r.id}: no cool-downs in the batch arm`);
    assert.equal(c.budget.seconds, 120);
    return [r.id, c.data.batch_size, c.optim.lr];
  });
  // the study's rates (7e-4 at d128-L4, 3.5e-4 at d256-L4) × 1, 2, 4
  assert.deepEqual(got, [
    ['d128-L4-b16-s1', 16, 7e-4],
    ['d128-L4-b64-s1', 64, 1.4e-3],
    ['d128-L4-b256-s1', 256, 2.8e-3],
    ['d256-L4-b16-s1', 16, 3.5e-4],
    ['d256-L4-b64-s1', 64, 7e-4],
    ['d256-L4-b256-s1', 256, 1.4e-3],
  ]);
});

/** Six runs: the final loss offset of each (size, batch), curves at 20/40/80 k tokens. */
function batchWorld(finals: Record<string, number>): { w: World; runs: Parameters<typeof judgeBatchArm>[1] } {
  const w = world();
  for (const [id, final] of Object.entries(finals))
    addRun(w, id, id.split('-')[0]!, 1, final, [
      [20_000, 0.5 + final],
      [40_000, 0.2 + final],
      [80_000, final],
    ]);
  const runs = w.runs.map((r) => ({ ...r, batch: Number(/-b(\d+)-/.exec(r.id)![1]), lr: 1e-3 }));
  return { w, runs };
}

test('batch arm: the smaller size at each larger batch against the larger size at the base batch', async () => {
  const { w, runs } = batchWorld({
    'c-b16-s1': 0.1,
    'c-b64-s1': -0.1, // beats g at batch 16
    'c-b256-s1': 0.3, // loses to it
    'g-b16-s1': 0.0,
    'g-b64-s1': -0.3,
    'g-b256-s1': 0.5,
  });
  const sizes = [size('c', 1e6), size('g', 4e6)];
  const o = { preset: 'default', data: 'prose-en-large', budgetS: BUDGET, precision: 'fp32 (test)' };
  const pair = { small: 'c', big: 'g', batches: [16, 64, 256] };
  const r = judgeBatchArm(o, runs, sizes, pair, context(w, sizes).ev);
  assert.deepEqual(
    r.comparisons.map((c) => [c.what, c.outcome, +c.diff.toFixed(2)]),
    [
      ['c at batch 64 vs g at batch 16', 'a', -0.1],
      ['c at batch 256 vs g at batch 16', 'b', 0.3],
    ],
  );
  assert.equal(
    r.summary,
    'At 120 s, g at the base batch beats c at a larger batch in 1 of 2 comparisons (the rest: 0 ties, 1 the other way).',
  );
  assert.deepEqual(r.warnings, []);
  runs[2]!.epochs = 1.5;
  const warned = judgeBatchArm(o, runs, sizes, pair, context(w, sizes).ev);
  assert.equal(warned.warnings.length, 1);
  assert.match(warned.warnings[0]!, /more than one epoch of the training split: c-b256-s1 1\.50/);

  // the page: every run's perplexity against its training time, one line per run
  const spec = batchSpec(warned) as {
    data: { values: Array<{ run: string; t: number; ppl: number }> };
    encoding: { x: { field: string; title: string } };
  };
  assert.deepEqual([spec.encoding.x.field, spec.encoding.x.title], ['t', 'training time, s']);
  const series = new Map<string, number[]>();
  for (const v of spec.data.values) series.set(v.run, [...(series.get(v.run) ?? []), v.t]);
  assert.equal(series.size, 6);
  for (const run of runs)
    assert.deepEqual(
      series.get(`${run.size_id}, batch ${run.batch}`),
      run.curve.filter((p) => p.step > 0).map((p) => p.wall_s),
      run.id,
    );
  const html = fs.readFileSync(await writeBatchReport(warned, path.join(tmp, 'batch')), 'utf8');
  assert.match(html, /<th>steps<\/th><th>tokens<\/th><th>epochs<\/th><th>tokens\/s<\/th><th>MFU<\/th>/);
  assert.match(html, /<td>1\.50 ⚠<\/td>/);
  assert.match(html, /<li>more than one epoch of the training split: c-b256-s1 1\.50/);
  assert.match(
    html,
    /<td class="num">1000<\/td><td class="num">0<\/td><td>0\.50<\/td><td class="num">1000<\/td><td>50\.0%<\/td>/,
  );
  assert.match(html, /precision fp32 \(test\)/);
  assert.ok(fs.existsSync(path.join(tmp, 'batch', 'fig-batch-arm.png')));
});

/** The check's three sizes (n/8, n, 8n around the law's optimum) with measured final offsets. */
function checkInputs(finals: [number, number, number]) {
  const law = { E: 3.0, A: 40, alpha: 0.35, B: 200, beta: 0.3 };
  const throughput = { k: 1e11, gamma: 1 };
  const nOpt = optimalN(law, throughput, BUDGET);
  const w = world();
  const ids = ['s', 'm', 'l'];
  const sizes = [nOpt / 8, nOpt, 8 * nOpt].map((n, i) => size(ids[i]!, 2 * n));
  for (const [i, id] of ids.entries()) addRun(w, `${id}-s1`, id, 1, finals[i]!);
  for (const r of w.runs) r.tokens = 1e6;
  const read = w.runs.map((run, i) => ({ run, size: sizes[i]! }));
  const scaling = { law, throughput } as ScalingFit;
  const o = { from: 'studies/default', budgetS: BUDGET, nOpt, precision: 'bf16 (test)' };
  return { w, sizes, read, scaling, o };
}

test('check arm: predicted against measured optimum, a tie with the predicted one said so, repetition warned', () => {
  const a = checkInputs([0.2, 0.05, 0.0]);
  const r = judgeCheck(a.o, a.read, a.scaling, context(a.w, a.sizes).ev);
  assert.equal(r.predicted_best, 'm', 'the size at the law optimum has the lowest predicted loss');
  assert.equal(r.measured_best, 'l');
  assert.deepEqual(
    r.comparisons.map((c) => [c.a, c.b, c.outcome]),
    [
      ['s', 'l', 'b'],
      ['m', 'l', 'b'],
    ],
  );
  assert.ok(r.summary.startsWith('Predicted optimum m, measured l. Perplexities: s predicted '), r.summary);
  assert.ok(r.sizes[1]!.predicted_loss < r.sizes[0]!.predicted_loss);
  assert.ok(r.sizes[1]!.predicted_loss < r.sizes[2]!.predicted_loss);
  assert.deepEqual(r.warnings, []);

  const tie = checkInputs([0.2, 0.001, 0.0]);
  tie.w.runs[0]!.epochs = 2.25;
  const t = judgeCheck(tie.o, tie.read, tie.scaling, context(tie.w, tie.sizes).ev);
  assert.match(
    t.summary,
    /^Predicted optimum m, measured l \(the predicted one is tied with it within the noise\)/,
  );
  assert.match(t.summary, /Warning: more than one epoch of the training split: s-s1 2\.25/);

  const html = fs.readFileSync(writeCheckReport(t, path.join(tmp, 'check')), 'utf8');
  assert.match(html, /<th>steps<\/th><th>tokens<\/th><th>epochs<\/th><th>tokens\/s<\/th><th>MFU<\/th>/);
  assert.match(html, /<td>2\.25 ⚠<\/td>/);
  assert.match(html, /precision bf16 \(test\)/);
  assert.match(html, /<li>more than one epoch/);
});
