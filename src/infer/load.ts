// Opens a model folder for inference: a compressed model (tlc compress output: model.safetensors)
// runs on the compressed runtime (int8 kernels for int8 weights, other forms as runtime.ts holds
// them), a training run (checkpoints/) runs dense in fp32. Both with the folder's tokenizer, and as
// each of the three inference views (fill-mask, classification, generation); `requireMode` says in
// one line when a mode does not fit the model's family. What is neither folder is an InputError.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTAINER_FILE } from '../compress/container.ts';
import { loadData } from '../data/load.ts';
import { Tokenizer } from '../data/tokenizer/index.ts';
import type { Backend } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { type CausalLm, denseCausalLm } from '../model/decode-causal.ts';
import { loadRunModel, readRunConfig } from '../train/load.ts';
import { type ClsModel, denseCls } from './classify.ts';
import { denseMlm, type MlmModel } from './fill-mask.ts';
import { loadInt8Model, type WeightBytes } from './runtime.ts';

export interface InferModel {
  kind: 'int8' | 'dense';
  cfg: ModelConfig;
  mlm: MlmModel;
  cls: ClsModel;
  causal: CausalLm<Float32Array>;
  tokenizer: Tokenizer;
  /** weight bytes held (compressed runtime) or the fp32 parameters (dense) */
  bytes: WeightBytes;
  /** the folder's config.json (the training or fine-tuning run's), when there is one */
  dataName: string | null;
}

export type InferMode = 'fill-mask' | 'generate' | 'classify';

/** Opens `dir` for inference; `outlierThreshold` applies to the int8 kernels. */
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
  const dataName = fs.existsSync(path.join(dir, 'config.json')) ? readRunConfig(dir).config.data.name : null;
  if (fs.existsSync(container)) {
    const m = loadInt8Model(container, be, { outlierThreshold: o.outlierThreshold });
    return {
      kind: 'int8',
      cfg: m.cfg,
      mlm: m,
      cls: m,
      causal: m,
      tokenizer,
      bytes: m.weightBytes(),
      dataName,
    };
  }
  const { model } = loadRunModel(dir, be, o.log);
  const dense = model.layout.total * 4;
  return {
    kind: 'dense',
    cfg: model.cfg,
    mlm: denseMlm(model),
    cls: denseCls(model),
    causal: denseCausalLm(model),
    tokenizer,
    bytes: { int8: 0, kbit: 0, sparse: 0, fp32: dense, held: dense, dense },
    dataName,
  };
}

/** Refuses a mode the model cannot run, naming the model's family and what would fit. */
export function requireMode(cfg: ModelConfig, mode: InferMode, dir: string): void {
  const what =
    cfg.family === 'encoder'
      ? cfg.n_classes > 0
        ? 'a fine-tuned classifier (encoder)'
        : 'an encoder'
      : `a ${cfg.family}`;
  const fit =
    cfg.family === 'encdec'
      ? 'translate it with tlc translate'
      : cfg.family === 'decoder'
        ? 'use --generate with a decoder'
        : cfg.n_classes > 0
          ? 'use --classify (or --fill-mask) with it'
          : 'use --fill-mask with an encoder';
  const need = {
    'fill-mask': cfg.family === 'encoder',
    generate: cfg.family === 'decoder',
    classify: cfg.family === 'encoder' && cfg.n_classes > 0,
  }[mode];
  if (need) return;
  const needs = {
    'fill-mask': 'an encoder (masked-LM) model',
    generate: 'a decoder (causal LM) model',
    classify: 'a fine-tuned classifier (tlc finetune)',
  }[mode];
  throw new InputError(`--${mode} needs ${needs}, ${dir} is ${what}`, fit);
}

/**
 * The label names of a classifier's data (class-id order), read from the data set its run was
 * fine-tuned on; [] when that data is not at hand (labels are then named "class N").
 */
export function labelNames(dataName: string | null): string[] {
  if (!dataName) return [];
  try {
    const c = loadData(dataName, { kind: 'labels', log: () => {} });
    return c.kind === 'labels' ? [...c.labels] : [];
  } catch {
    return [];
  }
}
