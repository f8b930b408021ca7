// `tlc study --batch-sweep`: run the batch arm, write its page, print its summary.
import type { Backend } from '../engine/backend.ts';
import type { StudyPreset } from '../study/presets.ts';
import type { StudyCommand } from './study-run.ts';

export async function runBatchSweepCommand(o: {
  c: StudyCommand;
  preset: StudyPreset;
  data: string;
  outDir: string;
  precision: 'fp32' | 'bf16';
  why: string;
  be: Backend<Float32Array>;
  fmaFlops: number;
}): Promise<void> {
  const { runBatchArm } = await import('../study/batch-arm.ts');
  const r = await runBatchArm({
    preset: o.preset,
    data: o.data,
    outDir: o.outDir,
    budgetS: o.c.budgetS ?? o.preset.budgetS,
    threads: o.c.threads,
    backend: o.c.backend,
    precision: o.precision,
    precisionWhy: o.why,
    fmaFlops: o.fmaFlops,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const { writeBatchReport } = await import('../report/arms.ts');
  const html = await writeBatchReport(r, `${o.outDir}/report`);
  if (o.c.json)
    process.stdout.write(
      `${JSON.stringify({ report: html, summary: r.summary, comparisons: r.comparisons, warnings: r.warnings })}\n`,
    );
  else {
    process.stdout.write(`\nreport: ${html}\n`);
    for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
    process.stdout.write(`${r.summary}\n`);
  }
}
