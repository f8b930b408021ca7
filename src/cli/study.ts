// `tlc study`: the paper's method end to end on the user's data and hardware: train a size grid
// under one wall-clock budget, compress every model over a grid, evaluate, report, give verdicts.
// The library loads when the command runs, the report's (vega) once the runs are done (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import type { StudyPreset } from '../study/presets.ts';

const PRESET_NAMES = ['quick', 'default', 'full', 'check'] as const;

function positiveNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InputError(`${flag}: expected a positive number, found '${v}'`, `e.g. ${flag} 120`);
  return n;
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  const n = positiveNumber(flag, v);
  if (n !== undefined && !Number.isInteger(n))
    throw new InputError(`${flag}: expected a positive whole number, found '${v}'`, `e.g. ${flag} 2`);
  return n;
}

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description(
      'train sizes under one wall-clock budget, compress them, evaluate, and report the paper’s three claims',
    )
    .option(
      '--preset <name>',
      'quick (≤ 3 min) | default (≤ 20 min) | full (hours, 3 seeds) | check (≤ 60 min: tests the default study’s scaling prediction)',
      'default',
    )
    .option('--data <name|path>', 'text data: a recipe (tlc data list) or your files (default: the preset’s)')
    .option('--budget <seconds>', 'training seconds per size (default: the preset’s)')
    .option(
      '--finetune <name|path>',
      'also fine-tune every size on this classification data (e.g. sentiment-en)',
    )
    .option('--batch-sweep', 'the batch arm: two sizes at three batch sizes under the same budget')
    .option('--from <dir>', 'check preset: the default study folder whose fit it tests')
    .option('--out <dir>', 'study folder (default studies/<preset>-<data>); re-running resumes it')
    .option('--threads <n>', 'threads (default: all cores)')
    .option('--backend <name>', 'native | ts', 'native')
    .option(
      '--precision <p>',
      'training precision: auto (bf16 where the CPU multiplies bf16 natively, else fp32) | fp32 | bf16',
      'auto',
    )
    .option('--json', 'print the verdicts and paths as JSON on stdout')
    .action(async (o) => {
      if (!(PRESET_NAMES as readonly string[]).includes(o.preset))
        throw new InputError(`--preset: expected ${PRESET_NAMES.join(', ')}, found '${o.preset}'`);
      if (!['auto', 'fp32', 'bf16'].includes(o.precision))
        throw new InputError(`--precision: expected auto, fp32 or bf16, found '${o.precision}'`);
      if (!['native', 'ts'].includes(o.backend))
        throw new InputError(`--backend: expected native or ts, found '${o.backend}'`);
      const threads = positiveInt('--threads', o.threads);
      const budget = positiveNumber('--budget', o.budget);
      const { runStudyCommand } = await import('./study-run.ts');
      await runStudyCommand({
        preset: o.preset as StudyPreset['name'],
        data: o.data,
        budgetS: budget,
        finetune: o.finetune ?? null,
        batchSweep: o.batchSweep === true,
        from: o.from,
        out: o.out,
        threads,
        backend: o.backend,
        precision: o.precision,
        json: o.json === true,
        outDirFor: (preset: string, data: string) => path.join('studies', `${preset}-${path.basename(data)}`),
      });
    });
}
