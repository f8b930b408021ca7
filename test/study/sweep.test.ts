// The study's training configs: precision reaches every run's config, an fp32 study writes the same
// configs as before precision existed (so older study folders resume), and a folder trained at one
// precision refuses to be continued at another.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../../src/engine/errors.ts';
import { PRESETS } from '../../src/study/presets.ts';
import { planRuns, type SweepOptions, trainingConfig } from '../../src/study/sweep.ts';
import { parseConfig, trainConfigSchema } from '../../src/train/config.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-sweep-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base: SweepOptions = {
  preset: PRESETS.quick,
  data: 'prose-en-small',
  outDir: tmp,
  budgetS: 30,
  backend: 'native',
};

test('precision bf16 is in every training config; fp32 leaves the key out; both are valid configs', () => {
  const bf16 = trainingConfig({ ...base, precision: 'bf16' }, 64, 2, 1);
  const fp32 = trainingConfig({ ...base, precision: 'fp32' }, 64, 2, 1);
  assert.equal(bf16['precision'], 'bf16');
  assert.ok(!('precision' in fp32));
  assert.deepEqual(fp32, trainingConfig(base, 64, 2, 1));
  assert.equal(parseConfig(trainConfigSchema, bf16, 'bf16').precision, 'bf16');
  assert.equal(parseConfig(trainConfigSchema, fp32, 'fp32').precision, 'fp32');
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
