// End-to-end tests of `tlc train` and `tlc finetune` on real small data (Moby Dick, Pang & Lee
// polarity), run as a user would: child processes, run directories, exit codes, messages.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readMetrics } from '../../src/train/rundir.ts';
import { runTlc as tlc } from './tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-cli-train-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function validLoss(runDir: string): number[] {
  return readMetrics(path.join(runDir, 'metrics.jsonl'))
    .filter((r) => r.split === 'valid' && r.name === 'loss')
    .map((r) => r.value);
}

for (const family of ['encoder', 'decoder', 'encdec'] as const) {
  test(`tlc train --config tiny-${family}: a real run directory whose validation loss falls`, () => {
    const dir = path.join(tmp, family);
    // a step budget: the same amount of learning however loaded the machine is
    const r = tlc([
      'train',
      '--config',
      `tiny-${family}`,
      '--set',
      'budget.steps=150',
      '--set',
      'budget.seconds=600',
      '--set',
      'eval.every_steps=50',
      '--run-dir',
      dir,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(out.status, 'done');
    assert.equal(out.stopped_by, 'steps');
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'result.json',
      'tokenizer.json',
      'checkpoints/manifest.json',
    ]) {
      assert.ok(fs.existsSync(path.join(dir, f)), `missing ${f}`);
    }
    const v = validLoss(dir);
    assert.ok(v.length >= 2, 'expected evaluations at the start and the end');
    assert.ok(v[v.length - 1]! < v[0]! - 0.5, `validation loss did not fall: ${v.join(' -> ')}`);
    const train = readMetrics(path.join(dir, 'metrics.jsonl')).filter(
      (x) => x.split === 'train' && x.name === 'loss',
    );
    assert.ok(
      train.every((x, i) => i === 0 || x.wall_s >= train[i - 1]!.wall_s),
      'wall_s must not go backwards',
    );
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.model.family, family);
    assert.ok(cfg.data.provenance.length > 0, 'the run must record where its data came from');
  });
}

test('--precision bf16 trains on real text to within 1% of fp32 validation loss after the same steps', () => {
  const runs = (['fp32', 'bf16'] as const).map((precision) => {
    const dir = path.join(tmp, `precision-${precision}`);
    const r = tlc([
      ...['train', '--config', 'tiny-encoder', '--precision', precision],
      ...['--set', 'model.d_model=128', '--set', 'budget.steps=300', '--set', 'budget.seconds=900'],
      ...['--set', 'eval.every_steps=100', '--run-dir', dir, '--json'],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(saved.config.precision, precision);
    assert.equal(saved.backend, precision === 'bf16' ? 'native-bf16' : 'native');
    return validLoss(dir);
  });
  const [fp32, bf16] = runs.map((v) => v[v.length - 1]!) as [number, number];
  assert.ok(fp32 < runs[0]![0]! - 0.5, `fp32 did not learn: ${runs[0]}`);
  const rel = Math.abs(bf16 - fp32) / fp32;
  assert.ok(rel < 0.01, `bf16 validation loss ${bf16} vs fp32 ${fp32}: ${(100 * rel).toFixed(2)}% apart`);
  // the runs are not the same computation: bf16 rounding shows in the losses
  assert.notEqual(bf16, fp32);
});

test('tlc finetune on sentiment-en reports validation and test accuracy', () => {
  const enc = path.join(tmp, 'encoder');
  assert.ok(fs.existsSync(enc), 'needs the encoder run of the test above');
  const dir = path.join(tmp, 'ft');
  const r = tlc([
    'finetune',
    '--from',
    enc,
    '--data',
    'sentiment-en',
    '--set',
    'budget.seconds=8',
    '--run-dir',
    dir,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  assert.ok(res.final_valid.accuracy >= 0 && res.final_valid.accuracy <= 1);
  assert.ok(res.test.accuracy >= 0 && res.test.accuracy <= 1);
  assert.ok(res.test.count > 100, 'the test split must hold real examples');
});

test('bad configs fail with exit code 2 and name the key, the expected type and the value', () => {
  const unknown = tlc(['train', '--config', 'tiny-encoder', '--set', 'optim.learning_rate=3']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /optim/);
  assert.match(unknown.stderr, /learning_rate/);
  const wrongType = tlc(['train', '--config', 'tiny-encoder', '--set', 'model.d_model=wide']);
  assert.equal(wrongType.status, 2);
  assert.match(wrongType.stderr, /model\.d_model/);
  assert.match(wrongType.stderr, /number/);
  assert.match(wrongType.stderr, /"wide"/);
  const noPreset = tlc(['train', '--config', 'no-such-preset']);
  assert.equal(noPreset.status, 2);
  assert.match(noPreset.stderr, /tiny-encoder/);
});
