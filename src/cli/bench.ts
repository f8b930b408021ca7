// `tlc bench train`: timed training steps of one model shape; JSON on stdout with --json.
// The library loads when the command runs (see commands.ts).
import type { Command } from 'commander';
import { arg, BACKENDS, FAMILIES, PRECISIONS } from './flags.ts';

const int = (name: string) => arg.int(name, { min: 1 });

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('measure the engine');
  bench
    .command('train')
    .description('time forward + backward + AdamW steps on random tokens')
    .option('--family <family>', 'encoder | decoder | encdec', arg.oneOf('--family', FAMILIES), 'encoder')
    .option('--vocab <n>', 'vocabulary size', int('vocab'), 8192)
    .option('--d-model <n>', 'model width', int('d-model'), 256)
    .option('--layers <n>', 'layers (per stack)', int('layers'), 4)
    .option('--heads <n>', 'attention heads', int('heads'), 4)
    .option('--ff <n>', 'feed-forward width', int('ff'), 1024)
    .option('--seq <n>', 'sequence length', int('seq'), 128)
    .option('--batch <n>', 'sequences per step', int('batch'), 16)
    .option('--steps <n>', 'timed steps', int('steps'), 5)
    .option('--warmup <n>', 'untimed steps first', int('warmup'), 2)
    .option('--threads <n>', 'threads (default: all cores)', int('threads'))
    .option('--backend <name>', 'native | ts', arg.oneOf('--backend', BACKENDS), 'native')
    .option(
      '--precision <p>',
      'fp32 | bf16 (bf16 GEMMs in the linear layers)',
      arg.oneOf('--precision', PRECISIONS),
      'fp32',
    )
    .option('--json', 'print JSON only')
    .action(async (o) => {
      const [{ createBackend }, { resolveModelConfig }, { benchTrain }, { machineInfo }] = await Promise.all([
        import('../engine/select.ts'),
        import('../model/config.ts'),
        import('../train/bench.ts'),
        import('../engine/machine.ts'),
      ]);
      const cfg = resolveModelConfig({
        family: o.family,
        vocab: o.vocab,
        d_model: o.dModel,
        n_layers: o.layers,
        n_heads: o.heads,
        d_ff: o.ff,
        max_len: o.seq,
      });
      const be = createBackend(o.backend, o.threads, o.precision);
      const r = benchTrain(be, {
        cfg,
        seq: o.seq,
        batch: o.batch,
        warmup: o.warmup,
        steps: o.steps,
        seed: 1,
      });
      const out = { ...r, machine: machineInfo(), command: `tlc ${process.argv.slice(2).join(' ')}` };
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else
        process.stdout.write(
          `${r.tokens_per_s} tokens/s, ${r.step_ms} ms/step (${r.backend}, ${r.threads} threads, ${r.params} params)\n`,
        );
    });
}
