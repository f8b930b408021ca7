// The study's jobs on a BullMQ queue in Redis, run by `tlc worker` on any number of machines that
// share the study folder. Jobs are data (kind + run, see job-kinds.ts) with fixed ids, so running
// the same study again re-attaches to jobs still queued or running; the run directories on the
// shared folder are the results, Redis holds only job descriptions and states.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Job as BullJob, Queue } from 'bullmq';
import { SetupError, TlcError } from '../engine/errors.ts';
import type { Executor, Job, JobOutcome } from './executor.ts';
import { type JobPayload, jobIdOf, priorities } from './job-kinds.ts';
import { connectionOf, parseQueueUrl, probeRedis, type QueueUrl, scrub } from './redis-url.ts';

export const QUEUE_NAME = 'tlc-study';
/** failedReason prefixes the worker writes: not worth a retry, and the study stops at once */
export const INPUT_PREFIX = 'bad input: ';
export const REFUSED_PREFIX = 'refused: ';

export interface QueueExecutorOptions {
  /** redis://… (password allowed; never shown) or env:NAME */
  url: string;
  studyDir: string;
  queueName?: string;
  /** tries per job, the first included (transient failures: a crash, a killed process) */
  attempts?: number;
  /** first retry after this long, doubling each time */
  backoffMs?: number;
  pollMs?: number;
  log?: (m: string) => void;
}

interface Tracked {
  job: Job;
  id: string;
  started: boolean;
  progress: string;
  attempts: number;
  state: string;
  /** polls in a row that found the job gone */
  missing: number;
  /** the worker last seen running it */
  worker: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class QueueExecutor implements Executor {
  readonly remote = true;
  readonly url: QueueUrl;
  private queue: Queue | null = null;
  private readonly log: (m: string) => void;
  private readonly study: string;
  private lastRedisError = 0;
  private closed = false;

  constructor(private readonly o: QueueExecutorOptions) {
    this.url = parseQueueUrl(o.url);
    this.study = path.resolve(o.studyDir);
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    this.log = (m) => log(scrub(m, this.url));
  }

  /** Connect (a SetupError naming the URL when Redis cannot be reached). */
  async open(): Promise<Queue> {
    if (this.queue) return this.queue;
    await probeRedis(this.url);
    const { Queue } = await import('bullmq');
    const q = new Queue(this.o.queueName ?? QUEUE_NAME, { connection: connectionOf(this.url) });
    q.on('error', (e) => this.redisError(e));
    this.queue = q;
    return q;
  }

  /** Disconnect; a run() still waiting returns (its jobs stay queued: a later submission re-attaches). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue?.close();
    this.queue = null;
  }

  private redisError(e: unknown): void {
    if (Date.now() - this.lastRedisError < 10_000) return;
    this.lastRedisError = Date.now();
    this.log(`[queue] Redis at ${this.url.shown}: ${(e as Error).message ?? e} (retrying)`);
  }

  private payload(job: Job): JobPayload {
    if (!job.spec) throw new TlcError(`job ${job.id} cannot run on a queue (it has no job description)`);
    return { v: 1, study: this.study, ...job.spec } as JobPayload;
  }

  /** Add each job, or re-attach to the same job still queued or running from an earlier submission. */
  private async submit(q: Queue, jobs: Job[]): Promise<Tracked[]> {
    const specs = jobs.map((j) => this.payload(j));
    const prio = priorities(jobs.map((j) => j.spec!));
    let attached = 0;
    const tracked: Tracked[] = [];
    const fresh: Parameters<Queue['addBulk']>[0] = [];
    for (const [i, job] of jobs.entries()) {
      const id = jobIdOf(this.study, job.spec!);
      const old = await q.getJob(id);
      const state = old ? await old.getState() : 'unknown';
      const live = old && state !== 'completed' && state !== 'failed' && state !== 'unknown';
      if (live) attached++;
      else {
        // a finished job whose results the study folder lacks (deleted, or it failed): again
        if (old) await old.remove();
        fresh.push({
          name: job.spec!.kind,
          data: specs[i],
          opts: {
            jobId: id,
            priority: prio[i],
            attempts: this.o.attempts ?? 3,
            backoff: { type: 'exponential', delay: this.o.backoffMs ?? 10_000 },
            removeOnComplete: { age: 7 * 86_400 },
            removeOnFail: { age: 30 * 86_400 },
          },
        });
      }
      tracked.push({ job, id, started: false, progress: '', attempts: 0, state: '', missing: 0, worker: '' });
    }
    // in one call, so a waiting worker sees every priority before it takes the first job
    await q.addBulk(fresh);
    this.log(
      `[queue] ${jobs.length} job(s) on ${this.url.shown} (queue ${q.name}): ${jobs.length - attached} submitted, ${attached} re-attached (queued or running from an earlier submission)`,
    );
    return tracked;
  }

  async run(jobs: Job[], onEvent: Parameters<Executor['run']>[1]): Promise<JobOutcome[]> {
    if (jobs.length === 0) return [];
    const q = await this.open();
    const pending = await this.submit(q, jobs);
    const outcomes: JobOutcome[] = [];
    let lastSummary = '';
    let lastSummaryAt = 0;
    while (pending.length) {
      if (this.closed)
        throw new TlcError(
          'the queue executor was closed while its jobs ran',
          'run the same study again to re-attach',
        );
      let states: Array<{ t: Tracked; bj: BullJob | undefined; state: string }>;
      try {
        states = await Promise.all(
          pending.map(async (t) => {
            const bj = await q.getJob(t.id);
            return { t, bj, state: bj ? await bj.getState() : 'missing' };
          }),
        );
      } catch (e) {
        this.redisError(e);
        await sleep(this.o.pollMs ?? 1000);
        continue;
      }
      // a failure first: a worker that sees bad input removes the study's queued jobs right after
      states.sort((x, y) => Number(y.state === 'failed') - Number(x.state === 'failed'));
      for (const { t, bj, state } of states) {
        const out = this.observe(t, bj, state, onEvent);
        if (!out) continue;
        outcomes.push(out);
        pending.splice(pending.indexOf(t), 1);
        if (!out.ok) {
          await this.stop(q, pending);
          return outcomes;
        }
      }
      const running = states.filter((s) => s.state === 'active').length;
      const retried = pending.reduce((a, t) => a + t.attempts, 0);
      const summary = `[queue] ${outcomes.length}/${jobs.length} done, ${running} running, ${pending.length - running} waiting, ${retried} failed attempt(s) retried`;
      if (summary !== lastSummary || Date.now() - lastSummaryAt > 30_000) {
        this.log(summary);
        lastSummary = summary;
        lastSummaryAt = Date.now();
      }
      if (pending.length) await sleep(this.o.pollMs ?? 1000);
    }
    this.log(`[queue] ${jobs.length}/${jobs.length} done`);
    return outcomes;
  }

  /** Report what changed for one job; its outcome once it has finished. */
  private observe(
    t: Tracked,
    bj: BullJob | undefined,
    state: string,
    onEvent: Parameters<Executor['run']>[1],
  ): JobOutcome | null {
    const where = bj?.processedBy ? ` on ${bj.processedBy}` : '';
    if (state === 'active' && !t.started) {
      t.started = true;
      onEvent({ job: t.job, phase: 'start' });
    }
    this.report(t, bj, state, where);
    t.missing = state === 'missing' ? t.missing + 1 : 0;
    if (state !== 'completed' && state !== 'failed' && t.missing < 5) return null;
    const seconds = bj?.finishedOn && bj.processedOn ? (bj.finishedOn - bj.processedOn) / 1000 : 0;
    let out: JobOutcome;
    if (state === 'completed') out = { id: t.job.id, ok: true, seconds };
    else if (state === 'missing')
      out = { id: t.job.id, ok: false, seconds, error: 'the job vanished from the queue' };
    else {
      const reason = scrub(bj?.failedReason ?? 'unknown', this.url);
      const input = reason.startsWith(INPUT_PREFIX) || reason.startsWith(REFUSED_PREFIX);
      out = {
        id: t.job.id,
        ok: false,
        seconds,
        error: `${reason}${input ? '' : ` (after ${bj?.attemptsMade ?? '?'} attempts${where})`}`,
        ...(input ? { inputError: true } : {}),
      };
    }
    if (!t.started) onEvent({ job: t.job, phase: 'start' });
    onEvent({ job: t.job, phase: 'end', outcome: out });
    return out;
  }

  /** Log a job's new progress line, a retry, or a move to another worker. */
  private report(t: Tracked, bj: BullJob | undefined, state: string, where: string): void {
    const line = (bj?.progress as { line?: string } | undefined)?.line;
    if (typeof line === 'string' && line !== t.progress) {
      t.progress = line;
      this.log(`[queue] ${t.job.id}${where}: ${line}`);
    }
    const wasActive = t.state === 'active';
    const lastWorker = t.worker;
    t.state = state;
    if (state === 'active' && bj?.processedBy) t.worker = bj.processedBy;
    const retried =
      bj !== undefined && bj.attemptsMade > t.attempts && state !== 'completed' && state !== 'failed';
    if (retried) {
      t.attempts = bj.attemptsMade;
      this.log(
        `[queue] ${t.job.id}: attempt ${bj.attemptsMade} failed (${bj.failedReason}); retrying with back-off`,
      );
    }
    const moved = lastWorker !== '' && t.worker !== lastWorker;
    const requeued = wasActive && !retried && ['waiting', 'prioritized', 'delayed'].includes(state);
    if (requeued)
      this.log(
        `[queue] ${t.job.id}: its worker ${lastWorker} stopped; the job is back in the queue (a run resumes from its last checkpoint)`,
      );
    else if (moved && !wasActive) this.log(`[queue] ${t.job.id}: now on ${t.worker}`);
    else if (moved)
      this.log(
        `[queue] ${t.job.id}: its worker ${lastWorker} stopped; the job went to ${t.worker} (a run resumes from its last checkpoint)`,
      );
  }

  /** After a failure: take this study's jobs that have not started off the queue; running ones finish. */
  private async stop(q: Queue, pending: Tracked[]): Promise<void> {
    let removed = 0;
    let running = 0;
    for (const t of pending) {
      const bj = await q.getJob(t.id);
      if (!bj) continue;
      if ((await bj.getState()) === 'active') running++;
      else {
        await bj.remove().catch(() => running++);
        removed++;
      }
    }
    this.log(
      `[queue] stopping the study: ${removed} queued job(s) removed${running ? `, ${running} still running on workers (their results stay in the study folder)` : ''}`,
    );
  }
}

/** A QueueExecutor for `tlc study --queue`, connected (or a SetupError naming the URL). */
export async function openQueueExecutor(o: QueueExecutorOptions): Promise<QueueExecutor> {
  const ex = new QueueExecutor(o);
  try {
    await ex.open();
  } catch (e) {
    await ex.close().catch(() => {});
    if (e instanceof TlcError) throw e;
    throw new SetupError(
      `cannot use the queue at ${ex.url.shown}: ${scrub((e as Error).message, ex.url)} (${os.hostname()})`,
    );
  }
  return ex;
}
