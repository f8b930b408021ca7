// The fine-tuning arm (the paper's MNLI arm): every size's final model fine-tuned on a
// classification task for a third of the budget, then compressed over the grid and scored on
// accuracy (claim 3 at equal bytes, on the task).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compressGrid, type PointSums } from './compress-grid.ts';
import { compressJobs } from './compress-jobs.ts';
import type { Executor, Job } from './executor.ts';
import type { StudyOptions } from './run.ts';
import { type PlannedRun, runStatus } from './sweep.ts';
import type { StudyResults } from './types.ts';

function finetuneJobs(runs: PlannedRun[], o: StudyOptions): Job[] {
  const budget = Math.max(20, Math.round(o.budgetS / 3));
  return runs
    .map((r) => ({ r, dir: path.join(o.outDir, 'finetune', r.id) }))
    .filter(({ dir }) => runStatus(dir) !== 'done')
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
      spec: { kind: 'finetune' as const, run: r.id, data: o.finetune!, budget_s: budget },
    }));
}

export async function finetuneArm(
  plan: PlannedRun[],
  o: StudyOptions,
  ex: Executor,
  sums: PointSums,
  log: (m: string) => void,
  runJobs: (ex: Executor, jobs: Job[], what: string, log: (m: string) => void) => Promise<void>,
): Promise<NonNullable<StudyResults['finetune']>> {
  await runJobs(ex, finetuneJobs(plan, o), 'fine-tuning', log);
  if (ex.remote) await runJobs(ex, compressJobs(plan, o.preset, o.outDir, 'finetune'), 'compression', log);
  const pts = plan.flatMap((r) =>
    compressGrid(
      { ...r, id: `ft-${r.id}`, runDir: path.join(o.outDir, 'finetune', r.id) },
      o.preset,
      o.outDir,
      o.be,
      log,
      sums,
      { latency: true }, // timed on the classification forward (src/study/latency.ts)
    ),
  );
  return {
    task: o.finetune!,
    compression: pts,
    dense: pts
      .filter((p) => p.method === 'dense')
      .map((p) => ({ size_id: p.size_id, accuracy: p.accuracy ?? Number.NaN })),
  };
}
