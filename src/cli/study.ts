// `tlc study`: the paper's method end to end on the user's data and hardware: train a size grid
// under one wall-clock budget, compress every model over a grid, evaluate, report, give verdicts.
// The library loads when the command runs, the report's (vega) once the runs are done (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import type { StudyPreset } from '../study/presets.ts';
import { arg, BACKENDS } from './flags.ts';

const PRESET_NAMES: StudyPreset['name'][] = ['quick', 'default', 'full', 'check'];

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description(
      'train sizes under one wall-clock budget, compress them, evaluate, and report the paper’s three claims',
    )
    .option(
      '--preset <name>',
      'quick (≤ 3 min) | default (≤ 20 min) | full (hours, 3 seeds) | check (≤ 60 min: tests the default study’s scaling prediction)',
      arg.oneOf('--preset', PRESET_NAMES),
      'default',
    )
    .option(
      '--task <name>',
      'mlm (masked-language-model encoders, default) | mt (encoder-decoder translation, BLEU; presets quick and default)',
      arg.oneOf('--task', ['mlm', 'mt'] as const),
      'mlm',
    )
    .option('--data <name|path>', 'text data: a recipe (tlc data list) or your files (default: the preset’s)')
    .option(
      '--budget <seconds>',
      'training seconds per size (default: the preset’s)',
      arg.num('--budget', { gt: 0, example: '60' }),
    )
    .option(
      '--finetune <name|path>',
      'also fine-tune every size on this classification data (e.g. sentiment-en)',
    )
    .option('--batch-sweep', 'the batch arm: two sizes at three batch sizes under the same budget')
    .option('--from <dir>', 'check preset: the default study folder whose fit it tests')
    .option('--out <dir>', 'study folder (default studies/<preset>-<data>); re-running resumes it')
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--backend <name>', 'native | ts', arg.oneOf('--backend', BACKENDS), 'native')
    .option(
      '--precision <p>',
      'training precision: auto (bf16 where the CPU multiplies bf16 natively, else fp32) | fp32 | bf16',
      arg.oneOf('--precision', ['auto', 'fp32', 'bf16'] as const),
      'auto',
    )
    .option(
      '--queue <url>',
      'run the jobs on a Redis queue (tlc worker on each machine): redis://HOST:PORT or env:NAME',
    )
    .option(
      '--steps <n>',
      'also stop every run after this many steps (exact comparisons)',
      arg.int('--steps', { min: 1 }),
    )
    .option('--deterministic', 'bit-identical losses for the same config, seed and threads')
    .option('--json', 'print the verdicts and paths as JSON on stdout')
    .action(async (o) => {
      const { runStudyCommand } = await import('./study-run.ts');
      await runStudyCommand({
        task: o.task as 'mlm' | 'mt',
        preset: o.preset as StudyPreset['name'],
        data: o.data,
        budgetS: o.budget,
        finetune: o.finetune ?? null,
        batchSweep: o.batchSweep === true,
        from: o.from,
        out: o.out,
        threads: o.threads,
        backend: o.backend,
        precision: o.precision,
        json: o.json === true,
        queue: o.queue,
        steps: o.steps,
        deterministic: o.deterministic === true,
        outDirFor: (preset: string, data: string) =>
          path.join('studies', `${o.task === 'mt' ? 'mt-' : ''}${preset}-${path.basename(data)}`),
      });
    });
}
