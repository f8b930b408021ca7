// The repeated-data warning shared by the study's report and the side arms, and the warnings the
// study's report (and its CLI output) shows first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochWarning, warningsOf } from '../../src/study/run.ts';
import type { TrainedRun } from '../../src/study/types.ts';

test('epochWarning names every run past one epoch, with its epochs, and is null when none is', () => {
  assert.equal(epochWarning([]), null);
  assert.equal(
    epochWarning([
      { id: 'a', epochs: 0.75 },
      { id: 'b', epochs: 1 },
    ]),
    null,
  );
  const w = epochWarning([
    { id: 'd32-L4-s1', epochs: 6.25 },
    { id: 'd64-L4-s1', epochs: 0.9 },
    { id: 'd96-L4-s1', epochs: 1.97 },
  ]);
  assert.ok(
    w?.startsWith('more than one epoch of the training split: d32-L4-s1 6.25, d96-L4-s1 1.97 —'),
    w ?? 'null',
  );
  assert.ok(w !== null && !w.includes('d64-L4'));
});

test("the study's warnings: repeated data, a thin evaluation and models near the unigram baseline", () => {
  const run = (id: string, epochs: number, final_ppl: number) => ({ id, epochs, final_ppl }) as TrainedRun;
  const w = { tokens: 20000, target_tokens: 20000 };
  assert.deepEqual(warningsOf([run('a', 0.5, 300), run('b', 0.99, 400)], 1000, w), []);
  const ws = warningsOf([run('a', 1.4, 300), run('b', 0.5, 980)], 1000, {
    tokens: 9000,
    target_tokens: 20000,
  });
  assert.equal(ws.length, 3, ws.join(' | '));
  assert.match(ws[0]!, /holds only 9000 predicted tokens \(the preset asks for 20000\)/);
  assert.equal(ws[1], epochWarning([{ id: 'a', epochs: 1.4 }]));
  assert.match(ws[2]!, /near the unigram baseline \(1000\.0\): b 980\.0/);
});
