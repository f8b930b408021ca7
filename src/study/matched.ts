// Quality-matched snapshots for claim 2's second comparison: for each pair of sizes of a sweep,
// the larger model's weight snapshot whose dense loss is closest to the smaller model's final
// dense loss (used only if within the smaller model's standard error); when none is, the reverse —
// the smaller model's snapshot closest to the larger model's final loss (within the larger
// model's standard error). At most one match per pair; each is compressed with the preset's
// matched settings (one per family).

import { snapshotSteps } from '../train/load.ts';
import { readEvals } from '../train/rundir.ts';
import type { ClaimContext } from './claims/common.ts';
import { sweepSizes } from './claims/common.ts';
import { compressSnapshot, lazyRun, type PointSums } from './compress-grid.ts';
import type { StudyOptions } from './run.ts';
import type { PlannedRun } from './sweep.ts';
import type { CompressionPoint, SizeSpec } from './types.ts';

export interface Match {
  /** the size whose snapshot is compressed */
  snapshot: string;
  /** the size whose final dense quality the snapshot matches */
  final: string;
  /** 'larger': the larger model's snapshot matches the smaller's final; 'smaller': the reverse */
  direction: 'larger' | 'smaller';
  runId: string;
  step: number;
  /** |dense loss of the snapshot − the final model's dense loss| */
  gap: number;
}

/** What findMatches reads of a run directory: its evaluations' losses and its snapshots' steps. */
export interface SnapshotSource {
  evals(runDir: string): Array<{ step: number; loss: number }>;
  snapshots(runDir: string): number[];
}

const runDirs: SnapshotSource = { evals: readEvals, snapshots: snapshotSteps };

/** The snapshot of `snap`'s run whose dense loss is closest to `fin`'s final one, if within its s.e. */
function closest(
  fin: SizeSpec,
  snap: SizeSpec,
  direction: Match['direction'],
  plan: PlannedRun[],
  compression: CompressionPoint[],
  src: SnapshotSource,
): Match | null {
  const dense = compression.filter((p) => p.size_id === fin.id && p.method === 'dense');
  const run = plan.find((r) => r.sizeId === snap.id);
  if (dense.length === 0 || !run) return null;
  const target = dense.reduce((a, p) => a + p.loss, 0) / dense.length;
  const se = dense[0]!.stderr_loss;
  const snaps = new Set(src.snapshots(run.runDir));
  let best: Match | null = null;
  for (const e of src.evals(run.runDir)) {
    if (!snaps.has(e.step) || e.step === 0) continue;
    const gap = Math.abs(e.loss - target);
    if (!best || gap < best.gap)
      best = { snapshot: snap.id, final: fin.id, direction, runId: run.id, step: e.step, gap };
  }
  return best && best.gap <= se ? best : null;
}

/** The matched pairs of a study (reads only the runs' evaluations and snapshot lists). */
export function findMatches(
  c: ClaimContext,
  plan: PlannedRun[],
  compression: CompressionPoint[],
  src: SnapshotSource = runDirs,
): Match[] {
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
        const m =
          closest(S, L, 'larger', plan, compression, src) ?? closest(L, S, 'smaller', plan, compression, src);
        if (m) out.push(m);
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
  const reverse = matches.filter((m) => m.direction === 'smaller').length;
  log(
    `[study] quality-matched snapshots: ${matches.length} pair(s)${reverse ? ` (${reverse} a smaller model's snapshot matched to a larger model's final quality)` : ''}`,
  );
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
      const q = { ...p, matched_to: m.final };
      sums.set(q, sums.get(p)!);
      out.push(q);
    }
  }
  return out;
}
