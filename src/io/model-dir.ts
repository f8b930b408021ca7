// Open a model folder for export without its training data: a training run (config.json,
// checkpoints/, tokenizer.json) or a compressed model (`tlc compress` output: config.json,
// model.safetensors, tokenizer.json; its weights dequantized). Every problem with the files is one
// typed error naming the file: InputError for wrong content, CorruptError for damaged bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTAINER_FILE, readContainer } from '../compress/container.ts';
import { Tokenizer } from '../data/tokenizer/index.ts';
import { InputError } from '../engine/errors.ts';
import { type ModelConfig, modelConfigSchema } from '../model/config.ts';
import { buildLayout, type Layout, ParamViews } from '../model/params.ts';
import { loadLatestCheckpoint } from '../train/checkpoint.ts';
import { parseConfig } from '../train/config.ts';
import { readRunConfig } from '../train/load.ts';
import type { SavedRunConfig } from '../train/run.ts';

export interface ModelDir {
  dir: string;
  kind: 'run' | 'compressed';
  saved: SavedRunConfig;
  cfg: ModelConfig;
  layout: Layout;
  /** fp32 weights in the layout's flat order (a compressed model's, dequantized) */
  params: ParamViews<Float32Array>;
  tokenizer: Tokenizer;
  /** training step of the checkpoint (runs) */
  step: number | null;
  /** the compression spec (compressed models) */
  spec: unknown;
}

function runWeights(
  dir: string,
  layout: Layout,
  warn: (m: string) => void,
): { data: Float32Array; step: number } {
  const ck = loadLatestCheckpoint(dir, warn);
  if (!ck) throw new InputError(`run ${dir} has no checkpoint`, 'train it first (tlc train), or resume it');
  const data = new Float32Array(layout.total);
  for (const s of layout.specs) {
    const t = ck.tensors.get(s.name);
    if (!t || t.length !== s.size) {
      const found = t ? `${t.length} values` : 'no tensor';
      throw new InputError(
        `checkpoint ${path.join(dir, 'checkpoints', ck.info.file)} does not match ${path.join(dir, 'config.json')}: ${s.name} should hold ${s.size} values, found ${found}`,
        'export the run the checkpoint belongs to',
      );
    }
    data.set(t, s.offset);
  }
  return { data, step: ck.step };
}

function containerWeights(
  file: string,
  cfg: ModelConfig,
  layout: Layout,
): { data: Float32Array; spec: unknown } {
  const c = readContainer(file, (m) => {
    if (JSON.stringify(m) !== JSON.stringify(cfg)) {
      throw new InputError(
        `${file} holds a model that differs from its folder's config.json (${JSON.stringify(m)?.slice(0, 120)})`,
        'export the folder tlc compress wrote, unchanged',
      );
    }
    return layout;
  });
  return { data: c.params, spec: c.spec };
}

/**
 * Open a run directory or a compressed model folder; `warn` hears about skipped damaged
 * checkpoints; `check` may refuse the model config before any weights are read.
 */
export function openModelDir(
  dir: string,
  warn: (m: string) => void = () => {},
  check: (cfg: ModelConfig) => void = () => {},
): ModelDir {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new InputError(
      `model folder ${dir} does not exist`,
      'give a run directory (tlc train) or a tlc compress output folder',
    );
  const saved = readRunConfig(dir);
  const cfgFile = path.join(dir, 'config.json');
  if (saved === null || typeof saved !== 'object')
    throw new InputError(`${cfgFile}: expected a tlc run config object, found ${JSON.stringify(saved)}`);
  const cfg = parseConfig(modelConfigSchema, saved.model, `${cfgFile} (its "model" section)`);
  check(cfg);
  const layout = buildLayout(cfg);
  const container = path.join(dir, CONTAINER_FILE);
  let kind: ModelDir['kind'];
  let data: Float32Array;
  let step: number | null = null;
  let spec: unknown = null;
  if (fs.existsSync(container)) {
    kind = 'compressed';
    ({ data, spec } = containerWeights(container, cfg, layout));
  } else if (fs.existsSync(path.join(dir, 'checkpoints'))) {
    kind = 'run';
    ({ data, step } = runWeights(dir, layout, warn));
  } else {
    throw new InputError(
      `${dir} is neither a training run (no checkpoints/) nor a compressed model (no ${CONTAINER_FILE})`,
      'give a run directory (tlc train) or a tlc compress output folder',
    );
  }
  const tokFile = path.join(dir, 'tokenizer.json');
  const tokenizer = Tokenizer.load(tokFile);
  if (tokenizer.vocabSize !== cfg.vocab) {
    throw new InputError(
      `${tokFile} has ${tokenizer.vocabSize} tokens, the model's vocabulary (${cfgFile}) has ${cfg.vocab}`,
      'use the tokenizer.json the model was trained with',
    );
  }
  return { dir, kind, saved, cfg, layout, params: new ParamViews(layout, data), tokenizer, step, spec };
}
