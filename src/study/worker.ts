// `tlc worker`: takes study jobs from the queue and runs each in a child `tlc study-job` process,
// so the worker's own event loop (which renews the job locks in Redis) never waits on CPU-bound
// training. Exit codes of the child decide what the queue sees: 0 done; 2 bad input (failed once,
// not retried); 3 the run directory is in use by another live process (still running: wait, then
// look again); anything else transient (BullMQ retries with back-off; training resumes).
import { type ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job as BullJob, Queue, Worker } from 'bullmq';
import { lockIsLive, readLock } from '../train/lock.ts';
import { childArgs, type ValidJob, validateJob } from './job-kinds.ts';
import { INPUT_PREFIX, QUEUE_NAME, REFUSED_PREFIX } from './queue-executor.ts';
import { connectionOf, probeRedis, type QueueUrl, scrub } from './redis-url.ts';

export interface WorkerOptions {
  url: QueueUrl;
  /** the shared folder jobs may write under (study folders must lie inside it) */
  root: string;
  concurrency: number;
  /** threads per job (default: the cores divided by the concurrency) */
  threads?: number;
  queueName?: string;
  /** BullMQ job lock: a worker silent this long loses its jobs to others (default 30 s) */
  lockMs?: number;
  /** a run in use by another process is looked at again this often */
  busyPollMs?: number;
  /** stop once the queue has had no work for this long (batch systems); default: never */
  idleExitS?: number;
  log?: (m: string) => void;
}

export interface RunningWorker {
  name: string;
  /** resolves when the worker has stopped (idle exit or stop()) */
  done: Promise<void>;
  /** stop taking jobs; running children are ended and their jobs go back to the queue */
  stop(): Promise<void>;
}

const tlcBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tlc.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ChildResult {
  code: number | null;
  signal: string | null;
  tail: string[];
}

/**
 * The environment of a child: the worker's, without any variable that holds the queue URL or its
 * password (children never talk to Redis; `--queue env:NAME` may name any variable).
 */
export function childEnv(q: QueueUrl, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const pw = q.password;
  // the URL, a URL with these credentials, or the bare password (a short one must not match PATH)
  const holds = (v: string) =>
    v.includes(q.url) ||
    (pw !== null && (v === pw || v.includes(`:${pw}@`) || v.includes(`:${encodeURIComponent(pw)}@`)));
  const out = { ...env };
  delete out['TLC_REDIS_URL'];
  for (const [k, v] of Object.entries(out)) if (v && holds(v)) delete out[k];
  return out;
}

class JobRunner {
  readonly children = new Set<ChildProcess>();
  stopping = false;
  constructor(
    private readonly o: WorkerOptions & { threads: number },
    private readonly log: (m: string) => void,
    private readonly queue: Queue,
  ) {}

  /**
   * After a bad-input failure: take the study's other queued jobs off the queue at once (as the
   * study does when it sees the failure), so no worker starts one that would fail the same way.
   */
  private async dropStudy(study: string): Promise<void> {
    const queued = await this.queue.getJobs(['waiting', 'prioritized', 'delayed']).catch(() => []);
    let n = 0;
    for (const j of queued) {
      if ((j?.data as { study?: unknown } | undefined)?.study !== study) continue;
      await j.remove().then(
        () => n++,
        () => {},
      );
    }
    if (n) this.log(`[worker] removed ${n} queued job(s) of the same study`);
  }

  private runChild(args: string[], label: string, onLine: (l: string) => void): Promise<ChildResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [tlcBin, ...args], {
        cwd: this.o.root,
        env: childEnv(this.o.url),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      this.children.add(child);
      const tail: string[] = [];
      let buf = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        const lines = (buf + chunk).split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          tail.push(l);
          if (tail.length > 12) tail.shift();
          this.log(`  [${label}] ${l}`);
          onLine(l);
        }
      });
      child.on('error', (e) => tail.push(e.message));
      child.on('close', (code, signal) => {
        this.children.delete(child);
        resolve({ code, signal, tail });
      });
    });
  }

  private async whileLocked(dir: string): Promise<void> {
    do await sleep(this.o.busyPollMs ?? 3000);
    while (!this.stopping && lockIsLive(readLock(dir) ?? { holder: null, mtimeMs: 0 }));
  }

  async process(job: BullJob, token?: string): Promise<{ seconds: number; worker: string }> {
    const { DelayedError, UnrecoverableError } = await import('bullmq');
    let v: ValidJob;
    try {
      v = validateJob(job.data, this.o.root);
    } catch (e) {
      this.log(`[worker] refused job ${job.id}: ${(e as Error).message}`);
      throw new UnrecoverableError(`${REFUSED_PREFIX}${(e as Error).message}`);
    }
    const label = `${v.payload.kind} ${v.payload.run}`;
    const args = childArgs(v, { root: this.o.root, threads: this.o.threads });
    const t0 = performance.now();
    let lastProgress = 0;
    const progress = (line: string, force = false) => {
      if (!force && performance.now() - lastProgress < 2000) return;
      lastProgress = performance.now();
      job.updateProgress({ line }).catch(() => {});
    };
    this.log(`[worker] ${label} (study ${v.study}): attempt ${job.attemptsMade + 1}`);
    for (;;) {
      const r = await this.runChild(args, label, (l) => progress(l));
      if (this.stopping) {
        // back to the queue without spending an attempt; the next worker resumes the run
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      const why =
        r.tail
          .filter((l) => l.trim())
          .slice(-6)
          .join('\n') || `exit ${r.code ?? r.signal}`;
      const seconds = (performance.now() - t0) / 1000;
      if (r.code === 0) {
        this.log(`[worker] ${label}: done in ${seconds.toFixed(1)} s`);
        return { seconds, worker: job.processedBy ?? '' };
      }
      if (r.code === 2) {
        this.log(`[worker] ${label}: failed for bad input (not retried)`);
        await this.dropStudy(String((job.data as { study: string }).study));
        throw new UnrecoverableError(`${INPUT_PREFIX}${why.replace(/^tlc: /, '')}`);
      }
      if (r.code === 3) {
        // another live process writes this run (e.g. a worker that lost its lock but still trains):
        // the job is still running there; wait until that process has gone, then look again
        progress(`waiting: ${why.split('\n')[0]?.replace(/^tlc: /, '')}`, true);
        await this.whileLocked(v.writes);
        continue;
      }
      this.log(`[worker] ${label}: failed (exit ${r.code ?? r.signal}); the queue retries it with back-off`);
      throw new Error(`exit ${r.code ?? r.signal}: ${why}`);
    }
  }
}

/** Start a worker on the queue; resolves once it is connected and taking jobs. */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const say = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const log = (m: string) => say(scrub(m, o.url));
  await probeRedis(o.url);
  const threads = o.threads ?? Math.max(1, Math.floor(os.availableParallelism() / o.concurrency));
  const name = `${os.hostname()}-${process.pid}`;
  const { Queue, Worker } = await import('bullmq');
  const queueName = o.queueName ?? QUEUE_NAME;
  const queue = new Queue(queueName, { connection: connectionOf(o.url) });
  queue.on('error', () => {}); // the worker's own connection reports Redis trouble
  const runner = new JobRunner({ ...o, threads }, log, queue);
  const lockMs = o.lockMs ?? 30_000;
  const worker: Worker = new Worker(queueName, (job, token) => runner.process(job, token), {
    connection: connectionOf(o.url),
    name,
    concurrency: o.concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 5,
    drainDelay: 2,
  });
  let lastError = 0;
  worker.on('error', (e) => {
    if (Date.now() - lastError < 10_000) return;
    lastError = Date.now();
    log(`[worker] Redis at ${o.url.shown}: ${e.message} (retrying)`);
  });
  await worker.waitUntilReady();
  log(
    `[worker] ${name}: taking jobs from ${o.url.shown} (queue ${queueName}), ${o.concurrency} at a time, ${threads} thread(s) each, writing under ${o.root}`,
  );
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      runner.stopping = true;
      for (const c of runner.children) c.kill('SIGTERM');
      await worker.close();
      await queue.close();
      log(`[worker] ${name}: stopped`);
    })();
    return stopped;
  };
  const done =
    o.idleExitS === undefined ? new Promise<void>((r) => worker.on('closed', () => r())) : idleWatch();
  /** stop once nothing is queued, delayed or running anywhere for idleExitS */
  async function idleWatch(): Promise<void> {
    let idleSince = Date.now();
    while (!stopped) {
      await sleep(1000);
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized').catch(() => null);
      const busy = !c || Object.values(c).some((n) => n > 0) || runner.children.size > 0;
      if (busy) idleSince = Date.now();
      else if (Date.now() - idleSince >= o.idleExitS! * 1000) {
        log(`[worker] ${name}: no work for ${o.idleExitS} s`);
        await stop();
      }
    }
    await stopped;
  }
  return { name, done, stop };
}
