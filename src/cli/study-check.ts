// `tlc study --preset check`: test the default study's scaling prediction at a larger budget.
import type { StudyCommand } from './study-run.ts';

export async function runCheckCommand(c: StudyCommand): Promise<void> {
  const [{ PRESETS }, { runCheckArm }, { hasNativeBf16, fmaCeiling }, { createBackend }] = await Promise.all([
    import('../study/presets.ts'),
    import('../study/check.ts'),
    import('../engine/native-backend.ts'),
    import('../engine/select.ts'),
  ]);
  const preset = PRESETS.default;
  const from = c.from ?? c.outDirFor('default', c.data ?? preset.data_name);
  const precision =
    c.precision === 'auto' ? (c.backend === 'native' && hasNativeBf16() ? 'bf16' : 'fp32') : c.precision;
  const be = createBackend(c.backend, c.threads);
  const outDir = c.out ?? c.outDirFor('check', c.data ?? preset.data_name);
  const r = await runCheckArm({
    from,
    preset,
    outDir,
    backend: c.backend,
    threads: c.threads,
    precision,
    fmaFlops: c.backend === 'native' ? fmaCeiling(be.getThreads()) : Number.NaN,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const { writeCheckReport } = await import('../report/arms.ts');
  const html = writeCheckReport(r, `${outDir}/report`);
  if (c.json) process.stdout.write(`${JSON.stringify({ report: html, ...r })}\n`);
  else process.stdout.write(`\nreport: ${html}\n${r.summary}\n`);
}
