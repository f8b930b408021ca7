// The batch arm (the paper's "grow the model, not the batch"): two sizes, each at three batch
// sizes, under the same wall-clock budget. The learning rate grows with the square root of the
// batch (Adam's usual rule). Reports each run's curve and, at the budget, whether the larger
// model at the base batch beats the smaller model at a larger batch (paired on the same windows).
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../engine/atomic.ts';
import { readRun } from './collect.ts';
import { Evidence } from './evidence.ts';
import type { Executor } from './executor.ts';
import { LocalExecutor } from './executor.ts';
import { type StudyPreset, sizeGrid, sizeId } from './presets.ts';
import { runJobs } from './run.ts';
import { type PlannedRun, runStatus, type SweepOptions, trainingConfig, trainingJobs } from './sweep.ts';
import type { Comparison, SizeSpec, TrainedRun } from './types.ts';

export interface BatchResults {
  preset: string;
  data: string;
  budget_s: number;
  batches: number[];
  sizes: SizeSpec[];
  runs: Array<TrainedRun & { batch: number }>;
  comparisons: Comparison[];
  summary: string;
}

/** Multipliers of the preset's batch; the two sizes are the centre and the largest of the grid. */
export const BATCH_FACTORS = [1, 4, 16];

export async function runBatchArm(
  o: Omit<SweepOptions, 'preset'> & {
    preset: StudyPreset;
    fmaFlops: number;
    executor?: Executor;
    log: (m: string) => void;
  },
): Promise<BatchResults> {
  const p = o.preset;
  const grid = sizeGrid(p);
  const centre = grid.find((s) => s.d_model === p.centre.d_model && s.n_layers === p.centre.n_layers)!;
  const largest = grid[grid.length - 1]!;
  const pair = [centre, largest];
  const batches = BATCH_FACTORS.map((k) => k * p.data.batch_size);
  fs.mkdirSync(path.join(o.outDir, 'configs'), { recursive: true });
  const plan: Array<PlannedRun & { batch: number }> = [];
  for (const s of pair)
    for (const b of batches) {
      const id = `${sizeId(s)}-b${b}-s1`;
      const cfg = trainingConfig({ ...o, preset: { ...p, annealAt: [] } }, s, 1) as Record<
        string,
        Record<string, unknown>
      >;
      cfg['data'] = { ...cfg['data'], batch_size: b };
      cfg['optim'] = {
        ...cfg['optim'],
        lr: +(Number(cfg['optim']!['lr']) * Math.sqrt(b / p.data.batch_size)).toPrecision(3),
      };
      cfg['checkpoint'] = { ...cfg['checkpoint'], snapshot_at_eval: false };
      const configFile = path.join(o.outDir, 'configs', `${id}.yaml`);
      const runDir = path.join(o.outDir, 'runs', id);
      const status = runStatus(runDir);
      if (status === 'new') writeFileAtomic(configFile, YAML.stringify(cfg));
      plan.push({
        id,
        sizeId: sizeId(s),
        seed: 1,
        runDir,
        configFile,
        sweeps: s.sweeps,
        d_model: s.d_model,
        n_layers: s.n_layers,
        lr: Number(cfg['optim']!['lr']),
        status,
        cooldowns: [],
        batch: b,
      });
    }
  await runJobs(o.executor ?? new LocalExecutor(), trainingJobs(plan, o.budgetS), 'batch arm', o.log);
  const read = plan.map((r) => ({ ...readRun(r, o.budgetS, o.fmaFlops), batch: r.batch }));
  const runs = read.map((x) => ({ ...x.run, batch: x.batch }));
  const ev = new Evidence(runs);
  const of = (size: string, b: number) => runs.filter((r) => r.size_id === size && r.batch === b);
  const small = sizeId(centre);
  const big = sizeId(largest);
  const comparisons: Comparison[] = [];
  for (const b of batches.slice(1)) {
    const q = ev.compare(of(small, b), of(big, batches[0]!), (r) => ev.annealed(r, o.budgetS));
    if (q)
      comparisons.push(
        ev.comparison(`${small} at batch ${b} vs ${big} at batch ${batches[0]}`, small, big, q, 'b'),
      );
  }
  const wins = comparisons.filter((c) => c.outcome === 'b').length;
  return {
    preset: p.name,
    data: o.data,
    budget_s: o.budgetS,
    batches,
    sizes: [...new Map(read.map((x) => [x.size.id, x.size])).values()],
    runs,
    comparisons,
    summary: `At ${o.budgetS} s, ${big} at the base batch beats ${small} at a larger batch in ${wins} of ${comparisons.length} comparisons (the rest: ${comparisons.filter((c) => c.outcome === 'tie').length} ties, ${comparisons.filter((c) => c.outcome === 'a').length} the other way).`,
  };
}
