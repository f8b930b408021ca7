// Shared look of every figure (fonts, sizes, the size colour scale) and the small helpers that turn
// a StudyResults into plot rows. Presentation only: nothing here computes a result.
import type { CompressionPoint, SizeSpec, StudyResults } from '../study/types.ts';

/** A Vega-Lite spec as plain JSON; render.ts compiles it and reports any Vega-Lite warning. */
export type Spec = Record<string, unknown>;

export interface Figure {
  /** file stem, e.g. "fig-1-ppl-vs-time" */
  id: string;
  title: string;
  /** what to look for in it */
  caption: string;
  /** null when the study has nothing to draw here; `skipped` then says why */
  spec: Spec | null;
  skipped?: string;
}

export const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';
export const WIDTH = 620;
export const HEIGHT = 360;

/** Vega-Lite config shared by all figures: readable fonts, white background, no chart border. */
export const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 12,
  view: { stroke: null },
  title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: '#444', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    labelLimit: 260,
    titleLimit: 320,
  },
} as const;

/** Parameter counts as people say them: 812k, 3.41M, 1.20B. */
export function fmtParams(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)}B`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return String(n);
}

/** Seconds, compact: 45 s, 12.5 s, 1.2 s. */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return `${s >= 100 ? Math.round(s) : +s.toPrecision(3)} s`;
}

/** Sizes ordered by parameter count (smallest first), the order of every colour legend. */
export function orderedSizes(r: StudyResults): SizeSpec[] {
  return [...r.sizes].sort((a, b) => a.params - b.params || a.id.localeCompare(b.id));
}

/** Label of a size in every legend: its id and parameter count. */
export function sizeLabel(r: StudyResults, sizeId: string): string {
  const s = r.sizes.find((x) => x.id === sizeId);
  return s ? `${s.id} (${fmtParams(s.params)})` : sizeId;
}

/** The size colour scale: ordinal, ordered by parameters, small = purple to large = green. */
export function sizeColor(r: StudyResults, symbols: 'stroke' | 'circle' = 'stroke'): Spec {
  const domain = orderedSizes(r).map((s) => sizeLabel(r, s.id));
  return {
    field: 'size',
    type: 'ordinal',
    title: 'model size (params)',
    sort: domain,
    scale: { domain, scheme: { name: 'viridis', extent: [0, 0.82] } },
    legend:
      symbols === 'stroke'
        ? { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 }
        : { symbolType: 'circle', symbolOpacity: 1, symbolStrokeColor: '#222', symbolStrokeWidth: 1 },
  };
}

/** A value that can be drawn on a log axis (JSON turns NaN into null, so accept that too). */
export function positive(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

export function finite(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/**
 * Round tick values for a log axis over [lo, hi]: 1-2-5 steps per decade, finer when the range is
 * under a decade, coarser when it spans many (Vega's own log ticks label too few or too many).
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const mants = [[1], [1, 3], [1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]];
  let best: number[] = [];
  for (const ms of mants) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of ms) {
        const v = +(m * 10 ** e).toPrecision(6);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
      }
    }
    if (ticks.length <= 8) best = ticks;
    if (ticks.length >= 4) break;
  }
  return best.length >= 2 ? best : narrowTicks(lo, hi);
}

/** Three round values inside a range too narrow for 1-2-5 ticks (e.g. 80 to 82). */
function narrowTicks(lo: number, hi: number): number[] {
  for (let p = 2; p <= 8; p++) {
    const v = [0.1, 0.5, 0.9].map((f) => +(lo + (hi - lo) * f).toPrecision(p));
    if (v.every((x) => x >= lo && x <= hi) && new Set(v).size === 3) return v;
  }
  return [lo, hi];
}

/** A log-scale positional encoding whose ticks suit the values drawn on it. */
export function logEnc(field: string, title: string, values: number[], format = '~r'): Spec {
  const v = values.filter(positive);
  const ticks = v.length > 0 ? logTicks(Math.min(...v), Math.max(...v)) : [];
  return {
    field,
    type: 'quantitative',
    title,
    scale: { type: 'log', nice: false, padding: 10 },
    axis: ticks.length > 0 ? { format, values: ticks } : { format },
  };
}

/** The log-scale perplexity axis used by every perplexity figure; says that it is log scale. */
export function pplAxis(values: number[], field = 'ppl', title = 'validation perplexity (log scale)'): Spec {
  return logEnc(field, title, values);
}

/** One line of context under every title: data, budget, seeds. */
export function subtitle(r: StudyResults, extra?: string | string[]): string[] {
  const base = `data: ${r.data.name} · training budget ${fmtSeconds(r.budget_s)} per size · ${r.seeds.length} seed(s) · preset ${r.preset}`;
  return [...(extra === undefined ? [] : Array.isArray(extra) ? extra : [extra]), base];
}

/** Which quantization / pruning family a compression point belongs to (dense is neither). */
export function isQuant(p: CompressionPoint): boolean {
  return p.method !== 'dense' && p.bits !== null && p.bits !== undefined;
}

export function isPrune(p: CompressionPoint): boolean {
  return p.method !== 'dense' && typeof p.sparsity === 'number' && p.sparsity > 0;
}

export function isDense(p: CompressionPoint): boolean {
  return p.method === 'dense';
}

/** Drop layers whose inline data is empty (Vega warns about their infinite extents). */
export function nonEmpty(layers: Spec[]): Spec[] {
  return layers.filter((l) => {
    const values = (l.data as { values?: unknown[] } | undefined)?.values;
    return values === undefined || values.length > 0;
  });
}

export function base(
  r: StudyResults,
  title: string,
  sub: string | string[] | undefined,
  width = WIDTH,
  height = HEIGHT,
): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitle(r, sub) },
    width,
    height,
    config: CONFIG,
  };
}
