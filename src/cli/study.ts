// `tlc study`: the paper's method end to end on the user's data and hardware: train a size grid
// under one wall-clock budget, compress every model over a grid, evaluate, report, give verdicts.
// The library loads when the command runs, the report's (vega) once the runs are done (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { PRESETS, type StudyPreset } from '../study/presets.ts';
import { arg, BACKENDS, PRECISIONS } from './flags.ts';

const PRESET_NAMES = Object.keys(PRESETS) as StudyPreset['name'][];

/** Fail before any job starts when --data or --finetune cannot be used (each job would fail the same way). */
async function checkData(data: string, finetune: string | undefined): Promise<void> {
  const { checkDataSpec } = await import('../data/load.ts');
  checkDataSpec(data, 'text');
  if (finetune) checkDataSpec(finetune, 'labels');
}

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description(
      'train sizes under one wall-clock budget, compress them, evaluate, and report the paper’s three claims',
    )
    .option(
      '--preset <name>',
      'quick (≤ 3 min) | default (≤ 20 min) | full (hours, 3 seeds)',
      arg.oneOf('--preset', PRESET_NAMES),
      'default',
    )
    .option('--data <name|path>', 'text data: a recipe (tlc data list) or your files', 'prose-en')
    .option(
      '--budget <seconds>',
      'training seconds per size (default: the preset’s)',
      arg.num('--budget', { gt: 0, example: '60' }),
    )
    .option(
      '--finetune <name|path>',
      'also fine-tune every size on this classification data (e.g. sentiment-en)',
    )
    .option('--out <dir>', 'study folder (default studies/<preset>-<data>); re-running resumes it')
    .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
    .option('--backend <name>', 'native | ts', arg.oneOf('--backend', BACKENDS), 'native')
    .option(
      '--precision <p>',
      'training precision: fp32 | bf16 (bf16 GEMMs, fp32 weights)',
      arg.oneOf('--precision', PRECISIONS),
      'fp32',
    )
    .option('--json', 'print the verdicts and paths as JSON on stdout')
    .action(async (o) => {
      const preset = PRESETS[o.preset as StudyPreset['name']];
      const budgetS: number = o.budget ?? preset.budgetS;
      const threads: number | undefined = o.threads;
      await checkData(o.data, o.finetune);
      const outDir = o.out ?? path.join('studies', `${preset.name}-${path.basename(String(o.data))}`);
      const [{ createBackend }, { runStudy }] = await Promise.all([
        import('../engine/select.ts'),
        import('../study/run.ts'),
      ]);
      const be = createBackend(o.backend, threads);
      const results = await runStudy({
        preset,
        data: o.data,
        budgetS,
        outDir,
        backend: o.backend,
        threads,
        precision: o.precision,
        finetune: o.finetune ?? null,
        be,
      });
      const { writeReport } = await import('../report/html.ts'); // vega: only once the runs are done
      const report = await writeReport(results, path.join(outDir, 'report'));
      for (const w of report.warnings) process.stderr.write(`report warning: ${w}\n`);
      const html = path.join(outDir, 'report', 'index.html');
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ out: outDir, report: html, compute_optimal: results.frontier.compute_optimal, verdicts: results.verdicts })}\n`,
        );
        return;
      }
      process.stdout.write(`\nreport: ${html}\n`);
      process.stdout.write(
        `compute-optimal size at ${budgetS} s: ${results.frontier.compute_optimal.size_id} (perplexity ${results.frontier.compute_optimal.ppl.toFixed(2)})\n`,
      );
      for (const v of results.verdicts)
        process.stdout.write(`claim ${v.claim}: ${v.verdict} — ${v.statement}\n`);
    });
}
