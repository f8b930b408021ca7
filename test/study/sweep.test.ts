// The study's training configs: precision reaches every run's config, the schedule is
// warmup-stable-decay with branch points for every intermediate budget, and a folder trained at
// one precision refuses to be continued at another.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../../src/engine/errors.ts';
import { PRESETS } from '../../src/study/presets.ts';
import { annealBudgets, planRuns, type SweepOptions, trainingConfig } from '../../src/study/sweep.ts';
import { parseConfig, trainConfigSchema } from '../../src/train/config.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-sweep-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base: SweepOptions = {
  preset: PRESETS.quick,
  data: 'prose-en-small',
  outDir: tmp,
  budgetS: 30,
  backend: 'native',
  precision: 'fp32',
};

test('precision reaches every training config; the schedule is wsd with a branch point per intermediate budget', () => {
  const size = { d_model: 64, n_layers: 2 };
  const bf16 = trainingConfig({ ...base, precision: 'bf16' }, size, 1);
  const fp32 = trainingConfig(base, size, 1);
  assert.equal(parseConfig(trainConfigSchema, bf16, 'bf16').precision, 'bf16');
  const c = parseConfig(trainConfigSchema, fp32, 'fp32');
  assert.equal(c.precision, 'fp32');
  assert.equal(c.optim.schedule, 'wsd');
  assert.equal(c.checkpoint.snapshot_at_eval, true);
  // the quick preset anneals at 15 s: a branch at 80% of it
  assert.deepEqual(c.checkpoint.branch_at_seconds, [12]);
  assert.deepEqual(annealBudgets(base), [15]);
  assert.deepEqual(annealBudgets({ ...base, budgetS: 12 }), [6]);
});

test('a study folder started in fp32 cannot be continued in bf16', () => {
  const outDir = path.join(tmp, 'study');
  const runs = planRuns({ ...base, outDir });
  // make the first run look started, as a killed study leaves it
  fs.mkdirSync(runs[0]!.runDir, { recursive: true });
  fs.writeFileSync(path.join(runs[0]!.runDir, 'config.json'), '{}');
  assert.doesNotThrow(() => planRuns({ ...base, outDir }));
  assert.throws(
    () => planRuns({ ...base, outDir, precision: 'bf16' }),
    (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /different settings/);
      return true;
    },
  );
});
