// End to end: an encoder-decoder trained on real translation pairs (mt-en-fr-small) is evaluated
// by greedy decoding with BLEU and chrF, by `tlc eval` and `tlc compress`, as a user runs them.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { runTlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-translate-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tlc(args: string[]): string {
  const r = runTlc(args);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function train(name: string, steps: number): string {
  const dir = path.join(tmp, name);
  tlc([
    ...['train', '--config', 'tiny-encdec', '--run-dir', dir, '--json'],
    ...['--set', `budget.steps=${steps}`, '--set', 'budget.seconds=600', '--set', 'eval.every_steps=10000'],
  ]);
  return dir;
}

interface Translation {
  bleu: number;
  chrf: number;
  sentences: number;
  bleu_signature: string;
  examples: Array<{ hyp: string; ref: string }>;
}

test('tlc eval scores an encdec model by BLEU and chrF, and training raises both', () => {
  const untrained = train('one-step', 1);
  const trained = train('trained', 1500);
  const score = (dir: string): Translation =>
    JSON.parse(tlc(['eval', dir, '--json']).trim().split('\n').pop()!).scores.translation;
  const a = score(untrained);
  const b = score(trained);
  assert.ok(a && b, 'an encdec evaluation must carry translation scores');
  assert.equal(a.sentences, b.sentences);
  assert.ok(b.sentences >= 100, `validation sentences: ${b.sentences}`);
  assert.match(b.bleu_signature, /nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp/);
  assert.ok(b.examples.length > 0 && b.examples.every((e) => typeof e.hyp === 'string' && e.ref.length > 0));
  for (const s of [a, b]) {
    assert.ok(s.bleu >= 0 && s.bleu <= 100 && s.chrf >= 0 && s.chrf <= 100, JSON.stringify(s));
  }
  // 1,500 steps of a 0.4 M-parameter model on UI strings: far from good, but clearly learning
  assert.ok(b.chrf > a.chrf + 10, `chrF: ${a.chrf} after 1 step, ${b.chrf} after 1500`);
  assert.ok(b.bleu > a.bleu + 2, `BLEU: ${a.bleu} after 1 step, ${b.bleu} after 1500`);
  // the plain-text report names the metric and shows examples
  const text = tlc(['eval', trained]);
  assert.match(text, /BLEU \d+\.\d\d, chrF \d+\.\d\d \(greedy, \d+ sentences; nrefs:1/);
  assert.match(text, /hyp: .*\n {2}ref: /);

  // compression: 8-bit weights translate almost as well as fp32; the dense scores come along
  const out = path.join(tmp, 'int8');
  const c = JSON.parse(tlc(['compress', trained, '--quant', 'int8:channel', '--out', out, '--json']).trim());
  assert.equal(c.dense.translation.bleu, b.bleu);
  assert.ok(
    Math.abs(c.compressed.translation.chrf - b.chrf) < 2,
    `int8 chrF ${c.compressed.translation.chrf} vs dense ${b.chrf}`,
  );
});
