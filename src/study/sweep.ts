// The training half of a study: one run per size and seed, each for the same wall-clock budget on
// a warmup-stable-decay schedule, and for every intermediate budget a cool-down branch from it
// (annealed at that budget). Planned as executor jobs; re-running skips finished runs and resumes
// interrupted ones.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../engine/atomic.ts';
import { InputError } from '../engine/errors.ts';
import { branchTime, prepareBranch } from '../train/branch.ts';
import { runStatus } from '../train/rundir.ts';

export { runStatus };

import type { Job } from './executor.ts';
import { headsFor, lrFor, type StudyPreset, sizeGrid, sizeId } from './presets.ts';

export type RunStatus = 'done' | 'interrupted' | 'new';

export interface PlannedRun {
  id: string;
  sizeId: string;
  seed: number;
  runDir: string;
  configFile: string;
  sweeps: Array<'depth' | 'width'>;
  d_model: number;
  n_layers: number;
  lr: number;
  status: RunStatus;
  /** cool-down branches of this run, one per intermediate budget */
  cooldowns: PlannedCooldown[];
}

export interface PlannedCooldown {
  id: string;
  /** the budget it anneals at */
  budgetS: number;
  /** the parent's training time it branches from */
  atS: number;
  runDir: string;
  status: RunStatus;
}

export interface SweepOptions {
  preset: StudyPreset;
  data: string;
  outDir: string;
  budgetS: number;
  threads?: number;
  backend: string;
  /** the linear layers' precision while training */
  precision: 'fp32' | 'bf16';
  /** also stop every run after this many steps (exact comparisons, tests) */
  steps?: number;
  /** bit-identical losses for the same config, seed and threads */
  deterministic?: boolean;
}

/** The intermediate budgets of a study: the preset's, scaled when --budget changes the budget. */
export function annealBudgets(o: Pick<SweepOptions, 'preset' | 'budgetS' | 'steps'>): number[] {
  // a step-budgeted study (exact comparisons) anneals only at its end: branch times are seconds
  if (o.steps) return [];
  const k = o.budgetS / o.preset.budgetS;
  return o.preset.annealAt.map((t) => +(t * k).toFixed(3)).filter((t) => t > 0 && t < o.budgetS);
}

/** The training config of one size, as a YAML file `tlc train` reads. */
export function trainingConfig(
  o: SweepOptions,
  s: { d_model: number; n_layers: number },
  seed: number,
): Record<string, unknown> {
  const p = o.preset;
  const r = p.recipe;
  return {
    model: {
      family: 'encoder',
      d_model: s.d_model,
      n_layers: s.n_layers,
      n_heads: headsFor(s.d_model),
      d_ff: 4 * s.d_model,
      resid_init: r.resid_init,
    },
    data: { name: o.data, ...p.data },
    optim: {
      lr: lrFor(p, s),
      warmup_steps: r.warmupSteps,
      schedule: 'wsd',
      decay_fraction: r.decayFraction,
    },
    budget: { seconds: o.budgetS, ...(o.steps ? { steps: o.steps } : {}) },
    eval: { every_seconds: p.evalEveryS },
    checkpoint: {
      every_seconds: 30,
      keep: 1,
      snapshot_at_eval: true,
      branch_at_seconds: annealBudgets(o).map((t) => branchTime(t, r.decayFraction)),
    },
    seed,
    backend: o.backend,
    precision: o.precision,
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.deterministic ? { deterministic: true } : {}),
  };
}

export function planRuns(o: SweepOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  fs.mkdirSync(path.join(o.outDir, 'configs'), { recursive: true });
  for (const s of sizeGrid(o.preset)) {
    const sid = sizeId(s);
    for (const seed of o.preset.seeds) {
      const id = `${sid}-s${seed}`;
      const runDir = path.join(o.outDir, 'runs', id);
      const configFile = path.join(o.outDir, 'configs', `${id}.yaml`);
      const text = YAML.stringify(trainingConfig(o, s, seed));
      const status = runStatus(runDir);
      if (status !== 'new' && fs.existsSync(configFile) && fs.readFileSync(configFile, 'utf8') !== text) {
        throw new InputError(
          `the study folder ${o.outDir} holds run ${id} made with different settings (preset, data, budget, recipe or precision)`,
          'use another --out folder, or delete that folder to start over',
        );
      }
      if (status === 'new') writeFileAtomic(configFile, text);
      const cooldowns = annealBudgets(o).map((t) => {
        const dir = path.join(o.outDir, 'runs', `${id}-c${t}`);
        return {
          id: `${id}-c${t}`,
          budgetS: t,
          atS: branchTime(t, o.preset.recipe.decayFraction),
          runDir: dir,
          status: runStatus(dir),
        };
      });
      runs.push({
        id,
        sizeId: sid,
        seed,
        runDir,
        configFile,
        sweeps: s.sweeps,
        d_model: s.d_model,
        n_layers: s.n_layers,
        lr: lrFor(o.preset, s),
        status,
        cooldowns,
      });
    }
  }
  return runs;
}

/** Executor jobs for the runs that are not finished (new ones start, interrupted ones resume). */
export function trainingJobs(runs: PlannedRun[], budgetS: number): Job[] {
  return runs
    .filter((r) => r.status !== 'done')
    .map((r) => ({
      id: r.id,
      args:
        r.status === 'interrupted'
          ? ['train', '--resume', r.runDir]
          : ['train', '--config', r.configFile, '--run-dir', r.runDir],
      estimateS: budgetS * 1.3 + 15,
      spec: { kind: 'train' as const, run: r.id },
    }));
}

/**
 * Cool-down jobs, once the parents are done: a new branch is prepared here (its run directory
 * made from the parent's branch checkpoint), then every unfinished one resumes to its budget.
 */
export function cooldownJobs(runs: PlannedRun[], decayFraction: number): Job[] {
  const jobs: Job[] = [];
  for (const r of runs)
    for (const c of r.cooldowns) {
      const status = runStatus(c.runDir);
      if (status === 'done') continue;
      if (status === 'new') prepareBranch(r.runDir, c.atS, c.budgetS, c.runDir);
      jobs.push({
        id: c.id,
        args: ['train', '--resume', c.runDir],
        estimateS: c.budgetS * decayFraction * 1.3 + 10,
        spec: { kind: 'cooldown', run: c.id },
      });
    }
  return jobs;
}
