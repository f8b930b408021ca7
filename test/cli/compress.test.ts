// End-to-end `tlc compress` and `tlc eval` on a small model trained on real text (Moby Dick):
// results carry the protocol, eval reproduces them, and gradual pruning with fine-tuning beats
// one-shot pruning at 90% sparsity.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File } from '../../src/data/fetch/cache.ts';
import { readSafetensors, writeSafetensors } from '../../src/engine/safetensors.ts';
import { runTlc as tlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-compress-'));
const run = path.join(tmp, 'run');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ok(args: string[]) {
  const r = tlc([...args, '--json']);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

before(() => {
  ok([
    'train',
    '--config',
    'tiny-decoder',
    '--set',
    'budget.seconds=15',
    '--set',
    'model.d_model=96',
    '--set',
    'model.n_heads=3',
    '--run-dir',
    run,
  ]);
});

test('tlc compress writes a container, its size and the evaluation protocol; tlc eval reproduces the numbers', () => {
  const r = ok(['compress', run, '--quant', 'int4:group32', '--out', path.join(tmp, 'q4')]);
  assert.ok(r.bytes < r.dense_bytes, `int4 (${r.bytes} B) must be smaller than dense (${r.dense_bytes} B)`);
  assert.equal(r.bytes, fs.statSync(path.join(tmp, 'q4', 'model.safetensors')).size);
  assert.ok(r.compressed.kl > 0 && r.compressed.top1 > 0.5 && r.compressed.top1 <= 1);
  assert.ok(r.compressed.ppl_low < r.compressed.ppl && r.compressed.ppl < r.compressed.ppl_high);
  assert.ok(r.protocol.windows > 1 && r.protocol.tokens > 100);
  const e = ok(['eval', path.join(tmp, 'q4')]);
  assert.equal(e.scores.ppl, r.compressed.ppl);
  assert.equal(e.scores.kl, r.compressed.kl);
  const d = ok(['eval', run]);
  assert.equal(d.scores.ppl, r.dense.ppl);
});

test('GPTQ has lower KL to the dense model than round-to-nearest at 3 bits', () => {
  const rtn = ok(['compress', run, '--quant', 'int3', '--out', path.join(tmp, 'rtn3')]);
  const gptq = ok([
    'compress',
    run,
    '--quant',
    'int3',
    '--method',
    'gptq',
    '--calib-batches',
    '4',
    '--out',
    path.join(tmp, 'gptq3'),
  ]);
  assert.ok(
    gptq.compressed.kl < rtn.compressed.kl,
    `GPTQ KL ${gptq.compressed.kl} vs RTN ${rtn.compressed.kl}`,
  );
});

test('gradual pruning with fine-tuning beats one-shot pruning at 90% sparsity', () => {
  const oneShot = ok(['compress', run, '--prune', '90%', '--out', path.join(tmp, 'p90')]);
  const gradual = ok([
    'compress',
    run,
    '--prune',
    '90%',
    '--gradual',
    '--steps',
    '80',
    '--out',
    path.join(tmp, 'g90'),
  ]);
  for (const r of [oneShot, gradual])
    assert.ok(Math.abs(r.sparsity_achieved - 0.9) < 1e-4, `sparsity ${r.sparsity_achieved}`);
  assert.ok(
    gradual.compressed.ppl < oneShot.compressed.ppl,
    `gradual ${gradual.compressed.ppl} vs one-shot ${oneShot.compressed.ppl}`,
  );
});

test('bad compression specs fail with exit code 2 and list the valid choices', () => {
  const q = tlc(['compress', run, '--quant', 'int9']);
  assert.equal(q.status, 2);
  assert.match(q.stderr, /int9/);
  assert.match(q.stderr, /int4/);
  const p = tlc(['compress', run, '--prune', '150%']);
  assert.equal(p.status, 2);
  const none = tlc(['compress', run]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /--quant and\/or --prune/);
});

test('the container sha256 is in its result; tlc eval reports a flipped byte or malformed metadata in one message', () => {
  const out = path.join(tmp, 'q8-checked');
  const r = ok(['compress', run, '--quant', 'int8', '--out', out]);
  const file = path.join(out, 'model.safetensors');
  assert.equal(r.sha256, sha256File(file));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).sha256, r.sha256);
  const oneMessage = (dir: string, ...patterns: RegExp[]) => {
    const e = tlc(['eval', dir]);
    assert.equal(e.status, 1, e.stderr);
    assert.doesNotMatch(e.stderr, /^\s+at /m, `a stack trace:\n${e.stderr}`);
    for (const p of patterns) assert.match(e.stderr, p);
  };
  const flipped = path.join(tmp, 'q8-flipped');
  fs.cpSync(out, flipped, { recursive: true });
  const bytes = fs.readFileSync(path.join(flipped, 'model.safetensors'));
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x10;
  fs.writeFileSync(path.join(flipped, 'model.safetensors'), bytes);
  oneMessage(
    flipped,
    /q8-flipped\/model\.safetensors: sha256 [0-9a-f]{64} differs/,
    /hint: recreate it with tlc compress/,
  );
  const malformed = path.join(tmp, 'q8-malformed');
  fs.cpSync(out, malformed, { recursive: true });
  const mfile = path.join(malformed, 'model.safetensors');
  const { tensors, metadata } = readSafetensors(mfile);
  const list = [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
  const { sha256 } = writeSafetensors(mfile, list, { ...metadata, 'tlc.model': '{"family": "dec' });
  const res = path.join(malformed, 'result.json');
  fs.writeFileSync(res, JSON.stringify({ ...JSON.parse(fs.readFileSync(res, 'utf8')), sha256 }));
  oneMessage(malformed, /model\.safetensors: metadata tlc\.model is not valid JSON/);
});
