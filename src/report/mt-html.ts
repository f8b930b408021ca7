// The translation study's report: index.html (inline SVG figures, the verdict rows with every
// paired-bootstrap comparison, runs, the BLEU frontier, the compression grid, protocol and
// provenance), results.json as given, and each figure as SVG and PNG. Draws; computes nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import type { BleuComparison, MtResults, MtVerdict } from '../study/mt/types.ts';
import { CSS, figureSection, type ReportOutput } from './html.ts';
import { mtFigures } from './mt-figures.ts';
import { fmtParams } from './style.ts';
import { esc } from './tables.ts';

function table(head: string[], rows: Array<Array<string | number>>): string {
  const td = (v: string | number) =>
    typeof v === 'number' ? `<td class="num">${esc(v)}</td>` : `<td>${esc(v)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

const f2 = (x: number) => +x.toFixed(2);

function comparisonRows(cs: BleuComparison[]): string {
  if (!cs.length) return '<p>No paired comparison.</p>';
  return table(
    ['comparison', 'a', 'b', 'BLEU a − b', '95% low', '95% high', 'better'],
    cs.map((c) => [
      c.what,
      c.a,
      c.b,
      f2(c.diff),
      f2(c.low),
      f2(c.high),
      c.outcome === 'tie' ? 'inside the noise' : c.outcome === 'a' ? c.a : c.b,
    ]),
  );
}

function verdictSection(v: MtVerdict): string {
  const cls = v.verdict === 'supported' ? 'yes' : v.verdict === 'not supported' ? 'no' : 'maybe';
  const cav = v.caveats.length ? `<p class="note">Caveats: ${esc(v.caveats.join('; '))}</p>` : '';
  return `<div class="verdict-row" id="verdict-${esc(v.claim)}"><h3>Claim ${esc(v.claim)}: <span class="verdict ${cls}">${esc(v.verdict)}</span></h3><p>${esc(v.statement)}</p><p><b>Why:</b> ${esc(v.reason)}</p>${cav}<p>${esc(v.evidence)}</p>${comparisonRows(v.comparisons)}</div>`;
}

function runsSection(r: MtResults): string {
  const sizes = table(
    ['size', 'sweeps', 'd_model', 'layers (enc = dec)', 'heads', 'params', 'peak LR', 'tokens/batch'],
    r.sizes.map((s) => [
      s.id,
      s.sweeps.join(', '),
      s.d_model,
      s.n_layers,
      s.n_heads,
      fmtParams(s.params),
      s.lr,
      s.max_tokens,
    ]),
  );
  const runs = table(
    [
      'run',
      'steps',
      'steps/s',
      'tokens/s',
      'final loss',
      `BLEU greedy at ${r.budget_s} s`,
      'BLEU beam',
      'chrF beam',
    ],
    r.runs.map((x) => [
      x.id,
      x.steps,
      f2(x.steps_per_s),
      Math.round(x.tokens_per_s),
      +x.final_loss.toFixed(3),
      f2(x.bleu[x.bleu.length - 1]?.bleu ?? Number.NaN),
      f2(x.final.bleu),
      f2(x.final.chrf),
    ]),
  );
  const bleuAt = table(
    ['run', ...r.bleu_times.map((t) => `${t} s`)],
    r.runs.map((x) => [
      x.id,
      ...r.bleu_times.map((t) => f2(x.bleu.find((b) => b.t === t)?.bleu ?? Number.NaN)),
    ]),
  );
  return `${sizes}\n${runs}\n<h3>Greedy BLEU at the grid times</h3>\n${bleuAt}`;
}

function frontierSection(r: MtResults): string {
  return table(
    ['time, s', 'decoding', 'best size', 'BLEU', 'inside the noise'],
    r.frontier.map((f) => [f.t, f.decoding, f.size_id, f2(f.bleu), f.ties.join(', ') || '—']),
  );
}

function compressionSection(r: MtResults): string {
  return table(
    ['run', 'method', 'setting', 'bytes', 'non-zero params', 'loss', 'BLEU', 'chrF'],
    r.compression.map((p) => [
      p.run_id,
      p.method,
      p.setting,
      p.bytes,
      p.nonzero_params,
      +p.loss.toFixed(3),
      f2(p.bleu),
      f2(p.chrf),
    ]),
  );
}

function provenance(r: MtResults): string {
  const dl = Object.entries(r.protocol)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('');
  const h = r.hardware;
  return `<p>${esc(r.data.note)}</p><p>Data ${esc(r.data.name)}: ${r.data.train_pairs} training pairs, ${r.data.valid_pairs} validation pairs; BLEU sample: ${esc(r.data.sample.how)} (${esc(r.data.sample.file)}).</p><p>Machine: ${esc(h.cpu)}, ${h.cores} cores, ${h.threads} threads, Node ${esc(h.node)}, ${esc(h.backend)} backend.</p><dl>${dl}</dl><pre>${esc(JSON.stringify(r.data.provenance, null, 1))}</pre>`;
}

export async function writeMtReport(r: MtResults, outDir: string): Promise<ReportOutput> {
  const dir = path.resolve(outDir);
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const warnings: string[] = [];
  const figs: string[] = [];
  for (const f of mtFigures(r)) figs.push(await figureSection(f, dir, files, warnings));
  const co = r.compute_optimal;
  const headline = `At the ${r.budget_s} s budget, ${co.size_id} translated best (BLEU ${co.bleu.toFixed(2)}, beam search${co.ties.length ? `; inside the noise: ${co.ties.join(', ')}` : ''}). ${r.verdicts.map((v) => `claim ${v.claim} ${v.verdict}`).join('; ')}.`;
  const warn = r.warnings.length
    ? `<ul class="note">${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`
    : '';
  const body = [
    `<h1>tlc translation study report: ${esc(r.preset)}</h1>`,
    `<p class="meta">tlc ${esc(r.tlc_version)} (${esc(r.git ?? 'no git hash')}) · created ${esc(r.created)} · data ${esc(r.data.name)}</p>`,
    '<nav><a href="#summary">Summary</a><a href="#verdicts">Verdicts</a><a href="#figures">Figures</a><a href="#runs">Runs</a><a href="#frontier">Frontier</a><a href="#compression">Compression</a><a href="#provenance">Provenance and protocol</a></nav>',
    `<h2 id="summary">Summary</h2>\n${warn}<p class="headline">${esc(headline)}</p>`,
    `<h2 id="verdicts">Verdicts in BLEU</h2>\n${r.verdicts.map(verdictSection).join('\n')}`,
    `<h2 id="figures">Figures</h2>\n${figs.join('\n')}`,
    `<h2 id="runs">Training runs</h2>\n${runsSection(r)}`,
    `<h2 id="frontier">Iso-time frontier in BLEU</h2>\n${frontierSection(r)}`,
    `<h2 id="compression">Compression grid in BLEU</h2>\n<div class="scroll">${compressionSection(r)}</div>`,
    `<h2 id="provenance">Provenance and protocol</h2>\n${provenance(r)}`,
  ];
  const html = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>tlc translation study report: ${esc(r.preset)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n${body.join('\n\n')}\n</body>\n</html>\n`;
  const jsonPath = path.join(dir, 'results.json');
  writeFileAtomic(jsonPath, `${JSON.stringify(r, null, 2)}\n`);
  const htmlPath = path.join(dir, 'index.html');
  writeFileAtomic(htmlPath, html);
  files.push(jsonPath, htmlPath);
  return { html, files, warnings };
}
