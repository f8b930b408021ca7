// End to end: `tlc translate` on a tiny encdec trained for a few hundred steps by `tlc train`
// translates a 3-line file as plain lines and as JSON lines, from --input and from stdin, and
// refuses a decoder-only run, an empty input and bad flags with one clear message (exit code 2).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { runTlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-translate-cmd-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tlc(args: string[], input?: string): string {
  const r = runTlc(args, 600_000, input);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function train(config: string, steps: number): string {
  const dir = path.join(tmp, config);
  tlc([
    ...['train', '--config', config, '--run-dir', dir, '--json'],
    ...['--set', `budget.steps=${steps}`, '--set', 'budget.seconds=600', '--set', 'eval.every_steps=10000'],
  ]);
  return dir;
}

/** a refused command: exit code 2, one `tlc:` line and its hint, no stack trace */
function refused(args: string[], pattern: RegExp, input?: string): void {
  const r = runTlc(args, 600_000, input);
  assert.equal(r.status, 2, `tlc ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
}

test('tlc translate writes one translation per input line, plain or JSON lines', () => {
  const run = train('tiny-encdec', 300);
  const text = 'Open the file\nSave as...\nClose all windows\n';
  const file = path.join(tmp, 'in.txt');
  fs.writeFileSync(file, text);
  const plain = tlc(['translate', run, '--input', file]).split('\n');
  assert.equal(plain.pop(), '', 'the output ends with a newline');
  assert.equal(plain.length, 3);
  const rows = tlc(['translate', run, '--input', file, '--jsonl'])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { src: string; hyp: string; score: number; tokens: number[] });
  assert.deepEqual(
    rows.map((r) => r.src),
    ['Open the file', 'Save as...', 'Close all windows'],
  );
  assert.deepEqual(
    rows.map((r) => r.hyp),
    plain,
  );
  for (const r of rows) {
    assert.deepEqual(Object.keys(r), ['src', 'hyp', 'score', 'tokens']);
    assert.ok(Number.isFinite(r.score) && r.score < 0, `score ${r.score}`);
    assert.ok(r.tokens.every((t) => Number.isInteger(t) && t >= 0));
  }
  assert.ok(
    rows.some((r) => r.tokens.length > 0),
    'a model trained for 300 steps says something',
  );
  // stdin gives the same; so do other batch sizes, and a beam of 1 (greedy) runs too
  assert.deepEqual(tlc(['translate', run, '--batch', '2'], text).split('\n').slice(0, 3), plain);
  const greedy = tlc(['translate', run, '--beam', '1', '--len-penalty', '0', '--max-len', '8'], text);
  assert.equal(greedy.split('\n').length, 4);

  refused(['translate', run, '--input', path.join(tmp, 'none.txt')], /--input expects an existing file/);
  fs.writeFileSync(path.join(tmp, 'empty.txt'), '');
  refused(
    ['translate', run, '--input', path.join(tmp, 'empty.txt')],
    /is empty: expected one sentence per line/,
  );
  refused(['translate', run], /stdin is empty/, '');
  refused(['translate', run, '--beam', '0'], /--beam expects an integer ≥ 1, found '0'/, text);
  refused(['translate', run, '--len-penalty', 'x'], /--len-penalty expects/, text);
  refused(['translate', path.join(tmp, 'nope')], /model folder .* does not exist/, text);
  const lm = train('tiny-decoder', 1);
  refused(['translate', lm], /holds a decoder model: tlc translate needs an encoder-decoder/, text);
});
