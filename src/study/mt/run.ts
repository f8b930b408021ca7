// The translation study end to end: train every encoder-decoder size for the same wall-clock
// budget (executor jobs), draw the fixed BLEU sample, translate it with each run's snapshots at
// the BLEU grid times (greedy) and its final model (beam), compress each final model over the
// grid, then build the BLEU frontier and the verdicts into one MtResults document.
import * as path from 'node:path';
import { Tokenizer } from '../../data/tokenizer/index.ts';
import type { Backend } from '../../engine/backend.ts';
import { InputError } from '../../engine/errors.ts';
import { machineInfo } from '../../engine/machine.ts';
import { TLC_VERSION } from '../../engine/version.ts';
import type { BleuStats } from '../../eval/bleu.ts';
import { modelStats } from '../../model/config.ts';
import type { SavedRunConfig } from '../../train/run.ts';
import { gitHash, readJson } from '../../train/rundir.ts';
import { type Executor, LocalExecutor } from '../executor.ts';
import { timeGrid } from '../fits.ts';
import { runJobs } from '../run.ts';
import { type PlannedRun, trainingJobs } from '../sweep.ts';
import { mtCompressGrid } from './compress.ts';
import { type Decoding, readJsonOutputs, runBleu, scoreOutputs } from './decode.ts';
import { bleuFrontier } from './frontier.ts';
import { planMtRuns } from './plan.ts';
import type { MtPreset } from './presets.ts';
import { mtProtocol } from './protocol.ts';
import { type BleuSample, bleuSample } from './sample.ts';
import type { MtCompressionPoint, MtResults, MtRun, MtSize } from './types.ts';
import { mtClaim1, mtClaim2, mtClaim3, widthVsDepth } from './verdicts.ts';

export interface MtStudyOptions {
  preset: MtPreset;
  data: string;
  budgetS: number;
  outDir: string;
  backend: string;
  threads?: number;
  precision: 'fp32' | 'bf16';
  precisionWhy: string;
  be: Backend<Float32Array>;
  executor?: Executor;
  log?: (m: string) => void;
  steps?: number;
  deterministic?: boolean;
}

interface ResultFile {
  spent: { step: number; tokens: number; wall_s: number };
}

/** The BLEU grid times: every bleuEvery-th loss grid time, and the budget. */
export function bleuTimes(times: number[], every: number, budgetS: number): number[] {
  const out = times.filter((_, i) => (i + 1) % every === 0 && times[i]! < budgetS);
  return [...out, budgetS];
}

type Log = (m: string) => void;

/** The BLEU sample and the times it is translated at, shared by every run. */
interface BleuSetup {
  sample: BleuSample;
  times: number[];
  bTimes: number[];
  beam: Decoding;
}

/** Check the preset, plan the runs and train those not done yet. */
async function trainMtRuns(o: MtStudyOptions, ex: Executor, log: Log): Promise<PlannedRun[]> {
  if (o.preset.seeds.length !== 1)
    throw new InputError('the translation study runs one seed per size', 'use a preset with one seed');
  const plan = planMtRuns(o);
  log(
    `[study mt] ${o.preset.name}: ${plan.length} encoder-decoder runs (${plan.filter((r) => r.status === 'done').length} already done) × ${o.budgetS} s on ${o.data}; results in ${o.outDir}`,
  );
  await runJobs(ex, trainingJobs(plan, o.budgetS), 'training', log);
  return plan;
}

/** Draw the fixed BLEU sample with the first run's tokenizer and fix the BLEU grid times. */
function bleuSetup(o: MtStudyOptions, first: PlannedRun, log: Log): BleuSetup {
  const tok = Tokenizer.load(path.join(first.runDir, 'tokenizer.json'));
  const sample = bleuSample(
    o.outDir,
    o.data,
    first.seed,
    o.preset.bleuSentences,
    o.preset.data.seq_len,
    tok,
    log,
  );
  const times = timeGrid(o.budgetS, o.preset.evalEveryS);
  const bTimes = bleuTimes(times, o.preset.bleuEvery, o.budgetS);
  const beam: Decoding = { decoding: 'beam', beam: o.preset.beam, lenPenalty: o.preset.lenPenalty };
  log(
    `[study mt] translating ${sample.pairs.length} validation sentences at ${bTimes.join(', ')} s (greedy) and at the end (beam ${beam.beam})`,
  );
  return { sample, times, bTimes, beam };
}

/** One trained run's size and its run record, with the BLEU of its snapshots and final model. */
function evaluateMtRun(
  r: PlannedRun,
  o: MtStudyOptions,
  b: BleuSetup,
  log: Log,
): { size: MtSize; run: MtRun } {
  const saved = readJson<SavedRunConfig>(path.join(r.runDir, 'config.json'), `config of run ${r.id}`);
  const res = readJson<ResultFile>(path.join(r.runDir, 'result.json'), `result of run ${r.id}`);
  const st = modelStats(saved.model, saved.config.data.seq_len);
  const size: MtSize = {
    id: r.sizeId,
    sweeps: r.sweeps,
    d_model: saved.model.d_model,
    n_layers: saved.model.n_layers,
    n_heads: saved.model.n_heads,
    d_ff: saved.model.d_ff,
    params: st.params,
    lr: saved.config.optim.lr,
    warmup_steps: saved.config.optim.warmup_steps,
    max_tokens: saved.config.data.max_tokens,
  };
  const bl = runBleu(
    { id: r.id, runDir: r.runDir },
    b.bTimes,
    o.budgetS,
    b.beam,
    b.sample,
    o.outDir,
    o.be,
    log,
  );
  const run: MtRun = {
    id: r.id,
    size_id: r.sizeId,
    seed: r.seed,
    run_dir: r.runDir,
    steps: res.spent.step,
    tokens: res.spent.tokens,
    wall_s: res.spent.wall_s,
    tokens_per_s: res.spent.tokens / res.spent.wall_s,
    steps_per_s: res.spent.step / res.spent.wall_s,
    curve: bl.curve,
    final_loss: bl.curve[bl.curve.length - 1]?.loss ?? Number.NaN,
    bleu: bl.bleu,
    final: bl.final,
  };
  return { size, run };
}

/** Every run's size and record, in plan order; the sizes sorted by parameter count. */
function evaluateMtRuns(
  plan: PlannedRun[],
  o: MtStudyOptions,
  b: BleuSetup,
  log: Log,
): { sizes: MtSize[]; runs: MtRun[] } {
  const sizes: MtSize[] = [];
  const runs: MtRun[] = [];
  for (const r of plan) {
    const e = evaluateMtRun(r, o, b, log);
    sizes.push(e.size);
    runs.push(e.run);
  }
  sizes.sort((a, b) => a.params - b.params);
  return { sizes, runs };
}

/** Compress every run's final model over the grid, in plan order. */
function compressMtRuns(
  plan: PlannedRun[],
  runs: MtRun[],
  o: MtStudyOptions,
  sample: BleuSample,
  log: Log,
): MtCompressionPoint[] {
  log('[study mt] compressing every final model over the grid');
  return plan.flatMap((r) => {
    const run = runs.find((x) => x.id === r.id)!;
    const dense = run.bleu[run.bleu.length - 1]!;
    return mtCompressGrid(
      { id: r.id, sizeId: r.sizeId, runDir: r.runDir },
      dense,
      o.preset,
      sample,
      o.outDir,
      o.be,
      log,
    );
  });
}

/** Per-sentence BLEU statistics of a stored outputs file (relative to outDir), read once each. */
function memoStats(outDir: string, sample: BleuSample): (file: string) => BleuStats[] {
  const memo = new Map<string, BleuStats[]>();
  return (file: string) => {
    let s = memo.get(file);
    if (!s) {
      s = scoreOutputs(readJsonOutputs(path.join(outDir, file)).hyps, sample).stats;
      memo.set(file, s);
    }
    return s;
  };
}

/** The BLEU frontier and the verdicts on the study's claims. */
function mtFrontierAndVerdicts(
  o: MtStudyOptions,
  sizes: MtSize[],
  runs: MtRun[],
  b: BleuSetup,
  compression: MtCompressionPoint[],
): { frontier: MtResults['frontier']; verdicts: MtResults['verdicts'] } {
  const stats = memoStats(o.outDir, b.sample);
  const ctx = {
    sizes,
    budgetS: o.budgetS,
    tooShort: o.preset.name === 'quick',
    final: new Map(runs.map((r) => [r.size_id, r.final])),
    stats,
  };
  const frontier = bleuFrontier(sizes, runs, b.bTimes, stats);
  const verdicts = [
    mtClaim1(ctx),
    widthVsDepth(ctx),
    mtClaim2(ctx, compression),
    mtClaim3(ctx, compression, 'bytes'),
    mtClaim3(ctx, compression, 'nonzero'),
  ];
  return { frontier, verdicts };
}

/** Warnings on evidence too weak to read: near-zero BLEU at the budget, a short sample. */
function mtWarnings(runs: MtRun[], sample: BleuSample, preset: MtPreset): string[] {
  const warnings: string[] = [];
  const low = runs.filter((r) => r.final.bleu < 1);
  if (low.length)
    warnings.push(
      `BLEU below 1 at the budget: ${low.map((r) => `${r.size_id} ${r.final.bleu.toFixed(2)}`).join(', ')} — these models translate almost nothing yet; a longer budget is needed for evidence`,
    );
  if (sample.pairs.length < preset.bleuSentences)
    warnings.push(
      `the BLEU sample holds ${sample.pairs.length} sentences (the preset asks for ${preset.bleuSentences}): wider intervals`,
    );
  return warnings;
}

/** What the study found: sizes, runs, the compression grid, the frontier and the verdicts. */
interface MtFindings {
  sizes: MtSize[];
  runs: MtRun[];
  compression: MtCompressionPoint[];
  frontier: MtResults['frontier'];
  verdicts: MtResults['verdicts'];
}

/** The MtResults document: provenance, hardware and protocol around the study's findings. */
function mtResults(o: MtStudyOptions, first: PlannedRun, b: BleuSetup, f: MtFindings): MtResults {
  const { sample, times, bTimes } = b;
  const savedFirst = readJson<SavedRunConfig>(path.join(first.runDir, 'config.json'), 'run config');
  const m = machineInfo();
  const warnings = mtWarnings(f.runs, sample, o.preset);
  return {
    task: 'mt',
    tlc_version: TLC_VERSION,
    git: gitHash(),
    created: new Date().toISOString(),
    preset: o.preset.name,
    data: {
      name: o.data,
      provenance: sample.provenance,
      note: 'The paper trained WMT14 En→De/En→Fr; WMT cannot be fetched here. This study uses the corpus named above (real public en→fr translations from Debian: package descriptions, LibreOffice help, gettext catalogs), a shorter and more technical register than news.',
      train_pairs: sample.train_pairs,
      valid_pairs: sample.valid_pairs,
      sample: { sentences: sample.pairs.length, file: 'bleu-sample.json', how: sample.how },
    },
    hardware: {
      cpu: m.cpu,
      cores: m.cores,
      threads: savedFirst.threads,
      node: m.node,
      backend: savedFirst.backend,
    },
    protocol: mtProtocol({
      preset: o.preset,
      budgetS: o.budgetS,
      threads: savedFirst.threads,
      precision: o.precision,
      precisionWhy: o.precisionWhy,
      sample: sample.how,
      bleuTimes: bTimes,
    }),
    budget_s: o.budgetS,
    seeds: o.preset.seeds,
    sizes: f.sizes,
    runs: f.runs,
    times,
    bleu_times: bTimes,
    frontier: f.frontier,
    compute_optimal: f.frontier[f.frontier.length - 1]!,
    compression: f.compression,
    verdicts: f.verdicts,
    warnings,
  };
}

export async function runMtStudy(o: MtStudyOptions): Promise<MtResults> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const ex = o.executor ?? new LocalExecutor();
  const plan = await trainMtRuns(o, ex, log);
  const first = plan[0]!;
  const b = bleuSetup(o, first, log);
  const { sizes, runs } = evaluateMtRuns(plan, o, b, log);
  const compression = compressMtRuns(plan, runs, o, b.sample, log);
  const { frontier, verdicts } = mtFrontierAndVerdicts(o, sizes, runs, b, compression);
  return mtResults(o, first, b, { sizes, runs, compression, frontier, verdicts });
}
