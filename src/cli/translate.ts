// `tlc translate MODEL`: translate sentences, one per line from --input FILE or stdin, with an
// encoder-decoder run (or its tlc compress output) by beam search; translations go to stdout as
// plain lines or JSON lines, progress to stderr. The library loads when the command runs.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import { arg } from './flags.ts';

const log = (m: string) => process.stderr.write(`${m}\n`);

interface TranslateFlags {
  input?: string;
  beam: number;
  lenPenalty: number;
  batch: number;
  maxLen?: number;
  threads?: number;
  jsonl?: boolean;
}

/** The input's lines (a final newline ends the last line, it does not start an empty one). */
function readLines(input: string | undefined): string[] {
  const where = input ? `--input ${input}` : 'stdin';
  const text = fs.readFileSync(input ?? 0, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0)
    throw new InputError(
      `${where} is empty: expected one sentence per line`,
      'give a file with sentences to translate',
    );
  return lines;
}

async function translate(model: string, o: TranslateFlags): Promise<void> {
  const [{ createBackend }, { openModelDir }, { Transformer }, { translateSentences }] = await Promise.all([
    import('../engine/select.ts'),
    import('../io/model-dir.ts'),
    import('../model/transformer.ts'),
    import('../eval/translate.ts'),
  ]);
  const md = openModelDir(
    model,
    (m) => log(`warning: ${m}`),
    (cfg) => {
      if (cfg.family !== 'encdec')
        throw new InputError(
          `${model} holds a ${cfg.family} model: tlc translate needs an encoder-decoder (family encdec)`,
          'give the run directory of a translation model (e.g. tlc train --config tiny-encdec)',
        );
    },
  );
  const lines = readLines(o.input);
  const m = new Transformer(createBackend('native', o.threads), md.cfg, 0);
  m.params.set(md.params.data);
  const t0 = performance.now();
  let last = t0;
  const results = translateSentences(m, md.tokenizer, lines, {
    beam: o.beam,
    lenPenalty: o.lenPenalty,
    batch: o.batch,
    ...(o.maxLen !== undefined ? { maxLen: o.maxLen } : {}),
    progress: (done, total) => {
      const now = performance.now();
      if (done < total && now - last < 3000) return;
      last = now;
      log(`translated ${done}/${total} sentences (${((now - t0) / 1000).toFixed(1)} s)`);
    },
  });
  const cut = results.filter((r) => r.truncated).length;
  if (cut > 0)
    log(`warning: ${cut} source sentence(s) cut to the model's max_len (${md.cfg.max_len} tokens)`);
  const out = results.map(
    (r) =>
      o.jsonl
        ? JSON.stringify({ src: r.src, hyp: r.hyp, score: r.score, tokens: r.tokens })
        : r.hyp.replace(/\r?\n/g, ' '), // one line per sentence
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

export function registerTranslate(program: Command): void {
  program
    .command('translate <model>')
    .description(
      'translate sentences (one per line, from --input or stdin) with an encdec model, by beam search',
    )
    .option(
      '--input <file>',
      'read the sentences from this file (default: stdin)',
      arg.path('--input', { is: 'file' }),
    )
    .option(
      '--beam <k>',
      'beam size; 1 is greedy decoding (default 4)',
      arg.int('--beam', { min: 1, example: '4' }),
      4,
    )
    .option(
      '--len-penalty <a>',
      'length penalty alpha: rank by logprob / length^alpha (default 1.0)',
      arg.num('--len-penalty', { min: 0, example: '1.0' }),
      1,
    )
    .option(
      '--batch <n>',
      'sentences decoded together (default 32)',
      arg.int('--batch', { min: 1, example: '32' }),
      32,
    )
    .option(
      '--max-len <n>',
      'most output tokens, end token included (default min(max_len, 2 * source tokens + 10))',
      arg.int('--max-len', { min: 1, example: '64' }),
    )
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--jsonl', 'print one JSON object per sentence: {"src","hyp","score","tokens"}')
    .action((model: string, o: TranslateFlags) => translate(model, o));
}
