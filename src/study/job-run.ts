// Runs one validated queue job inside the child process a worker started (`tlc study-job …`):
// training starts or resumes (whichever the run directory calls for), a compression batch runs one
// run's grid, a fine-tuning run starts or resumes. The child exits when its worker dies, so a killed
// worker leaves no orphan training on (the next worker resumes from the last checkpoint).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import YAML from 'yaml';
import { InputError } from '../engine/errors.ts';
import { createBackend } from '../engine/select.ts';
import { configsDir, parseConfig, type TrainConfig, trainConfigSchema } from '../train/config.ts';
import { acquireRunLock } from '../train/lock.ts';
import { RunExistsError, resumeRun, type SavedRunConfig, startRun } from '../train/run.ts';
import { readJson, runStatus } from '../train/rundir.ts';
import { compressGrid } from './compress-grid.ts';
import { RUN_ID_RE, type ValidJob } from './job-kinds.ts';
import { PRESETS, type StudyPreset } from './presets.ts';

/**
 * Kill this process when its parent (the worker) is gone. A thread watches, since the main thread
 * spends minutes in synchronous training and would never see a timer fire.
 */
export function exitWhenOrphaned(everyMs = 500): void {
  const code = `const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL'); }, workerData.every);`;
  new Worker(code, { eval: true, workerData: { parent: process.ppid, every: everyMs } }).unref();
}

/** Start a run, or resume it where a run directory already holds one (a killed worker's job). */
function startOrResume(runDir: string, start: () => void, log: (m: string) => void): void {
  const status = runStatus(runDir);
  if (status === 'done') {
    log(`run ${runDir} already finished`);
    return;
  }
  if (status === 'interrupted') {
    resumeRun(runDir);
    return;
  }
  try {
    start();
  } catch (e) {
    // another process started this run between our look and our lock: continue it instead
    if (!(e instanceof RunExistsError)) throw e;
    resumeRun(runDir);
  }
}

/** The fine-tuning config `tlc finetune --data D --set budget.seconds=B` would use. */
function finetuneConfig(data: string, budgetS: number, threads?: number): TrainConfig {
  const raw = YAML.parse(fs.readFileSync(path.join(configsDir(), 'finetune.yaml'), 'utf8')) as {
    data?: Record<string, unknown>;
    budget?: Record<string, unknown>;
  };
  raw.data = { ...raw.data, name: data };
  raw.budget = { ...raw.budget, seconds: budgetS };
  const cfg = parseConfig(trainConfigSchema, raw, 'the finetune preset');
  return threads ? { ...cfg, threads } : cfg;
}

function compressJob(
  v: ValidJob,
  preset: StudyPreset,
  threads: number | undefined,
  log: (m: string) => void,
): void {
  const p = v.payload;
  const trained = v.reads!;
  if (runStatus(trained) !== 'done')
    throw new InputError(`run ${trained} has not finished training`, 'compression jobs follow training jobs');
  const m = RUN_ID_RE.exec(p.run)!;
  const saved = readJson<SavedRunConfig>(path.join(trained, 'config.json'), 'run config');
  const be = createBackend(saved.config.backend, threads);
  fs.mkdirSync(v.writes, { recursive: true });
  const lock = acquireRunLock(v.writes, { what: 'tlc study-job compress' });
  try {
    const ft = p.kind === 'compress' && p.arm === 'finetune';
    const run = {
      id: `${ft ? 'ft-' : ''}${p.run}`,
      sizeId: `d${m[1]}-L${m[2]}`,
      seed: Number(m[3]),
      runDir: trained,
    };
    compressGrid(run, preset, v.study, be, log, new Map());
  } finally {
    lock.release();
  }
}

/** Run a validated job in this process. */
export function runJob(v: ValidJob, o: { threads?: number; log?: (m: string) => void } = {}): void {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const p = v.payload;
  if (p.kind === 'train') {
    // the worker's thread count applies where the study's config sets none
    const cfg =
      o.threads && v.config!.threads === undefined ? { ...v.config!, threads: o.threads } : v.config!;
    startOrResume(v.writes, () => startRun({ cfg, runDir: v.writes }), log);
  } else if (p.kind === 'cooldown') {
    // the submitting side made the branch's run directory; a cool-down only ever resumes
    if (runStatus(v.writes) !== 'done') resumeRun(v.writes);
  } else if (p.kind === 'finetune') {
    const cfg = finetuneConfig(p.data, p.budget_s, o.threads);
    startOrResume(v.writes, () => startRun({ cfg, runDir: v.writes, from: v.reads! }), log);
  } else {
    const preset = PRESETS[p.preset as keyof typeof PRESETS];
    if (!preset) throw new InputError(`unknown preset '${p.preset}'`);
    compressJob(v, preset, o.threads, log);
  }
}
