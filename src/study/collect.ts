// Reads training run directories (config.json, metrics.jsonl, evals.jsonl, eval-windows.json,
// result.json, and the cool-down branches) into the study's sizes and runs, and gives access to
// each evaluation's per-window losses for paired comparisons. The report's numbers come only
// from these files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelStats } from '../model/config.ts';
import type { SavedRunConfig } from '../train/run.ts';
import { type EvalRecord, readEvals, readJson, readMetrics, WINDOWS_FILE } from '../train/rundir.ts';
import type { PlannedRun } from './sweep.ts';
import type { AnnealedPoint, CurvePoint, SizeSpec, SourcePpl, TrainedRun } from './types.ts';

/** eval-windows.json as the trainer writes it. */
export interface WindowsFile {
  target_tokens: number;
  tokens: number;
  windows: number;
  sources: string[];
  available: number[];
  taken: number[];
  source: number[];
  count: number[];
  unigram_ppl: number;
  unigram_nll: number[];
}

export function readWindows(runDir: string): WindowsFile {
  return readJson<WindowsFile>(path.join(runDir, WINDOWS_FILE), `evaluation windows of ${runDir}`);
}

interface ResultFile {
  spent: { step: number; tokens: number; wall_s: number; flops: number };
}

/** The last evaluation of a run (its final, annealed model). */
export function lastEval(runDir: string): EvalRecord {
  const e = readEvals(runDir);
  const last = e[e.length - 1];
  if (!last) throw new Error(`run ${runDir} has no evaluations in evals.jsonl`);
  return last;
}

function perSource(w: WindowsFile, sums: number[]): SourcePpl[] {
  return w.sources.map((source, si) => {
    let s = 0;
    let u = 0;
    let c = 0;
    let n = 0;
    w.source.forEach((x, i) => {
      if (x !== si) return;
      s += sums[i]!;
      u += w.unigram_nll[i]!;
      c += w.count[i]!;
      n++;
    });
    return { source, windows: n, tokens: c, ppl: Math.exp(s / c), unigram_ppl: Math.exp(u / c) };
  });
}

function annealedOf(dir: string, budgetS: number): AnnealedPoint {
  const r = readJson<ResultFile>(path.join(dir, 'result.json'), `result of ${dir}`);
  const e = lastEval(dir);
  return {
    budget_s: budgetS,
    step: r.spent.step,
    wall_s: r.spent.wall_s,
    tokens: r.spent.tokens,
    loss: e.loss,
    ppl: Math.exp(e.loss),
    run_dir: dir,
  };
}

/** A planned run's directory (and its cool-downs) as the study's size and run records. */
export function readRun(
  ref: PlannedRun,
  budgetS: number,
  fmaFlops: number,
): { run: TrainedRun; size: SizeSpec } {
  const saved = readJson<SavedRunConfig>(path.join(ref.runDir, 'config.json'), `config of run ${ref.id}`);
  const result = readJson<ResultFile>(path.join(ref.runDir, 'result.json'), `result of run ${ref.id}`);
  const counts = new Map(
    readMetrics(path.join(ref.runDir, 'metrics.jsonl'))
      .filter((r) => r.split === 'valid' && r.name === 'tokens_scored')
      .map((r) => [r.step, r.value]),
  );
  const curve: CurvePoint[] = readMetrics(path.join(ref.runDir, 'metrics.jsonl'))
    .filter((r) => r.split === 'valid' && r.name === 'loss')
    .map((r) => ({
      step: r.step,
      wall_s: r.wall_s,
      tokens: r.tokens,
      flops: r.flops,
      loss: r.value,
      ppl: Math.exp(r.value),
      count: counts.get(r.step) ?? Number.NaN,
    }));
  const last = curve[curve.length - 1];
  const m = saved.model;
  const c = saved.config;
  const stats = modelStats(m, c.data.seq_len, c.data.mlm_prob);
  const size: SizeSpec = {
    id: ref.sizeId,
    sweeps: ref.sweeps,
    d_model: m.d_model,
    n_layers: m.n_layers,
    n_heads: m.n_heads,
    d_ff: m.d_ff,
    params: stats.params,
    non_embedding_params: stats.nonEmbeddingParams,
    flops_per_token: stats.trainFlopsPerToken,
    lr: c.optim.lr,
    warmup_steps: c.optim.warmup_steps,
    batch_size: c.data.batch_size,
  };
  const trainTokens = Number((saved.data as { train_tokens?: number }).train_tokens ?? Number.NaN);
  const streamTokens = result.spent.step * c.data.batch_size * (c.data.seq_len - 1); // <s> is not stream
  const w = readWindows(ref.runDir);
  const annealed = [
    ...ref.cooldowns
      .filter((x) => fs.existsSync(path.join(x.runDir, 'result.json')))
      .map((x) => annealedOf(x.runDir, x.budgetS)),
    annealedOf(ref.runDir, budgetS),
  ];
  const run: TrainedRun = {
    id: ref.id,
    size_id: ref.sizeId,
    seed: ref.seed,
    run_dir: ref.runDir,
    steps: result.spent.step,
    tokens: result.spent.tokens,
    wall_s: result.spent.wall_s,
    epochs: streamTokens / trainTokens,
    tokens_per_s: result.spent.tokens / result.spent.wall_s,
    mfu: result.spent.flops / result.spent.wall_s / fmaFlops,
    final_loss: last?.loss ?? Number.NaN,
    final_ppl: last?.ppl ?? Number.NaN,
    final_count: last?.count ?? Number.NaN,
    curve,
    annealed,
    per_source: perSource(w, lastEval(ref.runDir).sums),
  };
  return { run, size };
}
