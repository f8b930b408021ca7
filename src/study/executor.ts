// How a sweep's jobs run: the Executor interface, and the local executor that runs each job as a
// child `tlc` process, one at a time (each training run already uses every core). A distributed
// executor can implement the same interface without changing the study.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from './job-kinds.ts';

export interface Job {
  id: string;
  /** arguments of the `tlc` command line */
  args: string[];
  /** expected seconds, for the ETA */
  estimateS: number;
  /** the job as data (kind and run), for executors that must not ship command lines (the queue) */
  spec?: JobSpec;
}

export interface JobOutcome {
  id: string;
  ok: boolean;
  seconds: number;
  /** last lines of stderr when it failed */
  error?: string;
  /** it failed for bad input (exit code 2): retrying or running the other jobs cannot help */
  inputError?: boolean;
}

export interface Executor {
  /** jobs run on other machines: the study then runs compression as jobs too */
  readonly remote?: boolean;
  /** Run the jobs (in order where it matters); resolve when all have ended. */
  run(
    jobs: Job[],
    onEvent: (e: { job: Job; phase: 'start' | 'end'; outcome?: JobOutcome }) => void,
  ): Promise<JobOutcome[]>;
}

const tlcBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tlc.mjs');

export class LocalExecutor implements Executor {
  readonly remote = false;
  constructor(
    /** prefix child stderr lines with the job id, or drop them (quiet) */
    private readonly childOutput: 'prefix' | 'quiet' = 'prefix',
  ) {}

  async run(jobs: Job[], onEvent: Parameters<Executor['run']>[1]): Promise<JobOutcome[]> {
    const out: JobOutcome[] = [];
    for (const job of jobs) {
      onEvent({ job, phase: 'start' });
      const outcome = await this.runOne(job);
      out.push(outcome);
      onEvent({ job, phase: 'end', outcome });
      if (outcome.inputError) break; // the same input would fail every remaining job
    }
    return out;
  }

  private runOne(job: Job): Promise<JobOutcome> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [tlcBin, ...job.args], { stdio: ['ignore', 'ignore', 'pipe'] });
      const tail: string[] = [];
      let buf = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          tail.push(l);
          if (tail.length > 20) tail.shift();
          if (this.childOutput === 'prefix') process.stderr.write(`  [${job.id}] ${l}\n`);
        }
      });
      child.on('error', (e) => resolve({ id: job.id, ok: false, seconds: 0, error: e.message }));
      child.on('exit', (code, signal) => {
        const seconds = (performance.now() - t0) / 1000;
        if (code === 0) resolve({ id: job.id, ok: true, seconds });
        else
          resolve({
            id: job.id,
            ok: false,
            seconds,
            // bad input: the child's own message (it names what to do); otherwise how it ended, and its last lines
            ...(code === 2
              ? {
                  inputError: true,
                  error: tail
                    .slice(-8)
                    .join('\n')
                    .replace(/^tlc: /, ''),
                }
              : { error: `exit ${code ?? signal}: ${tail.slice(-8).join('\n')}` }),
          });
      });
    });
  }
}
