// `tlc compress` and `tlc eval`: parse flags, call the library, print a summary or JSON.
// The library loads when a command runs (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import type { CompressResult } from '../eval/model-eval.ts';

const log = (m: string) => process.stderr.write(`${m}\n`);
const mb = (b: number) => `${(b / 1e6).toFixed(3)} MB`;

export function registerCompress(program: Command): void {
  program
    .command('compress <run>')
    .description(
      'quantize and/or prune a trained run into a compressed model, and evaluate it (perplexity ± SE, KL, top-1)',
    )
    .option('--quant <spec>', 'weight quantization, e.g. int8, int4:group64, int3:channel:asym')
    .option(
      '--method <m>',
      'rtn (round to nearest) | gptq (error compensation from calibration batches)',
      'rtn',
    )
    .option('--prune <spec>', 'magnitude pruning, e.g. 50%, 90%:layer, 2:4, heads:25%, neurons:30%')
    .option('--embeddings', 'quantize the (tied) embeddings too (default: they stay fp32)')
    .option('--act8', 'evaluate with 8-bit dynamic per-token activations at every linear layer (W8A8)')
    .option('--calib-batches <n>', 'GPTQ calibration batches from the training split', '8')
    .option('--act-order', 'GPTQ: quantize columns in order of decreasing Hessian diagonal')
    .option('--gradual', 'prune gradually (cubic schedule) while fine-tuning, instead of one-shot')
    .option('--qat', 'quantization-aware fine-tuning (fake quantization, straight-through estimator)')
    .option('--steps <n>', 'fine-tuning steps for --gradual / --qat', '200')
    .option('--lr <x>', 'fine-tuning learning rate (default: a tenth of the run’s)')
    .option('--out <dir>', 'output folder (default <run>/compressed/<spec>)')
    .option('--threads <n>', 'threads (default: all cores)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (run: string, o) => {
      if (!o.quant && !o.prune && !o.act8)
        throw new InputError(
          'tlc compress needs --quant and/or --prune (or --act8)',
          'e.g. tlc compress RUN --quant int4:group64',
        );
      if (o.method !== 'rtn' && o.method !== 'gptq')
        throw new InputError(`--method: expected rtn or gptq, found '${o.method}'`);
      const calib = Number(o.calibBatches);
      if (!Number.isInteger(calib) || calib < 1)
        throw new InputError(`--calib-batches: expected a positive integer, found '${o.calibBatches}'`);
      const spec = {
        quant: o.quant ?? null,
        method: o.method,
        prune: o.prune ?? null,
        embeddings: Boolean(o.embeddings),
        act8: Boolean(o.act8),
        gptq: { actorder: Boolean(o.actOrder) },
      };
      const tag = [
        o.quant && `${o.qat ? 'qat' : o.method}-${o.quant}`,
        o.prune && `${o.gradual ? 'gradual' : 'prune'}-${o.prune}`,
        o.act8 && 'act8',
      ]
        .filter(Boolean)
        .join('_')
        .replace(/[^\w.-]/g, '_');
      const out = o.out ?? path.join(run, 'compressed', tag);
      const [{ createBackend }, { compressRun }, { finetuneForCompression }, { loadTrainedRun }] =
        await Promise.all([
          import('../engine/select.ts'),
          import('../eval/model-eval.ts'),
          import('../compress/finetune.ts'),
          import('../train/load.ts'),
        ]);
      const be = createBackend('native', o.threads ? Number(o.threads) : undefined);
      let r: CompressResult;
      if (o.gradual || o.qat) {
        const steps = Number(o.steps);
        if (!Number.isInteger(steps) || steps < 1)
          throw new InputError(`--steps: expected a positive integer, found '${o.steps}'`);
        const ft = finetuneForCompression(run, out, spec, {
          steps,
          lr: o.lr ? Number(o.lr) : undefined,
          gradual: Boolean(o.gradual),
          qat: Boolean(o.qat),
          be,
        });
        r = compressRun(ft, spec, out, be, {
          calibBatches: calib,
          log,
          reference: loadTrainedRun(run, be, log),
        });
      } else r = compressRun(run, spec, out, be, { calibBatches: calib, log });
      if (o.json) return void process.stdout.write(`${JSON.stringify({ out, ...r })}\n`);
      const c = r.compressed;
      process.stdout.write(
        `${out}: ${mb(r.bytes)} (dense ${mb(r.dense_bytes)}), ${r.nonzero}/${r.total} non-zero\n` +
          `  perplexity ${c.ppl.toFixed(3)} [${c.ppl_low.toFixed(3)}, ${c.ppl_high.toFixed(3)}] vs dense ${r.dense.ppl.toFixed(3)}; KL ${c.kl?.toFixed(5)} nats, top-1 agreement ${((c.top1 ?? 0) * 100).toFixed(2)}%\n` +
          (c.translation && r.dense.translation
            ? `  BLEU ${c.translation.bleu.toFixed(2)} vs dense ${r.dense.translation.bleu.toFixed(2)}, chrF ${c.translation.chrf.toFixed(2)} vs dense ${r.dense.translation.chrf.toFixed(2)} (greedy, ${c.translation.sentences} sentences)\n`
            : ''),
      );
    });
  program
    .command('eval <model>')
    .description('evaluate a training run or a compressed model on its validation windows (or --data)')
    .option('--data <name|path>', 'evaluate on other data (with the model’s tokenizer)')
    .option('--threads <n>', 'threads (default: all cores)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (model: string, o) => {
      const [{ createBackend }, { evaluateModelDir }] = await Promise.all([
        import('../engine/select.ts'),
        import('../eval/model-eval.ts'),
      ]);
      const be = createBackend('native', o.threads ? Number(o.threads) : undefined);
      const r = evaluateModelDir(model, be, { data: o.data, log });
      if (o.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      const s = r.scores;
      process.stdout.write(
        `${model} on ${r.data}: perplexity ${s.ppl.toFixed(3)} [${s.ppl_low.toFixed(3)}, ${s.ppl_high.toFixed(3)}] over ${s.tokens} tokens` +
          (s.kl !== null ? `; vs dense: KL ${s.kl.toFixed(5)}, top-1 ${(100 * s.top1!).toFixed(2)}%` : '') +
          (s.accuracy !== null ? `; accuracy ${(100 * s.accuracy).toFixed(2)}%` : '') +
          `; ${mb(r.bytes)}\n` +
          (s.translation
            ? `  BLEU ${s.translation.bleu.toFixed(2)}, chrF ${s.translation.chrf.toFixed(2)} (greedy, ${s.translation.sentences} sentences; ${s.translation.bleu_signature})\n` +
              s.translation.examples.map((e) => `  hyp: ${e.hyp}\n  ref: ${e.ref}\n`).join('')
            : ''),
      );
    });
}
