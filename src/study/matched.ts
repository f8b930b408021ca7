// Quality-matched snapshots for claim 2's second comparison: for each smaller size of a sweep and
// each larger one, the larger model's weight snapshot whose dense loss is closest to the smaller
// model's final dense loss — used only if within the smaller model's standard error — compressed
// with the preset's matched settings (one per family).

import { snapshotSteps } from '../train/load.ts';
import { readEvals } from '../train/rundir.ts';
import type { ClaimContext } from './claims/common.ts';
import { sweepSizes } from './claims/common.ts';
import { compressSnapshot, lazyRun, type PointSums } from './compress-grid.ts';
import type { StudyOptions } from './run.ts';
import type { PlannedRun } from './sweep.ts';
import type { CompressionPoint } from './types.ts';

export interface Match {
  small: string;
  large: string;
  runId: string;
  step: number;
  /** |dense loss of the snapshot − the smaller model's final dense loss| */
  gap: number;
}

/** The matched pairs of a study (pure: reads the runs' evaluations and snapshot lists). */
export function findMatches(c: ClaimContext, plan: PlannedRun[], compression: CompressionPoint[]): Match[] {
  const out: Match[] = [];
  const seen = new Set<string>();
  for (const sweep of ['depth', 'width'] as const) {
    const ss = sweepSizes(c, sweep);
    for (let i = 0; i < ss.length; i++)
      for (let j = i + 1; j < ss.length; j++) {
        const S = ss[i]!;
        const L = ss[j]!;
        if (seen.has(`${S.id}|${L.id}`)) continue;
        seen.add(`${S.id}|${L.id}`);
        const dense = compression.filter((p) => p.size_id === S.id && p.method === 'dense');
        if (dense.length === 0) continue;
        const target = dense.reduce((a, p) => a + p.loss, 0) / dense.length;
        const se = dense[0]!.stderr_loss;
        const run = plan.find((r) => r.sizeId === L.id);
        if (!run) continue;
        const snaps = new Set(snapshotSteps(run.runDir));
        let best: Match | null = null;
        for (const e of readEvals(run.runDir)) {
          if (!snaps.has(e.step) || e.step === 0) continue;
          const gap = Math.abs(e.loss - target);
          if (!best || gap < best.gap) best = { small: S.id, large: L.id, runId: run.id, step: e.step, gap };
        }
        if (best && best.gap <= se) out.push(best);
      }
  }
  return out;
}

export function matchedPoints(
  c: ClaimContext,
  plan: PlannedRun[],
  compression: CompressionPoint[],
  o: StudyOptions,
  sums: PointSums,
  log: (m: string) => void,
): CompressionPoint[] {
  const matches = findMatches(c, plan, compression);
  log(`[study] quality-matched snapshots: ${matches.length} pair(s)`);
  const out: CompressionPoint[] = [];
  for (const m of matches) {
    const run = plan.find((r) => r.id === m.runId)!;
    const pts = compressSnapshot(
      run,
      m.step,
      o.preset,
      o.outDir,
      o.be,
      log,
      sums,
      lazyRun(run.runDir, o.be, log),
    );
    for (const p of pts) {
      const q = { ...p, matched_to: m.small };
      sums.set(q, sums.get(p)!);
      out.push(q);
    }
  }
  return out;
}
