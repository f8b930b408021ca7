// What `tlc study --task mt` does once its flags are valid: refuse the options of the MLM arm it
// does not have, check the data holds translation pairs, run the translation study, write its
// report and print the BLEU frontier's optimum and the verdicts.
import { InputError } from '../engine/errors.ts';
import type { MtResults, MtVerdict } from '../study/mt/types.ts';
import type { StudyCommand } from './study-run.ts';

function verdictLine(v: MtVerdict): string {
  const caveats = v.caveats.length ? ` [caveat: ${v.caveats.join('; ')}]` : '';
  return `claim ${v.claim}: ${v.verdict} — ${v.reason}${caveats}`;
}

function printResults(r: MtResults, html: string, json: boolean, out: string): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ out, report: html, compute_optimal: r.compute_optimal, verdicts: r.verdicts, warnings: r.warnings })}\n`,
    );
    return;
  }
  process.stdout.write(`\nreport: ${html}\n`);
  for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
  const co = r.compute_optimal;
  const ties = co.ties.length ? ` (inside the noise: ${co.ties.join(', ')})` : '';
  process.stdout.write(
    `compute-optimal size at ${r.budget_s} s: ${co.size_id} (BLEU ${co.bleu.toFixed(2)}, beam ${r.runs[0]?.final.decoding === 'beam' ? 'search' : ''} on ${r.data.sample.sentences} validation sentences)${ties}\n`,
  );
  for (const v of r.verdicts) process.stdout.write(`${verdictLine(v)}\n`);
}

export async function runMtStudyCommand(c: StudyCommand): Promise<void> {
  const unsupported = [
    c.finetune ? '--finetune' : '',
    c.batchSweep ? '--batch-sweep' : '',
    c.from ? '--from' : '',
    c.queue ? '--queue' : '',
  ].filter(Boolean);
  if (unsupported.length)
    throw new InputError(
      `tlc study --task mt does not take ${unsupported.join(', ')} (found on the command line)`,
      'drop them; they belong to the MLM study (--task mlm)',
    );
  if (c.preset !== 'quick' && c.preset !== 'default')
    throw new InputError(
      `the translation study has the presets quick and default, found --preset ${c.preset}`,
      'use --preset quick (≤ 3 min) or --preset default (≤ 30 min)',
    );
  const [{ MT_PRESETS }, { checkDataSpec }, { createBackend }, { runMtStudy }, { choosePrecision }] =
    await Promise.all([
      import('../study/mt/presets.ts'),
      import('../data/load.ts'),
      import('../engine/select.ts'),
      import('../study/mt/run.ts'),
      import('./study-run.ts'),
    ]);
  const preset = MT_PRESETS[c.preset];
  const data = c.data ?? preset.data_name;
  checkDataSpec(data, 'pairs');
  const { precision, why } = await choosePrecision(c.precision, c.backend);
  const outDir = c.out ?? c.outDirFor(preset.name, data);
  const be = createBackend(c.backend, c.threads);
  const results = await runMtStudy({
    preset,
    data,
    budgetS: c.budgetS ?? preset.budgetS,
    outDir,
    backend: c.backend,
    threads: c.threads,
    precision,
    precisionWhy: why,
    be,
    steps: c.steps,
    deterministic: c.deterministic,
  });
  const { writeMtReport } = await import('../report/mt-html.ts'); // vega: only once the runs are done
  const report = await writeMtReport(results, `${outDir}/report`);
  for (const w of report.warnings) process.stderr.write(`report warning: ${w}\n`);
  printResults(results, `${outDir}/report/index.html`, c.json, outDir);
}
