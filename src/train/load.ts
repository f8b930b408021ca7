// Reopen a finished (or checkpointed) training run: its saved config, its model with the weights
// of the last good checkpoint, and its data (same tokenizer, same fixed evaluation batches).
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { Transformer } from '../model/transformer.ts';
import { listCheckpoints, loadLatestCheckpoint } from './checkpoint.ts';
import { prepareTrainData } from './data.ts';
import type { SavedRunConfig } from './run.ts';
import { readJson, SNAPSHOTS_DIR } from './rundir.ts';
import type { TrainData } from './task.ts';

export interface LoadedRun {
  dir: string;
  saved: SavedRunConfig;
  model: Transformer<Float32Array>;
  data: TrainData;
  step: number;
}

export function readRunConfig(runDir: string): SavedRunConfig {
  return readJson<SavedRunConfig>(path.join(runDir, 'config.json'), `run config of ${runDir}`);
}

/** The data of a saved run (its tokenizer file in `tokenizerDir`, default the run itself). */
export function runData(saved: SavedRunConfig, tokenizerDir: string, log?: (m: string) => void): TrainData {
  return prepareTrainData(saved.config, {
    task: saved.task,
    tokenizerFile: path.join(tokenizerDir, 'tokenizer.json'),
    log,
  });
}

function modelFrom(
  runDir: string,
  saved: SavedRunConfig,
  be: Backend<Float32Array>,
  tensors: Map<string, Float32Array>,
): Transformer<Float32Array> {
  const model = new Transformer(be, saved.model, 0);
  for (const s of model.layout.specs) {
    const t = tensors.get(s.name);
    if (!t || t.length !== s.size)
      throw new InputError(`checkpoint of ${runDir} does not match its config at ${s.name}`);
    model.p.get(s.name).set(t);
  }
  return model;
}

/** A run's saved config and its model at the last good checkpoint, without its data. */
export function loadRunModel(
  runDir: string,
  be: Backend<Float32Array>,
  log?: (m: string) => void,
): Omit<LoadedRun, 'data'> {
  const saved = readRunConfig(runDir);
  const ck = loadLatestCheckpoint(runDir, (m) => log?.(`warning: ${m}`));
  if (!ck)
    throw new InputError(`run ${runDir} has no checkpoint`, 'train it first (tlc train), or resume it');
  return { dir: runDir, saved, model: modelFrom(runDir, saved, be, ck.tensors), step: ck.step };
}

export function loadTrainedRun(
  runDir: string,
  be: Backend<Float32Array>,
  log?: (m: string) => void,
): LoadedRun {
  const r = loadRunModel(runDir, be, log);
  return { ...r, data: runData(r.saved, runDir, log) };
}

/** Steps of the weight snapshots a run kept (checkpoint.snapshot_at_eval), ascending. */
export function snapshotSteps(runDir: string): number[] {
  const dir = path.join(runDir, SNAPSHOTS_DIR);
  return listCheckpoints(dir).map((c) => c.step);
}

/** The run's model with the weights of its snapshot at `step`, sharing `run`'s data. */
export function loadSnapshot(run: LoadedRun, step: number, be: Backend<Float32Array>): LoadedRun {
  const dir = path.join(run.dir, SNAPSHOTS_DIR);
  const ck = loadLatestCheckpoint(dir, () => {}, step);
  if (!ck || ck.step !== step)
    throw new InputError(
      `run ${run.dir} has no weight snapshot at step ${step}`,
      'train with checkpoint.snapshot_at_eval: true',
    );
  return { ...run, model: modelFrom(run.dir, run.saved, be, ck.tensors), step };
}
