// `tlc study --batch-sweep` end to end on real data: the quick preset's centre and largest size,
// each at batch 16, 64 and 256 under the same (short) budget, trained at those batches and rates,
// and the page with its loss-vs-time figure, its per-run table and the comparisons.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { BatchResults } from '../../src/study/batch-arm.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-batch-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('tlc study --batch-sweep trains two sizes at three batches and draws loss against time', () => {
  const out = path.join(tmp, 'batch');
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'bin', 'tlc.mjs'),
      ...['study', '--preset', 'quick', '--batch-sweep', '--data', 'prose-en', '--budget', '3'],
      ...['--threads', '2', '--precision', 'fp32', '--out', out, '--json'],
    ],
    { encoding: 'utf8', cwd: root, timeout: 600_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as { report: string; warnings: string[] };
  const res = JSON.parse(fs.readFileSync(path.join(out, 'report', 'batch.json'), 'utf8')) as BatchResults;
  assert.deepEqual(res.batches, [16, 64, 256]);
  assert.deepEqual(
    res.runs.map((x) => [x.size_id, x.batch]),
    ['d64-L2', 'd128-L2'].flatMap((s) => [16, 64, 256].map((b) => [s, b])),
  );
  for (const run of res.runs) {
    // the trainer ran at the arm's batch and rate
    const cfg = JSON.parse(fs.readFileSync(path.join(run.run_dir, 'config.json'), 'utf8')) as {
      config: { data: { batch_size: number }; optim: { lr: number } };
    };
    assert.equal(cfg.config.data.batch_size, run.batch, run.id);
    assert.equal(cfg.config.optim.lr, run.lr, run.id);
    assert.ok(run.steps > 0 && run.tokens > 0 && run.epochs > 0 && run.tokens_per_s > 0, run.id);
    assert.ok(run.wall_s >= 3 && Number.isFinite(run.final_ppl), run.id);
    assert.ok(run.curve.filter((p) => p.step > 0).length >= 1, `${run.id} has an evaluation`);
  }
  // the rate grows with √(batch / 16) from the size's study rate
  for (const s of ['d64-L2', 'd128-L2']) {
    const lr = res.runs.filter((x) => x.size_id === s).map((x) => x.lr);
    assert.ok(Math.abs(lr[1]! / lr[0]! - 2) < 0.01 && Math.abs(lr[2]! / lr[0]! - 4) < 0.01, `${s}: ${lr}`);
  }
  assert.equal(res.comparisons.length, 2);
  assert.deepEqual(json.warnings, res.warnings);
  const html = fs.readFileSync(json.report, 'utf8');
  assert.match(html, /Batch arm: validation perplexity vs training time/);
  assert.match(html, /<th>epochs<\/th><th>tokens\/s<\/th><th>MFU<\/th>/);
  const png = fs.readFileSync(path.join(out, 'report', 'fig-batch-arm.png'));
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});
