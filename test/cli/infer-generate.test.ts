// End-to-end `tlc infer --generate` and `--classify` on models trained here on real text: a tiny
// decoder (dense run, int8, int4 and 50%-pruned compressed folders) continues prompts greedily and
// by seeded sampling, the same in any batch; a fine-tuned classifier (dense and int8) gives a label
// and the probability of each label; --input writes JSONL with progress on stderr; a mode that does
// not fit the model and bad numeric flags are one-line errors with exit code 2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { ClassifyResult } from '../../src/infer/classify.ts';
import type { GenerateResult } from '../../src/infer/generate.ts';
import { runTlc as tlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-infer-gen-'));
const dec = path.join(tmp, 'dec');
const pre = path.join(tmp, 'pre');
const ft = path.join(tmp, 'ft');
const forms = ['q8', 'q4', 'p50'].map((f) => path.join(tmp, `dec-${f}`));
const ftQ8 = path.join(tmp, 'ft-q8');
const prompts = path.join(tmp, 'prompts.txt');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ok(args: string[]): { stdout: string; stderr: string } {
  const r = tlc(args);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}:\n${r.stderr}`);
  return r;
}
const steps = (n: number) => ['--set', `budget.steps=${n}`, '--set', 'budget.seconds=600'];

before(() => {
  ok(['train', '--config', 'tiny-decoder', ...steps(200), '--run-dir', dec]);
  ok(['compress', dec, '--quant', 'int8', '--out', forms[0]!, '--json']);
  ok(['compress', dec, '--quant', 'int4:group32', '--out', forms[1]!, '--json']);
  ok(['compress', dec, '--prune', '50%', '--out', forms[2]!, '--json']);
  ok(['train', '--config', 'tiny-encoder', ...steps(100), '--run-dir', pre]);
  ok(['finetune', '--from', pre, '--data', 'sentiment-en', ...steps(150), '--run-dir', ft]);
  ok(['compress', ft, '--quant', 'int8', '--out', ftQ8, '--json']);
  fs.writeFileSync(prompts, 'Call me Ishmael.\n\nThe whale\nand the sea was\n');
});

const jsonl = <T>(s: string): T[] =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);

test('--generate: dense and every compressed form continue a prompt; greedy agrees across int8 and dense', () => {
  const outs = [dec, ...forms].map((m) => {
    const r = ok(['infer', m, '--generate', 'Call me Ishmael.', '--max-new', '12', '--json']);
    assert.match(r.stderr, m === dec ? /\(dense; weights held/ : /\(int8; weights held/);
    assert.match(r.stderr, /new tokens in .* tokens\/s/);
    const g = JSON.parse(r.stdout) as GenerateResult;
    assert.equal(g.prompt, 'Call me Ishmael.');
    assert.ok(g.tokens.length > 0 && g.tokens.length <= 12, `${g.tokens.length} tokens`);
    assert.ok(g.ended || g.tokens.length === 12);
    assert.ok(g.logprob < 0 && Number.isFinite(g.logprob));
    assert.ok(g.text.length > 0);
    return g;
  });
  const plain = ok(['infer', dec, '--generate', 'Call me Ishmael.', '--max-new', '12']).stdout;
  assert.equal(plain, `Call me Ishmael.${outs[0]!.text}\n`);
  // int8 with per-token activations follows the dense greedy path for its first tokens
  assert.deepEqual(outs[1]!.tokens.slice(0, 3), outs[0]!.tokens.slice(0, 3), 'int8 vs dense first tokens');
});

test('--generate --input: JSONL per prompt; batches and seeds; top-k 1 is greedy', () => {
  const gen = (m: string, ...extra: string[]) => {
    const r = ok(['infer', m, '--generate', '--input', prompts, '--max-new', '10', ...extra]);
    assert.match(r.stderr, /infer: 3\/3 texts/);
    const rows = jsonl<GenerateResult>(r.stdout);
    assert.deepEqual(
      rows.map((x) => x.prompt),
      ['Call me Ishmael.', 'The whale', 'and the sea was'],
    );
    return rows.map((x) => x.tokens);
  };
  for (const m of [dec, forms[0]!]) {
    const greedy = gen(m, '--batch', '3');
    assert.deepEqual(gen(m, '--batch', '1'), greedy, `${m}: greedy, batch 1 = batch 3`);
    const s7 = gen(m, '--temperature', '1.2', '--seed', '7', '--batch', '2');
    assert.deepEqual(gen(m, '--temperature', '1.2', '--seed', '7', '--batch', '3'), s7, 'seeded: any batch');
    assert.notDeepEqual(gen(m, '--temperature', '1.2', '--seed', '8'), s7, 'another seed');
    assert.notDeepEqual(s7, greedy, 'sampling leaves the greedy path');
    assert.deepEqual(gen(m, '--top-k', '1', '--seed', '3'), greedy, 'top-k 1 = greedy');
    const nucleus = gen(m, '--top-p', '0.9', '--top-k', '20', '--seed', '7');
    assert.equal(nucleus.length, 3);
  }
});

test('--classify: dense and int8 classifiers give a label and every label probability', () => {
  const texts = path.join(tmp, 'reviews.txt');
  fs.writeFileSync(texts, 'this was wonderful, I loved it\nterrible, awful, a waste of money\n');
  const labels = [ft, ftQ8].map((m) => {
    const r = ok(['infer', m, '--classify', '--input', texts, '--batch', '1']);
    assert.match(r.stderr, /classify, 2 text\(s\)/);
    const rows = jsonl<ClassifyResult>(r.stdout);
    assert.equal(rows.length, 2);
    for (const x of rows) {
      const ps = Object.values(x.probs);
      assert.equal(ps.length, 2, 'sentiment-en has two labels');
      assert.ok(Math.abs(ps.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      assert.equal(x.label, Object.keys(x.probs)[x.id]);
      assert.ok(x.probs[x.label]! >= Math.max(...ps) - 1e-12, 'the label is the most likely');
      assert.ok(!/^class \d/.test(x.label), `label names from the data set: ${x.label}`);
    }
    return rows.map((x) => x.label);
  });
  assert.deepEqual(labels[1], labels[0], 'int8 agrees with dense');
  const one = ok(['infer', ft, '--classify', 'what a great film']).stdout;
  assert.match(one, /^\S+ {2}\(\S+ \d+\.\d%, \S+ \d+\.\d%\)\n$/);
  // the classifier's own mode when none is given
  assert.equal(
    ok(['infer', ftQ8, '--input', texts]).stdout.split('\n')[0],
    JSON.stringify(jsonl<ClassifyResult>(ok(['infer', ftQ8, '--classify', '--input', texts]).stdout)[0]),
  );
});

test('a mode that does not fit the model, and bad flags, are one-line errors (exit 2)', () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['infer', pre, '--generate', 'Call me'],
      /--generate needs a decoder \(causal LM\) model, .* is an encoder/,
    ],
    [['infer', forms[0]!, '--fill-mask', 'a <mask>'], /--fill-mask needs an encoder .* is a decoder/],
    [['infer', dec, '--classify', 'good'], /--classify needs a fine-tuned classifier .* is a decoder/],
    [['infer', pre, '--classify', 'good'], /--classify needs a fine-tuned classifier .* is an encoder/],
    [['infer', dec, '--generate', 'x', '--fill-mask', 'y'], /one mode, found --fill-mask and --generate/],
    [['infer', dec, '--generate'], /exactly one of a TEXT .* found neither/],
    [['infer', dec, '--generate', 'x', '--temperature', '-1'], /--temperature expects a number ≥ 0/],
    [['infer', dec, '--generate', 'x', '--top-p', '0'], /--top-p expects a number > 0 and ≤ 1/],
    [['infer', dec, '--generate', 'x', '--top-p', '1.5'], /--top-p expects/],
    [['infer', dec, '--generate', 'x', '--max-new', '0'], /--max-new expects an integer ≥ 1/],
    [['infer', dec, '--generate', 'x', '--seed', '1.5'], /--seed expects an integer/],
    [
      ['infer', pre, '--fill-mask', 'a <mask>', '--temperature', '1'],
      /--temperature applies to --generate only/,
    ],
    [['infer', ft, '--classify', 'good', '--top-k', '2'], /--top-k applies to --fill-mask and --generate/],
    [
      ['infer', dec, '--generate', 'word '.repeat(80)],
      /the model's max_len is 64 \(no room for a new token\)/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = tlc(args);
    assert.equal(r.status, 2, `tlc ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  }
});
