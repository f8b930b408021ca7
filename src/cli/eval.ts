// `tlc eval`: evaluate a training run or a compressed model with the protocol, print a summary or
// JSON. Registered by compress.ts, right after `tlc compress`. The library loads when the command runs.
import type { Command } from 'commander';
import type { evaluateModelDir } from '../eval/model-eval.ts';
import { arg } from './flags.ts';

const log = (m: string) => process.stderr.write(`${m}\n`);
export const mb = (b: number) => `${(b / 1e6).toFixed(3)} MB`;

function summary(model: string, r: ReturnType<typeof evaluateModelDir>): string {
  const s = r.scores;
  return (
    `${model} on ${r.data}: perplexity ${s.ppl.toFixed(3)} [${s.ppl_low.toFixed(3)}, ${s.ppl_high.toFixed(3)}] over ${s.tokens} tokens` +
    (s.kl !== null ? `; vs dense: KL ${s.kl.toFixed(5)}, top-1 ${(100 * s.top1!).toFixed(2)}%` : '') +
    (s.accuracy !== null ? `; accuracy ${(100 * s.accuracy).toFixed(2)}%` : '') +
    `; ${mb(r.bytes)}\n` +
    (s.translation
      ? `  BLEU ${s.translation.bleu.toFixed(2)}, chrF ${s.translation.chrf.toFixed(2)} (greedy, ${s.translation.sentences} sentences; ${s.translation.bleu_signature})\n` +
        s.translation.examples.map((e) => `  hyp: ${e.hyp}\n  ref: ${e.ref}\n`).join('')
      : '')
  );
}

export function registerEval(program: Command): void {
  program
    .command('eval <model>')
    .description('evaluate a training run or a compressed model on its validation windows (or --data)')
    .option('--data <name|path>', 'evaluate on other data (with the model’s tokenizer)')
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--json', 'print the result as JSON on stdout')
    .action(async (model: string, o: { data?: string; threads?: number; json?: boolean }) => {
      const [{ createBackend }, { evaluateModelDir }] = await Promise.all([
        import('../engine/select.ts'),
        import('../eval/model-eval.ts'),
      ]);
      const be = createBackend('native', o.threads);
      const r = evaluateModelDir(model, be, { data: o.data, log });
      if (o.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(summary(model, r));
    });
}
