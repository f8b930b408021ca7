// The local executor stops at the first job that fails for bad input (exit code 2): the same input
// would fail every remaining job, so a study with bad data fails once, with that job's message.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { LocalExecutor } from '../../src/study/executor.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-executor-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the local executor runs no job after one fails for bad input', async () => {
  const bad = { args: ['train', '--config', 'no-such-preset'], estimateS: 1 };
  const events: string[] = [];
  const out = await new LocalExecutor('quiet').run(
    [
      { id: 'a', ...bad },
      { id: 'b', ...bad },
      { id: 'c', ...bad },
    ],
    (e) => events.push(`${e.phase} ${e.job.id}`),
  );
  assert.equal(out.length, 1);
  assert.equal(out[0]?.inputError, true);
  assert.match(out[0]?.error ?? '', /no config file or preset named 'no-such-preset'/);
  assert.deepEqual(events, ['start a', 'end a']);
});

test('a study on missing data stops before any job starts (exit 2, one message)', () => {
  const missing = path.join(tmp, 'no-such-data');
  const r = runTlc(['study', '--preset', 'quick', '--data', missing, '--out', path.join(tmp, 's')]);
  assert.equal(r.status, 2, r.stderr);
  assert.ok(r.stderr.includes(missing));
  assert.doesNotMatch(r.stderr, /\[study\] training/, 'no job started');
});

test('a study whose input fails in its first job stops there, once (exit 2)', () => {
  // text that passes the up-front check but is too short for one evaluation window
  const tiny = path.join(tmp, 'tiny');
  fs.mkdirSync(tiny, { recursive: true });
  for (let i = 0; i < 6; i++)
    fs.writeFileSync(path.join(tiny, `${i}.txt`), `a text number ${i}, far too short.`);
  const r = runTlc(['study', '--preset', 'quick', '--data', tiny, '--out', path.join(tmp, 't')]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal((r.stderr.match(/training job \S+ failed/g) ?? []).length, 1, r.stderr);
  assert.equal((r.stderr.match(/\[study\] training \d\/3/g) ?? []).length, 1, 'one job started');
  assert.match(r.stderr, /no full window/);
});
