// Claim 2's quality match: the larger model's snapshot closest to the smaller model's final dense
// loss, within its standard error; when the smaller model is the better one, the reverse; a
// snapshot farther than the standard error, or an evaluation without a snapshot, is never used.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PointSums } from '../../src/study/compress-grid.ts';
import { findMatches, type SnapshotSource } from '../../src/study/matched.ts';
import type { PlannedRun } from '../../src/study/sweep.ts';
import { context, point, size, world } from './verdict-fixture.ts';

const two = [size('s', 1e6), size('l', 4e6)];
const plan = [
  { id: 's-s1', sizeId: 's', runDir: 'mem:s' },
  { id: 'l-s1', sizeId: 'l', runDir: 'mem:l' },
] as PlannedRun[];

/** Dense final losses 6 + offset (standard error 0.01) of s and l. */
function dense(s: number, l: number) {
  const m: PointSums = new Map();
  return [s, l].map((off, i) =>
    point(m, { size: i ? 'l' : 's', method: 'dense', setting: 'fp32', bytes: 1, dense: off, comp: off }),
  );
}

/** Evaluations [step, loss] of each run; snapshots at the listed steps. */
function source(
  evals: Record<string, Array<[number, number]>>,
  snaps: Record<string, number[]>,
): SnapshotSource {
  return {
    evals: (dir) => (evals[dir] ?? []).map(([step, loss]) => ({ step, loss })),
    snapshots: (dir) => snaps[dir] ?? [],
  };
}

test('the larger model’s snapshot closest to the smaller model’s final loss, only steps with a snapshot', () => {
  const src = source(
    {
      'mem:l': [
        [0, 9],
        [100, 6.5],
        [200, 6.105],
        [250, 6.1],
        [300, 6.0],
      ],
    },
    { 'mem:l': [100, 200, 300] },
  );
  const ms = findMatches(context(world(), two), plan, dense(0.1, 0.0), src);
  assert.equal(ms.length, 1);
  assert.deepEqual(
    { ...ms[0]!, gap: Math.round(ms[0]!.gap * 1000) },
    {
      snapshot: 'l',
      final: 's',
      direction: 'larger',
      runId: 'l-s1',
      step: 200,
      gap: 5,
    },
  );
});

test('no snapshot within the standard error: no match in either direction', () => {
  const src = source(
    {
      'mem:l': [
        [100, 6.5],
        [200, 6.13],
        [300, 6.0],
      ],
      'mem:s': [
        [100, 6.5],
        [200, 6.2],
        [300, 6.1],
      ],
    },
    { 'mem:l': [100, 200, 300], 'mem:s': [100, 200, 300] },
  );
  assert.deepEqual(findMatches(context(world(), two), plan, dense(0.1, 0.0), src), []);
});

test('the smaller model is the better one: its snapshot closest to the larger model’s final loss', () => {
  const src = source(
    {
      'mem:l': [
        [100, 6.8],
        [200, 6.5],
        [300, 6.3],
      ],
      'mem:s': [
        [100, 6.9],
        [200, 6.6],
        [300, 6.305],
        [400, 6.1],
        [500, 6.0],
      ],
    },
    { 'mem:l': [100, 200, 300], 'mem:s': [100, 200, 300, 400, 500] },
  );
  const ms = findMatches(context(world(), two), plan, dense(0.0, 0.3), src);
  assert.equal(ms.length, 1);
  assert.equal(ms[0]!.direction, 'smaller');
  assert.equal(ms[0]!.snapshot, 's');
  assert.equal(ms[0]!.final, 'l');
  assert.equal(ms[0]!.step, 300);
});
