// Vega-Lite specs for the compression figures: perplexity vs bytes (quantization), vs non-zero
// parameters (pruning), the Pareto frontiers (bytes, non-zeros, measured latency), and fine-tuned
// accuracy. Draws; computes no result.
import { NEAR_UNIGRAM, NEAR_UNIGRAM_LABEL, nearUnigram } from '../study/baseline.ts';
import type { CompressionPoint, StudyResults } from '../study/types.ts';
import { meanLabels, placedLabels } from './labels.ts';
import {
  base,
  type Figure,
  finite,
  isDense,
  isPrune,
  isQuant,
  logEnc,
  nonEmpty,
  positive,
  pplAxis,
  type Spec,
  sizeColor,
  sizeLabel,
} from './style.ts';

type XField = 'bytes' | 'nonzero_params' | 'latency';
type Metric = 'ppl' | 'accuracy';

const X_TITLE: Record<XField, string> = {
  bytes: 'compressed model size, bytes (log scale)',
  nonzero_params: 'non-zero parameters (log scale)',
  latency: 'latency at batch 1, ms (log scale)',
};

/** The point's value on the x axis (latency: NaN where none was measured). */
function xOf(p: CompressionPoint, x: XField): number {
  return x === 'latency' ? (p.latency?.latency_ms_b1 ?? Number.NaN) : p[x];
}

const ACCURACY: Spec = {
  field: 'y',
  type: 'quantitative',
  title: 'accuracy (axis does not start at 0)',
  scale: { zero: false },
  axis: { format: '.0%' },
};

function xEnc(x: XField, rows: Spec[]): Spec {
  return logEnc(
    'x',
    X_TITLE[x],
    rows.map((p) => Number(p['x'])),
    x === 'latency' ? '~r' : '~s',
  );
}

function yEnc(metric: Metric, rows: Spec[]): Spec {
  return metric === 'ppl'
    ? pplAxis(
        rows.flatMap((p) => [Number(p['lo']), Number(p['hi'])]),
        'y',
      )
    : ACCURACY;
}

function pointLabel(p: CompressionPoint, x: XField): string {
  if (x !== 'nonzero_params' && finite(p.bits)) return `${p.bits}b`;
  if (finite(p.sparsity)) return `${Math.round(p.sparsity * 100)}%`;
  return p.setting;
}

/** A point within 5% of the unigram baseline's perplexity (perplexity figures only). */
function isNear(r: StudyResults, p: CompressionPoint, metric: Metric): boolean {
  return metric === 'ppl' && positive(r.data.unigram_ppl) && nearUnigram(p.ppl, r.data.unigram_ppl);
}

/** A point's tooltip: what it is, its value and the evaluation tokens behind it. */
function tooltip(r: StudyResults, p: CompressionPoint, metric: Metric): string {
  const v =
    metric === 'ppl'
      ? `perplexity ${p.ppl.toFixed(2)} on ${p.tokens} evaluation tokens${isNear(r, p, metric) ? ` (${NEAR_UNIGRAM_LABEL})` : ''}`
      : `accuracy ${(100 * (p.accuracy ?? Number.NaN)).toFixed(1)}%`;
  return `${p.size_id} ${p.method} ${p.setting}, seed ${p.seed}: ${v}`;
}

/** The subtitle line naming the sizes near the unigram baseline, or nothing. */
function nearNote(r: StudyResults, pts: CompressionPoint[]): string[] {
  const near = [...new Set(pts.filter((p) => isNear(r, p, 'ppl')).map((p) => p.size_id))];
  return near.length
    ? [
        `${NEAR_UNIGRAM_LABEL} (perplexity within ${100 * NEAR_UNIGRAM}% of ${r.data.unigram_ppl.toFixed(1)}): ${near.join(', ')}`,
      ]
    : [];
}

function rows(r: StudyResults, pts: CompressionPoint[], x: XField, metric: Metric): Spec[] {
  return pts.flatMap((p) => {
    const y = metric === 'ppl' ? p.ppl : p.accuracy;
    const hasBar = metric === 'ppl' && positive(p.ppl_low) && positive(p.ppl_high);
    if (!positive(xOf(p, x)) || !(metric === 'ppl' ? positive(y) : finite(y))) return [];
    return [
      {
        size: sizeLabel(r, p.size_id),
        size_id: p.size_id,
        method: p.method,
        setting: p.setting,
        seed: p.seed,
        x: xOf(p, x),
        y,
        lo: hasBar ? p.ppl_low : y,
        hi: hasBar ? p.ppl_high : y,
        label: pointLabel(p, x),
        near: isNear(r, p, metric),
        tooltip: tooltip(r, p, metric),
      },
    ];
  });
}

interface CompressPlot {
  points: CompressionPoint[];
  x: XField;
  metric: Metric;
  title: string;
  sub: string;
  /** extra layers drawn on top (e.g. dense accuracy rules) */
  extra?: Spec[];
}

const TOOLTIP: Spec = { field: 'tooltip', type: 'nominal' };

const SHAPES = ['circle', 'triangle-up', 'cross', 'triangle-down', 'square'];
const DASHES: Array<[string, number[]]> = [
  ['solid', [1, 0]],
  ['dashed', [7, 4]],
  ['dotted', [2, 3]],
  ['dash-dot', [8, 3, 2, 3]],
];

/** Shape and dash scales fixed per method, so the subtitle can say which dash is which. */
function methodScales(methods: string[]): { shape: Spec; dash: Spec; note: string } {
  const dashes = methods.map((_, i) => DASHES[i % DASHES.length]!);
  return {
    shape: {
      field: 'method',
      type: 'nominal',
      title: 'method',
      scale: { domain: methods, range: methods.map((_, i) => SHAPES[i % SHAPES.length]) },
    },
    dash: {
      field: 'line_method',
      type: 'nominal',
      legend: null,
      scale: { domain: methods, range: dashes.map((d) => d[1]) },
    },
    note:
      methods.length > 1
        ? `lines: ${methods.map((m, i) => `${m} ${dashes[i]![0]}`).join(', ')}`
        : `line: ${methods[0] ?? ''}`,
  };
}

/** A Vega-Lite transform: mean x and y over seeds within each group. */
function mean(groupby: string[]): Spec[] {
  return [
    {
      aggregate: [
        { op: 'mean', field: 'x', as: 'x' },
        { op: 'mean', field: 'y', as: 'y' },
      ],
      groupby,
    },
  ];
}

/** Vertical bars from `lo` to `hi` for each point (each seed's, dense included: they carry its tooltip). */
function errorBars(values: Spec[], x: Spec, y: Spec, color: Spec): Spec {
  return {
    data: { values },
    mark: { type: 'rule', strokeWidth: 1.2, opacity: 0.6 },
    encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color, tooltip: TOOLTIP },
  };
}

/** Lines per (size, method) through the seed means; dense drawn as diamonds and joined to each line. */
function compressionSpec(r: StudyResults, all: CompressionPoint[], plot: CompressPlot): Spec | null {
  const pts = rows(r, plot.points, plot.x, plot.metric);
  if (pts.length === 0) return null;
  const dense = rows(r, all.filter(isDense), plot.x, plot.metric);
  const methods = [...new Set(pts.map((p) => String(p['method'])))];
  const lineRows = [
    ...pts,
    ...methods.flatMap((m) => dense.map((d) => ({ ...d, method: m, label: '' }))),
  ].map((p) => ({ ...p, line_method: p['method'] }));
  const x = xEnc(plot.x, [...pts, ...dense]);
  const y = yEnc(plot.metric, [...pts, ...dense]);
  const color = sizeColor(r);
  const ms = methodScales(methods);
  const bars = (values: Spec[]) => errorBars(values, x, y, color);
  const layers: Spec[] = [
    {
      data: { values: lineRows },
      transform: mean(['size', 'line_method', 'setting']),
      mark: { type: 'line', strokeWidth: 2 },
      encoding: { x, y, color, strokeDash: ms.dash },
    },
    bars(pts),
    bars(dense),
    {
      data: { values: pts },
      mark: { type: 'point', filled: true, size: 45, opacity: 0.9 },
      encoding: { x, y, color, shape: ms.shape, tooltip: TOOLTIP },
    },
    {
      data: { values: dense },
      transform: mean(['size']),
      mark: {
        type: 'point',
        shape: 'diamond',
        size: 170,
        filled: true,
        stroke: '#222',
        strokeWidth: 1,
        opacity: 1,
      },
      encoding: { x, y, color },
    },
    ...(plot.extra ?? []),
    ...placedLabels(meanLabels(pts), [...pts, ...dense], x, y, plot.metric === 'ppl'),
  ];
  const denseNote = dense.length > 0 ? 'big diamonds: dense (mean over seeds)' : 'no dense points';
  return {
    ...base(r, plot.title, [
      `${plot.sub}; ${denseNote}`,
      `${ms.note}; one line per size and method through the means over seeds`,
      ...(plot.metric === 'ppl' ? nearNote(r, [...plot.points, ...all.filter(isDense)]) : []),
    ]),
    layer: nonEmpty(layers),
  };
}

const FRONT_WHAT: Record<XField, string> = {
  bytes: 'compressed bytes',
  nonzero_params: 'non-zero parameters',
  latency: 'latency at batch 1',
};

/** Where the latencies were measured (the latency front's subtitle). */
function measuredOn(r: StudyResults): string[] {
  const on = [
    ...new Set(
      r.compression.flatMap((p) =>
        p.latency
          ? [
              `${p.latency.cpu}, ${p.latency.threads} threads, ${p.latency.backend} backend, ${p.latency.seq_len} tokens`,
            ]
          : [],
      ),
    ),
  ];
  return on.length ? [`latency measured on ${on.join('; ')}: specific to that machine`] : [];
}

/** Figure 6: every compression point faint, the Pareto frontier bold, frontier points labelled. */
function paretoSpec(r: StudyResults, x: XField): Spec | null {
  const front = { bytes: r.pareto.bytes, nonzero_params: r.pareto.nonzero, latency: r.pareto.latency ?? [] }[
    x
  ];
  const all = rows(r, r.compression, x, 'ppl');
  const fr: Spec[] = rows(r, front, x, 'ppl').map((p) => ({
    ...p,
    label: `${p['size_id']} · ${p['method'] === 'dense' ? 'dense' : `${p['method']} ${p['setting']}`}${p['near'] ? ` · ${NEAR_UNIGRAM_LABEL}` : ''}`,
  }));
  if (all.length === 0 || fr.length === 0) return null;
  fr.sort((a, b) => Number(a['x']) - Number(b['x']));
  const xe = xEnc(x, all);
  const y = yEnc('ppl', all);
  const what = FRONT_WHAT[x];
  const layers: Spec[] = [
    {
      data: { values: all },
      mark: { type: 'point', filled: true, size: 35, opacity: 0.3 },
      encoding: {
        x: xe,
        y,
        color: sizeColor(r, 'circle'),
        shape: { field: 'method', type: 'nominal', title: 'method' },
        tooltip: TOOLTIP,
      },
    },
    {
      data: { values: fr },
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 3, color: '#222' },
      encoding: { x: xe, y, order: { field: 'x', type: 'quantitative' } },
    },
    {
      data: { values: fr },
      mark: { type: 'point', filled: true, size: 80, stroke: '#222', strokeWidth: 1.2, opacity: 1 },
      encoding: { x: xe, y, color: sizeColor(r, 'circle'), tooltip: TOOLTIP },
    },
    ...placedLabels(
      fr.map((p) => ({ x: Number(p['x']), y: Number(p['y']), text: String(p['label']) })),
      all,
      xe,
      y,
      true,
    ),
  ];
  const most = x === 'latency' ? 'at most that latency' : `at most that many ${what}`;
  const sub = `faint: every compressed and dense model${x === 'latency' ? ' with a measured latency' : ''}; black steps: lowest perplexity ${most}`;
  return {
    ...base(r, `Pareto frontier: perplexity vs ${what}, all sizes and methods`, [
      sub,
      ...(x === 'latency' ? measuredOn(r) : []),
      ...nearNote(r, r.compression),
    ]),
    layer: nonEmpty(layers),
  };
}

function finetuneSpec(r: StudyResults, x: XField): Spec | null {
  const ft = r.finetune;
  if (!ft) return null;
  const pts = ft.compression.filter(x === 'bytes' ? isQuant : isPrune);
  const what = x === 'bytes' ? 'compressed bytes (quantization)' : 'non-zero parameters (pruning)';
  const denseAcc = ft.dense
    .filter((d) => finite(d.accuracy))
    .map((d) => ({ size: sizeLabel(r, d.size_id), acc: d.accuracy }));
  const rule = {
    data: { values: denseAcc },
    mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5, opacity: 0.8 },
    encoding: { y: { ...ACCURACY, field: 'acc' }, color: sizeColor(r) },
  };
  return compressionSpec(r, ft.compression, {
    points: pts,
    x,
    metric: 'accuracy',
    title: `Fine-tuned accuracy on ${ft.task} vs ${what}`,
    sub: 'labels: bits or sparsity; horizontal dashed lines: dense fine-tuned accuracy per size',
    extra: denseAcc.length > 0 ? [rule] : [],
  });
}

function quantPruneFigures(r: StudyResults): Figure[] {
  const quant = r.compression.filter(isQuant);
  const prune = r.compression.filter(isPrune);
  const bars = 'bars: 95% interval of the perplexity over evaluation tokens';
  return [
    {
      id: 'fig-4-quantization',
      title: 'Perplexity vs compressed bytes: quantization',
      caption:
        'Claim 2: a larger model should lose less perplexity as the bits go down (a flatter line from its dense diamond). Claim 3: at the same bytes, is a large model at few bits lower than a small model at many bits?',
      spec: compressionSpec(r, r.compression, {
        points: quant,
        x: 'bytes',
        metric: 'ppl',
        title: 'Perplexity vs compressed size under quantization',
        sub: `labels: bits per weight; ${bars}`,
      }),
      skipped: quant.length === 0 ? 'this study has no quantization points' : undefined,
    },
    {
      id: 'fig-5-pruning',
      title: 'Perplexity vs non-zero parameters: pruning',
      caption:
        'Claim 2 for pruning: the larger model should keep its perplexity to higher sparsity. Compare lines at equal non-zero counts for claim 3.',
      spec: compressionSpec(r, r.compression, {
        points: prune,
        x: 'nonzero_params',
        metric: 'ppl',
        title: 'Perplexity vs non-zero parameters under pruning',
        sub: `labels: sparsity; ${bars}`,
      }),
      skipped: prune.length === 0 ? 'this study has no pruning points' : undefined,
    },
  ];
}

function paretoFinetuneFigures(r: StudyResults): Figure[] {
  const ftNote = r.finetune ? undefined : 'this study has no fine-tuning arm';
  return [
    {
      id: 'fig-6a-pareto-bytes',
      title: 'Pareto frontier over bytes',
      caption:
        'Which size and setting gives the lowest perplexity for a memory budget: if the frontier is made of the largest sizes at low bits, claim 3 holds here.',
      spec: paretoSpec(r, 'bytes'),
      skipped: r.pareto.bytes.length === 0 ? 'this study has no Pareto points over bytes' : undefined,
    },
    {
      id: 'fig-6b-pareto-nonzero',
      title: 'Pareto frontier over non-zero parameters',
      caption: 'The same frontier counted in non-zero parameters, the pruning view of inference cost.',
      spec: paretoSpec(r, 'nonzero_params'),
      skipped:
        r.pareto.nonzero.length === 0
          ? 'this study has no Pareto points over non-zero parameters'
          : undefined,
    },
    {
      id: 'fig-6c-pareto-latency',
      title: 'Quality vs latency: Pareto frontier over measured latency',
      caption:
        'Perplexity against the latency at batch 1 measured on this machine (the compressed runtime runs each form as stored). Claim 3 at equal latency: if the frontier is made of the larger sizes compressed, a compressed large model is the better buy for a latency budget here. Latency is specific to the machine and thread count.',
      spec: paretoSpec(r, 'latency'),
      skipped:
        (r.pareto.latency ?? []).length === 0
          ? 'this study has no measured latencies (older studies did not measure them)'
          : undefined,
    },
    {
      id: 'fig-7a-finetune-bytes',
      title: 'Fine-tuned accuracy vs bytes',
      caption:
        "The paper's compression plots were on fine-tuned models: accuracy should hold up better for the larger model as bytes shrink.",
      spec: finetuneSpec(r, 'bytes'),
      skipped: ftNote,
    },
    {
      id: 'fig-7b-finetune-nonzero',
      title: 'Fine-tuned accuracy vs non-zero parameters',
      caption:
        'Accuracy against non-zero parameters after pruning: the paper saw the deep model keep its accuracy while the shallow one collapsed.',
      spec: finetuneSpec(r, 'nonzero_params'),
      skipped: ftNote,
    },
  ];
}

/** Figures 4 to 7, each with a note instead of a spec when the study has no such points. */
export function compressionFigures(r: StudyResults): Figure[] {
  return [...quantPruneFigures(r), ...paretoFinetuneFigures(r)].map((f) =>
    f.spec === null && !f.skipped
      ? { ...f, skipped: 'no drawable points (all values missing or non-positive)' }
      : f,
  );
}
