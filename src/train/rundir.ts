// The run directory (design §4): config.json, metrics.jsonl, checkpoints/, result.json. Reports,
// fits and the dashboard read only these files. Writes of JSON summaries are atomic.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../engine/atomic.ts';
import { InputError } from '../engine/errors.ts';

/** One line of metrics.jsonl. */
export interface MetricRecord {
  step: number;
  /** training seconds so far (the paper's x-axis) */
  wall_s: number;
  tokens: number;
  flops: number;
  split: 'train' | 'valid' | 'test';
  name: string;
  value: number;
  /** total seconds since the run started, evaluation and restarts included */
  elapsed_s: number;
}

export function gitHash(): string | null {
  try {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function newRunId(prefix: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${prefix}-${t}`;
}

export function writeJson(file: string, obj: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(obj, null, 2)}\n`);
}

/**
 * Where a run directory stands: 'done' when result.json says so; 'interrupted' when it holds a run
 * (config.json) that did not finish, or whose result is unreadable (resuming rewrites it); 'new' otherwise.
 * The one test of "is this run finished" for resume, the study's sweep and its fine-tuning jobs.
 */
export function runStatus(runDir: string): 'done' | 'interrupted' | 'new' {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')) as { status?: unknown };
    if (r.status === 'done') return 'done';
  } catch {
    // no result yet, or one cut short by a kill: not finished
  }
  return fs.existsSync(path.join(runDir, 'config.json')) ? 'interrupted' : 'new';
}

export function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file))
    throw new InputError(`${what} not found: ${file}`, 'check the run directory path');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new InputError(`${what} is not valid JSON: ${file} (${(e as Error).message})`);
  }
}

/** evals.jsonl: one line per validation evaluation with every window's summed loss. */
export const EVALS_FILE = 'evals.jsonl';
/** eval-windows.json: where the validation windows come from, their counts, the unigram baseline. */
export const WINDOWS_FILE = 'eval-windows.json';
/** snapshots/: the weights at every evaluation (checkpoint.snapshot_at_eval), kept like checkpoints (snapshots/checkpoints/). */
export const SNAPSHOTS_DIR = 'snapshots';

/** One line of evals.jsonl. Window w's mean loss is sums[w] / counts[w] (counts in WINDOWS_FILE). */
export interface EvalRecord {
  step: number;
  wall_s: number;
  tokens: number;
  loss: number;
  count: number;
  sums: number[];
}

/** The run-directory-like folder holding the full checkpoint saved at a branch time (seconds). */
export function branchDir(runDir: string, atSeconds: number): string {
  return path.join(runDir, 'branches', `t${+atSeconds.toFixed(3)}`);
}

export function readEvals(runDir: string): EvalRecord[] {
  return readMetrics(path.join(runDir, EVALS_FILE)) as unknown as EvalRecord[];
}

/** Append-only metrics log. Lines are flushed at every write (a killed run keeps them). */
export class MetricsLog {
  private fd: number;
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }
  write(r: MetricRecord): void {
    this.writeLine(r);
  }
  writeLine(r: object): void {
    fs.writeSync(this.fd, `${JSON.stringify(r)}\n`);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

export function readMetrics(file: string): MetricRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: MetricRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      // a line cut by a kill mid-write: ignored, the records around it stand
    }
  }
  return out;
}

/**
 * On resume from a checkpoint at `step`: drop records after it (they are recomputed), so the log
 * reads as one uninterrupted run. Rewritten atomically.
 */
export function truncateMetrics(file: string, step: number): void {
  const keep = readMetrics(file).filter((r) => r.step <= step);
  writeFileAtomic(file, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
