// The repeated-data warning shared by the study's report and the check arm's summary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochWarning } from '../../src/study/run.ts';

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
