// The training config: one strict zod schema (unknown keys and wrong types are errors naming the
// key), presets from configs/, and `--set key=value` overrides. Every default says why.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import { ADAMW_DEFAULTS } from '../engine/optim.ts';
import { modelFields } from '../model/config.ts';

/** The model's own fields (model/config.ts) less those the data sets; d_ff and max_len get defaults. */
const modelSection = modelFields
  .omit({ vocab: true, n_classes: true })
  .extend({
    /** default 4 x d_model, the usual Transformer ratio */
    d_ff: modelFields.shape.d_ff.optional(),
    /**
     * position-table rows; default data.seq_len, the longest row any task feeds the model: LM
     * batches are seq_len positions (causal targets are the next tokens, not an extra position),
     * seq2seq and classification rows are cut to seq_len with <s> and </s> counted, so no +1
     */
    max_len: modelFields.shape.max_len.optional(),
  })
  .strict();

const dataSection = z
  .object({
    /** a recipe name (tlc data list) or a path to your own files */
    name: z.string().min(1).default('prose-en'),
    /** BPE vocabulary trained on the training split (cached per data set and size) */
    vocab_size: z.number().int().min(300).max(65536).default(8192),
    /** tokens per sequence (LM/classification) or the longest source/target (seq2seq) */
    seq_len: z.number().int().min(4).default(128),
    /** sequences per micro-batch (LM, classification) */
    batch_size: z.number().int().min(1).default(16),
    /** seq2seq: tokens per micro-batch including padding (token-budget batching as fairseq) */
    max_tokens: z.number().int().min(8).default(4096),
    /** MLM masking rate, as BERT/RoBERTa */
    mlm_prob: z.number().gt(0).lt(1).default(0.15),
    whole_word: z.boolean().default(false),
    /** seq2seq and classification: validation batches in the fixed evaluation subset */
    valid_batches: z.number().int().min(1).default(8),
    /**
     * language modelling: predicted tokens per evaluation, from windows spread over the whole
     * validation split (stratified by source); 20 k puts a perplexity's standard error near 1%
     */
    valid_tokens: z.number().int().min(1).default(20000),
  })
  .strict();

const optimSection = z
  .object({
    lr: z.number().positive().default(5e-4),
    /** linear warmup steps; RoBERTa-style models diverge without some */
    warmup_steps: z.number().int().min(0).default(100),
    /** the decay's horizon is the budget: its elapsed fraction drives the schedule */
    schedule: z.enum(['linear', 'cosine', 'inverse_sqrt', 'constant', 'wsd']).default('linear'),
    /** wsd: share of the budget spent decaying at its end (10-20% matches cosine: Hägele et al. 2024) */
    decay_fraction: z.number().gt(0).max(1).default(0.2),
    /** floor of the decay, as a fraction of lr */
    min_lr_ratio: z.number().min(0).max(1).default(0),
    /** AdamW's betas, eps and weight decay: ADAMW_DEFAULTS (engine/optim.ts) says why */
    beta1: z.number().min(0).lt(1).default(ADAMW_DEFAULTS.beta1),
    beta2: z.number().min(0).lt(1).default(ADAMW_DEFAULTS.beta2),
    eps: z.number().positive().default(ADAMW_DEFAULTS.eps),
    weight_decay: z.number().min(0).default(ADAMW_DEFAULTS.weightDecay),
    /** global gradient-norm clip (0 = off) */
    clip: z.number().min(0).default(1.0),
    grad_accum: z.number().int().min(1).default(1),
    /** translation only (fairseq's usual 0.1 is a choice; 0 keeps perplexity comparable) */
    label_smoothing: z.number().min(0).lt(1).default(0),
  })
  .strict();

const budgetSection = z
  .object({
    /** training wall-clock seconds (evaluation and checkpointing excluded) */
    seconds: z.number().positive().optional(),
    steps: z.number().int().positive().optional(),
    tokens: z.number().positive().optional(),
    flops: z.number().positive().optional(),
  })
  .strict()
  .refine((b) => b.seconds || b.steps || b.tokens || b.flops, {
    message: 'set at least one of budget.seconds, budget.steps, budget.tokens, budget.flops',
  });

const evalSection = z
  .object({
    every_seconds: z.number().positive().optional(),
    every_steps: z.number().int().positive().optional(),
  })
  .strict();

const checkpointSection = z
  .object({
    /** a killed run loses at most this much training time */
    every_seconds: z.number().positive().default(60),
    keep: z.number().int().min(1).default(2),
    /** keep the weights at every evaluation (snapshots/): quality-matched comparisons need them */
    snapshot_at_eval: z.boolean().default(false),
    /** training seconds at which to save a full checkpoint under branches/ (cool-down branches) */
    branch_at_seconds: z.array(z.number().positive()).default([]),
  })
  .strict();

export const trainConfigSchema = z
  .object({
    model: modelSection,
    data: dataSection.default(dataSection.parse({})),
    optim: optimSection.default(optimSection.parse({})),
    budget: budgetSection,
    eval: evalSection.default({}),
    checkpoint: checkpointSection.default(checkpointSection.parse({})),
    seed: z.number().int().min(0).default(1),
    /** default: all cores */
    threads: z.number().int().min(1).optional(),
    backend: z.enum(['native', 'ts']).default('native'),
    precision: z.enum(['fp32', 'bf16']).default('fp32'),
    /** same config, seed and threads give bit-identical losses */
    deterministic: z.boolean().default(false),
    /** non-finite loss or gradient: stop (keeping the last good checkpoint) or skip the step */
    on_nonfinite: z.enum(['stop', 'skip']).default('stop'),
  })
  .strict();

export type TrainConfig = z.output<typeof trainConfigSchema>;

/** Turn zod issues into one InputError that names each key, what was expected and what was found. */
export function parseConfig<T>(schema: z.ZodType<T>, raw: unknown, where: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      const at = i.path.length ? `${i.path.join('.')}.` : '';
      return i.keys.map(
        (k) => `  ${at}${k}: unknown key (a typo? \`tlc train --help\` and configs/ show the valid keys)`,
      );
    }
    const key = i.path.join('.') || '(top level)';
    const found = i.path.reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k as string] : undefined),
      raw,
    );
    const shown = found === undefined ? '' : ` (found ${JSON.stringify(found)})`;
    return `  ${key}: ${i.message}${shown}`;
  });
  throw new InputError(
    `invalid config ${where}:\n${lines.join('\n')}`,
    'fix the keys above; `tlc train --help` lists the presets',
  );
}

export function configsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');
}

/** Read a config file (YAML or JSON) or a preset name from configs/. */
export function readConfigSource(spec: string): { raw: unknown; where: string } {
  let file = spec;
  if (!fs.existsSync(file)) {
    const preset = path.join(configsDir(), `${spec}.yaml`);
    if (!fs.existsSync(preset)) {
      const names = fs
        .readdirSync(configsDir())
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.slice(0, -5));
      throw new InputError(`no config file or preset named '${spec}'`, `presets: ${names.join(', ')}`);
    }
    file = preset;
  }
  if (fs.statSync(file).isDirectory()) {
    let inside: string[] = [];
    try {
      inside = fs.readdirSync(file).filter((f) => /\.(ya?ml|json)$/.test(f));
    } catch {
      // an unreadable folder: the message still says what to give
    }
    throw new InputError(
      `--config expects a YAML/JSON file or a preset name, found the folder '${spec}'`,
      inside.length
        ? `give one of its files, e.g. --config ${path.join(spec, inside[0]!)}`
        : 'give a config file, or a preset name from configs/',
    );
  }
  const text = fs.readFileSync(file, 'utf8');
  try {
    return { raw: file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text), where: file };
  } catch (e) {
    throw new InputError(`could not parse ${file}: ${(e as Error).message}`, 'check the YAML/JSON syntax');
  }
}

/** Apply `a.b.c=value` overrides (value parsed as YAML: numbers, booleans, strings). */
export function applyOverrides(raw: unknown, sets: string[]): unknown {
  const root = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new InputError(`--set expects key=value, found '${s}'`, 'e.g. --set optim.lr=3e-4');
    const keys = s.slice(0, eq).split('.');
    const value = YAML.parse(s.slice(eq + 1)) as unknown;
    let o = root;
    for (const k of keys.slice(0, -1)) {
      if (!o[k] || typeof o[k] !== 'object') o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[keys[keys.length - 1]!] = value;
  }
  return root;
}
