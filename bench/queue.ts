// Queue benchmark (a program, not a test), on a private redis-server: how many no-op jobs per second
// BullMQ sustains here (enqueue, and processing at several concurrencies, the job handler doing
// nothing), what a `tlc` child process costs per job (the worker's per-job overhead), and with
// --study the wall time of a quick study through 1 worker (2 threads) and through 2 workers
// (1 thread each). Prints JSON.
//   npm run bench -- queue [--jobs 2000] [--study] [--budget 30]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { machineInfo } from '../src/engine/machine.ts';
import { startRedis } from '../test/study/redis-server.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const JOBS = Number(arg('jobs', '2000'));
const root = path.resolve(import.meta.dirname, '..');
const tlc = path.join(root, 'bin', 'tlc.mjs');
const sec = (t0: number) => (performance.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Jobs per second a no-op handler gets through at this concurrency (jobs added first, in bulk). */
async function drain(url: string, name: string, concurrency: number): Promise<Record<string, number>> {
  const connection = { url, maxRetriesPerRequest: null };
  const q = new Queue(name, { connection });
  const t0 = performance.now();
  const batch = Array.from({ length: JOBS }, (_, i) => ({ name: 'noop', data: { i } }));
  for (let i = 0; i < JOBS; i += 500) await q.addBulk(batch.slice(i, i + 500));
  const addS = sec(t0);
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const w = new Worker(name, async () => {}, { connection, concurrency, removeOnComplete: { count: 0 } });
    w.on('completed', () => {
      if (++done === JOBS) w.close().then(() => resolve());
    });
  });
  const t1 = performance.now();
  await finished;
  const runS = sec(t1);
  await q.obliterate({ force: true });
  await q.close();
  return {
    concurrency,
    enqueue_jobs_per_s: Math.round(JOBS / addS),
    process_jobs_per_s: Math.round(JOBS / runS),
  };
}

/** Seconds to start a `tlc` process and have it exit (what each job costs the worker before its work). */
function childStart(): number {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [tlc, '--version'], { stdio: 'ignore' });
    times.push(sec(t0));
  }
  return median(times);
}

/** Wall time of `tlc study --preset quick --queue` with these workers (each: [concurrency, threads]). */
async function studyWall(url: string, workers: Array<[number, number]>, budget: string): Promise<unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-bench-queue-'));
  const procs = workers.map(([c, t]) =>
    spawn(
      process.execPath,
      [
        tlc,
        'worker',
        '--queue',
        url,
        '--root',
        dir,
        '--concurrency',
        `${c}`,
        '--threads',
        `${t}`,
        '--idle-exit',
        '600',
      ],
      { stdio: 'ignore' },
    ),
  );
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      tlc,
      'study',
      '--preset',
      'quick',
      '--data',
      'prose-en-small',
      '--budget',
      budget,
      '--out',
      path.join(dir, 's'),
    ].concat(['--queue', url, '--json']),
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const wall = sec(t0);
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((res) => p.once('exit', res))));
  const results = JSON.parse(fs.readFileSync(path.join(dir, 's', 'report', 'results.json'), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`study failed: ${r.stderr.slice(-2000)}`);
  return {
    workers: workers.map(([c, t]) => ({ concurrency: c, threads: t })),
    wall_s: +wall.toFixed(1),
    steps: Object.fromEntries(results.runs.map((x: { id: string; steps: number }) => [x.id, x.steps])),
  };
}

const redis = await startRedis();
try {
  const out: Record<string, unknown> = {
    bench: 'queue',
    command: `npm run bench -- queue ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...machineInfo(), load_avg_1m: +os.loadavg()[0]!.toFixed(2) },
    versions: {
      redis: spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim(),
      bullmq: JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'bullmq', 'package.json'), 'utf8'))
        .version,
    },
    jobs: JOBS,
    noop: [] as unknown[],
  };
  for (const c of [1, 8, 32]) (out['noop'] as unknown[]).push(await drain(redis.url, `bench-${c}`, c));
  out['tlc_child_start_s'] = +childStart().toFixed(3);
  if (process.argv.includes('--study')) {
    const budget = arg('budget', '30');
    out['study'] = {
      preset: 'quick',
      budget_s: Number(budget),
      one_worker: await studyWall(redis.url, [[1, 2]], budget),
      two_workers: await studyWall(
        redis.url,
        [
          [1, 1],
          [1, 1],
        ],
        budget,
      ),
    };
  }
  out['load_avg_1m_end'] = +os.loadavg()[0]!.toFixed(2);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  await redis.stop();
}
