// The training half of a study: one run per size and seed, each for the same wall-clock budget,
// planned as executor jobs. Re-running skips finished runs and resumes interrupted ones.
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { InputError } from '../engine/errors.ts';
import type { Job } from './executor.ts';
import { headsFor, lrFor, type StudyPreset, sizeGrid } from './presets.ts';

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
  status: 'done' | 'interrupted' | 'new';
}

export interface SweepOptions {
  preset: StudyPreset;
  data: string;
  outDir: string;
  budgetS: number;
  threads?: number;
  backend: string;
  /** the linear layers' precision while training (fp32 unless given) */
  precision?: 'fp32' | 'bf16';
  /** also stop every run after this many steps (exact comparisons, tests) */
  steps?: number;
  /** bit-identical losses for the same config, seed and threads */
  deterministic?: boolean;
}

function runStatus(runDir: string): PlannedRun['status'] {
  const res = path.join(runDir, 'result.json');
  if (fs.existsSync(res)) {
    try {
      if (JSON.parse(fs.readFileSync(res, 'utf8')).status === 'done') return 'done';
    } catch {
      // unreadable result: treat as interrupted and let resume rewrite it
    }
  }
  return fs.existsSync(path.join(runDir, 'config.json')) ? 'interrupted' : 'new';
}

/** The training config of one size, as a YAML file `tlc train` reads. */
export function trainingConfig(o: SweepOptions, d: number, L: number, seed: number): Record<string, unknown> {
  const p = o.preset;
  return {
    model: { family: 'encoder', d_model: d, n_layers: L, n_heads: headsFor(d), d_ff: 4 * d },
    data: { name: o.data, ...p.data },
    optim: { lr: lrFor(p, d), warmup_steps: p.warmupSteps, schedule: 'linear' },
    budget: { seconds: o.budgetS, ...(o.steps ? { steps: o.steps } : {}) },
    eval: { every_seconds: p.evalEveryS },
    checkpoint: { every_seconds: 30, keep: 1 },
    seed,
    backend: o.backend,
    ...(o.precision === 'bf16' ? { precision: 'bf16' } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.deterministic ? { deterministic: true } : {}),
  };
}

export function planRuns(o: SweepOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  fs.mkdirSync(path.join(o.outDir, 'configs'), { recursive: true });
  for (const s of sizeGrid(o.preset)) {
    const sizeId = `d${s.d_model}-L${s.n_layers}`;
    for (const seed of o.preset.seeds) {
      const id = `${sizeId}-s${seed}`;
      const runDir = path.join(o.outDir, 'runs', id);
      const configFile = path.join(o.outDir, 'configs', `${id}.yaml`);
      const cfg = trainingConfig(o, s.d_model, s.n_layers, seed);
      const text = YAML.stringify(cfg);
      const status = runStatus(runDir);
      if (status !== 'new' && fs.existsSync(configFile) && fs.readFileSync(configFile, 'utf8') !== text) {
        throw new InputError(
          `the study folder ${o.outDir} holds run ${id} made with different settings (preset, data, budget or precision)`,
          'use another --out folder, or delete that folder to start over',
        );
      }
      if (status === 'new') fs.writeFileSync(configFile, text);
      runs.push({
        id,
        sizeId,
        seed,
        runDir,
        configFile,
        sweeps: s.sweeps,
        d_model: s.d_model,
        n_layers: s.n_layers,
        lr: lrFor(o.preset, s.d_model),
        status,
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
      estimateS: budgetS * 1.25 + 10,
      spec: { kind: 'train', run: r.id },
    }));
}
