// The study's scaling section: the loss law fitted to the annealed points of every run, the
// throughput law of this machine, the compute-optimal size as a function of training time with
// bootstrap intervals, the time from which each grid size would be the optimum, and the
// published exponents beside ours. Results only; the figure is drawn by the report.
import {
  bootstrapLaw,
  fitLossLaw,
  fitThroughput,
  type LawPoint,
  lawLoss,
  optimalExponent,
  optimalN,
  takeoverTimes,
} from './lawfit.ts';
import type { Frontier, ScalingFit, SizeSpec, TrainedRun } from './types.ts';

export const PUBLISHED = {
  kaplan: 'Kaplan et al. 2020: N_opt ∝ C^0.73 (compute C in FLOPs; non-embedding parameters)',
  hoffmann: 'Hoffmann et al. 2022: N_opt ∝ C^0.46–0.50 (fit of L(N, D) = E + A/N^α + B/D^β: α 0.34, β 0.28)',
};

export function lawPoints(
  sizes: SizeSpec[],
  runs: TrainedRun[],
): Array<LawPoint & { size_id: string; t: number }> {
  const n = new Map(sizes.map((s) => [s.id, s.non_embedding_params]));
  return runs.flatMap((r) =>
    r.annealed.map((a) => ({
      size_id: r.size_id,
      n: n.get(r.size_id)!,
      d: a.tokens,
      t: a.budget_s,
      loss: a.loss,
      run: r.id,
    })),
  );
}

export function scalingFit(
  sizes: SizeSpec[],
  runs: TrainedRun[],
  fr: Frontier,
  budgetS: number,
  resamples = 200,
): ScalingFit | null {
  const pts = lawPoints(sizes, runs);
  if (pts.length < 6 || new Set(pts.map((p) => p.n)).size < 3) return null;
  const tps = sizes.map((s) => {
    const rs = runs.filter((r) => r.size_id === s.id);
    return {
      id: s.id,
      n: s.non_embedding_params,
      tps: rs.reduce((a, r) => a + r.tokens_per_s, 0) / rs.length,
    };
  });
  const tp = fitThroughput(tps);
  const law = fitLossLaw(pts);
  const intervals = bootstrapLaw(
    pts,
    (l) => ({
      exponent: optimalExponent(l, tp),
      alpha: l.alpha,
      beta: l.beta,
      n_opt_at_budget: optimalN(l, tp, budgetS),
      n_opt_at_8x: optimalN(l, tp, 8 * budgetS),
    }),
    resamples,
  );
  const times = [budgetS / 4, budgetS, 4 * budgetS, 16 * budgetS, 64 * budgetS, 3600, 86400];
  const nOf = new Map(sizes.map((s) => [s.id, s.non_embedding_params]));
  return {
    points: pts.map(({ size_id, n, d, t, loss }) => ({ size_id, n, d, t, loss })),
    law: { E: law.E, A: law.A, alpha: law.alpha, B: law.B, beta: law.beta },
    intervals,
    throughput: tp,
    exponent: optimalExponent(law, tp),
    published: PUBLISHED,
    optimum: times.map((t) => {
      const nOpt = optimalN(law, tp, t);
      return { t, n_opt: nOpt, loss: lawLoss(law, nOpt, t * tp.k * nOpt ** -tp.gamma) };
    }),
    takeover: takeoverTimes(law, tps, 1, 1e8).map((x) => ({ size_id: x.id, from_s: x.from_s })),
    measured: fr.best.map((b) => ({ t: b.t, size_id: b.size_id, n: nOf.get(b.size_id) ?? Number.NaN })),
    note: `fitted on ${pts.length} annealed points of ${new Set(pts.map((p) => p.run)).size} runs; extrapolations far beyond the budgets trained (${Math.min(...pts.map((p) => p.t))}–${budgetS} s) are guesses, which the check preset tests`,
  };
}
