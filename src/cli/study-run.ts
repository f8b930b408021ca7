// What `tlc study` does once its flags are valid: resolve the preset, the data and the training
// precision, check the data before any job starts, run the study (or its check / batch arms),
// write the report and print the verdicts with their reasons and caveats.
import { NEAR_UNIGRAM_LABEL, nearUnigram } from '../study/baseline.ts';
import type { StudyPreset } from '../study/presets.ts';
import type { StudyResults, Verdict } from '../study/types.ts';

export interface StudyCommand {
  /** mlm (default): the encoder study; mt: the translation arm (src/study/mt/) */
  task?: 'mlm' | 'mt';
  preset: StudyPreset['name'];
  data: string | undefined;
  budgetS: number | undefined;
  finetune: string | null;
  batchSweep: boolean;
  from: string | undefined;
  out: string | undefined;
  threads: number | undefined;
  backend: string;
  precision: 'auto' | 'fp32' | 'bf16';
  json: boolean;
  /** a Redis URL (or env:NAME): jobs run on the queue's workers */
  queue?: string | undefined;
  steps?: number | undefined;
  deterministic?: boolean;
  outDirFor: (preset: string, data: string) => string;
}

/** auto: bf16 where oneDNN multiplies bf16 natively on this CPU (docs/recipe.md: same loss per step), else fp32. */
export async function choosePrecision(
  p: StudyCommand['precision'],
  backend: string,
): Promise<{ precision: 'fp32' | 'bf16'; why: string }> {
  if (p !== 'auto') return { precision: p, why: `--precision ${p}` };
  if (backend !== 'native') return { precision: 'fp32', why: 'auto: the ts backend computes in fp32' };
  const { hasNativeBf16 } = await import('../engine/native-backend.ts');
  return hasNativeBf16()
    ? {
        precision: 'bf16',
        why: 'auto: this CPU multiplies bf16 natively, and bf16 reaches the same loss per step as fp32 at these sizes (docs/recipe.md)',
      }
    : { precision: 'fp32', why: 'auto: this CPU has no native bf16 matmul' };
}

function verdictLine(v: Verdict): string {
  const caveats = v.caveats.length ? ` [caveat: ${v.caveats.join('; ')}]` : '';
  return `claim ${v.claim}: ${v.verdict} — ${v.reason}${caveats}`;
}

/** The compute-optimal size, its perplexity with the evaluation tokens behind it, and the baseline. */
export function computeOptimalLine(r: StudyResults): string {
  const co = r.frontier.compute_optimal;
  const ties = co.ties.length ? ` (tied within the noise: ${co.ties.join(', ')})` : '';
  const near = nearUnigram(co.ppl, r.data.unigram_ppl) ? `; ${NEAR_UNIGRAM_LABEL}` : '';
  return `compute-optimal size at ${r.budget_s} s: ${co.size_id} (perplexity ${co.ppl.toFixed(2)} on ${r.data.eval.tokens} evaluation tokens; unigram baseline ${r.data.unigram_ppl.toFixed(1)}${near})${ties}`;
}

/**
 * The fit's exponent beside the published ones, and the training time from which each size of
 * the grid would be the compute-optimal one on this machine (null without a fit).
 */
export function scalingLine(r: StudyResults): string | null {
  const f = r.scaling;
  if (!f) return null;
  const iv = f.intervals['exponent'];
  const ci = iv ? ` (95% ${iv.low.toFixed(2)}–${iv.high.toFixed(2)})` : '';
  const from = f.takeover
    .map(
      (x) =>
        `${x.size_id} ${x.from_s === null ? 'never in 1 s – 10^8 s' : `from ${Math.round(x.from_s).toLocaleString('en-US')} s`}`,
    )
    .join(', ');
  return `scaling on this machine: N_opt ∝ t^${f.exponent.toFixed(2)}${ci} (Kaplan 0.73, Hoffmann 0.46–0.50, both in FLOPs); by the fit, each size is the compute-optimal one: ${from}`;
}

function printResults(r: StudyResults, html: string, json: boolean, out: string): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ out, report: html, compute_optimal: r.frontier.compute_optimal, verdicts: r.verdicts, warnings: r.warnings })}\n`,
    );
    return;
  }
  process.stdout.write(`\nreport: ${html}\n`);
  for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(`${computeOptimalLine(r)}\n`);
  const scaling = scalingLine(r);
  if (scaling) process.stdout.write(`${scaling}\n`);
  for (const v of r.verdicts) process.stdout.write(`${verdictLine(v)}\n`);
}

export async function runStudyCommand(c: StudyCommand): Promise<void> {
  if (c.task === 'mt') return (await import('./study-mt.ts')).runMtStudyCommand(c);
  if (c.queue && (c.batchSweep || c.preset === 'check')) {
    const { InputError } = await import('../engine/errors.ts');
    throw new InputError(
      `--queue runs the main study's jobs (its size grid, compression and fine-tuning); it does not take ${c.batchSweep ? '--batch-sweep' : '--preset check'}`,
      'drop --queue to run that arm on this machine',
    );
  }
  const [{ PRESETS }, { checkStudyData }, { createBackend }, { runStudy }] = await Promise.all([
    import('../study/presets.ts'),
    import('../study/inputs.ts'),
    import('../engine/select.ts'),
    import('../study/run.ts'),
  ]);
  if (c.preset === 'check') {
    const { runCheckCommand } = await import('./study-check.ts');
    return runCheckCommand(c);
  }
  const preset = PRESETS[c.preset];
  const data = c.data ?? preset.data_name;
  checkStudyData(data, c.finetune);
  const { precision, why } = await choosePrecision(c.precision, c.backend);
  const outDir = c.out ?? c.outDirFor(c.batchSweep ? `${preset.name}-batch` : preset.name, data);
  const be = createBackend(c.backend, c.threads);
  const { fmaCeiling } = await import('../engine/native-backend.ts');
  const fmaFlops = c.backend === 'native' ? fmaCeiling(be.getThreads()) : Number.NaN;
  if (c.batchSweep) {
    const { runBatchSweepCommand } = await import('./study-batch.ts');
    return runBatchSweepCommand({ c, preset, data, outDir, precision, why, be, fmaFlops });
  }
  const executor = c.queue
    ? await (await import('../study/queue-executor.ts')).openQueueExecutor({ url: c.queue, studyDir: outDir })
    : undefined;
  const results = await runStudy({
    preset,
    data,
    budgetS: c.budgetS ?? preset.budgetS,
    outDir,
    backend: c.backend,
    threads: c.threads,
    precision,
    precisionWhy: why,
    finetune: c.finetune,
    be,
    fmaFlops,
    executor,
    steps: c.steps,
    deterministic: c.deterministic,
  }).finally(() => executor?.close());
  const { writeReport } = await import('../report/html.ts'); // vega: only once the runs are done
  const report = await writeReport(results, `${outDir}/report`);
  for (const w of report.warnings) process.stderr.write(`report warning: ${w}\n`);
  printResults(results, `${outDir}/report/index.html`, c.json, outDir);
}
