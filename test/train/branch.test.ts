// Warmup-stable-decay and its cool-down branches: the schedule's shape, and a branch made from a
// parent's branch checkpoint that trains on to its own budget, starting exactly where the parent
// was (same step, same losses up to there) and decaying its learning rate to zero by its end.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { branchTime, prepareBranch } from '../../src/train/branch.ts';
import { listCheckpoints } from '../../src/train/checkpoint.ts';
import { readEvals, readMetrics } from '../../src/train/rundir.ts';
import { learningRate } from '../../src/train/schedule.ts';
import { runTlc } from '../cli/tlc.ts';

test('wsd: warmup, constant, then linear to the floor over the last decay fraction', () => {
  const s = { lr: 1, warmupSteps: 10, schedule: 'wsd' as const, minLrRatio: 0, decayFraction: 0.2 };
  assert.equal(learningRate(s, 5, 0.01), 0.5);
  assert.equal(learningRate(s, 100, 0.5), 1);
  assert.equal(learningRate(s, 100, 0.79), 1);
  assert.ok(Math.abs(learningRate(s, 100, 0.9) - 0.5) < 1e-12);
  assert.equal(learningRate(s, 100, 1), 0);
  assert.ok(Math.abs(learningRate({ ...s, minLrRatio: 0.1 }, 100, 0.9) - 0.55) < 1e-12);
  assert.equal(branchTime(60, 0.2), 48);
});

test('a cool-down branch resumes the parent at its branch point and anneals to its own budget', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-branch-'));
  const parent = path.join(dir, 'parent');
  const r = runTlc([
    'train',
    '--config',
    'tiny-encoder',
    '--deterministic',
    '--threads',
    '1',
    ...['--set', 'optim.schedule=wsd', '--set', 'budget.seconds=6', '--set', 'eval.every_seconds=1'],
    ...['--set', 'checkpoint.branch_at_seconds=[2]', '--set', 'checkpoint.snapshot_at_eval=true'],
    ...['--run-dir', parent, '--json'],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const snaps = fs
    .readdirSync(path.join(parent, 'snapshots', 'checkpoints'))
    .filter((f) => f.endsWith('.safetensors'));
  const evals = readEvals(parent);
  assert.equal(snaps.length, evals.length, 'one weight snapshot per evaluation');
  assert.ok(evals.every((e) => e.sums.length === evals[0]!.sums.length && e.sums.length > 0));

  const branch = path.join(dir, 'branch');
  prepareBranch(parent, 2, 2.5, branch);
  const b = runTlc(['train', '--resume', branch, '--json']);
  assert.equal(b.status, 0, b.stderr);
  const lossOf = (d: string) =>
    new Map(
      readMetrics(path.join(d, 'metrics.jsonl'))
        .filter((m) => m.split === 'train' && m.name === 'loss')
        .map((m) => [m.step, m.value]),
    );
  const lrs = readMetrics(path.join(branch, 'metrics.jsonl')).filter((m) => m.name === 'lr');
  const pl = lossOf(parent);
  const bl = lossOf(branch);
  const k = listCheckpoints(path.join(parent, 'branches', 't2'))[0]!.step;
  assert.ok(k > 5, 'the branch point lies past the first steps');
  for (let s = 1; s <= k; s++) assert.equal(bl.get(s), pl.get(s), `step ${s} carried from the parent`);
  assert.equal(bl.get(k + 1), pl.get(k + 1), 'the first new step starts from exactly the parent’s state');
  assert.notEqual(bl.get(k + 3), pl.get(k + 3), 'then the branch decays while the parent does not');
  const result = JSON.parse(fs.readFileSync(path.join(branch, 'result.json'), 'utf8'));
  assert.ok(
    result.spent.wall_s >= 2.5 && result.spent.wall_s < 4,
    `branch ends at its budget (${result.spent.wall_s})`,
  );
  const last = lrs[lrs.length - 1]!.value;
  const peak = Math.max(...lrs.map((m) => m.value));
  assert.ok(last < 0.2 * peak, `the branch's learning rate decays toward 0 (last ${last}, peak ${peak})`);
  const parentLr = readMetrics(path.join(parent, 'metrics.jsonl')).filter(
    (m) => m.name === 'lr' && m.wall_s < 4,
  );
  assert.ok(
    parentLr.every((m) => m.value > 0.99 * peak || m.step <= 20),
    'the parent stays at its peak past the branch point',
  );
});
