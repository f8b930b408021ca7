// The scaling figure: the compute-optimal non-embedding size against training time on log–log
// axes — the fitted law's N_opt(t) as a line, the measured optimum at each annealed budget as
// points, the grid's sizes as horizontal guides. Draws results.scaling; computes no result.
import { optimalN } from '../study/lawfit.ts';
import type { StudyResults } from '../study/types.ts';
import { base, type Figure, type Spec, WIDTH } from './style.ts';

/** The figure's spec (null without a fit): the line is the fit's own optimalN at each time. */
export function optimumSpec(r: StudyResults): Spec | null {
  const f = r.scaling;
  if (!f) return null;
  const lo = Math.min(...f.optimum.map((o) => o.t), ...f.measured.map((m) => m.t));
  const hi = Math.max(...f.optimum.map((o) => o.t));
  const line: Spec[] = [];
  for (let t = lo; t <= hi * 1.0001; t *= 1.25) line.push({ t, n: optimalN(f.law, f.throughput, t) });
  const measured = f.measured.filter((m) => m.n > 0).map((m) => ({ t: m.t, n: m.n, label: m.size_id }));
  const grid = r.sizes.map((s) => ({ n: s.non_embedding_params, label: s.id }));
  const x = { field: 't', type: 'quantitative', scale: { type: 'log' }, title: 'training time, s (log)' };
  const y = {
    field: 'n',
    type: 'quantitative',
    scale: { type: 'log' },
    title: 'non-embedding parameters (log)',
  };
  return {
    ...base(
      r,
      'Compute-optimal size vs training time on this machine',
      [
        `line: the fit's N_opt(t) ∝ t^${f.exponent.toFixed(2)}; points: the measured best size at each annealed budget; grey: the grid's sizes`,
        'Kaplan et al. 2020: N_opt ∝ C^0.73; Hoffmann et al. 2022: ∝ C^0.46–0.50 (C in FLOPs)',
      ],
      WIDTH,
      360,
    ),
    layer: [
      { data: { values: grid }, mark: { type: 'rule', color: '#ccc' }, encoding: { y } },
      {
        data: { values: grid },
        mark: { type: 'text', align: 'left', x: 4, dy: -6, fontSize: 10, color: '#888' },
        encoding: { y, text: { field: 'label' } },
      },
      {
        data: { values: line },
        mark: { type: 'line', color: '#1f5f8b', strokeWidth: 2 },
        encoding: { x, y },
      },
      {
        data: { values: measured },
        mark: { type: 'point', filled: true, size: 90, color: '#c0392b' },
        encoding: { x, y, tooltip: { field: 'label' } },
      },
      {
        data: { values: measured },
        mark: { type: 'text', dx: 8, align: 'left', fontSize: 10.5, color: '#b03a2e' },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  };
}

export function scalingFigures(r: StudyResults): Figure[] {
  return [
    {
      id: 'fig-4-compute-optimal',
      title: 'Where the compute-optimal size moves with the budget',
      caption:
        'The loss law fitted to every annealed point predicts the best size for any training time on this machine (line); the points are the sizes that measured best at the budgets trained. Where the line leaves the grid, the prediction is an extrapolation: `tlc study --preset check` tests it.',
      spec: optimumSpec(r),
      ...(r.scaling ? {} : { skipped: 'no scaling fit (fewer than 3 sizes or 6 annealed points)' }),
    },
  ];
}
