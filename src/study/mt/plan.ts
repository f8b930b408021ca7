// The training half of the translation study: one encoder-decoder run per size and seed, each for
// the same wall-clock budget, as `tlc train` config files and executor jobs (re-running skips
// finished runs and resumes interrupted ones). The inverse-sqrt schedule does not depend on the
// budget, so the model at any grid time t is the model a t-second run would have made: no
// cool-down branches are needed (the MLM arm's wsd schedule needs them).

import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { InputError } from '../../engine/errors.ts';
import { runStatus } from '../../train/rundir.ts';
import { headsFor, sizeGrid, sizeId } from '../presets.ts';
import type { PlannedRun } from '../sweep.ts';
import { type MtPreset, mtLrFor } from './presets.ts';

export interface MtSweepOptions {
  preset: MtPreset;
  data: string;
  outDir: string;
  budgetS: number;
  threads?: number;
  backend: string;
  precision: 'fp32' | 'bf16';
  /** also stop every run after this many steps (tests) */
  steps?: number;
  deterministic?: boolean;
}

/** The training config of one size, as a YAML file `tlc train` reads. */
export function mtTrainingConfig(
  o: MtSweepOptions,
  s: { d_model: number; n_layers: number },
  seed: number,
): Record<string, unknown> {
  const p = o.preset;
  const r = p.recipe;
  return {
    model: {
      family: 'encdec',
      d_model: s.d_model,
      n_layers: s.n_layers,
      n_dec_layers: s.n_layers,
      n_heads: headsFor(s.d_model),
      d_ff: 4 * s.d_model,
      dropout: r.dropout,
    },
    data: { name: o.data, ...p.data },
    optim: {
      lr: mtLrFor(p, s),
      warmup_steps: r.warmupSteps,
      schedule: 'inverse_sqrt',
      label_smoothing: r.labelSmoothing,
      weight_decay: r.weightDecay,
    },
    budget: { seconds: o.budgetS, ...(o.steps ? { steps: o.steps } : {}) },
    eval: { every_seconds: p.evalEveryS },
    // snapshots: the BLEU grid decodes the weights of the evaluations at its times
    checkpoint: { every_seconds: 30, keep: 1, snapshot_at_eval: true },
    seed,
    backend: o.backend,
    precision: o.precision,
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.deterministic ? { deterministic: true } : {}),
  };
}

/** Every size and seed of the preset as a planned run (no cool-downs). */
export function planMtRuns(o: MtSweepOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  fs.mkdirSync(path.join(o.outDir, 'configs'), { recursive: true });
  for (const s of sizeGrid(o.preset)) {
    const sid = sizeId(s);
    for (const seed of o.preset.seeds) {
      const id = `${sid}-s${seed}`;
      const runDir = path.join(o.outDir, 'runs', id);
      const configFile = path.join(o.outDir, 'configs', `${id}.yaml`);
      const text = YAML.stringify(mtTrainingConfig(o, s, seed));
      const status = runStatus(runDir);
      if (status !== 'new' && fs.existsSync(configFile) && fs.readFileSync(configFile, 'utf8') !== text)
        throw new InputError(
          `the study folder ${o.outDir} holds run ${id} made with different settings (preset, data, budget, recipe or precision)`,
          'use another --out folder, or delete that folder to start over',
        );
      if (status === 'new') writeFileAtomic(configFile, text);
      runs.push({
        id,
        sizeId: sid,
        seed,
        runDir,
        configFile,
        sweeps: s.sweeps,
        d_model: s.d_model,
        n_layers: s.n_layers,
        lr: mtLrFor(o.preset, s),
        status,
        cooldowns: [],
      });
    }
  }
  return runs;
}
