// Writes the static study report: index.html (inline SVG figures and CSS, no scripts, no external
// fetches), results.json as given, and each figure as SVG and PNG. Draws results; computes none.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import type { StudyResults } from '../study/types.ts';
import { allFigures, type Figure } from './figures.ts';
import { specToSvg, svgToPng } from './render.ts';
import { fmtParams, fmtSeconds, orderedSizes } from './style.ts';
import {
  compressionTable,
  esc,
  fmtInt,
  pplText,
  provenanceSection,
  runsTable,
  scalingTable,
  sizesTable,
  sourcesTable,
  verdictTable,
  warningsList,
} from './tables.ts';

export interface ReportOutput {
  html: string;
  /** every file written, absolute paths */
  files: string[];
  /** Vega-Lite / Vega warnings per figure (empty when all figures compiled cleanly) */
  warnings: string[];
}

/** The report pages' stylesheet (the translation arm's page uses it too). */
export const CSS = `
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; color: #222; max-width: 1060px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
nav a { margin-right: 1em; } .meta { color: #555; }
.headline { font-size: 1.15em; background: #f4f6f8; border-left: 4px solid #456; padding: 0.6em 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.55em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; } tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } td.key { font-family: monospace; white-space: nowrap; }
.verdict { font-weight: bold; padding: 0.1em 0.5em; border-radius: 3px; white-space: nowrap; }
.verdict.yes { background: #d9f2dd; color: #185a25; } .verdict.no { background: #f8d7d5; color: #7d1d17; } .verdict.maybe { background: #eee; color: #444; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; } figcaption { color: #333; max-width: 720px; }
.note { color: #7a5b00; background: #fff8e1; padding: 0.4em 0.8em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; } dt { font-weight: bold; } dd { margin: 0; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
.scroll { max-height: 32em; overflow-y: auto; }
`;

/** Make element ids unique across the SVGs inlined in one page (clip paths, gradients). */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

/** The one-paragraph answer: who won at the budget, whether the largest did, what the claims say. */
export function headline(r: StudyResults): string {
  const sizes = orderedSizes(r);
  const largest = sizes.at(-1);
  const co = r.frontier.compute_optimal;
  const parts: string[] = [];
  if (!co.size_id || !Number.isFinite(co.ppl)) {
    parts.push(
      `No size reached a finite validation perplexity within the ${fmtSeconds(r.budget_s)} budget, so no size can be said to win.`,
    );
  } else {
    parts.push(
      `At the ${fmtSeconds(co.t)} training budget, ${co.size_id} reached the lowest mean validation perplexity (${pplText(co.ppl, r.data.unigram_ppl)} on ${fmtInt(r.data.eval.tokens)} evaluation tokens).`,
    );
    if (largest && largest.id === co.size_id)
      parts.push(
        `It is the largest size trained (${fmtParams(largest.params)} parameters): at this budget the largest model won.`,
      );
    else if (largest) parts.push(...largestLost(r, largest.id, co.size_id));
  }
  const claims = r.verdicts.map((v) => `claim ${v.claim} ${v.verdict}`);
  if (claims.length > 0) parts.push(`The paper's claims on this data: ${claims.join('; ')}.`);
  return parts.join(' ');
}

function largestLost(r: StudyResults, big: string, winner: string): string[] {
  const out = [`The largest size trained, ${big}, did not win at this budget.`];
  const over = r.frontier.crossings.filter((c) => c.b === big);
  if (over.length > 0)
    out.push(
      `Its curve crosses below ${over.map((c) => `${c.a}'s at ${fmtSeconds(c.t)}`).join(', ')} and stays below.`,
    );
  const vsWinner = r.frontier.crossings.find((c) => c.a === winner && c.b === big);
  if (!vsWinner)
    out.push(
      `It does not fall below ${winner}'s curve for good within 0–${fmtSeconds(r.budget_s)}; a longer budget might change this, but this study does not show it.`,
    );
  return out;
}

function summarySection(r: StudyResults): string {
  const sizes = orderedSizes(r).map((s) => `${s.id} (${fmtParams(s.params)})`);
  const h = r.hardware;
  const what =
    `${sizes.length} sizes (${sizes.join(', ')}), ${r.seeds.length} seed(s) each, every run trained for ${fmtSeconds(r.budget_s)} of training time ` +
    `on ${r.data.name}, ${h.threads} thread(s), ${h.backend} backend; ${r.compression.length} compressed or dense evaluations` +
    (r.finetune ? `; a fine-tuning arm on ${r.finetune.task}.` : '; no fine-tuning arm.');
  const seedNote =
    r.seeds.length < 3
      ? `<p class="note">Only ${r.seeds.length} seed(s): differences smaller than the spread between seeds cannot be told apart here; the full preset runs at least 3.</p>`
      : '';
  return `<p>${esc(what)}</p>\n<p class="headline">${esc(headline(r))}</p>\n${seedNote}`;
}

/** One figure rendered to SVG and PNG beside the page, as an HTML figure with its caption. */
export async function figureSection(
  f: Figure,
  outDir: string,
  files: string[],
  warnings: string[],
): Promise<string> {
  const head = `<h3>${esc(f.title)}</h3>`;
  if (!f.spec)
    return `<figure id="${esc(f.id)}">${head}<p class="note">Figure skipped: ${esc(f.skipped ?? 'nothing to draw')}.</p></figure>`;
  const { svg, warnings: w } = await specToSvg(f.spec);
  warnings.push(...w.map((x) => `${f.id}: ${x}`));
  const svgPath = path.join(outDir, `${f.id}.svg`);
  const pngPath = path.join(outDir, `${f.id}.png`);
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, svgToPng(svg));
  files.push(svgPath, pngPath);
  const links = `<a href="${esc(`${f.id}.svg`)}">SVG</a> · <a href="${esc(`${f.id}.png`)}">PNG</a>`;
  return `<figure id="${esc(f.id)}">${head}\n${prefixSvgIds(svg, f.id)}\n<figcaption>${esc(f.caption)} (${links})</figcaption></figure>`;
}

/** Write the whole report into outDir (created if missing); returns the HTML and the files. */
export async function writeReport(results: StudyResults, outDir: string): Promise<ReportOutput> {
  const dir = path.resolve(outDir);
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const warnings: string[] = [];
  const figs: string[] = [];
  for (const f of allFigures(results)) figs.push(await figureSection(f, dir, files, warnings));
  const r = results;
  const ft = r.finetune;
  const body = [
    `<h1>tlc study report: ${esc(r.preset)}</h1>`,
    `<p class="meta">tlc ${esc(r.tlc_version)} (${esc(r.git ?? 'no git hash')}) · created ${esc(r.created)} · data ${esc(r.data.name)}</p>`,
    '<nav><a href="#summary">Summary</a><a href="#verdicts">Verdicts</a><a href="#figures">Figures</a><a href="#runs">Runs</a><a href="#scaling">Scaling</a><a href="#compression">Compression</a><a href="#provenance">Provenance and protocol</a></nav>',
    `<h2 id="summary">Summary</h2>\n${warningsList(r)}\n${summarySection(r)}`,
    `<h2 id="verdicts">The paper's three claims, on this data</h2>\n${verdictTable(r)}`,
    `<h2 id="figures">Figures</h2>\n${figs.join('\n')}`,
    `<h2 id="runs">Training runs</h2>\n${runsTable(r)}\n<h3>Perplexity by data source</h3>\n${sourcesTable(r)}\n<h3>Sizes</h3>\n${sizesTable(r)}`,
    `<h2 id="scaling">Where the compute-optimal size moves with the budget</h2>\n${scalingTable(r)}`,
    `<h2 id="compression">Compression</h2>\n<div class="scroll">${compressionTable(r.compression, 'No compression points in this study.', r.data.unigram_ppl)}</div>`,
    ft
      ? `<h3>Fine-tuning on ${esc(ft.task)}</h3>\n<div class="scroll">${compressionTable(ft.compression, 'No compressed fine-tuned models.', null)}</div>`
      : '',
    `<h2 id="provenance">Provenance and protocol</h2>\n${provenanceSection(r)}`,
  ];
  const html = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>tlc study report: ${esc(r.preset)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n${body.filter(Boolean).join('\n\n')}\n</body>\n</html>\n`;
  const jsonPath = path.join(dir, 'results.json');
  writeFileAtomic(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  const htmlPath = path.join(dir, 'index.html');
  writeFileAtomic(htmlPath, html);
  files.push(jsonPath, htmlPath);
  return { html, files, warnings };
}
