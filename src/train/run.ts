// A training run end to end: resolve the config, make (or reopen) the run directory, prepare the
// data, pick the backend, train, and leave config.json / metrics.jsonl / checkpoints / result.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../engine/errors.ts';
import { createBackend } from '../engine/select.ts';
import { TLC_VERSION } from '../engine/version.ts';
import { type ModelConfig, resolveModelConfig } from '../model/config.ts';
import { loadLatestCheckpoint } from './checkpoint.ts';
import { parseConfig, type TrainConfig, trainConfigSchema } from './config.ts';
import { prepareTrainData } from './data.ts';
import { acquireRunLock, type RunLock } from './lock.ts';
import type { Progress } from './progress.ts';
import { gitHash, newRunId, readJson, runStatus, WINDOWS_FILE, writeJson } from './rundir.ts';
import type { TrainData, WindowMeta } from './task.ts';
import { type TrainResult, train } from './trainer.ts';

export interface RunOptions {
  cfg: TrainConfig;
  /** run directory; default runs/<family>-<timestamp> */
  runDir?: string;
  /** fine-tuning: start from this pretrained run's weights and tokenizer */
  from?: string;
  progress?: Progress;
  log?: (msg: string) => void;
}

export interface SavedRunConfig {
  tlc_version: string;
  git: string | null;
  task: TrainData['kind'];
  config: TrainConfig;
  model: ModelConfig;
  data: Record<string, unknown>;
  from?: string;
  threads: number;
  backend: string;
}

export function taskOf(cfg: TrainConfig, from?: string): TrainData['kind'] {
  if (from) return 'cls';
  return cfg.model.family === 'encdec' ? 'seq2seq' : 'lm';
}

/** The model config of a training config: its model section plus what the data decides. */
export function resolveModel(cfg: TrainConfig, data: TrainData): ModelConfig {
  const { d_ff, max_len, ...m } = cfg.model;
  return resolveModelConfig({
    ...m,
    vocab: data.vocabSize,
    d_ff: d_ff ?? 4 * m.d_model,
    max_len: max_len ?? data.maxLen,
    n_classes: data.nClasses,
  });
}

function pretrained(
  from: string,
  log?: (m: string) => void,
): { tensors: Map<string, Float32Array>; saved: SavedRunConfig } {
  const saved = readJson<SavedRunConfig>(path.join(from, 'config.json'), 'pretrained run config');
  if (saved.model.family !== 'encoder') {
    throw new InputError(
      `fine-tuning needs a pretrained encoder; ${from} holds a ${saved.model.family}`,
      'pretrain with an encoder preset',
    );
  }
  const ck = loadLatestCheckpoint(from, (m) => log?.(`warning: ${m}`));
  if (!ck)
    throw new InputError(`no checkpoint in ${from}`, 'train the model first (tlc train), then fine-tune it');
  return { tensors: ck.tensors, saved };
}

/**
 * The config of a fine-tuning run: the model section is the pretrained model's resolved shape,
 * position table (max_len) included, with the fine-tuning config's dropout. A data.seq_len longer
 * than that table is refused (a shorter one is fine: the table keeps its pretrained size).
 */
export function finetuneConfig(cfg: TrainConfig, pre: ModelConfig, from: string): TrainConfig {
  if (cfg.data.seq_len > pre.max_len)
    throw new InputError(
      `fine-tuning with data.seq_len ${cfg.data.seq_len}, but ${from} was pretrained with ${pre.max_len} positions (model.max_len): its position table has no rows for longer inputs`,
      `fine-tune with --set data.seq_len=${pre.max_len} (or less), or pretrain with a longer seq_len`,
    );
  // what the fine-tuning data decides (vocab, classes) and its own dropout are not inherited
  const { vocab: _vocab, n_classes: _classes, dropout: _dropout, ...shape } = pre;
  // runs saved before resid_init existed were initialised as 'normal'
  const model = { ...shape, resid_init: pre.resid_init ?? 'normal', dropout: cfg.model.dropout };
  return { ...cfg, model };
}

/** startRun on a directory that already holds a run (resume it instead). */
export class RunExistsError extends InputError {}

/** Run `fn` holding the run directory's writer lock (one training process per run directory). */
function withLock<T>(runDir: string, fn: (lock: RunLock) => T): T {
  const lock = acquireRunLock(runDir);
  try {
    return fn(lock);
  } finally {
    lock.release();
  }
}

/** Start a new run. */
export function startRun(o: RunOptions): { runDir: string; result: TrainResult } {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // a fine-tuning config that cannot work is refused before anything is written
  const pre = o.from ? pretrained(o.from, log) : null;
  const cfg = pre ? finetuneConfig(o.cfg, pre.saved.model, o.from!) : o.cfg;
  const runDir = o.runDir ?? path.join('runs', newRunId(o.from ? 'finetune' : cfg.model.family));
  fs.mkdirSync(runDir, { recursive: true });
  return withLock(runDir, (lock) => ({ runDir, result: startLocked(o, cfg, pre, runDir, lock) }));
}

function startLocked(
  o: RunOptions,
  cfg: TrainConfig,
  pre: ReturnType<typeof pretrained> | null,
  runDir: string,
  lock: RunLock,
): TrainResult {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (fs.existsSync(path.join(runDir, 'config.json'))) {
    throw new RunExistsError(
      `run directory ${runDir} already holds a run`,
      `resume it with --resume ${runDir}, or choose another --run-dir`,
    );
  }
  const task = taskOf(cfg, o.from);
  const tokenizerFile = pre ? path.join(o.from!, 'tokenizer.json') : undefined;
  const data = prepareTrainData(cfg, { task, tokenizerFile, log });
  const model = resolveModel(cfg, data);
  const be = createBackend(cfg.backend, cfg.threads, cfg.precision);
  const saved: SavedRunConfig = {
    tlc_version: TLC_VERSION,
    git: gitHash(),
    task,
    config: cfg,
    model,
    data: data.describe,
    threads: be.getThreads(),
    backend: be.name,
  };
  if (o.from) saved.from = o.from;
  writeJson(path.join(runDir, 'config.json'), saved);
  fs.copyFileSync(data.tokenizerFile, path.join(runDir, 'tokenizer.json'));
  if (data.windows) writeJson(path.join(runDir, WINDOWS_FILE), windowsJson(data.windows));
  return train({
    cfg,
    model,
    data,
    be,
    runDir,
    resume: false,
    init: pre?.tensors,
    progress: o.progress,
    hooks: { afterStep: () => lock.beat() },
  });
}

/** Continue a run from its last good checkpoint with the same config, data position and RNG. */
export function resumeRun(
  runDir: string,
  o: { progress?: Progress; log?: (m: string) => void } = {},
): TrainResult {
  if (!fs.existsSync(path.join(runDir, 'config.json')))
    throw new InputError(
      `run config not found: ${path.join(runDir, 'config.json')}`,
      'check the run directory path',
    );
  return withLock(runDir, (lock) => resumeLocked(runDir, o, lock));
}

function resumeLocked(
  runDir: string,
  o: { progress?: Progress; log?: (m: string) => void },
  lock: RunLock,
): TrainResult {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const saved = readJson<SavedRunConfig>(path.join(runDir, 'config.json'), 'run config');
  const cfg = parseConfig(trainConfigSchema, saved.config, `${runDir}/config.json`);
  if (runStatus(runDir) === 'done') {
    throw new InputError(
      `run ${runDir} already finished`,
      'start a new run, or raise its budget in a new run directory',
    );
  }
  const data = prepareTrainData(cfg, {
    task: saved.task,
    tokenizerFile: path.join(runDir, 'tokenizer.json'),
    log,
  });
  const be = createBackend(cfg.backend, saved.threads, cfg.precision);
  const init = saved.from ? pretrained(saved.from, log).tensors : undefined;
  return train({
    cfg,
    model: saved.model,
    data,
    be,
    runDir,
    resume: true,
    init,
    progress: o.progress,
    hooks: { afterStep: () => lock.beat() },
  });
}

/** eval-windows.json: the validation windows' sources and counts and the unigram baseline on them. */
export function windowsJson(w: WindowMeta): Record<string, unknown> {
  return {
    target_tokens: w.target_tokens,
    tokens: w.count.reduce((a, b) => a + b, 0),
    windows: w.count.length,
    sources: w.sources,
    available: w.available,
    taken: w.taken,
    source: Array.from(w.source),
    count: Array.from(w.count),
    unigram_ppl: w.unigram.ppl,
    unigram_nll: Array.from(w.unigram.windowNll, (x) => Math.round(x * 1e4) / 1e4),
  };
}
