// `tlc infer MODEL`: fill-mask with an encoder, generation with a decoder (greedy or seeded
// sampling), classification with a fine-tuned classifier; one text after the mode flag, or
// --input FILE (one text per line, JSONL out). MODEL is a training run (dense) or a tlc compress
// folder (the compressed runtime). Progress on stderr; results on stdout. The library loads when
// the command runs; this file parses and checks flags only.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import type { ClassifyResult } from '../infer/classify.ts';
import type { FillMaskResult } from '../infer/fill-mask.ts';
import type { GenerateResult, SamplingOptions } from '../infer/generate.ts';
import type { InferMode } from '../infer/load.ts';
import { arg, PRECISIONS } from './flags.ts';

interface InferFlags {
  fillMask?: string | true;
  generate?: string | true;
  classify?: string | true;
  input?: string;
  topK?: number;
  topP?: number;
  temperature?: number;
  seed?: number;
  maxNew?: number;
  batch: number;
  outlierThreshold?: number;
  threads?: number;
  precision: (typeof PRECISIONS)[number];
  json?: boolean;
}

const MODES: Array<[InferMode, 'fillMask' | 'generate' | 'classify']> = [
  ['fill-mask', 'fillMask'],
  ['generate', 'generate'],
  ['classify', 'classify'],
];
const SAMPLING_FLAGS = [
  ['maxNew', '--max-new'],
  ['temperature', '--temperature'],
  ['topP', '--top-p'],
  ['seed', '--seed'],
] as const;

/** The mode asked for (undefined: the model's own) and the text given after its flag, if any. */
function modeOf(o: InferFlags): { mode?: InferMode; text?: string } {
  const given = MODES.filter(([, k]) => o[k] !== undefined);
  if (given.length > 1)
    throw new InputError(
      `tlc infer expects one mode, found ${given.map(([m]) => `--${m}`).join(' and ')}`,
      'give one of --fill-mask, --generate or --classify',
    );
  const [m] = given;
  if (!m) return {};
  const v = o[m[1]];
  return { mode: m[0], ...(typeof v === 'string' ? { text: v } : {}) };
}

/** The texts and how to name each in messages. */
function textsOf(
  o: InferFlags,
  text: string | undefined,
  mode: InferMode | undefined,
): { texts: string[]; where: (i: number) => string } {
  if ((text === undefined) === (o.input === undefined))
    throw new InputError(
      `tlc infer expects exactly one of a TEXT (after --fill-mask, --generate or --classify) or --input FILE, found ${text === undefined ? 'neither' : 'both'}`,
      'e.g. tlc infer RUN --fill-mask "the <mask> sat on the mat", or --generate "Call me" for a decoder',
    );
  if (text !== undefined) return { texts: [text], where: () => `--${mode}` };
  const lines = fs.readFileSync(o.input!, 'utf8').split(/\r?\n/);
  const at: number[] = [];
  lines.forEach((l, i) => {
    if (l.trim() !== '') at.push(i);
  });
  if (at.length === 0)
    throw new InputError(
      `--input ${o.input}: expected one text per line, found no non-empty line`,
      'write one text per line',
    );
  return { texts: at.map((i) => lines[i]!), where: (i) => `${o.input}:${at[i]! + 1}` };
}

/** Sampling settings: greedy unless --temperature > 0, or --top-k/--top-p/--seed ask to sample (at 1). */
function samplingOf(o: InferFlags): SamplingOptions {
  const wantsSampling = o.topK !== undefined || o.topP !== undefined || o.seed !== undefined;
  return {
    temperature: o.temperature ?? (wantsSampling ? 1 : 0),
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
  };
}

/** Flags of another mode are refused rather than ignored. */
function checkFlags(o: InferFlags, mode: InferMode): void {
  if (mode !== 'generate')
    for (const [k, f] of SAMPLING_FLAGS)
      if (o[k] !== undefined)
        throw new InputError(`${f} applies to --generate only, found it with --${mode}`, `drop ${f}`);
  if (mode === 'classify' && o.topK !== undefined)
    throw new InputError(
      '--top-k applies to --fill-mask and --generate, found it with --classify',
      'drop --top-k',
    );
}

function fillSummary(r: FillMaskResult): string {
  const masks = r.masks.map(
    (c, i) =>
      `  <mask> ${i + 1}: ${c.map((x) => `${JSON.stringify(x.token)} ${(100 * x.prob).toFixed(1)}%`).join(', ')}\n`,
  );
  return `${r.filled}\n${masks.join('')}`;
}

function clsSummary(r: ClassifyResult): string {
  const ps = Object.entries(r.probs).map(([k, p]) => `${k} ${(100 * p).toFixed(1)}%`);
  return `${r.label}  (${ps.join(', ')})${r.truncated ? '  [text cut to max_len]' : ''}\n`;
}

function genSummary(r: GenerateResult): string {
  return `${r.prompt}${r.text}\n`;
}

async function run(model: string, o: InferFlags): Promise<void> {
  const asked = modeOf(o);
  const { texts, where } = textsOf(o, asked.text, asked.mode);
  const [{ createBackend }, load, { fillMask }, { generateTexts }, { classify }] = await Promise.all([
    import('../engine/select.ts'),
    import('../infer/load.ts'),
    import('../infer/fill-mask.ts'),
    import('../infer/generate.ts'),
    import('../infer/classify.ts'),
  ]);
  const be = createBackend('native', o.threads, o.precision);
  const m = load.loadInferModel(model, be, {
    outlierThreshold: o.outlierThreshold,
    log: (s) => process.stderr.write(`${s}\n`),
  });
  const own: InferMode =
    m.cfg.family === 'decoder' ? 'generate' : m.cfg.n_classes > 0 ? 'classify' : 'fill-mask';
  const mode = asked.mode ?? own;
  load.requireMode(m.cfg, mode, model);
  checkFlags(o, mode);
  const mb = (b: number) => (b / 1e6).toFixed(3);
  process.stderr.write(
    `infer: ${model} (${m.kind}; weights held ${mb(m.bytes.held)} MB, fp32 ${mb(m.bytes.dense)} MB), ${mode}, ${texts.length} text(s)\n`,
  );
  let last = 0;
  const progress = (done: number, total: number) => {
    const now = performance.now();
    if (done < total && now - last < 2000) return;
    last = now;
    process.stderr.write(`infer: ${done}/${total} texts\n`);
  };
  const jsonl = o.input !== undefined || o.json === true;
  const emit = <R>(rows: R[], plain: (r: R) => string) => {
    if (jsonl) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(rows.map(plain).join(''));
  };
  if (mode === 'fill-mask')
    emit(
      fillMask(m.mlm, m.tokenizer, texts, { topK: o.topK ?? 5, batch: o.batch, where, progress }),
      fillSummary,
    );
  else if (mode === 'classify')
    emit(
      classify(m.cls, m.tokenizer, texts, { batch: o.batch, labels: load.labelNames(m.dataName), progress }),
      clsSummary,
    );
  else {
    const t0 = performance.now();
    const rows = generateTexts(m.causal, m.tokenizer, texts, {
      maxNew: o.maxNew ?? 32,
      sampling: samplingOf(o),
      seed: o.seed ?? 0,
      batch: o.batch,
      where,
      progress,
    });
    const n = rows.reduce((a, r) => a + r.tokens.length, 0);
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`infer: ${n} new tokens in ${s.toFixed(2)} s (${(n / s).toFixed(1)} tokens/s)\n`);
    emit(rows, genSummary);
  }
}

export function registerInfer(program: Command): void {
  program
    .command('infer <model>')
    .description(
      'fill-mask (encoder), generation (decoder) or classification (fine-tuned classifier) with a training run (fp32) or a compressed model',
    )
    .option('--fill-mask [text]', 'encoder: the top-k tokens at each <mask> of the text')
    .option(
      '--generate [prompt]',
      'decoder: continue the prompt (greedy, or sampled: --temperature, --top-k, --top-p)',
    )
    .option('--classify [text]', 'fine-tuned classifier: the label and the probability of each label')
    .option(
      '--input <file>',
      'one text per line (after a mode flag without text); JSONL results on stdout',
      arg.path('--input', { is: 'file' }),
    )
    .option(
      '--top-k <k>',
      'fill-mask: tokens shown per <mask> (default 5); generate: sample from the k most likely',
      arg.int('--top-k', { min: 1, example: '5' }),
    )
    .option(
      '--top-p <p>',
      'generate: sample from the smallest set of most likely tokens reaching p (nucleus)',
      arg.num('--top-p', { gt: 0, max: 1, example: '0.9' }),
    )
    .option(
      '--temperature <t>',
      'generate: divide the logits by t before sampling; 0 = greedy (default 0, or 1 with --top-k/--top-p/--seed)',
      arg.num('--temperature', { min: 0, example: '0.8' }),
    )
    .option(
      '--seed <n>',
      'generate: seed of the sampling (default 0)',
      arg.int('--seed', { min: 0, example: '1' }),
    )
    .option(
      '--max-new <n>',
      'generate: new tokens per text at most (default 32)',
      arg.int('--max-new', { min: 1, example: '32' }),
    )
    .option('--batch <n>', 'texts per forward pass', arg.int('--batch', { min: 1, example: '16' }), 16)
    .option(
      '--outlier-threshold <x>',
      'int8: input channels with |x| above this run in float (default 6)',
      arg.num('--outlier-threshold', { gt: 0, example: '6' }),
    )
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option(
      '--precision <p>',
      'fp32 | bf16: how the fp32 linear layers multiply',
      arg.oneOf('--precision', PRECISIONS),
      'fp32',
    )
    .option('--json', 'print the result as JSON on stdout (--input always writes JSONL)')
    .action(run);
}
