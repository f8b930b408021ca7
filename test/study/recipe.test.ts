// The study's per-size recipe (src/study/presets.ts, docs/recipe.md): the learning-rate transfer
// rule gives each size of the default grid the rate the measurements chose, every preset's centre
// rate is that rule's value at its centre, and each size's training config carries the rule's rate,
// the warm-up, the warmup-stable-decay schedule and the scaled residual init.
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { test } from 'node:test';
import { lrFor, PRESETS, sizeGrid, sizeId } from '../../src/study/presets.ts';
import { trainingConfig } from '../../src/study/sweep.ts';
import { parseConfig, trainConfigSchema } from '../../src/train/config.ts';

const def = PRESETS.default;

test('the transfer rule: lr = 7e-4 · (128/d) · (4/L)^0.5, the rates docs/recipe.md measured best', () => {
  // docs/recipe.md, "Each size's learning rate": the column "the rule gives"
  const expected: Record<string, number> = {
    'd64-L4': 1.4e-3,
    'd128-L1': 1.4e-3,
    'd128-L4': 7e-4,
    'd128-L8': 4.95e-4,
    'd256-L4': 3.5e-4,
  };
  const got = Object.fromEntries(sizeGrid(def).map((s) => [sizeId(s), lrFor(def, s)]));
  assert.deepEqual(got, expected);
  // a size off the grid: halving per doubling of width, 1/√2 per doubling of depth
  assert.equal(lrFor(def, { d_model: 128, n_layers: 2 }), 9.9e-4);
  assert.equal(lrFor(def, { d_model: 512, n_layers: 16 }), 8.75e-5);
});

test("every preset's centre rate is the default rule's rate at that centre (within 2%)", () => {
  for (const p of Object.values(PRESETS)) {
    const rule = lrFor(def, p.centre);
    assert.equal(lrFor(p, p.centre), p.recipe.lr, p.name);
    assert.ok(Math.abs(p.recipe.lr / rule - 1) < 0.02, `${p.name}: centre lr ${p.recipe.lr}, rule ${rule}`);
    // the transfer exponents, the schedule and the init are shared by every preset
    assert.deepEqual(
      { ...p.recipe, lr: 0, warmupSteps: 0 },
      { ...def.recipe, lr: 0, warmupSteps: 0 },
      p.name,
    );
  }
});

test("each size's training config carries its rule rate, the warm-up, wsd and the scaled residual init", () => {
  const o = {
    preset: def,
    data: 'prose-en-large',
    outDir: os.tmpdir(),
    budgetS: def.budgetS,
    backend: 'native',
    precision: 'fp32' as const,
  };
  for (const s of sizeGrid(def)) {
    const c = parseConfig(trainConfigSchema, trainingConfig(o, s, 1), sizeId(s));
    assert.equal(c.optim.lr, lrFor(def, s), sizeId(s));
    assert.equal(c.optim.warmup_steps, 50);
    assert.equal(c.optim.schedule, 'wsd');
    assert.equal(c.optim.decay_fraction, 0.2);
    assert.equal(c.model.resid_init, 'scaled');
    assert.equal(c.data.batch_size, 16);
    assert.equal(c.model.n_heads, s.d_model / 32);
  }
});
