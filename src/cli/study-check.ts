// `tlc study --preset check`: test the default study's scaling prediction at a larger budget.
import { choosePrecision, type StudyCommand } from './study-run.ts';

export async function runCheckCommand(c: StudyCommand): Promise<void> {
  const [{ PRESETS }, { runCheckArm }, { fmaCeiling }, { createBackend }] = await Promise.all([
    import('../study/presets.ts'),
    import('../study/check.ts'),
    import('../engine/native-backend.ts'),
    import('../engine/select.ts'),
  ]);
  const preset = PRESETS.default;
  const from = c.from ?? c.outDirFor('default', c.data ?? preset.data_name);
  // the same rule as the study's (a check trained otherwise would not test the study's fit)
  const { precision, why } = await choosePrecision(c.precision, c.backend);
  const be = createBackend(c.backend, c.threads);
  const outDir = c.out ?? c.outDirFor('check', c.data ?? preset.data_name);
  const r = await runCheckArm({
    from,
    preset,
    outDir,
    backend: c.backend,
    threads: c.threads,
    precision,
    precisionWhy: why,
    fmaFlops: c.backend === 'native' ? fmaCeiling(be.getThreads()) : Number.NaN,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const { writeCheckReport } = await import('../report/arms.ts');
  const html = writeCheckReport(r, `${outDir}/report`);
  if (c.json) process.stdout.write(`${JSON.stringify({ report: html, ...r })}\n`);
  else process.stdout.write(`\nreport: ${html}\n${r.summary}\n`);
}
