// Turns a Vega-Lite spec into an SVG string (vega-lite compile + a headless vega View) and an SVG
// into a PNG (resvg, system fonts). Knows nothing about the study; never touches the network.
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InputError } from '../engine/errors.ts';
import type { Spec } from './style.ts';

export interface Rendered {
  svg: string;
  /** Vega-Lite and Vega warnings raised while compiling and running the spec */
  warnings: string[];
}

/** A Vega logger that collects warnings and errors instead of printing them. */
function collectingLogger(into: string[]) {
  let lvl = vega.Warn;
  const logger = {
    level(l?: number) {
      if (l === undefined) return lvl;
      lvl = l;
      return logger;
    },
    error(...a: unknown[]) {
      into.push(`error: ${a.map(String).join(' ')}`);
      return logger;
    },
    warn(...a: unknown[]) {
      into.push(a.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

/** Compile and render one spec to SVG; data must be inline (no loader is given a URL). */
export async function specToSvg(spec: Spec): Promise<Rendered> {
  const warnings: string[] = [];
  const logger = collectingLogger(warnings);
  let vg: vega.Spec;
  try {
    vg = compile(spec as unknown as TopLevelSpec, { logger }).spec;
  } catch (e) {
    throw new InputError(
      `a report figure spec did not compile: ${(e as Error).message}`,
      'this is a bug in src/report/figures*.ts; the results document itself is not at fault',
    );
  }
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logger });
  try {
    const svg = tightenSvg(await view.toSVG());
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

const FONTS = { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' };

/**
 * Crop an SVG from Vega to what is really drawn, plus `pad` pixels. Without a canvas, Vega sizes
 * the view from estimated text widths, which leaves wide margins; resvg measures the real glyphs.
 */
export function tightenSvg(svg: string, pad = 12): string {
  const open = /^<svg\b[^>]*>/.exec(svg);
  if (!open) return svg;
  // measure without Vega's full-size background rectangle
  const rest = svg.slice(open[0].length).replace(/^<rect width="[\d.]+" height="[\d.]+" fill="[^"]*"\/>/, '');
  const bb = new Resvg(open[0] + rest, { font: FONTS }).getBBox();
  if (!bb || !(bb.width > 0 && bb.height > 0)) return svg;
  const x = Math.floor(bb.x - pad);
  const y = Math.floor(bb.y - pad);
  const w = Math.ceil(bb.x + bb.width + pad) - x;
  const h = Math.ceil(bb.y + bb.height + pad) - y;
  const head = open[0]
    .replace(/\swidth="[^"]*"/, ` width="${w}"`)
    .replace(/\sheight="[^"]*"/, ` height="${h}"`)
    .replace(/\sviewBox="[^"]*"/, ` viewBox="${x} ${y} ${w} ${h}"`);
  return `${head}<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="white"/>${rest}`;
}

/** Rasterise an SVG at `scale` times its size (2 = sharp on high-density screens). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: FONTS, background: 'white' });
  return r.render().asPng();
}
