// Vega-Lite specs for the training figures (perplexity vs time, steps, FLOPs; the iso-time
// frontier) and the list of every figure in the report. Draws StudyResults; computes no result.
import type { StudyResults } from '../study/types.ts';

export type { Figure } from './style.ts';

import { compressionFigures } from './figures-compress.ts';
import { scalingFigures } from './figures-scaling.ts';
import {
  base,
  type Figure,
  fmtParams,
  fmtSeconds,
  nonEmpty,
  orderedSizes,
  positive,
  pplAxis,
  type Spec,
  sizeColor,
  sizeLabel,
  WIDTH,
} from './style.ts';

type CurveX = 'wall_s' | 'step' | 'flops';

const X_AXIS: Record<CurveX, Spec> = {
  wall_s: { field: 'x', type: 'quantitative', title: 'training time, s (evaluation excluded)' },
  step: { field: 'x', type: 'quantitative', title: 'optimizer steps' },
  flops: {
    field: 'x',
    type: 'quantitative',
    title: 'training FLOPs (k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15)',
    axis: { format: '~s' },
  },
};

/** One row per validation evaluation of every run. */
function curveRows(r: StudyResults, x: CurveX): Spec[] {
  return r.runs.flatMap((run) =>
    run.curve
      .filter((p) => positive(p.ppl) && Number.isFinite(p[x]))
      .map((p) => ({ size: sizeLabel(r, run.size_id), run: run.id, seed: run.seed, x: p[x], ppl: p.ppl })),
  );
}

function curveFigure(r: StudyResults, x: CurveX, title: string, small = false): Spec | null {
  const rows = curveRows(r, x);
  if (rows.length === 0) return null;
  const note = r.seeds.length > 1 ? 'one line per run (each seed its own line)' : 'one line per run';
  const layers: Spec[] = [
    {
      data: { values: rows },
      mark: { type: 'line', strokeWidth: small ? 1.5 : 2, opacity: 0.85, interpolate: 'linear' },
      encoding: {
        x: X_AXIS[x],
        y: pplAxis(
          rows.map((p) => Number(p['ppl'])),
          'ppl',
          small ? 'perplexity (log scale)' : undefined,
        ),
        color: sizeColor(r),
        detail: { field: 'run', type: 'nominal' },
      },
    },
  ];
  if (x === 'wall_s') layers.push(...budgetRule(r, X_AXIS.wall_s));
  layers.push(...unigramRule(r, 'ppl'));
  const spec = base(
    r,
    title,
    `${note}; log-scale perplexity; dotted line: unigram baseline (${r.data.unigram_ppl.toFixed(1)})`,
    small ? 440 : WIDTH,
    small ? 260 : 360,
  );
  return { ...spec, layer: layers };
}

/** A dotted horizontal rule at the unigram baseline's perplexity, labelled. */
export function unigramRule(r: StudyResults, field: string): Spec[] {
  const u = r.data.unigram_ppl;
  if (!positive(u)) return [];
  const values = [{ [field]: u, label: `unigram baseline ${u.toFixed(1)}` }];
  const y = { field, type: 'quantitative' };
  return [
    {
      data: { values },
      mark: { type: 'rule', strokeDash: [1, 3], color: '#555', strokeWidth: 1.5 },
      encoding: { y },
    },
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'bottom', x: 4, dy: -2, fontSize: 10.5, color: '#555' },
      encoding: { y, text: { field: 'label' } },
    },
  ];
}

/** A dashed vertical rule at the training budget, labelled. */
function budgetRule(r: StudyResults, x: Spec): Spec[] {
  const values = [{ [String(x.field)]: r.budget_s, label: `budget ${fmtSeconds(r.budget_s)}` }];
  return [
    { data: { values }, mark: { type: 'rule', strokeDash: [5, 4], color: '#777' }, encoding: { x } },
    {
      data: { values },
      mark: { type: 'text', align: 'right', baseline: 'top', dx: -4, y: 4, fontSize: 11, color: '#555' },
      encoding: { x, text: { field: 'label' } },
    },
  ];
}

interface FrontierRows {
  perSize: Spec[];
  best: Spec[];
  crossings: Spec[];
  annealed: Spec[];
}

/** Runs of consecutive budgets won by one size: "d128 up to 30 s, then d384 from 35 s". */
export function winnerSegments(r: StudyResults): Array<{ size_id: string; from: number; to: number }> {
  const out: Array<{ size_id: string; from: number; to: number }> = [];
  for (const b of r.frontier.best) {
    if (!positive(b.ppl) || !b.size_id) continue;
    const last = out.at(-1);
    if (last && last.size_id === b.size_id) last.to = b.t;
    else out.push({ size_id: b.size_id, from: b.t, to: b.t });
  }
  return out;
}

function frontierRows(r: StudyResults): FrontierRows {
  const f = r.frontier;
  const perSize = f.per_size.flatMap((s) =>
    f.times.flatMap((t, i) => {
      const ppl = s.ppl[i];
      if (!positive(ppl)) return [];
      const se = s.stderr[i];
      const hasSe = positive(se) && ppl - se > 0;
      return [
        { size: sizeLabel(r, s.size_id), t, ppl, lo: hasSe ? ppl - se : ppl, hi: hasSe ? ppl + se : ppl },
      ];
    }),
  );
  const best = f.best
    .filter((b) => positive(b.ppl) && b.size_id)
    .map((b) => ({ t: b.t, ppl: b.ppl, size: sizeLabel(r, b.size_id) }));
  const annealed = f.annealed.flatMap((s) =>
    f.annealed_times.flatMap((t, i) => {
      const ppl = s.ppl[i];
      return positive(ppl) ? [{ size: sizeLabel(r, s.size_id), t, ppl }] : [];
    }),
  );
  const tMax = Math.max(...f.times.filter(Number.isFinite), r.budget_s);
  const crossings = [...f.crossings]
    .sort((p, q) => p.t - q.t)
    .flatMap((c) => {
      const i = f.times.findIndex((t) => Math.abs(t - c.t) < 1e-9);
      const ppl = f.per_size.find((s) => s.size_id === c.b)?.ppl[i];
      if (i < 0 || !positive(ppl)) return [];
      return [
        {
          t: c.t,
          ppl,
          label: `${fmtSeconds(c.t)}: ${c.b} below ${c.a} from here on`,
          right: c.t > 0.6 * tMax,
        },
      ];
    })
    // stack the labels at the top of the plot, below the budget and compute-optimal labels
    .map((c, k) => ({ ...c, py: 40 + 15 * k }));
  return { perSize, best, crossings, annealed };
}

function crossingLayers(rows: Spec[], x: Spec, y: Spec): Spec[] {
  const py = { field: 'py', type: 'quantitative', scale: null };
  const text = (right: boolean): Spec => ({
    data: { values: rows.filter((c) => c['right'] === right) },
    mark: {
      type: 'text',
      align: right ? 'right' : 'left',
      dx: right ? -5 : 5,
      baseline: 'middle',
      fontSize: 10.5,
      color: '#b03a2e',
    },
    encoding: { x, y: py, text: { field: 'label' } },
  });
  return [
    {
      data: { values: rows },
      mark: { type: 'rule', strokeDash: [2, 3], color: '#c0392b', opacity: 0.7 },
      encoding: { x },
    },
    {
      data: { values: rows },
      mark: { type: 'point', shape: 'diamond', size: 110, filled: true, color: '#c0392b', opacity: 1 },
      encoding: { x, y },
    },
    text(false),
    text(true),
  ];
}

/** Per-size mean lines with their bands, and the frontier itself coloured by the winning size. */
function curveLayers(r: StudyResults, rows: FrontierRows, x: Spec, y: Spec): Spec[] {
  return [
    {
      data: { values: rows.perSize },
      mark: { type: 'errorband', opacity: 0.18 },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color: sizeColor(r) },
    },
    {
      data: { values: rows.perSize },
      mark: { type: 'line', strokeWidth: 1.3, opacity: 0.6, strokeDash: [5, 3] },
      encoding: { x, y, color: sizeColor(r) },
    },
    {
      data: { values: rows.annealed },
      mark: { type: 'line', strokeWidth: 2, opacity: 0.9, point: { filled: false, size: 40 } },
      encoding: { x, y, color: sizeColor(r) },
    },
    {
      data: { values: rows.best },
      mark: { type: 'line', strokeWidth: 5, color: '#222', opacity: 0.22 },
      encoding: { x, y },
    },
    {
      data: { values: rows.best },
      mark: { type: 'point', filled: true, size: 55, stroke: '#222', strokeWidth: 0.8, opacity: 1 },
      encoding: { x, y, color: sizeColor(r) },
    },
  ];
}

/** A ring around the compute-optimal point and its label at the top right. */
function optimalLayers(r: StudyResults, x: Spec, y: Spec): Spec[] {
  const co = r.frontier.compute_optimal;
  if (!positive(co.ppl)) return [];
  const label = `ringed: compute-optimal at ${fmtSeconds(co.t)} is ${sizeLabel(r, co.size_id)}, ppl ${co.ppl.toFixed(2)}`;
  const values = [{ t: co.t, ppl: co.ppl, label }];
  return [
    {
      data: { values },
      mark: { type: 'point', shape: 'circle', size: 420, filled: false, stroke: '#c0392b', strokeWidth: 2 },
      encoding: { x, y },
    },
    {
      data: { values },
      mark: {
        type: 'text',
        align: 'right',
        baseline: 'top',
        dx: -5,
        y: 20,
        fontSize: 11,
        fontWeight: 'bold',
        color: '#b03a2e',
      },
      encoding: { x, text: { field: 'label' } },
    },
  ];
}

/** Figure 3: the iso-time frontier with per-size means, the winner at each budget, crossings. */
export function frontierFigure(r: StudyResults): Spec | null {
  const rows = frontierRows(r);
  if (rows.best.length === 0) return null;
  const x = { field: 't', type: 'quantitative', title: 'training-time budget, s' };
  const y = pplAxis(
    rows.perSize
      .flatMap((p) => [Number(p['lo']), Number(p['hi'])])
      .concat(rows.best.map((p) => Number(p['ppl']))),
    'ppl',
    'validation perplexity at the budget (log)',
  );
  const layers: Spec[] = [
    ...curveLayers(r, rows, x, y),
    ...budgetRule(r, x),
    ...optimalLayers(r, x, y),
    ...crossingLayers(rows.crossings, x, y),
    ...unigramRule(r, 'ppl'),
  ];
  const crossNote =
    rows.crossings.length > 0
      ? 'red diamonds: a larger size falls below a smaller one for good'
      : 'no larger size falls below a smaller one for good within this range';
  const sub = [
    'solid lines and rings: annealed models (a schedule that ended at that budget), mean over seeds; filled points: the frontier, coloured by the winner',
    'dashed lines: the un-annealed curves of the full-budget runs (their learning rate had not decayed there), band ± 1 s.e. over seeds',
    crossNote,
  ];
  return {
    ...base(r, 'Iso-time frontier: best perplexity at each training-time budget', sub, WIDTH, 420),
    layer: nonEmpty(layers),
  };
}

function winnersText(r: StudyResults): string {
  const segs = winnerSegments(r);
  if (segs.length === 0) return 'none (no finite perplexity on the grid)';
  return segs
    .map((s) =>
      s.from === s.to
        ? `${s.size_id} at ${fmtSeconds(s.from)}`
        : `${s.size_id} from ${fmtSeconds(s.from)} to ${fmtSeconds(s.to)}`,
    )
    .join(', ');
}

/** Every figure of the report, in order; a figure with nothing to draw carries a note instead. */
export function allFigures(r: StudyResults): Figure[] {
  const largest = orderedSizes(r).at(-1);
  const big = largest ? `${largest.id} (${fmtParams(largest.params)})` : 'the largest size';
  const noCurves = 'no validation evaluations were recorded for any run';
  const figs: Figure[] = [
    {
      id: 'fig-1-ppl-vs-time',
      title: 'Validation perplexity vs training time',
      caption: `Claim 1 in one picture: at each moment, which size is lowest? Look at the right edge (the budget): if ${big} is not the lowest line there, the largest model did not win at this budget.`,
      spec: curveFigure(r, 'wall_s', 'Validation perplexity vs training wall-clock time'),
    },
    {
      id: 'fig-2-ppl-vs-steps',
      title: 'Validation perplexity vs optimizer steps',
      caption:
        'Larger models should be lower at the same step (they learn more per step); they take fewer steps in the same time, so compare with figure 1.',
      spec: curveFigure(r, 'step', 'Validation perplexity vs optimizer steps'),
    },
    {
      id: 'fig-2b-ppl-vs-flops',
      title: 'Validation perplexity vs training FLOPs',
      caption:
        'The same curves against compute spent (model FLOPs, as the paper also plots): the gap between this and figure 1 is how well each size uses the hardware.',
      spec: curveFigure(r, 'flops', 'Validation perplexity vs training FLOPs', true),
    },
    {
      id: 'fig-3-iso-time-frontier',
      title: 'Iso-time frontier',
      caption: `For each annealed budget, the best mean perplexity of a model whose schedule ended there, coloured by the size that reached it (solid); the dashed lines are the full-budget runs before their decay, shown for their shape only. The ringed point is the compute-optimal size at the full budget; red diamonds mark where a larger size's un-annealed curve falls below a smaller one's for good. Best size by budget: ${winnersText(r)}.`,
      spec: frontierFigure(r),
    },
    ...scalingFigures(r),
    ...compressionFigures(r),
  ];
  return figs.map((f) =>
    f.spec === null && !f.skipped
      ? { ...f, skipped: f.id.startsWith('fig-3') ? 'the frontier has no finite points' : noCurves }
      : f,
  );
}
