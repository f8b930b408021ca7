// `tlc train` and `tlc finetune`: parse flags, load the config, call the library. The library
// loads when a command runs (see commands.ts).
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import { arg, BACKENDS, PRECISIONS } from './flags.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

async function configFrom(
  spec: string,
  sets: string[],
  o: { deterministic?: boolean; threads?: number; backend?: string; precision?: string },
) {
  const { applyOverrides, parseConfig, readConfigSource, trainConfigSchema } = await import(
    '../train/config.ts'
  );
  const { raw, where } = readConfigSource(spec);
  const extra = [...sets];
  if (o.deterministic) extra.push('deterministic=true');
  if (o.threads) extra.push(`threads=${o.threads}`);
  if (o.backend) extra.push(`backend=${o.backend}`);
  if (o.precision) extra.push(`precision=${o.precision}`);
  return parseConfig(trainConfigSchema, applyOverrides(raw, extra), where);
}

function print(json: boolean, runDir: string, result: object): void {
  if (json) process.stdout.write(`${JSON.stringify({ run_dir: runDir, ...result })}\n`);
  else process.stdout.write(`run finished: ${runDir}\n`);
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train one model under a budget (seconds, steps, tokens, FLOPs); writes a run directory')
    .option('--config <file|preset>', 'YAML/JSON config or a preset name from configs/')
    .option('--set <key=value>', 'override a config key (repeatable), e.g. --set optim.lr=3e-4', collect, [])
    .option('--run-dir <dir>', 'where to write the run (default runs/<family>-<time>)')
    .option(
      '--resume <run-dir>',
      'continue a killed run from its last good checkpoint',
      arg.path('--resume', { is: 'dir', what: 'a run directory' }),
    )
    .option('--deterministic', 'bit-identical losses for the same config, seed and threads')
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--backend <name>', 'native | ts', arg.oneOf('--backend', BACKENDS))
    .option(
      '--precision <p>',
      'fp32 | bf16 (bf16 GEMMs in the linear layers, fp32 master weights)',
      arg.oneOf('--precision', PRECISIONS),
    )
    .option('--json', 'print the result as JSON on stdout')
    .action(async (o) => {
      if (!o.resume && !o.config)
        throw new InputError(
          'tlc train needs --config FILE|PRESET or --resume RUN',
          'e.g. tlc train --config tiny-encoder',
        );
      const { resumeRun, startRun } = await import('../train/run.ts');
      if (o.resume) {
        const result = resumeRun(o.resume);
        return print(Boolean(o.json), o.resume, result);
      }
      const { runDir, result } = startRun({ cfg: await configFrom(o.config, o.set, o), runDir: o.runDir });
      print(Boolean(o.json), runDir, result);
    });
  program
    .command('finetune')
    .description('fine-tune a pretrained encoder with a classification head (first-token pooling)')
    .requiredOption(
      '--from <run-dir>',
      'the pretrained encoder run (the fine-tuned model takes its shape)',
      arg.path('--from', { is: 'dir', what: 'a pretrained run directory' }),
    )
    .option(
      '--data <name|path>',
      'classification data: sentiment-en, reviews-en, or your files',
      'sentiment-en',
    )
    .option('--config <file|preset>', 'fine-tuning config (optim, budget, data)', 'finetune')
    .option('--set <key=value>', 'override a config key (repeatable)', collect, [])
    .option('--run-dir <dir>', 'where to write the run')
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--backend <name>', 'native | ts', arg.oneOf('--backend', BACKENDS))
    .option('--json', 'print the result as JSON on stdout')
    .action(async (o) => {
      const cfg = await configFrom(o.config, [...o.set, `data.name=${o.data}`], o);
      const { startRun } = await import('../train/run.ts');
      const { runDir, result } = startRun({ cfg, runDir: o.runDir, from: o.from });
      print(Boolean(o.json), runDir, result);
    });
}
