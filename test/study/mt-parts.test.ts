// Small parts of the translation study: which grid times get BLEU, which evaluation stands for a
// grid time, and how the BLEU sample spreads over the validation split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeGrid } from '../../src/study/fits.ts';
import { evalAt } from '../../src/study/mt/decode.ts';
import { bleuTimes } from '../../src/study/mt/run.ts';
import { strided } from '../../src/study/mt/sample.ts';

test('BLEU times: every third grid time and the budget', () => {
  assert.deepEqual(bleuTimes(timeGrid(150, 15), 3, 150), [45, 90, 135, 150]);
  assert.deepEqual(bleuTimes(timeGrid(20, 5), 2, 20), [10, 20]);
  assert.deepEqual(bleuTimes(timeGrid(20, 5), 1, 20), [5, 10, 15, 20]);
});

test('the evaluation nearest to a grid time, never step 0', () => {
  const c = [0, 5.1, 10.3, 15.2, 20].map((w, i) => ({ step: i * 10, wall_s: w, tokens: 0, loss: 1 }));
  assert.equal(evalAt(c, 10)!.step, 20);
  assert.equal(evalAt(c, 0.5)!.step, 10);
  assert.equal(evalAt(c, 19)!.step, 40);
  assert.equal(evalAt([c[0]!], 5), null);
});

test('the sample is spread evenly over the whole split', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  const s = strided(xs, 10);
  assert.deepEqual(s, [50, 150, 250, 350, 450, 550, 650, 750, 850, 950]);
  assert.deepEqual(strided(xs.slice(0, 4), 10), [0, 1, 2, 3]);
});
