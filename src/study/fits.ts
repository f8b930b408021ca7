// Fits over training curves: per-size perplexity at common wall-clock times (mean ± stderr over
// seeds) on the un-annealed curves, the honest iso-time frontier from annealed points (a model
// whose schedule ended at that budget), the compute-optimal size with the sizes tied with it
// within the noise, and where larger models overtake smaller ones.
import { decide } from '../eval/paired.ts';
import type { Evidence } from './evidence.ts';
import type { Crossing, Frontier, FrontierPoint, SizeSpec, TrainedRun } from './types.ts';

/**
 * Best perplexity a run reached by training time t (NaN before its first evaluation).
 *
 * The trainer evaluates at the end of the first step that reaches each scheduled time, so an
 * evaluation "at 10 s" is logged at, say, 10.01 s (one step later on a large model: 10.6 s).
 * Taking only evaluations at or before t would read every grid time one interval late (at 10 s
 * the untrained model's perplexity). So the value at t is the loss interpolated linearly in time
 * between the evaluations just before and just after t, where one exists after t; the best of
 * that and every evaluation up to t is returned. Past the last evaluation no value is made up.
 */
export function bestBy(run: TrainedRun, t: number): number {
  let best = Number.NaN;
  let prev: TrainedRun['curve'][number] | undefined;
  for (const p of run.curve) {
    if (p.wall_s > t + 1e-9) {
      if (prev && p.wall_s > prev.wall_s) {
        const w = (t - prev.wall_s) / (p.wall_s - prev.wall_s);
        const at = Math.exp(prev.loss + w * (p.loss - prev.loss));
        if (!(at >= best)) best = at;
      }
      break;
    }
    if (!(p.ppl >= best)) best = p.ppl;
    prev = p;
  }
  return best;
}

export function meanStderr(xs: number[]): { mean: number; stderr: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: Number.NaN, stderr: Number.NaN };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (v.length < 2) return { mean, stderr: Number.NaN };
  const varS = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
  return { mean, stderr: Math.sqrt(varS / v.length) };
}

/** Common time grid: every `every` seconds up to the budget, and the budget itself. */
export function timeGrid(budgetS: number, every: number): number[] {
  const ts: number[] = [];
  for (let t = every; t < budgetS - 1e-9; t += every) ts.push(+t.toFixed(6));
  ts.push(budgetS);
  return ts;
}

/** Mean annealed perplexity per size at each annealed budget (geometric mean over seeds). */
function annealedTable(sizes: SizeSpec[], runs: TrainedRun[], times: number[]): Frontier['annealed'] {
  return sizes.map((s) => {
    const rs = runs.filter((r) => r.size_id === s.id);
    const stats = times.map((t) =>
      meanStderr(rs.map((r) => r.annealed.find((a) => Math.abs(a.budget_s - t) < 1e-6)?.loss ?? Number.NaN)),
    );
    return {
      size_id: s.id,
      ppl: stats.map((x) => Math.exp(x.mean)),
      stderr: stats.map((x) => (Number.isFinite(x.stderr) ? Math.exp(x.mean) * x.stderr : Number.NaN)),
    };
  });
}

/** The best size at annealed budget t and every size tied with it (paired, within 2 s.e.). */
function winnerAt(
  sizes: SizeSpec[],
  runs: TrainedRun[],
  table: Frontier['annealed'],
  i: number,
  t: number,
  ev: Evidence | null,
): FrontierPoint {
  let win = { size_id: '', ppl: Number.POSITIVE_INFINITY };
  for (const s of table) if (s.ppl[i]! < win.ppl) win = { size_id: s.size_id, ppl: s.ppl[i]! };
  const ties: string[] = [];
  if (ev && win.size_id) {
    const of = (id: string) => runs.filter((r) => r.size_id === id);
    for (const s of sizes) {
      if (s.id === win.size_id) continue;
      const p = ev.compare(of(s.id), of(win.size_id), (r) => ev.annealed(r, t));
      if (p && decide(p) === 0) ties.push(s.id);
    }
  }
  return { t, ppl: win.ppl, size_id: win.size_id, ties };
}

export function frontier(
  sizes: SizeSpec[],
  runs: TrainedRun[],
  times: number[],
  annealedTimes: number[],
  ev: Evidence | null,
): Frontier {
  const per_size = sizes.map((s) => {
    const rs = runs.filter((r) => r.size_id === s.id);
    const stats = times.map((t) => meanStderr(rs.map((r) => bestBy(r, t))));
    return { size_id: s.id, ppl: stats.map((x) => x.mean), stderr: stats.map((x) => x.stderr) };
  });
  const annealed = annealedTable(sizes, runs, annealedTimes);
  const best = annealedTimes.map((t, i) => winnerAt(sizes, runs, annealed, i, t, ev));
  const last = best[best.length - 1] ?? { size_id: '', ppl: Number.NaN, t: Number.NaN, ties: [] };
  return {
    times,
    per_size,
    annealed_times: annealedTimes,
    annealed,
    best,
    compute_optimal: { size_id: last.size_id, ppl: last.ppl, t: last.t, ties: last.ties },
    crossings: crossings(sizes, per_size, times),
  };
}

/**
 * For each pair (smaller a, larger b by parameters): the first grid time from which b stays
 * below a to the end, if b was above a at some earlier time (otherwise no crossing is reported).
 */
export function crossings(sizes: SizeSpec[], per: Frontier['per_size'], times: number[]): Crossing[] {
  const out: Crossing[] = [];
  const bySize = new Map(per.map((p) => [p.size_id, p.ppl]));
  const ordered = [...sizes].sort((x, y) => x.params - y.params);
  for (let i = 0; i < ordered.length; i++) {
    for (let j = i + 1; j < ordered.length; j++) {
      const a = bySize.get(ordered[i]!.id)!;
      const b = bySize.get(ordered[j]!.id)!;
      let from = -1;
      for (let k = times.length - 1; k >= 0; k--) {
        if (b[k]! < a[k]!) from = k;
        else break;
      }
      const everAbove = times.some((_, k) => k < from && b[k]! >= a[k]!);
      if (from > 0 && everAbove) out.push({ a: ordered[i]!.id, b: ordered[j]!.id, t: times[from]! });
    }
  }
  return out;
}
