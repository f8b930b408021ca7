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
import { epochWarning, runJobs } from './run.ts';
import { type PlannedRun, runStatus, type SweepOptions, trainingConfig, trainingJobs } from './sweep.ts';
import type { Comparison, SizeSpec, TrainedRun } from './types.ts';

export interface BatchResults {
  preset: string;
  data: string;
  budget_s: number;
  batches: number[];
  sizes: SizeSpec[];
  runs: Array<TrainedRun & { batch: number; lr: number }>;
  comparisons: Comparison[];
  summary: string;
  /** the linear layers' precision while training, and why */
  precision: string;
  /** e.g. runs that saw the training split more than once */
  warnings: string[];
}

/** Multipliers of the preset's batch; the two sizes are the centre and the largest of the grid. */
export const BATCH_FACTORS = [1, 4, 16];

export type BatchArmOptions = Omit<SweepOptions, 'preset'> & {
  preset: StudyPreset;
  /** why this precision (the report says it) */
  precisionWhy: string;
  fmaFlops: number;
  executor?: Executor;
  log: (m: string) => void;
};

/** A size's rate at batch b: the recipe's rate at the preset's batch × √(b / that batch). */
export function batchLr(lr: number, batch: number, baseBatch: number): number {
  return +(lr * Math.sqrt(batch / baseBatch)).toPrecision(3);
}

/** The arm's runs, centre and largest size × BATCH_FACTORS, their configs written once. */
export function planBatchRuns(o: Omit<SweepOptions, 'preset'> & { preset: StudyPreset }) {
  const p = o.preset;
  const grid = sizeGrid(p);
  const centre = grid.find((s) => s.d_model === p.centre.d_model && s.n_layers === p.centre.n_layers)!;
  const largest = grid[grid.length - 1]!;
  const batches = BATCH_FACTORS.map((k) => k * p.data.batch_size);
  fs.mkdirSync(path.join(o.outDir, 'configs'), { recursive: true });
  const plan: Array<PlannedRun & { batch: number }> = [];
  for (const s of [centre, largest])
    for (const b of batches) {
      const id = `${sizeId(s)}-b${b}-s1`;
      const cfg = trainingConfig({ ...o, preset: { ...p, annealAt: [] } }, s, 1) as Record<
        string,
        Record<string, unknown>
      >;
      cfg['data'] = { ...cfg['data'], batch_size: b };
      cfg['optim'] = { ...cfg['optim'], lr: batchLr(Number(cfg['optim']!['lr']), b, p.data.batch_size) };
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
  return { plan, batches, small: sizeId(centre), big: sizeId(largest) };
}

/**
 * The arm's verdict from its trained runs: the smaller size at each larger batch against the
 * larger size at the base batch (paired, annealed at the budget), the summary and the warnings.
 */
export function judgeBatchArm(
  o: { preset: string; data: string; budgetS: number; precision: string },
  runs: BatchResults['runs'],
  sizes: SizeSpec[],
  pair: { small: string; big: string; batches: number[] },
  ev: Evidence = new Evidence(runs),
): BatchResults {
  const { small, big, batches } = pair;
  const of = (size: string, b: number) => runs.filter((r) => r.size_id === size && r.batch === b);
  const comparisons: Comparison[] = [];
  for (const b of batches.slice(1)) {
    const q = ev.compare(of(small, b), of(big, batches[0]!), (r) => ev.annealed(r, o.budgetS));
    if (q)
      comparisons.push(
        ev.comparison(`${small} at batch ${b} vs ${big} at batch ${batches[0]}`, small, big, q, 'b'),
      );
  }
  const count = (x: Comparison['outcome']) => comparisons.filter((c) => c.outcome === x).length;
  const repeated = epochWarning(runs);
  return {
    preset: o.preset,
    data: o.data,
    budget_s: o.budgetS,
    batches,
    sizes,
    runs,
    comparisons,
    summary: `At ${o.budgetS} s, ${big} at the base batch beats ${small} at a larger batch in ${count('b')} of ${comparisons.length} comparisons (the rest: ${count('tie')} ties, ${count('a')} the other way).`,
    precision: o.precision,
    warnings: repeated ? [repeated] : [],
  };
}

export async function runBatchArm(o: BatchArmOptions): Promise<BatchResults> {
  const { plan, batches, small, big } = planBatchRuns(o);
  await runJobs(o.executor ?? new LocalExecutor(), trainingJobs(plan, o.budgetS), 'batch arm', o.log);
  const read = plan.map((r) => ({ ...readRun(r, o.budgetS, o.fmaFlops), batch: r.batch, lr: r.lr }));
  const runs = read.map((x) => ({ ...x.run, batch: x.batch, lr: x.lr }));
  const sizes = [...new Map(read.map((x) => [x.size.id, x.size])).values()];
  const precision = `${o.precision} (${o.precisionWhy})`;
  return judgeBatchArm({ preset: o.preset.name, data: o.data, budgetS: o.budgetS, precision }, runs, sizes, {
    small,
    big,
    batches,
  });
}
