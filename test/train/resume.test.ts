// Kill a training process with SIGKILL at a random moment, resume it, and require the loss
// sequence to equal an uninterrupted run's bit for bit (deterministic mode, real data).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readMetrics } from '../../src/train/rundir.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const tlc = path.join(root, 'bin', 'tlc.mjs');
const common = [
  'train',
  '--config',
  'tiny-decoder',
  '--deterministic',
  '--threads',
  '2',
  '--set',
  'budget.steps=150',
  '--set',
  'budget.seconds=600',
  '--set',
  'checkpoint.every_seconds=0.2',
  '--set',
  'eval.every_steps=20',
  '--set',
  'model.dropout=0.1',
  '--json',
];

function lossesByStep(runDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of readMetrics(path.join(runDir, 'metrics.jsonl')))
    if (r.split === 'train' && r.name === 'loss') m.set(r.step, r.value);
  return m;
}

function run(args: string[]): void {
  const r = spawnSync(process.execPath, [tlc, ...args], { encoding: 'utf8', cwd: root, timeout: 300_000 });
  assert.equal(r.status, 0, `tlc ${args.join(' ')} failed:\n${r.stderr}`);
}

test('SIGKILL at a random moment, then --resume, gives the uninterrupted loss sequence bit for bit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-resume-'));
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const tRef = Date.now();
  run([...common, '--run-dir', a]);
  const refMs = Date.now() - tRef; // the kill below comes within the first third of this
  const ref = lossesByStep(a);
  assert.equal(ref.size, 150);

  const child = spawn(process.execPath, [tlc, ...common, '--run-dir', b], { cwd: root, stdio: 'ignore' });
  const manifest = path.join(b, 'checkpoints', 'manifest.json');
  const t0 = Date.now();
  while (!fs.existsSync(manifest) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(fs.existsSync(manifest), 'the run wrote no checkpoint');
  await new Promise((r) => setTimeout(r, (Math.random() * refMs) / 3));
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  const before = lossesByStep(b).size;
  assert.ok(before < 150, `the kill came too late to test anything (${before} steps done)`);

  run(['train', '--resume', b, '--json']);
  const got = lossesByStep(b);
  assert.equal(got.size, 150);
  for (const [step, loss] of ref)
    assert.equal(got.get(step), loss, `loss at step ${step} differs after resume`);
  const result = JSON.parse(fs.readFileSync(path.join(b, 'result.json'), 'utf8'));
  assert.equal(result.spent.step, 150);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('resuming a finished run is refused with a clear message', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-resume-'));
  run([...common, '--set', 'budget.steps=3', '--run-dir', dir]);
  const r = spawnSync(process.execPath, [tlc, 'train', '--resume', dir], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /already finished/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a non-finite loss stops the run with a clear message and keeps the last good checkpoint', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-nan-'));
  const r = spawnSync(
    process.execPath,
    [
      tlc,
      ...common,
      '--set',
      'optim.lr=1e30',
      '--set',
      'optim.warmup_steps=0',
      '--set',
      'optim.clip=0',
      '--run-dir',
      dir,
    ],
    { encoding: 'utf8', cwd: root },
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /non-finite/);
  const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  assert.equal(result.status, 'failed');
  fs.rmSync(dir, { recursive: true, force: true });
});
