// Faults on a real Redis queue: a worker killed with SIGKILL mid-run loses its job to another worker,
// which resumes from the run's last checkpoint; a training process killed under a live worker is
// retried with back-off and resumes again; the losses, evaluations and final result equal an
// uninterrupted run's bit for bit (deterministic mode). A submitter that goes away mid-run is
// replaced by a second submission that re-attaches to the running job. A run held by another live
// process is waited for ("still running"), not failed. A job failing the same transient way every
// time is retried with back-off up to the limit, then stops the study with its message. A worker
// stopped with SIGTERM hands its running job back without spending an attempt.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { TlcError } from '../../src/engine/errors.ts';
import type { Job, JobOutcome } from '../../src/study/executor.ts';
import { QueueExecutor } from '../../src/study/queue-executor.ts';
import { runJobs } from '../../src/study/run.ts';
import { LOCK_FILE, lockIsLive, readLock } from '../../src/train/lock.ts';
import { readMetrics } from '../../src/train/rundir.ts';
import { startRedis, type TestRedis } from './redis-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tlc = path.join(ROOT, 'bin', 'tlc.mjs');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-qfault-')));
const study = path.join(tmp, 'study');
let redis: TestRedis;

const config = (steps: number) => `model: { family: encoder, d_model: 64, n_layers: 2, n_heads: 2 }
data: { name: prose-en-small, vocab_size: 2048, seq_len: 64, batch_size: 16, valid_batches: 4 }
optim: { lr: 1.0e-3, warmup_steps: 20 }
budget: { steps: ${steps}, seconds: 600 }
eval: { every_steps: 50 }
checkpoint: { every_seconds: 0.25, keep: 2 }
deterministic: true
threads: 1
`;

interface Proc {
  child: ChildProcess;
  text: () => string;
  exit: Promise<number | null>;
}
const procs: Proc[] = [];
function start(args: string[]): Proc {
  const child = spawn(process.execPath, [tlc, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const p = { child, text: () => text, exit };
  procs.push(p);
  return p;
}
const worker = () =>
  start(['worker', '--queue', redis.url, '--root', tmp, '--threads', '1', '--lock-ms', '2000']);

/** A worker still running (a SIGKILLed one has no exit code either), or a new one. */
const liveWorker = () =>
  procs.find(
    (p) => p.child.exitCode === null && p.child.signalCode === null && p.text().includes('taking jobs'),
  ) ?? worker();

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The newest checkpoint step of a run, or -1. */
function newestCheckpoint(runDir: string): number {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'manifest.json'), 'utf8'));
    return Math.max(-1, ...m.checkpoints.map((c: { step: number }) => c.step));
  } catch {
    return -1;
  }
}

const losses = (runDir: string) =>
  new Map(
    readMetrics(path.join(runDir, 'metrics.jsonl'))
      .filter((r) => r.split === 'train' && r.name === 'loss')
      .map((r) => [r.step, r.value]),
  );
/**
 * What must not depend on the interruption: the whole metrics log but its timings (each record once,
 * in order: losses, learning rates, gradient norms, evaluations) and the final result.
 */
function outcome(runDir: string) {
  const log = readMetrics(path.join(runDir, 'metrics.jsonl')).map((r) => [r.step, r.split, r.name, r.value]);
  const r = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8'));
  return {
    log,
    evals: log.filter((x) => x[1] !== 'train').length,
    final_valid: r.final_valid,
    last: r.last_train_loss,
    step: r.spent.step,
    tokens: r.spent.tokens,
  };
}
const trainJob = (run: string): Job => ({ id: run, args: [], estimateS: 30, spec: { kind: 'train', run } });
const executors: QueueExecutor[] = [];
const executor = (log: string[], o: { attempts?: number; backoffMs?: number } = {}) => {
  const ex = new QueueExecutor({
    url: redis.url,
    studyDir: study,
    backoffMs: 300,
    pollMs: 200,
    log: (m) => log.push(m),
    ...o,
  });
  executors.push(ex);
  return ex;
};

before(async () => {
  redis = await startRedis();
  fs.mkdirSync(path.join(study, 'configs'), { recursive: true });
  fs.writeFileSync(path.join(study, 'configs', 'd64-L2-s1.yaml'), config(200));
  fs.writeFileSync(
    path.join(study, 'configs', 'd64-L1-s1.yaml'),
    config(120).replace('n_layers: 2', 'n_layers: 1'),
  );
});
after(async () => {
  for (const ex of executors) await ex.close();
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const run of ['d64-L2-s1', 'd64-L1-s1']) {
    const h = readLock(path.join(study, 'runs', run))?.holder; // a training process a failed test left behind
    if (h?.host === os.hostname()) {
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {}
    }
  }
  await Promise.all(procs.map((p) => p.exit));
  await redis.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a SIGKILLed worker’s job resumes on another worker; a killed run is retried; losses match bit for bit', async () => {
  const ref = start([
    'train',
    '--config',
    path.join(study, 'configs', 'd64-L2-s1.yaml'),
    '--run-dir',
    path.join(tmp, 'ref'),
  ]);
  const runDir = path.join(study, 'runs', 'd64-L2-s1');
  const log: string[] = [];
  const ex = executor(log);
  const a = worker();
  const done = ex.run([trainJob('d64-L2-s1')], () => {});

  await until('a first checkpoint', () => newestCheckpoint(runDir) > 0);
  a.child.kill('SIGKILL');
  await a.exit;
  const killedAt = losses(runDir).size;
  assert.ok(killedAt < 200, `the kill came too late (${killedAt} steps done)`);
  // the worker's training child notices its worker is gone and stops: the lock is free again
  await until(
    'the orphaned run to stop',
    () => !lockIsLive(readLock(runDir) ?? { holder: null, mtimeMs: 0 }),
    10_000,
  );

  const b = worker();
  await until('worker B to resume the run', () => /resuming at step [1-9]\d*/.test(b.text()));
  const moved = /its worker \S+ stopped; the job (is back in the queue|went to \S+)/;
  await until('the submitter to see the job move', () => log.some((l) => moved.test(l)), 10_000);
  // the submitter goes away mid-run; a second submission of the same study re-attaches to the
  // running job instead of adding one, and sees it to the end
  const log2: string[] = [];
  const ex2 = executor(log2);
  const again = ex2.run([trainJob('d64-L2-s1')], () => {});
  await until('the second submission', () => log2.some((l) => /re-attached/.test(l)), 10_000);
  const gone = done.then(
    () => null,
    (e: Error) => e,
  );
  await ex.close();
  assert.match(String((await gone)?.message), /closed while its jobs ran/);
  const resumedAt = Number(/resuming at step (\d+)/.exec(b.text())![1]);
  await until(
    'a checkpoint after the resume',
    () => newestCheckpoint(runDir) > resumedAt || losses(runDir).size >= 200,
  );
  const holder = readLock(runDir)?.holder;
  if (holder && losses(runDir).size < 200) process.kill(holder.pid, 'SIGKILL'); // the run dies, its worker lives

  const [out2] = (await again) as JobOutcome[];
  await ex2.close();
  assert.equal(out2?.ok, true, out2?.error);
  assert.equal(await ref.exit, 0, ref.text());
  const want = losses(path.join(tmp, 'ref'));
  const got = losses(runDir);
  assert.equal(want.size, 200);
  assert.equal(got.size, 200);
  for (const [step, loss] of want) assert.equal(got.get(step), loss, `loss at step ${step} differs`);
  const final = outcome(runDir);
  assert.ok(final.evals >= 4, 'evaluations at steps 0, 50, 100, 150 and the final one');
  assert.deepEqual(
    final,
    outcome(path.join(tmp, 'ref')),
    'the metrics log and result.json equal the reference',
  );
  assert.ok(
    log2.some((l) => /0 submitted, 1 re-attached/.test(l)),
    log2.join('\n'),
  );
  if (holder) {
    assert.ok(
      log2.some((l) => /attempt 1 failed \(exit SIGKILL/.test(l)),
      log2.join('\n'),
    );
    assert.equal((b.text().match(/resuming at step [1-9]/g) ?? []).length, 2, b.text());
  }
  assert.equal(fs.existsSync(path.join(runDir, LOCK_FILE)), false);
});

test('a job whose run another live process is training waits for it, then completes without a failure', async () => {
  const runDir = path.join(study, 'runs', 'd64-L1-s1');
  const other = start([
    'train',
    '--config',
    path.join(study, 'configs', 'd64-L1-s1.yaml'),
    '--run-dir',
    runDir,
  ]);
  await until('the other process to lock the run', () => readLock(runDir) !== null);
  const log: string[] = [];
  const ex = executor(log);
  liveWorker();
  const [out] = await ex.run([trainJob('d64-L1-s1')], () => {});
  await ex.close();
  assert.equal(await other.exit, 0, other.text());
  assert.equal(out?.ok, true, out?.error);
  assert.ok(
    log.some((l) => /waiting: run directory .* is in use by tlc train \(pid \d+/.test(l)),
    `the queue should show the job waiting on the other process:\n${log.join('\n')}`,
  );
  assert.ok(!log.some((l) => /failed/.test(l.replace('0 failed attempt(s)', ''))), log.join('\n'));
  assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')).spent.step, 120);
  assert.equal(losses(runDir).size, 120, 'one writer: the log holds each step once');
});

test('a job failing the same transient way every time is retried with back-off up to the limit, then stops the study', async () => {
  // a run path that is a file: the job's process fails on it with an unexpected error (exit 1), as
  // a crash would, on every attempt
  const run = 'd64-L3-s1';
  fs.writeFileSync(
    path.join(study, 'configs', `${run}.yaml`),
    config(10).replace('n_layers: 2', 'n_layers: 3'),
  );
  fs.mkdirSync(path.join(study, 'runs'), { recursive: true });
  fs.writeFileSync(path.join(study, 'runs', run), 'not a run directory\n');
  const w = liveWorker();
  const before = w.text().length;
  const log: string[] = [];
  const ex = executor(log, { attempts: 3, backoffMs: 2000 });
  const t0 = Date.now();
  await assert.rejects(
    runJobs(ex, [trainJob(run)], 'training', (m) => log.push(m)),
    (e: unknown) => {
      assert.ok(e instanceof TlcError, String(e));
      assert.match(
        e.message,
        /^1 training job\(s\) failed: d64-L3-s1: exit 1: .*\(after 3 attempts( on \S+)?\)$/s,
      );
      assert.match(e.hint ?? '', /re-run the same tlc study command/);
      return true;
    },
  );
  const seconds = (Date.now() - t0) / 1000;
  await ex.close();
  // three attempts without the back-off take about 3 s here
  assert.ok(seconds >= 6, `back-off of 2 s then 4 s between the attempts; it took ${seconds} s`);
  assert.equal(
    log.filter((l) => /d64-L3-s1: attempt [12] failed \(exit 1: .*\); retrying with back-off/s.test(l))
      .length,
    2,
    log.join('\n'),
  );
  const tries =
    w
      .text()
      .slice(before)
      .match(/\[worker\] train d64-L3-s1 \(study \S+\): attempt \d/g) ?? [];
  assert.deepEqual(
    tries.map((t) => t.slice(-1)),
    ['1', '2', '3'],
    'three attempts, no fourth',
  );
});

test('a worker stopped with SIGTERM puts its running job back without spending an attempt; the next worker resumes it', async () => {
  const run = 'd64-L2-s2';
  fs.writeFileSync(path.join(study, 'configs', `${run}.yaml`), config(200));
  const runDir = path.join(study, 'runs', run);
  const first = liveWorker();
  await until('the worker to take jobs', () => first.text().includes('taking jobs'));
  const others = procs.filter((p) => p !== first && p.child.exitCode === null && p.child.signalCode === null);
  assert.ok(!others.some((p) => p.text().includes('taking jobs')), 'one worker, the one to stop');
  const log: string[] = [];
  const ex = executor(log);
  const done = ex.run([trainJob(run)], () => {});
  await until('a first checkpoint', () => newestCheckpoint(runDir) > 0);
  first.child.kill('SIGTERM');
  assert.equal(await first.exit, 0, first.text());
  assert.ok(losses(runDir).size < 200, 'the stop came too late');
  const second = worker();
  const [out] = await done;
  await ex.close();
  assert.equal(out?.ok, true, out?.error);
  assert.match(second.text(), /resuming at step [1-9]/);
  assert.equal(losses(runDir).size, 200);
  assert.ok(
    log.some((l) => /its worker \S+ stopped; the job (is back in the queue|went to \S+)/.test(l)),
    log.join('\n'),
  );
  assert.ok(!log.some((l) => /attempt \d failed/.test(l)), log.join('\n'));
  const { Queue } = await import('bullmq');
  const q = new Queue('tlc-study', { connection: { url: redis.url } });
  const job = (await q.getJobs(['completed'])).find((j) => j.data.run === run);
  await q.close();
  assert.equal(job?.attemptsMade, 1, 'the stopped attempt was not counted');
});
