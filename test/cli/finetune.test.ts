// `tlc finetune --from` a run pretrained with another sequence length than configs/finetune.yaml's
// (128 against 64): the fine-tuned model takes the pretrained shape, position table included, and
// learns the task (test accuracy above the majority-class rate); a longer seq_len is refused.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadData, splitFractionsFor } from '../../src/data/load.ts';
import { splitCorpus } from '../../src/data/splits.ts';
import { runTlc as tlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-finetune-'));
const pre = path.join(tmp, 'pre-128');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

before(() => {
  // step budgets: the same amount of learning however loaded the machine is
  const r = tlc([
    ...['train', '--config', 'tiny-encoder', '--set', 'data.seq_len=128'],
    ...['--set', 'budget.steps=200', '--set', 'budget.seconds=900', '--set', 'eval.every_steps=100'],
    ...['--run-dir', pre, '--json'],
  ]);
  assert.equal(r.status, 0, r.stderr);
});

/** The share of the most frequent label in sentiment-en's test split. */
function majorityRate(): { rate: number; n: number } {
  const c = loadData('sentiment-en', { kind: 'labels', log: () => {} });
  const { test: t } = splitCorpus(c, { ...splitFractionsFor('sentiment-en'), seed: 1 });
  assert.equal(t.kind, 'labels');
  const counts = new Map<number, number>();
  for (const e of t.kind === 'labels' ? t.examples : []) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  return { rate: Math.max(...counts.values()) / n, n };
}

test('fine-tuning a seq_len 128 run keeps its 128 positions and beats the majority class on the test split', () => {
  const dir = path.join(tmp, 'ft');
  const r = tlc([
    ...['finetune', '--from', pre, '--data', 'sentiment-en'],
    ...['--set', 'budget.steps=400', '--set', 'budget.seconds=900', '--run-dir', dir, '--json'],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const preSaved = JSON.parse(fs.readFileSync(path.join(pre, 'config.json'), 'utf8'));
  assert.equal(preSaved.model.max_len, 128);
  assert.equal(saved.model.max_len, 128, 'the position table keeps its pretrained size');
  assert.equal(saved.config.data.seq_len, 64, "inputs are cut to the fine-tuning config's 64 tokens");
  for (const k of ['d_model', 'n_layers', 'n_heads', 'd_ff', 'vocab'] as const)
    assert.equal(saved.model[k], preSaved.model[k], k);
  assert.equal(saved.model.n_classes, 2);
  const res = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  const { rate, n } = majorityRate();
  // at least: the fixed test batches repeat their first batch once (src/train/data.ts takeEpoch)
  assert.ok(res.test.count >= n, `${res.test.count} of ${n} test examples scored`);
  process.stderr.write(`fine-tuned test accuracy ${res.test.accuracy} vs majority-class rate ${rate}\n`);
  assert.ok(
    res.test.accuracy > rate,
    `test accuracy ${res.test.accuracy} is not above the majority-class rate ${rate} (${n} examples)`,
  );
});

test('a fine-tuning seq_len longer than the pretrained position table is refused, naming both', () => {
  const r = tlc([
    'finetune',
    '--from',
    pre,
    '--set',
    'data.seq_len=256',
    '--run-dir',
    path.join(tmp, 'long'),
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /data\.seq_len 256/);
  assert.match(r.stderr, /pretrained with 128 positions/);
  assert.match(r.stderr, /hint: fine-tune with --set data\.seq_len=128/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.ok(!fs.existsSync(path.join(tmp, 'long')), 'nothing is written for a refused run');
});
