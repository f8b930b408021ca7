// Reads training run directories (config.json, metrics.jsonl, result.json) into the study's
// sizes and runs. The report's numbers come only from these files.
import * as path from 'node:path';
import { modelStats } from '../model/config.ts';
import type { SavedRunConfig } from '../train/run.ts';
import { readJson, readMetrics } from '../train/rundir.ts';
import type { CurvePoint, SizeSpec, TrainedRun } from './types.ts';

export interface RunRef {
  id: string;
  sizeId: string;
  seed: number;
  runDir: string;
  sweeps: Array<'depth' | 'width'>;
}

export function readRun(ref: RunRef): { run: TrainedRun; size: SizeSpec } {
  const saved = readJson<SavedRunConfig>(path.join(ref.runDir, 'config.json'), `config of run ${ref.id}`);
  const result = readJson<{ spent: { step: number; tokens: number; wall_s: number } }>(
    path.join(ref.runDir, 'result.json'),
    `result of run ${ref.id}`,
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
    }));
  const last = curve[curve.length - 1];
  const m = saved.model;
  const stats = modelStats(m, saved.config.data.seq_len, saved.config.data.mlm_prob);
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
    lr: saved.config.optim.lr,
  };
  const run: TrainedRun = {
    id: ref.id,
    size_id: ref.sizeId,
    seed: ref.seed,
    run_dir: ref.runDir,
    steps: result.spent.step,
    tokens: result.spent.tokens,
    wall_s: result.spent.wall_s,
    final_loss: last?.loss ?? Number.NaN,
    final_ppl: last?.ppl ?? Number.NaN,
    curve,
  };
  return { run, size };
}
