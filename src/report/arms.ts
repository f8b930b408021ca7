// The pages of the study's two side arms: the batch arm (loss vs time of two sizes at three batch
// sizes) and the check of the scaling prediction (predicted vs measured loss and optimum). Each
// is one index.html with its results JSON beside it. Draws; computes no result.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import type { BatchResults } from '../study/batch-arm.ts';
import type { CheckResults } from '../study/check.ts';
import type { Comparison } from '../study/types.ts';
import { specToSvg, svgToPng } from './render.ts';
import { CONFIG, FONT, pplAxis, type Spec, WIDTH } from './style.ts';
import { esc } from './tables.ts';

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${esc(title)}</title>\n<style>body{font-family:${FONT};max-width:1000px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}td.num{text-align:right}figure svg{max-width:100%;height:auto}</style>\n</head>\n<body>\n<h1>${esc(title)}</h1>\n${body}\n</body>\n</html>\n`;
}

function rowsTable(head: string[], rows: Array<Array<string | number>>): string {
  const td = (v: string | number) =>
    typeof v === 'number' ? `<td class="num">${esc(v)}</td>` : `<td>${esc(v)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The columns every report gives per run (issue: steps, tokens, epochs, tokens/s, MFU). */
export const RUN_HEAD = ['steps', 'tokens', 'epochs', 'tokens/s', 'MFU'];

export function runCells(x: {
  steps: number;
  tokens: number;
  epochs: number;
  tokens_per_s: number;
  mfu: number;
}): Array<string | number> {
  return [
    x.steps,
    x.tokens,
    `${x.epochs.toFixed(2)}${x.epochs > 1 ? ' ⚠' : ''}`,
    Math.round(x.tokens_per_s),
    Number.isFinite(x.mfu) ? `${(100 * x.mfu).toFixed(1)}%` : '—',
  ];
}

function warningsBlock(ws: string[]): string {
  return ws.length
    ? `<div class="note"><strong>Warnings</strong><ul>${ws.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>\n`
    : '';
}

/** One row per paired comparison: what, the loss difference and its error, and the better side. */
function comparisonTable(cs: Comparison[]): string {
  return rowsTable(
    ['comparison', 'loss a − b (nats × 100)', 's.e.', 'better'],
    cs.map((c) => [
      c.what,
      +(100 * c.diff).toFixed(2),
      +(100 * c.se).toFixed(2),
      c.outcome === 'tie' ? 'tie' : c.outcome === 'a' ? c.a : c.b,
    ]),
  );
}

/** The batch arm's figure: every run's validation perplexity against its training time. */
export function batchSpec(r: BatchResults): Spec {
  const values = r.runs.flatMap((run) =>
    run.curve
      .filter((p) => p.step > 0)
      .map((p) => ({ run: `${run.size_id}, batch ${run.batch}`, t: p.wall_s, ppl: p.ppl })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CONFIG,
    title: {
      text: 'Batch arm: validation perplexity vs training time',
      subtitle: 'two sizes, each at three batch sizes (LR × sqrt(batch ratio))',
    },
    width: WIDTH,
    height: 360,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'training time, s' },
      y: pplAxis(values.map((v) => v.ppl)),
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
  };
}

export async function writeBatchReport(r: BatchResults, outDir: string): Promise<string> {
  fs.mkdirSync(outDir, { recursive: true });
  const spec = batchSpec(r);
  const { svg } = await specToSvg(spec);
  writeFileAtomic(path.join(outDir, 'fig-batch-arm.svg'), svg);
  writeFileAtomic(path.join(outDir, 'fig-batch-arm.png'), svgToPng(svg));
  const table = rowsTable(
    ['run', 'batch', 'lr', ...RUN_HEAD, 'final ppl'],
    r.runs.map((x) => [x.id, x.batch, x.lr, ...runCells(x), +x.final_ppl.toFixed(2)]),
  );
  const cmp = comparisonTable(r.comparisons);
  const html = page(
    `tlc batch arm: ${r.preset} on ${r.data}`,
    `${warningsBlock(r.warnings)}<p>${esc(r.summary)}</p>\n<p>${esc(`${r.budget_s} s of training per run; precision ${r.precision}; the learning rate is the size's study rate × √(batch / ${r.batches[0]})`)}</p>\n<figure>${svg}</figure>\n<h2>Runs</h2>${table}\n<h2>Grow the model or the batch?</h2>${cmp}`,
  );
  writeFileAtomic(path.join(outDir, 'batch.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileAtomic(path.join(outDir, 'index.html'), html);
  return path.join(outDir, 'index.html');
}

export function writeCheckReport(r: CheckResults, outDir: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  const table = rowsTable(
    [
      'size',
      'non-embedding params',
      ...RUN_HEAD,
      'predicted ppl',
      'predicted ppl (measured tokens)',
      'measured ppl',
    ],
    r.sizes.map((s) => [
      s.size_id,
      s.non_embedding_params,
      ...runCells(s),
      +Math.exp(s.predicted_loss).toFixed(2),
      +Math.exp(s.predicted_loss_measured_tokens).toFixed(2),
      +s.measured_ppl.toFixed(2),
    ]),
  );
  const cmp = comparisonTable(r.comparisons);
  const html = page(
    'tlc check: does the scaling fit predict?',
    `${warningsBlock(r.warnings)}<p>Fit from ${esc(r.from)}; budget ${r.budget_s} s; precision ${esc(r.precision)}; predicted optimum ${(r.predicted_n_opt / 1e6).toFixed(2)} M non-embedding parameters.</p><p>${esc(r.summary)}</p>${table}<h2>Against the measured best</h2>${cmp}`,
  );
  writeFileAtomic(path.join(outDir, 'check.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileAtomic(path.join(outDir, 'index.html'), html);
  return path.join(outDir, 'index.html');
}
