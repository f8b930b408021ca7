// Figures of the translation study's report (Vega-Lite specs): BLEU vs training time per size,
// validation loss vs time, the iso-time frontier in BLEU, and the compression grid's BLEU vs
// container bytes and vs non-zero parameters. Presentation only: every number comes from MtResults.
import type { MtResults } from '../study/mt/types.ts';
import type { Figure } from './figures.ts';
import { CONFIG, HEIGHT, logEnc, type Spec, WIDTH } from './style.ts';

function frame(r: MtResults, title: string, sub: string): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: [
        sub,
        `${r.preset} preset · ${r.data.name} · ${r.budget_s} s per size · ${r.data.sample.sentences} BLEU sentences`,
      ],
    },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
  };
}

const sizeOrder = (r: MtResults) => r.sizes.map((s) => s.id);
const colour = (r: MtResults) => ({ field: 'size', type: 'nominal', title: 'size', sort: sizeOrder(r) });

function bleuVsTime(r: MtResults): Figure {
  const greedy = r.runs.flatMap((run) =>
    run.bleu.map((b) => ({ size: run.size_id, t: b.wall_s, bleu: b.bleu, decoding: 'greedy' })),
  );
  const beam = r.runs.map((run) => ({
    size: run.size_id,
    t: run.final.wall_s,
    bleu: run.final.bleu,
    decoding: 'beam',
  }));
  return {
    id: 'fig-mt-1-bleu-vs-time',
    title: 'BLEU vs training time, per size',
    caption:
      'Greedy BLEU of each size’s weights at the BLEU grid times (lines) and the final model by beam search (diamonds), on the fixed validation sample. Which size is ahead at each time is the iso-time question.',
    spec: {
      ...frame(r, 'BLEU vs training time', 'greedy at grid times; beam search at the budget'),
      layer: [
        {
          data: { values: greedy },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'training time, s' },
            y: { field: 'bleu', type: 'quantitative', title: 'BLEU' },
            color: colour(r),
          },
        },
        {
          data: { values: beam },
          mark: { type: 'point', shape: 'diamond', size: 110, filled: true },
          encoding: {
            x: { field: 't', type: 'quantitative' },
            y: { field: 'bleu', type: 'quantitative' },
            color: colour(r),
          },
        },
      ],
    },
  };
}

function lossVsTime(r: MtResults): Figure {
  const values = r.runs.flatMap((run) =>
    run.curve.filter((p) => p.step > 0).map((p) => ({ size: run.size_id, t: p.wall_s, loss: p.loss })),
  );
  return {
    id: 'fig-mt-2-loss-vs-time',
    title: 'Validation loss vs training time, per size',
    caption: 'Cross-entropy per target token (no label smoothing) at every evaluation.',
    spec: {
      ...frame(r, 'Validation loss vs training time', 'every grid time'),
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'training time, s' },
        y: {
          field: 'loss',
          type: 'quantitative',
          title: 'validation loss, nats/token',
          scale: { zero: false },
        },
        color: colour(r),
      },
    },
  };
}

function frontierFig(r: MtResults): Figure {
  const values = r.frontier.map((f) => ({
    t: f.t,
    bleu: f.bleu,
    size: f.size_id,
    label: `${f.size_id}${f.ties.length ? ` (~${f.ties.join(', ')})` : ''}${f.decoding === 'beam' ? ', beam' : ''}`,
  }));
  return {
    id: 'fig-mt-3-frontier',
    title: 'Iso-time frontier in BLEU',
    caption:
      'The best BLEU reached by any size at each BLEU grid time (greedy) and at the budget (beam), labelled with the size; sizes in parentheses are inside the noise of the best (paired bootstrap). The last point is the compute-optimal size.',
    spec: {
      ...frame(r, 'Iso-time frontier in BLEU', 'best size at each training time'),
      data: { values },
      layer: [
        {
          mark: { type: 'line', color: '#888' },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'training time, s' },
            y: { field: 'bleu', type: 'quantitative', title: 'best BLEU' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 80 },
          encoding: {
            x: { field: 't', type: 'quantitative' },
            y: { field: 'bleu', type: 'quantitative' },
            color: colour(r),
          },
        },
        {
          mark: { type: 'text', dy: -12, fontSize: 11 },
          encoding: {
            x: { field: 't', type: 'quantitative' },
            y: { field: 'bleu', type: 'quantitative' },
            text: { field: 'label' },
          },
        },
      ],
    },
  };
}

function compressionFig(r: MtResults, by: 'bytes' | 'nonzero'): Figure {
  const pts = r.compression.filter(
    (p) => p.method === 'dense' || (by === 'bytes' ? p.method === 'rtn' : p.method === 'magnitude'),
  );
  const values = pts.map((p) => ({
    size: p.size_id,
    x: by === 'bytes' ? p.bytes : p.nonzero_params,
    bleu: p.bleu,
    setting: p.method === 'dense' ? 'dense fp32' : p.setting,
  }));
  const id = by === 'bytes' ? 'fig-mt-4-bleu-vs-bytes' : 'fig-mt-5-bleu-vs-nonzero';
  if (!values.length) return { id, title: '', caption: '', spec: null, skipped: 'no compression points' };
  const title =
    by === 'bytes' ? 'BLEU vs compressed size (quantization)' : 'BLEU vs non-zero parameters (pruning)';
  return {
    id,
    title,
    caption:
      by === 'bytes'
        ? 'Each size dense and quantized (round-to-nearest, per channel); x is the exact container size. Claim 3 compares points at equal bytes.'
        : 'Each size dense and pruned (global magnitude, one-shot); x counts the non-zero parameters. Claim 3 compares points at equal non-zeros.',
    spec: {
      ...frame(r, title, 'greedy BLEU on the fixed sample'),
      data: { values },
      mark: { type: 'point', filled: true, size: 70 },
      encoding: {
        x: logEnc(
          'x',
          by === 'bytes' ? 'container bytes (log)' : 'non-zero parameters (log)',
          values.map((v) => v.x),
        ),
        y: { field: 'bleu', type: 'quantitative', title: 'BLEU' },
        color: colour(r),
        shape: { field: 'setting', type: 'nominal', title: 'setting' },
      },
    },
  };
}

export function mtFigures(r: MtResults): Figure[] {
  return [
    bleuVsTime(r),
    lossVsTime(r),
    frontierFig(r),
    compressionFig(r, 'bytes'),
    compressionFig(r, 'nonzero'),
  ];
}
