// The study on a real Redis queue (Debian's redis-server on a loopback port, with a password):
// two `tlc worker` processes give the same losses, compression results and verdicts as the local
// executor, the queue serving training before compression and the largest run first; a bad input
// fails one job once and stops the study; crafted payloads are refused; an unreachable Redis is one
// clear error; the password appears in no output, no file and no job process's environment.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { createBackend } from '../../src/engine/select.ts';
import { LocalExecutor } from '../../src/study/executor.ts';
import { PRESETS } from '../../src/study/presets.ts';
import { QueueExecutor } from '../../src/study/queue-executor.ts';
import { runStudy } from '../../src/study/run.ts';
import type { StudyResults } from '../../src/study/types.ts';
import { readLock } from '../../src/train/lock.ts';
import { freePort, startRedis, type TestRedis } from './redis-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tlc = path.join(ROOT, 'bin', 'tlc.mjs');
const PASSWORD = 'Pw-9c1f7e-s3cret';
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-queue-')));
const outputs: string[] = []; // everything every process printed, for the password check
let redis: TestRedis;
const env = () => ({ ...process.env, TLC_TEST_QUEUE: redis.url });

interface Proc {
  child: ChildProcess;
  text: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [tlc, ...args], {
    cwd: ROOT,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const add = (d: Buffer) => {
    text += d.toString();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const exit = new Promise<number | null>((r) =>
    child.on('close', (c) => {
      outputs.push(text);
      r(c);
    }),
  );
  return { child, text: () => text, exit };
}

/** Run tlc to the end without blocking this process (the workers' output keeps flowing meanwhile). */
async function tlcRun(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [tlc, ...args], {
    cwd: ROOT,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const status = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  outputs.push(stdout, stderr);
  return { status, stdout, stderr };
}

const workers: Proc[] = [];
/** A running worker (the first test's first one, or a new one when tests run alone). */
const liveWorker = () => workers.find((w) => w.child.exitCode === null) ?? startWorker(redis.url);
function startWorker(queueArg: string): Proc {
  const w = start(['worker', '--queue', queueArg, '--root', tmp, '--concurrency', '1', '--threads', '1']);
  workers.push(w);
  return w;
}

before(async () => {
  redis = await startRedis({ password: PASSWORD });
});
after(async () => {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exit));
  await redis.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Watch the run directories of a study: the environment and command line of every process that
 * holds a run's lock (the workers' job processes), read from /proc while it trains.
 */
function watchJobProcesses(runsDir: string): () => string[] {
  const seen = new Map<number, string>();
  const look = () => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(runsDir);
    } catch {
      return;
    }
    for (const n of names) {
      try {
        const pid = readLock(path.join(runsDir, n))?.holder?.pid;
        if (pid === undefined || seen.has(pid)) continue;
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
        seen.set(pid, `${env}\n${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')}`);
      } catch {
        // the run finished between the look and the read
      }
    }
  };
  const timer = setInterval(look, 20);
  return () => {
    clearInterval(timer);
    return [...seen.values()];
  };
}

/** Every file under dir, recursively. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

const study = ['study', '--preset', 'quick', '--data', 'prose-en-small', '--budget', '600'];
const exact = ['--steps', '30', '--threads', '1', '--deterministic'];

/** What must not depend on where a job ran: everything but timings and paths. */
function comparable(r: StudyResults) {
  const drop = new Set(['wall_s', 'run_dir', 'elapsed_s', 'created', 'tokens_per_s', 'mfu', 'latency']);
  const clean = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (drop.has(k) ? undefined : v)));
  const last = r.frontier.times.length - 1;
  return {
    runs: clean(r.runs.map(({ curve, ...run }) => ({ ...run, final: curve[curve.length - 1]?.loss }))),
    compression: clean(r.compression),
    // claim 1's text names crossing times; claim 3 at equal latency pairs by measured latencies
    verdicts: r.verdicts.filter((v) => v.claim !== '3-latency').map((v) => (v.claim === '1' ? v.verdict : v)),
    optimal: r.frontier.compute_optimal,
    atBudget: r.frontier.per_size.map((s) => [s.size_id, s.ppl[last]]),
  };
}

test('two workers on the queue give the local executor’s losses, compression results and verdicts', async () => {
  const a = startWorker(redis.url); // the URL (password included) on the command line
  const b = startWorker('env:TLC_TEST_QUEUE'); // the URL from the environment
  const log: string[] = [];
  const common = {
    preset: PRESETS.quick,
    data: 'prose-en-small',
    budgetS: 600,
    backend: 'native',
    threads: 1,
    finetune: null,
    be: createBackend('native', 1),
    steps: 30,
    deterministic: true,
    precision: 'fp32' as const,
    precisionWhy: 'test',
    fmaFlops: 1e11,
  };
  const queue = new QueueExecutor({
    url: redis.url,
    studyDir: path.join(tmp, 'queue'),
    pollMs: 250,
    log: (m) => log.push(m),
  });
  const jobProcesses = watchJobProcesses(path.join(tmp, 'queue', 'runs'));
  // both at once (the results cannot depend on timing); the folder names have the same length:
  // a compressed container's header holds its run's path
  const [local, queued] = await Promise.all([
    runStudy({
      ...common,
      outDir: path.join(tmp, 'local'),
      executor: new LocalExecutor('quiet'),
      log: () => {},
    }),
    runStudy({ ...common, outDir: path.join(tmp, 'queue'), executor: queue, log: (m) => log.push(m) }),
  ]);
  await queue.close();
  outputs.push(log.join('\n'));
  const envs = jobProcesses();
  assert.ok(envs.length >= 1, 'the environment of at least one job process was read');
  for (const e of envs) assert.ok(!e.includes(PASSWORD), 'a job process received the Redis password');
  assert.deepEqual(comparable(queued), comparable(local));
  // the study's own process times every point (the workers that compressed them do not)
  for (const r of [local, queued])
    assert.ok(
      r.compression.every((p) => (p.latency?.latency_ms_b1 ?? 0) > 0 && p.latency!.threads === 1),
      'every point has its latency on the study’s thread',
    );
  assert.deepEqual(
    queued.verdicts.map((v) => v.claim),
    ['1', '1a', '2', '3-bytes', '3-nonzero', '3-latency'],
  );
  assert.equal(queued.runs.length, 3);
  assert.ok(queued.runs.every((x) => x.steps === 30));
  assert.ok(log.includes('[queue] 3/3 done'), log.join('\n'));
  assert.ok(
    log.some((l) => /^\[queue\] d\d+-L\d-s1 on \S+: step \d+ {2}loss/.test(l)),
    'per-run progress from the workers',
  );
  const ran = (w: Proc) => (w.text().match(/\[worker\] train \S+ \(study/g) ?? []).length;
  const compressed = (w: Proc) => (w.text().match(/\[worker\] compress \S+ \(study/g) ?? []).length;
  assert.equal(ran(a) + ran(b), 3);
  assert.equal(compressed(a) + compressed(b), 3, 'one compression job per run');
  assert.ok(ran(a) > 0 && ran(b) > 0, 'both workers trained');
  // the order the queue served them in: the smallest run started only once a larger one was done
  // (two workers, three runs), and compression only after all training
  const q = new Queue('tlc-study', { connection: { url: redis.url } });
  const jobs = (await q.getJobs(['completed'])).filter((j) => j.data.study === path.join(tmp, 'queue'));
  await q.close();
  const train = jobs.filter((j) => j.name === 'train');
  const startOf = (run: string) => train.find((j) => j.data.run === run)!.processedOn!;
  assert.deepEqual(train.map((j) => j.data.run).sort(), ['d128-L2-s1', 'd64-L1-s1', 'd64-L2-s1']);
  const smallest = startOf('d64-L1-s1');
  assert.ok(
    smallest >= Math.max(startOf('d128-L2-s1'), startOf('d64-L2-s1')) &&
      train.some((j) => j.data.run !== 'd64-L1-s1' && j.finishedOn! <= smallest),
    'largest first: the smallest run waited for a larger one',
  );
  const trained = Math.max(...train.map((j) => j.finishedOn!));
  assert.ok(
    jobs.filter((j) => j.name === 'compress').every((j) => j.processedOn! >= trained),
    'training before compression',
  );
  b.child.kill('SIGTERM');
  assert.equal(await b.exit, 0);
});

test('a bad input fails one job once, and the study stops with its message', async () => {
  const a = liveWorker();
  const before = a.text().length;
  // text that passes the study's up-front data check but is too short for one evaluation window:
  // the first training job fails on it
  const tiny = path.join(tmp, 'tiny-data');
  fs.mkdirSync(tiny, { recursive: true });
  for (let i = 0; i < 6; i++)
    fs.writeFileSync(path.join(tiny, `${i}.txt`), `a text number ${i}, far too short.`);
  const r = await tlcRun([
    ...study,
    ...exact,
    '--data',
    tiny,
    '--out',
    path.join(tmp, 'bad'),
    '--queue',
    redis.url,
  ]);
  assert.equal(r.status, 2, r.stderr);
  const msg = r.stderr.match(/training job \S+ failed: bad input: .*/g) ?? [];
  assert.equal(msg.length, 1, r.stderr);
  assert.match(r.stderr, /no full window/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const log = a.text().slice(before);
  assert.equal((log.match(/\[worker\] train \S+ \(study/g) ?? []).length, 1, log);
  assert.doesNotMatch(log, /attempt 2/);
  const q = new Queue('tlc-study', { connection: { url: redis.url } });
  const counts = await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  await q.close();
  assert.deepEqual(Object.values(counts), [0, 0, 0, 0], 'no job of the stopped study is left queued');
});

test('crafted payloads are refused by the worker without running anything', async () => {
  const a = liveWorker();
  const marker = path.join(tmp, 'pwned');
  const q = new Queue('tlc-study', { connection: { url: redis.url } });
  const crafted = [
    { kind: 'shell', cmd: `touch ${marker}` },
    { v: 1, kind: 'train', study: path.join(tmp, 'queue'), run: 'd64-L2-s1', args: ['--run-dir', marker] },
    { v: 1, kind: 'train', study: os.tmpdir(), run: 'd64-L2-s1' },
    {
      v: 1,
      kind: 'finetune',
      study: path.join(tmp, 'queue'),
      run: 'd64-L2-s1',
      data: `--out=${marker}`,
      budget_s: 1,
    },
  ];
  const jobs = await Promise.all(
    crafted.map((d, i) => q.add('x', d, { jobId: `crafted-${i}`, attempts: 3 })),
  );
  for (const j of jobs) {
    let state = '';
    for (let i = 0; i < 600 && state !== 'failed'; i++) {
      state = await j.getState();
      if (state !== 'failed') await new Promise((r) => setTimeout(r, 50));
    }
    const got = await q.getJob(j.id!);
    assert.equal(state, 'failed');
    assert.match(got!.failedReason, /^refused: /);
    assert.equal(got!.attemptsMade, 1, 'refused, not retried');
  }
  await q.close();
  assert.equal(fs.existsSync(marker), false);
  assert.match(a.text(), /refused job crafted-2: .*outside this worker's root/);
  assert.equal(a.child.exitCode, null, 'the worker keeps running');
});

test('an unreachable Redis, or a wrong password, is one clear error naming the URL without the password', async () => {
  const port = await freePort();
  const r = await tlcRun([
    ...study,
    '--out',
    path.join(tmp, 'x'),
    '--queue',
    `redis://:${PASSWORD}@127.0.0.1:${port}`,
  ]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`^tlc: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const w = await tlcRun(['worker', '--queue', `redis://:wrong-${PASSWORD}@127.0.0.1:${redis.port}`]);
  assert.equal(w.status, 1);
  assert.match(
    w.stderr,
    new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}: WRONGPASS`),
  );
});

test('the password appears in no output of any study or worker', async () => {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exit));
  assert.ok(outputs.length >= 8 && outputs.join('').length > 1000, 'outputs were collected');
  for (const o of outputs) assert.ok(!o.includes(PASSWORD), `the password leaked:\n${o}`);
  assert.ok(outputs.some((o) => o.includes('redis://:***@127.0.0.1')));
  // nor in any file the studies and workers wrote (configs, run directories, compression, reports)
  const files = filesUnder(tmp);
  assert.ok(
    files.some((f) => f.includes(`${path.sep}queue${path.sep}runs${path.sep}`)),
    'the study files are there',
  );
  for (const f of files) assert.ok(!fs.readFileSync(f).includes(PASSWORD), `the password is in ${f}`);
});
