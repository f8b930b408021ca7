// The one atomic-write helper: the target holds the old bytes or the new ones, never part of
// either, and no tmp file is left behind, whether the write succeeds or the writer fails.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { argmaxRow } from '../../src/engine/argmax.ts';
import { TMP_MARK, writeAtomicWith, writeFileAtomic } from '../../src/engine/atomic.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-atomic-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const leftovers = (d: string) => fs.readdirSync(d).filter((f) => f.includes(TMP_MARK));

test('writeFileAtomic creates the folder, writes text and bytes exactly, and replaces the old file', () => {
  const f = path.join(dir, 'a', 'b', 'x.json');
  writeFileAtomic(f, '{"v":1}\n');
  assert.equal(fs.readFileSync(f, 'utf8'), '{"v":1}\n');
  const big = Buffer.alloc(3 << 20, 7);
  big[big.length - 1] = 9;
  writeFileAtomic(f, big);
  assert.deepEqual(fs.readFileSync(f), big);
  assert.deepEqual(leftovers(path.dirname(f)), []);
});

test('a writer that fails leaves the old file as it was and no tmp file', () => {
  const f = path.join(dir, 'keep.txt');
  writeFileAtomic(f, 'old');
  assert.throws(
    () =>
      writeAtomicWith(f, (fd) => {
        fs.writeSync(fd, 'half of the new');
        throw new Error('disk full');
      }),
    /disk full/,
  );
  assert.equal(fs.readFileSync(f, 'utf8'), 'old');
  assert.deepEqual(leftovers(dir), []);
});

test('a streamed write lands whole', () => {
  const f = path.join(dir, 'stream.txt');
  writeAtomicWith(f, (fd) => {
    for (let i = 0; i < 1000; i++) fs.writeSync(fd, `line ${i}\n`);
  });
  const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1000);
  assert.equal(lines[999], 'line 999');
});

test('argmaxRow: the largest entry of one row of a flat buffer, the first one on a tie', () => {
  const x = Float32Array.from([0, 5, 1, /* row 2 */ 3, 3, 1, /* row 3 */ -1, -2, 4]);
  assert.deepEqual(
    [0, 1, 2].map((r) => argmaxRow(x, 3 * r, 3)),
    [1, 0, 2],
  );
  assert.equal(argmaxRow([-Infinity, -Infinity], 0, 2), 0);
  assert.equal(argmaxRow([7], 0, 1), 0);
});
