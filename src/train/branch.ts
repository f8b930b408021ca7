// Cool-down branches of a warmup-stable-decay run: a parent run saves a full checkpoint at a
// branch time (checkpoint.branch_at_seconds); a branch is a new run directory that starts from it
// with a shorter budget, so `tlc train --resume` continues the same data stream and optimizer
// state and the wsd schedule decays over the branch's own last share. Every budget then has an
// annealed model for a fraction of the cost of a separate run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../engine/errors.ts';
import { checkpointDir, listCheckpoints } from './checkpoint.ts';
import type { SavedRunConfig } from './run.ts';
import { branchDir, EVALS_FILE, readJson, truncateMetrics, WINDOWS_FILE, writeJson } from './rundir.ts';

/** The branch time a cool-down of `decayFraction` to a `budgetS` budget starts from. */
export function branchTime(budgetS: number, decayFraction: number): number {
  return +(budgetS * (1 - decayFraction)).toFixed(3);
}

/**
 * Make `outDir` a resumable run: the parent's config with `budget.seconds = budgetS` (and no
 * branches or snapshots of its own), its tokenizer and windows, the branch checkpoint, and the
 * parent's logs up to the branch step. Then `tlc train --resume outDir` trains the cool-down.
 */
export function prepareBranch(parentDir: string, atSeconds: number, budgetS: number, outDir: string): void {
  const from = branchDir(parentDir, atSeconds);
  const cks = fs.existsSync(checkpointDir(from)) ? listCheckpoints(from) : [];
  const last = cks[cks.length - 1];
  if (!last)
    throw new InputError(
      `run ${parentDir} has no branch checkpoint at ${atSeconds} s (${from})`,
      'train the parent with checkpoint.branch_at_seconds including that time (and a budget past it)',
    );
  const saved = readJson<SavedRunConfig>(path.join(parentDir, 'config.json'), 'parent run config');
  if (saved.config.optim.schedule !== 'wsd')
    throw new InputError(
      `run ${parentDir} uses the ${saved.config.optim.schedule} schedule; cool-down branches need wsd`,
      'train the parent with optim.schedule: wsd',
    );
  // the config is written last: a branch interrupted while being made has none and is made again
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(checkpointDir(outDir), { recursive: true });
  for (const f of ['tokenizer.json', WINDOWS_FILE, 'metrics.jsonl', EVALS_FILE]) {
    const src = path.join(parentDir, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(outDir, f));
  }
  for (const f of fs.readdirSync(checkpointDir(from)))
    fs.copyFileSync(path.join(checkpointDir(from), f), path.join(checkpointDir(outDir), f));
  for (const f of ['metrics.jsonl', EVALS_FILE]) {
    const p = path.join(outDir, f);
    if (fs.existsSync(p)) truncateMetrics(p, last.step);
  }
  const cfg = {
    ...saved.config,
    budget: { seconds: budgetS },
    checkpoint: { ...saved.config.checkpoint, snapshot_at_eval: false, branch_at_seconds: [] },
  };
  writeJson(path.join(outDir, 'config.json'), {
    ...saved,
    config: cfg,
    branch_of: parentDir,
    branch_at_s: atSeconds,
  });
}
