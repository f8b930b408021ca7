// The strict flag parser every command uses: numbers are plain decimals inside their bounds, words
// come from their list, paths exist; anything else is an InputError naming the flag, what was
// expected and what was found, with an example in the hint.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { arg, int, num, oneOf, path as pathFlag } from '../../src/cli/flags.ts';
import { InputError } from '../../src/engine/errors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-flags-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An InputError whose message names the flag, the expectation and the value, with a hint. */
function refused(fn: () => unknown, flag: string, expected: RegExp, found: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${flag} expects `), e.message);
    assert.match(e.message, expected);
    assert.ok(e.message.includes(`found '${found}'`), e.message);
    assert.match(e.hint ?? '', new RegExp(`^e\\.g\\. ${flag} `));
    return true;
  });
}

test('int: decimal integers inside the bounds; everything else is refused, not defaulted', () => {
  assert.equal(int('--threads', '2', { min: 1 }), 2);
  assert.equal(int('--threads', ' 16 ', { min: 1 }), 16);
  assert.equal(int('--seed', '0', { min: 0 }), 0);
  assert.equal(int('--n', '-3'), -3);
  for (const bad of ['0', '-1'])
    refused(() => int('--threads', bad, { min: 1 }), '--threads', /integer ≥ 1/, bad);
  for (const bad of ['abc', '', ' ', '1.5', '1e3', '0x10', '1_000', '5s', 'Infinity', 'NaN', '2 3'])
    refused(() => int('--threads', bad, { min: 1 }), '--threads', /an integer/, bad);
  refused(() => int('--layers', '99', { min: 1, max: 64 }), '--layers', /≥ 1 and ≤ 64/, '99');
  refused(() => int('steps', 'x', { min: 1 }), '--steps', /integer/, 'x');
});

test('num: finite decimals (3e-4 included) inside open or closed bounds', () => {
  assert.equal(num('--lr', '3e-4', { gt: 0 }), 3e-4);
  assert.equal(num('--lr', '.5', { gt: 0 }), 0.5);
  assert.equal(num('--budget', '60', { gt: 0 }), 60);
  assert.equal(num('--valid', '0', { min: 0, lt: 1 }), 0);
  for (const bad of ['0', '-1'])
    refused(() => num('--budget', bad, { gt: 0 }), '--budget', /number > 0/, bad);
  for (const bad of ['abc', '', 'Infinity', '1e999', 'NaN', '5s', '0x10', '1,5'])
    refused(() => num('--lr', bad, { gt: 0 }), '--lr', /a number/, bad);
  refused(
    () => num('--valid', '1', { min: 0, lt: 1, what: 'a fraction in [0, 1)', example: '0.05' }),
    '--valid',
    /a fraction in \[0, 1\)/,
    '1',
  );
});

test('oneOf: exact words from the list, all of them named in the message', () => {
  assert.equal(oneOf('--precision', 'bf16', ['fp32', 'bf16']), 'bf16');
  refused(() => oneOf('--precision', 'BF16', ['fp32', 'bf16']), '--precision', /one of fp32 or bf16/, 'BF16');
  refused(
    () => oneOf('--family', 'gpt', ['encoder', 'decoder', 'encdec']),
    '--family',
    /one of encoder, decoder or encdec/,
    'gpt',
  );
});

test('path: an existing file or folder, as asked', () => {
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'x');
  assert.equal(pathFlag('--from', dir, { is: 'dir' }), dir);
  assert.equal(pathFlag('--data', f, { is: 'file' }), f);
  const missing = path.join(dir, 'nope');
  assert.throws(
    () => pathFlag('--from', missing, { is: 'dir', what: 'a run directory' }),
    (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /^--from expects a run directory, found '.*nope' \(no such file or folder\)$/);
      return true;
    },
  );
  assert.throws(() => pathFlag('--from', f, { is: 'dir' }), /a file, not a folder/);
  assert.throws(() => pathFlag('--config', dir, { is: 'file' }), /not a regular file/);
});

test('arg.*: the same rules in the form commander calls', () => {
  assert.equal(arg.int('--steps', { min: 1 })('200'), 200);
  assert.equal(arg.num('--lr', { gt: 0 })('1e-3'), 1e-3);
  assert.equal(arg.oneOf('--backend', ['native', 'ts'] as const)('ts'), 'ts');
  assert.throws(() => arg.int('--steps', { min: 1 })('0'), InputError);
  assert.throws(() => arg.path('--resume', { is: 'dir' })(path.join(dir, 'gone')), InputError);
});
