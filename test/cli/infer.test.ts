// End-to-end `tlc infer --fill-mask` on a tiny encoder trained on real text (Moby Dick): the dense
// run and its int8 compressed model (int8 runtime) give ranked top-k tokens at every <mask>, mostly
// the same first choice; --input writes one JSON line per text with progress on stderr; mistakes
// are one-line errors with exit code 2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { FillMaskResult } from '../../src/infer/fill-mask.ts';
import { runTlc as tlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-infer-'));
const run = path.join(tmp, 'run');
const q8 = path.join(tmp, 'q8');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const LINES = [
  'Call me <mask>. Some years ago, never mind how long precisely',
  'the <mask> of the whale was white',
  '',
  'and the sea <mask> about the <mask>',
];

function ok(args: string[]): { stdout: string; stderr: string } {
  const r = tlc(args);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}:\n${r.stderr}`);
  return r;
}

before(() => {
  ok([
    'train',
    '--config',
    'tiny-encoder',
    '--set',
    'budget.steps=600',
    '--set',
    'budget.seconds=300',
    '--run-dir',
    run,
  ]);
  ok(['compress', run, '--quant', 'int8', '--out', q8, '--json']);
  fs.writeFileSync(path.join(tmp, 'texts.txt'), `${LINES.join('\n')}\n`);
});

function check(r: FillMaskResult, masks: number, k: number): void {
  assert.equal(r.masks.length, masks, `${r.text}: one candidate list per <mask>`);
  for (const c of r.masks) {
    assert.equal(c.length, k);
    for (let i = 0; i < k; i++) {
      assert.ok(c[i]!.prob > 0 && c[i]!.prob <= 1 && c[i]!.id >= 5, `candidate ${JSON.stringify(c[i])}`);
      if (i > 0) assert.ok(c[i]!.prob <= c[i - 1]!.prob, 'ranked by probability');
    }
  }
  assert.ok(!r.filled.includes('<mask>'), `filled text still has a mask: ${r.filled}`);
}

test('--input: JSONL per text for the dense run and the int8 model, the same top-1 at most masks', () => {
  const input = path.join(tmp, 'texts.txt');
  const outs = [run, q8].map((m) => {
    const r = ok(['infer', m, '--input', input, '--top-k', '4', '--batch', '2']);
    assert.match(r.stderr, /infer: 3\/3 texts/);
    assert.match(r.stderr, m === q8 ? /\(int8; weights held/ : /\(dense; weights held/);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FillMaskResult);
    assert.equal(rows.length, 3, 'one line per non-empty text');
    for (const [i, x] of rows.entries()) check(x, i === 2 ? 2 : 1, 4);
    return rows;
  });
  const top1 = (rows: FillMaskResult[]) => rows.flatMap((x) => x.masks.map((c) => c[0]!.id));
  const [d, q] = [top1(outs[0]!), top1(outs[1]!)];
  const same = d.filter((id, i) => id === q[i]).length;
  assert.ok(same >= d.length - 1, `int8 top-1 ${q} vs dense ${d}`);
});

test('--fill-mask prints the filled text and the candidates; --json one object', () => {
  const r = ok(['infer', q8, '--fill-mask', LINES[1]!, '--top-k', '3']);
  assert.match(r.stdout, /<mask> 1: ".*" \d+\.\d%, ".*" \d+\.\d%, ".*" \d+\.\d%/);
  const j = JSON.parse(ok(['infer', q8, '--fill-mask', LINES[1]!, '--json']).stdout) as FillMaskResult;
  check(j, 1, 5);
});

test('mistakes are one-line errors (exit 2): no <mask>, both inputs, not a model, a text too long', () => {
  const cases: Array<[string[], RegExp]> = [
    [['infer', q8, '--fill-mask', 'no marker here'], /--fill-mask: expected at least one <mask>/],
    [
      ['infer', q8, '--fill-mask', 'a <mask>', '--input', path.join(tmp, 'texts.txt')],
      /exactly one of a TEXT \(after --fill-mask, --generate or --classify\) or --input FILE, found both/,
    ],
    [['infer', q8], /exactly one of .* found neither/],
    [
      ['infer', tmp, '--fill-mask', 'a <mask>'],
      /expected a compressed model \(model.safetensors\) or a training run/,
    ],
    [['infer', q8, '--fill-mask', `${'word '.repeat(200)}<mask>`], /the model's max_len is 64/],
    [['infer', q8, '--fill-mask', 'a <mask>', '--top-k', '0'], /--top-k expects/],
  ];
  for (const [args, re] of cases) {
    const r = tlc(args);
    assert.equal(r.status, 2, `tlc ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  }
});
