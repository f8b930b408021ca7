// Reopen a finished (or checkpointed) training run: its saved config, its model with the weights
// of the last good checkpoint, and its data (same tokenizer, same fixed evaluation batches).
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { Transformer } from '../model/transformer.ts';
import { loadLatestCheckpoint } from './checkpoint.ts';
import { prepareTrainData } from './data.ts';
import type { SavedRunConfig } from './run.ts';
import { readJson } from './rundir.ts';
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

export function loadTrainedRun(
  runDir: string,
  be: Backend<Float32Array>,
  log?: (m: string) => void,
): LoadedRun {
  const saved = readRunConfig(runDir);
  const ck = loadLatestCheckpoint(runDir, (m) => log?.(`warning: ${m}`));
  if (!ck)
    throw new InputError(`run ${runDir} has no checkpoint`, 'train it first (tlc train), or resume it');
  const model = new Transformer(be, saved.model, 0);
  for (const s of model.layout.specs) {
    const t = ck.tensors.get(s.name);
    if (!t || t.length !== s.size)
      throw new InputError(`checkpoint of ${runDir} does not match its config at ${s.name}`);
    model.p.get(s.name).set(t);
  }
  return { dir: runDir, saved, model, data: runData(saved, runDir, log), step: ck.step };
}
