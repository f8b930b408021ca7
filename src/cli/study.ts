// `tlc study`: the paper's method end to end on the user's data and hardware: train a size grid
// under one wall-clock budget, compress every model over a grid, evaluate, report, give verdicts.
// The library loads when the command runs, the report's (vega) once the runs are done (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';
import { PRESETS, type StudyPreset } from '../study/presets.ts';
import { intFlag } from './study-job.ts';

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description(
      'train sizes under one wall-clock budget, compress them, evaluate, and report the paper’s three claims',
    )
    .option('--preset <name>', 'quick (≤ 3 min) | default (≤ 20 min) | full (hours, 3 seeds)', 'default')
    .option('--data <name|path>', 'text data: a recipe (tlc data list) or your files', 'prose-en')
    .option('--budget <seconds>', 'training seconds per size (default: the preset’s)')
    .option(
      '--finetune <name|path>',
      'also fine-tune every size on this classification data (e.g. sentiment-en)',
    )
    .option('--out <dir>', 'study folder (default studies/<preset>-<data>); re-running resumes it')
    .option('--threads <n>', 'threads (default: all cores)')
    .option('--backend <name>', 'native | ts', 'native')
    .option('--precision <p>', 'training precision: fp32 | bf16 (bf16 GEMMs, fp32 weights)', 'fp32')
    .option('--json', 'print the verdicts and paths as JSON on stdout')
    .option(
      '--queue <url>',
      'run the jobs on a Redis queue (tlc worker on each machine): redis://HOST:PORT or env:NAME',
    )
    .option('--steps <n>', 'also stop every run after this many steps (exact comparisons)')
    .option('--deterministic', 'bit-identical losses for the same config, seed and threads')
    .action(async (o) => {
      const preset: StudyPreset | undefined = PRESETS[o.preset as StudyPreset['name']];
      if (!preset) throw new InputError(`--preset: expected quick, default or full, found '${o.preset}'`);
      const budgetS = o.budget === undefined ? preset.budgetS : Number(o.budget);
      if (!(budgetS > 0))
        throw new InputError(`--budget: expected a positive number of seconds, found '${o.budget}'`);
      const threads = o.threads ? Number(o.threads) : undefined;
      if (o.precision !== 'fp32' && o.precision !== 'bf16')
        throw new InputError(`--precision: expected fp32 or bf16, found '${o.precision}'`);
      const outDir = o.out ?? path.join('studies', `${preset.name}-${path.basename(String(o.data))}`);
      const [{ createBackend }, { runStudy }] = await Promise.all([
        import('../engine/select.ts'),
        import('../study/run.ts'),
      ]);
      const be = createBackend(o.backend, threads);
      const steps = intFlag('--steps', o.steps);
      const executor = o.queue
        ? await (await import('../study/queue-executor.ts')).openQueueExecutor({
            url: o.queue,
            studyDir: outDir,
          })
        : undefined;
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
        executor,
        steps,
        deterministic: Boolean(o.deterministic),
      }).finally(() => executor?.close());
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
