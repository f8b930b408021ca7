// `tlc infer MODEL --fill-mask "text with <mask>"` (or --input FILE, one text per line, JSONL out):
// the top-k tokens at each <mask> from a compressed model (int8 runtime) or a training run (fp32).
// Progress on stderr; results on stdout. The library loads when the command runs.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import type { FillMaskResult } from '../infer/fill-mask.ts';
import { arg } from './flags.ts';

interface InferFlags {
  fillMask?: string;
  input?: string;
  topK: number;
  batch: number;
  outlierThreshold?: number;
  threads?: number;
  json?: boolean;
}

/** The texts to fill and how to name each in messages. */
function textsOf(o: InferFlags): { texts: string[]; where: (i: number) => string } {
  if ((o.fillMask === undefined) === (o.input === undefined))
    throw new InputError(
      `tlc infer expects exactly one of --fill-mask TEXT or --input FILE, found ${o.fillMask === undefined ? 'neither' : 'both'}`,
      'e.g. tlc infer RUN --fill-mask "the <mask> sat on the mat"',
    );
  if (o.fillMask !== undefined) return { texts: [o.fillMask], where: () => '--fill-mask' };
  const lines = fs.readFileSync(o.input!, 'utf8').split(/\r?\n/);
  const at: number[] = [];
  lines.forEach((l, i) => {
    if (l.trim() !== '') at.push(i);
  });
  if (at.length === 0)
    throw new InputError(
      `--input ${o.input}: expected one text per line, found no non-empty line`,
      'write one text with <mask> per line',
    );
  return { texts: at.map((i) => lines[i]!), where: (i) => `${o.input}:${at[i]! + 1}` };
}

function summary(r: FillMaskResult): string {
  const masks = r.masks.map(
    (c, i) =>
      `  <mask> ${i + 1}: ${c.map((x) => `${JSON.stringify(x.token)} ${(100 * x.prob).toFixed(1)}%`).join(', ')}\n`,
  );
  return `${r.filled}\n${masks.join('')}`;
}

export function registerInfer(program: Command): void {
  program
    .command('infer <model>')
    .description('fill-mask with an encoder: a compressed model (int8 runtime) or a training run (fp32)')
    .option('--fill-mask <text>', 'a text with one or more <mask> markers')
    .option(
      '--input <file>',
      'one text with <mask> per line; JSONL results on stdout',
      arg.path('--input', { is: 'file' }),
    )
    .option('--top-k <k>', 'tokens shown per <mask>', arg.int('--top-k', { min: 1, example: '5' }), 5)
    .option('--batch <n>', 'texts per forward pass', arg.int('--batch', { min: 1, example: '16' }), 16)
    .option(
      '--outlier-threshold <x>',
      'int8: input channels with |x| above this run in float (default 6)',
      arg.num('--outlier-threshold', { gt: 0, example: '6' }),
    )
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--json', 'print the result as JSON on stdout (--input always writes JSONL)')
    .action(async (model: string, o: InferFlags) => {
      const { texts, where } = textsOf(o);
      const [{ createBackend }, { loadInferModel }, { fillMask }] = await Promise.all([
        import('../engine/select.ts'),
        import('../infer/load.ts'),
        import('../infer/fill-mask.ts'),
      ]);
      const be = createBackend('native', o.threads);
      const m = loadInferModel(model, be, {
        outlierThreshold: o.outlierThreshold,
        log: (s) => process.stderr.write(`${s}\n`),
      });
      const mb = (b: number) => (b / 1e6).toFixed(3);
      process.stderr.write(
        `infer: ${model} (${m.kind}; weights held ${mb(m.bytes.int8 + m.bytes.fp32)} MB, fp32 ${mb(m.bytes.dense)} MB), ${texts.length} text(s)\n`,
      );
      let last = 0;
      const results = fillMask(m.model, m.tokenizer, texts, {
        topK: o.topK,
        batch: o.batch,
        where,
        progress: (done, total) => {
          const now = performance.now();
          if (done < total && now - last < 2000) return;
          last = now;
          process.stderr.write(`infer: ${done}/${total} texts\n`);
        },
      });
      if (o.input !== undefined || o.json)
        for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(results.map(summary).join(''));
    });
}
