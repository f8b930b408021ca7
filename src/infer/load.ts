// Opens a model folder for inference: a compressed model (tlc compress output: model.safetensors)
// runs on the int8 runtime, a training run (checkpoints/) runs dense in fp32. Both with the folder's
// tokenizer. What is neither is an InputError saying what was expected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../data/tokenizer/index.ts';
import type { Backend } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { CONTAINER_FILE } from '../eval/model-eval.ts';
import { loadRunModel } from '../train/load.ts';
import { denseMlm, type MlmModel } from './fill-mask.ts';
import { loadInt8Model, type WeightBytes } from './runtime.ts';

export interface InferModel {
  kind: 'int8' | 'dense';
  model: MlmModel;
  tokenizer: Tokenizer;
  /** weight bytes held (int8 runtime) or the fp32 parameters (dense) */
  bytes: WeightBytes;
}

/** Opens `dir` for inference; `outlierThreshold` applies to the int8 runtime. */
export function loadInferModel(
  dir: string,
  be: Backend<Float32Array>,
  o: { outlierThreshold?: number; log?: (m: string) => void } = {},
): InferModel {
  const container = path.join(dir, CONTAINER_FILE);
  const tokFile = path.join(dir, 'tokenizer.json');
  const isRun = fs.existsSync(path.join(dir, 'checkpoints'));
  if (!fs.existsSync(container) && !isRun)
    throw new InputError(
      `${dir}: expected a compressed model (${CONTAINER_FILE}) or a training run (checkpoints/), found neither`,
      'give a tlc compress output folder or a tlc train run directory',
    );
  if (!fs.existsSync(tokFile))
    throw new InputError(
      `${dir}: expected its tokenizer at ${tokFile}, found no file`,
      'restore the folder as tlc wrote it',
    );
  const tokenizer = Tokenizer.load(tokFile);
  if (fs.existsSync(container)) {
    const m = loadInt8Model(container, be, { outlierThreshold: o.outlierThreshold });
    return { kind: 'int8', model: m, tokenizer, bytes: m.weightBytes() };
  }
  const run = loadRunModel(dir, be, o.log);
  if (run.model.cfg.family !== 'encoder')
    throw new InputError(
      `${dir}: fill-mask needs an encoder (masked-LM) model, this run is ${run.model.cfg.family}`,
      'train with --config tiny-encoder (or another encoder config)',
    );
  const dense = run.model.layout.total * 4;
  return {
    kind: 'dense',
    model: denseMlm(run.model),
    tokenizer,
    bytes: { int8: 0, kbit: 0, sparse: 0, fp32: dense, held: dense, dense },
  };
}
