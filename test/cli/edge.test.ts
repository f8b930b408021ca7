// Bad input caught at the edge, as a user meets it: every numeric flag of every command is parsed
// strictly (`--threads 0` is an error, not "all cores"), `--config <folder>` and a `tlc study`
// whose data cannot be used fail at once with one message and exit code 2, before any job starts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ROOT, runTlc as tlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-edge-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const nope = path.join(tmp, 'no-such-run');

/** One clear message: exit code 2, no stack trace, every pattern in it. */
function refused(args: string[], ...patterns: Array<RegExp | string>): string {
  const r = tlc(args, 120_000);
  assert.equal(r.status, 2, `tlc ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace for a user mistake:\n${r.stderr}`);
  for (const p of patterns)
    if (typeof p === 'string') assert.ok(r.stderr.includes(p), `'${p}' not in:\n${r.stderr}`);
    else assert.match(r.stderr, p);
  return r.stderr;
}

/** A study folder that must stay empty: the check runs before any job. */
function study(out: string, ...flags: string[]): string[] {
  return ['study', '--preset', 'quick', '--budget', '5', '--out', out, ...flags];
}

const numeric: Array<[string[], string, string]> = [
  [['bench', 'train', '--threads', '0'], '--threads', '0'],
  [['bench', 'train', '--steps', 'abc'], '--steps', 'abc'],
  [['train', '--config', 'tiny-encoder', '--threads', '0'], '--threads', '0'],
  [['train', '--config', 'tiny-encoder', '--threads', 'abc'], '--threads', 'abc'],
  [['finetune', '--from', tmp, '--threads', '0'], '--threads', '0'],
  [['compress', nope, '--quant', 'int8', '--threads', '0'], '--threads', '0'],
  [['compress', nope, '--quant', 'int8', '--gradual', '--steps', '0'], '--steps', '0'],
  [['compress', nope, '--quant', 'int8', '--qat', '--lr', 'abc'], '--lr', 'abc'],
  [['compress', nope, '--quant', 'int8', '--calib-batches', '1.5'], '--calib-batches', '1.5'],
  [['eval', nope, '--threads', '0'], '--threads', '0'],
  [['eval', nope, '--threads', 'abc'], '--threads', 'abc'],
  [['infer', nope, '--fill-mask', 'a <mask>', '--batch', '0'], '--batch', '0'],
  [['infer', nope, '--fill-mask', 'a <mask>', '--outlier-threshold', 'abc'], '--outlier-threshold', 'abc'],
  [[...study(path.join(tmp, 's1'), '--data', nope), '--threads', '0'], '--threads', '0'],
  [[...study(path.join(tmp, 's2'), '--data', nope), '--threads', 'all'], '--threads', 'all'],
  [
    ['study', '--preset', 'quick', '--data', nope, '--out', path.join(tmp, 's3'), '--budget', 'Infinity'],
    '--budget',
    'Infinity',
  ],
  [
    ['study', '--preset', 'quick', '--data', nope, '--out', path.join(tmp, 's4'), '--budget', '10s'],
    '--budget',
    '10s',
  ],
  [['data', 'stats', 'prose-en-small', '--seed', 'x'], '--seed', 'x'],
  [['data', 'stats', 'prose-en-small', '--test', '-0.1'], '--test', '-0.1'],
];

test('every numeric flag of every command is parsed strictly and named in the error', () => {
  for (const [args, flag, bad] of numeric)
    refused(args, `${flag} expects`, `found '${bad}'`, `hint: e.g. ${flag} `);
  for (const s of ['s1', 's2', 's3', 's4'])
    assert.ok(!fs.existsSync(path.join(tmp, s)), `study ${s} started`);
});

test('the queue commands (tlc worker, the hidden tlc study-job) parse their numeric flags the same way', () => {
  const queue = ['worker', '--queue', 'redis://127.0.0.1:1'];
  const job = ['study-job', 'finetune', '--root', tmp, '--study', tmp, '--run', 'd64-L2-s1'];
  const cases: Array<[string[], string, string]> = [
    [[...queue, '--concurrency', '0'], '--concurrency', '0'],
    [[...queue, '--threads', 'abc'], '--threads', 'abc'],
    [[...queue, '--idle-exit', '5s'], '--idle-exit', '5s'],
    [[...queue, '--lock-ms', '1.5'], '--lock-ms', '1.5'],
    [[...job, '--budget', 'abc'], '--budget', 'abc'],
    [[...job, '--threads', '0'], '--threads', '0'],
  ];
  for (const [args, flag, bad] of cases)
    refused(args, `${flag} expects`, `found '${bad}'`, `hint: e.g. ${flag} `);
});

test('tlc train --config <folder>: one message naming the folder', () => {
  const d = path.join(tmp, 'configs-here');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'mine.yaml'), 'model: {}\n');
  refused(
    ['train', '--config', d],
    `found the folder '${d}'`,
    'expects a YAML/JSON file or a preset name',
    'mine.yaml',
  );
});

test('tlc --version prints the version in package.json', () => {
  const r = tlc(['--version']);
  assert.equal(r.status, 0, r.stderr);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.stdout.trim(), pkg.version);
});

test('tlc study --data / --finetune that cannot be used stop the study before any job starts', () => {
  const one = path.join(tmp, 'one-doc');
  fs.mkdirSync(one);
  fs.writeFileSync(path.join(one, 'only.txt'), 'Call me Ishmael. '.repeat(200));
  const blob = path.join(tmp, 'weights.bin');
  fs.writeFileSync(blob, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3]));
  const cases: Array<[string[], Array<RegExp | string>]> = [
    [
      ['--data', path.join(tmp, 'missing', 'corpus.txt')],
      ['no such file or folder', 'missing'],
    ],
    [
      ['--data', 'sentiment-en'],
      ['sentiment-en holds labels data, but this command needs text', 'prose-en'],
    ],
    [['--data', one], [/has 1 item\(s\): too few/]],
    [
      ['--data', blob],
      ['weights.bin: not a text file', 'NUL bytes'],
    ],
    [
      ['--data', 'prose-en-small', '--finetune', 'prose-en-small'],
      ['needs labels', 'sentiment-en'],
    ],
  ];
  cases.forEach(([flags, patterns], i) => {
    const out = path.join(tmp, `study-${i}`);
    refused(study(out, ...flags), ...patterns);
    assert.ok(!fs.existsSync(out), `the study wrote ${out} before refusing its data`);
  });
});

test('tlc study --queue with the batch arm or the check preset is refused, not run on this machine', () => {
  const q = ['--queue', 'redis://127.0.0.1:1'];
  refused(
    [...study(path.join(tmp, 'q-batch'), '--batch-sweep'), ...q],
    /--queue .* does not take --batch-sweep/,
  );
  refused(
    ['study', '--preset', 'check', '--out', path.join(tmp, 'q-check'), ...q],
    /does not take --preset check/,
    'drop --queue',
  );
  assert.ok(!fs.existsSync(path.join(tmp, 'q-batch')) && !fs.existsSync(path.join(tmp, 'q-check')));
});
