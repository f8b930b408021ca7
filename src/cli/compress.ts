// `tlc compress`: parse flags, call the library, print a summary or JSON. `tlc eval` (its checker)
// lives in eval.ts and registers here, after it. The library loads when a command runs (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CompressSpec } from '../compress/compress.ts';
import { InputError } from '../engine/errors.ts';
import type { CompressResult } from '../eval/model-eval.ts';
import { mb, registerEval } from './eval.ts';
import { arg } from './flags.ts';

const log = (m: string) => process.stderr.write(`${m}\n`);

/** The flags of `tlc compress`, as commander hands them over (parsed by ./flags.ts). */
interface CompressFlags {
  quant?: string;
  method: 'rtn' | 'gptq';
  prune?: string;
  embeddings?: boolean;
  act8?: boolean;
  calibBatches: number;
  actOrder?: boolean;
  gradual?: boolean;
  qat?: boolean;
  steps: number;
  lr?: number;
  out?: string;
  threads?: number;
  json?: boolean;
}

function specOf(o: CompressFlags): CompressSpec {
  if (!o.quant && !o.prune && !o.act8)
    throw new InputError(
      'tlc compress needs --quant and/or --prune (or --act8)',
      'e.g. tlc compress RUN --quant int4:group64',
    );
  return {
    quant: o.quant ?? null,
    method: o.method,
    prune: o.prune ?? null,
    embeddings: Boolean(o.embeddings),
    act8: Boolean(o.act8),
    gptq: { actorder: Boolean(o.actOrder) },
  };
}

/** The default output folder's name: what was done, e.g. `gptq-int4_group64_prune-50_`. */
function outTag(o: CompressFlags): string {
  return [
    o.quant && `${o.qat ? 'qat' : o.method}-${o.quant}`,
    o.prune && `${o.gradual ? 'gradual' : 'prune'}-${o.prune}`,
    o.act8 && 'act8',
  ]
    .filter(Boolean)
    .join('_')
    .replace(/[^\w.-]/g, '_');
}

/** One-shot compression, or fine-tuning first (--gradual / --qat) and compressing the result. */
async function compress(
  run: string,
  out: string,
  spec: CompressSpec,
  o: CompressFlags,
): Promise<CompressResult> {
  const [{ createBackend }, { compressRun }, { finetuneForCompression }, { loadTrainedRun }] =
    await Promise.all([
      import('../engine/select.ts'),
      import('../eval/model-eval.ts'),
      import('../compress/finetune.ts'),
      import('../train/load.ts'),
    ]);
  const be = createBackend('native', o.threads);
  const opts = { calibBatches: o.calibBatches, log };
  if (!o.gradual && !o.qat) return compressRun(run, spec, out, be, opts);
  const ft = finetuneForCompression(run, out, spec, {
    steps: o.steps,
    lr: o.lr,
    gradual: Boolean(o.gradual),
    qat: Boolean(o.qat),
    be,
  });
  return compressRun(ft, spec, out, be, { ...opts, reference: loadTrainedRun(run, be, log) });
}

function summary(out: string, r: CompressResult): string {
  const c = r.compressed;
  return (
    `${out}: ${mb(r.bytes)} (dense ${mb(r.dense_bytes)}), ${r.nonzero}/${r.total} non-zero\n` +
    `  perplexity ${c.ppl.toFixed(3)} [${c.ppl_low.toFixed(3)}, ${c.ppl_high.toFixed(3)}] vs dense ${r.dense.ppl.toFixed(3)}; KL ${c.kl?.toFixed(5)} nats, top-1 agreement ${((c.top1 ?? 0) * 100).toFixed(2)}%\n` +
    (c.translation && r.dense.translation
      ? `  BLEU ${c.translation.bleu.toFixed(2)} vs dense ${r.dense.translation.bleu.toFixed(2)}, chrF ${c.translation.chrf.toFixed(2)} vs dense ${r.dense.translation.chrf.toFixed(2)} (greedy, ${c.translation.sentences} sentences)\n`
      : '')
  );
}

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
      arg.oneOf('--method', ['rtn', 'gptq'] as const),
      'rtn',
    )
    .option('--prune <spec>', 'magnitude pruning, e.g. 50%, 90%:layer, 2:4, heads:25%, neurons:30%')
    .option('--embeddings', 'quantize the (tied) embeddings too (default: they stay fp32)')
    .option('--act8', 'evaluate with 8-bit dynamic per-token activations at every linear layer (W8A8)')
    .option(
      '--calib-batches <n>',
      'GPTQ calibration batches from the training split',
      arg.int('--calib-batches', { min: 1 }),
      8,
    )
    .option('--act-order', 'GPTQ: quantize columns in order of decreasing Hessian diagonal')
    .option('--gradual', 'prune gradually (cubic schedule) while fine-tuning, instead of one-shot')
    .option('--qat', 'quantization-aware fine-tuning (fake quantization, straight-through estimator)')
    .option('--steps <n>', 'fine-tuning steps for --gradual / --qat', arg.int('--steps', { min: 1 }), 200)
    .option(
      '--lr <x>',
      'fine-tuning learning rate (default: a tenth of the run’s)',
      arg.num('--lr', { gt: 0, example: '3e-5' }),
    )
    .option('--out <dir>', 'output folder (default <run>/compressed/<spec>)')
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--json', 'print the result as JSON on stdout')
    .action(async (run: string, o: CompressFlags) => {
      const spec = specOf(o);
      const out = o.out ?? path.join(run, 'compressed', outTag(o));
      const r = await compress(run, out, spec, o);
      if (o.json) return void process.stdout.write(`${JSON.stringify({ out, ...r })}\n`);
      process.stdout.write(summary(out, r));
    });
  registerEval(program);
}
