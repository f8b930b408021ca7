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
import { trainingJobs } from '../sweep.ts';
import { mtCompressGrid } from './compress.ts';
import { type Decoding, readJsonOutputs, runBleu, scoreOutputs } from './decode.ts';
import { bleuFrontier } from './frontier.ts';
import { planMtRuns } from './plan.ts';
import type { MtPreset } from './presets.ts';
import { mtProtocol } from './protocol.ts';
import { bleuSample } from './sample.ts';
import type { MtResults, MtRun, MtSize } from './types.ts';
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

export async function runMtStudy(o: MtStudyOptions): Promise<MtResults> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const ex = o.executor ?? new LocalExecutor();
  if (o.preset.seeds.length !== 1)
    throw new InputError('the translation study runs one seed per size', 'use a preset with one seed');
  const plan = planMtRuns(o);
  log(
    `[study mt] ${o.preset.name}: ${plan.length} encoder-decoder runs (${plan.filter((r) => r.status === 'done').length} already done) × ${o.budgetS} s on ${o.data}; results in ${o.outDir}`,
  );
  await runJobs(ex, trainingJobs(plan, o.budgetS), 'training', log);
  const first = plan[0]!;
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
  const sizes: MtSize[] = [];
  const runs: MtRun[] = [];
  for (const r of plan) {
    const saved = readJson<SavedRunConfig>(path.join(r.runDir, 'config.json'), `config of run ${r.id}`);
    const res = readJson<ResultFile>(path.join(r.runDir, 'result.json'), `result of run ${r.id}`);
    const st = modelStats(saved.model, saved.config.data.seq_len);
    sizes.push({
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
    });
    const b = runBleu({ id: r.id, runDir: r.runDir }, bTimes, o.budgetS, beam, sample, o.outDir, o.be, log);
    runs.push({
      id: r.id,
      size_id: r.sizeId,
      seed: r.seed,
      run_dir: r.runDir,
      steps: res.spent.step,
      tokens: res.spent.tokens,
      wall_s: res.spent.wall_s,
      tokens_per_s: res.spent.tokens / res.spent.wall_s,
      steps_per_s: res.spent.step / res.spent.wall_s,
      curve: b.curve,
      final_loss: b.curve[b.curve.length - 1]?.loss ?? Number.NaN,
      bleu: b.bleu,
      final: b.final,
    });
  }
  sizes.sort((a, b) => a.params - b.params);
  log('[study mt] compressing every final model over the grid');
  const compression = plan.flatMap((r) => {
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
  const memo = new Map<string, BleuStats[]>();
  const stats = (file: string) => {
    let s = memo.get(file);
    if (!s) {
      s = scoreOutputs(readJsonOutputs(path.join(o.outDir, file)).hyps, sample).stats;
      memo.set(file, s);
    }
    return s;
  };
  const ctx = {
    sizes,
    budgetS: o.budgetS,
    tooShort: o.preset.name === 'quick',
    final: new Map(runs.map((r) => [r.size_id, r.final])),
    stats,
  };
  const frontier = bleuFrontier(sizes, runs, bTimes, stats);
  const verdicts = [
    mtClaim1(ctx),
    widthVsDepth(ctx),
    mtClaim2(ctx, compression),
    mtClaim3(ctx, compression, 'bytes'),
    mtClaim3(ctx, compression, 'nonzero'),
  ];
  const savedFirst = readJson<SavedRunConfig>(path.join(first.runDir, 'config.json'), 'run config');
  const m = machineInfo();
  const warnings: string[] = [];
  const low = runs.filter((r) => r.final.bleu < 1);
  if (low.length)
    warnings.push(
      `BLEU below 1 at the budget: ${low.map((r) => `${r.size_id} ${r.final.bleu.toFixed(2)}`).join(', ')} — these models translate almost nothing yet; a longer budget is needed for evidence`,
    );
  if (sample.pairs.length < o.preset.bleuSentences)
    warnings.push(
      `the BLEU sample holds ${sample.pairs.length} sentences (the preset asks for ${o.preset.bleuSentences}): wider intervals`,
    );
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
    sizes,
    runs,
    times,
    bleu_times: bTimes,
    frontier,
    compute_optimal: frontier[frontier.length - 1]!,
    compression,
    verdicts,
    warnings,
  };
}
