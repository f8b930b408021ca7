// The protocol every report quotes states the choices the issue asks it to: the per-size recipe
// (the transfer rule, init, warm-up), the precision with its reason, and that the frontier and the
// fit use annealed points only, the un-annealed curves being marked as such.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS } from '../../src/study/presets.ts';
import { studyProtocol } from '../../src/study/protocol.ts';

const proto = (precision: 'fp32' | 'bf16', precisionWhy: string) =>
  studyProtocol({
    preset: PRESETS.default,
    budgetS: 120,
    annealAt: [30, 60],
    threads: 2,
    precision,
    precisionWhy,
    evalTokens: 20000,
    evalWindows: 180,
    sources: ['a', 'b'],
  });

test('the protocol states the recipe, the precision and why, and the annealed frontier', () => {
  const p = proto('bf16', 'auto: this CPU multiplies bf16 natively');
  assert.match(p['optimizer']!, /peak LR 0\.0007 at the centre size, × \(d128\/d\)\^1 × \(L4\/L\)\^0\.5/);
  assert.match(p['optimizer']!, /residual-branch output init scaled; 50 warm-up steps/);
  assert.match(p['optimizer']!, /batch 16×128/);
  assert.match(p['budget']!, /bf16 mixed precision .*\(auto: this CPU multiplies bf16 natively\)/);
  assert.match(proto('fp32', '--precision fp32')['budget']!, /on 2 threads, fp32 \(--precision fp32\)/);
  const s = p['schedule']!;
  assert.match(s, /Intermediate budgets 30, 60 s are annealed by cool-down branches/);
  assert.match(s, /the run's state at 80% of that budget/);
  assert.match(s, /the frontier, the compute-optimal size and the loss-law fit use annealed points only/);
  assert.match(s, /un-annealed curves between them are drawn dashed and marked as such/);
  assert.match(p['scaling']!, /N non-embedding parameters/);
  assert.match(p['scaling']!, /95% intervals from 200 bootstrap resamples of the runs/);
});
