// HTML tables of the report (verdicts, runs, sizes, compression, provenance) and the escaping and
// number formatting they share. Every cell shows the input's value; nothing is recomputed here.
import { NEAR_UNIGRAM_LABEL, nearUnigram } from '../study/baseline.ts';
import type { CompressionPoint, StudyResults, Verdict } from '../study/types.ts';

/** Escape text for HTML element content and double- or single-quoted attributes. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const MISSING = '—';

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** An integer with comma groups: 1,234,567. */
export function fmtInt(v: number | null | undefined): string {
  if (!isNum(v)) return MISSING;
  return Math.round(v)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A real number with `digits` decimals. */
export function fmtFixed(v: number | null | undefined, digits: number): string {
  return isNum(v) ? v.toFixed(digits) : MISSING;
}

/** A fraction as a percentage with one decimal. */
export function fmtPct(v: number | null | undefined): string {
  return isNum(v) ? `${(v * 100).toFixed(1)}%` : MISSING;
}

/** A numeric cell: the formatted value, with the exact input value in its title. */
export function numCell(v: number | null | undefined, shown: string): string {
  const exact = isNum(v) ? String(v) : 'missing';
  return `<td class="num" title="${esc(exact)}">${esc(shown)}</td>`;
}

/** A perplexity with " (near the unigram baseline)" when it is within 5% of `unigramPpl`. */
export function pplText(ppl: number, unigramPpl: number | null | undefined, digits = 2): string {
  const near = isNum(ppl) && isNum(unigramPpl) && nearUnigram(ppl, unigramPpl);
  return `${fmtFixed(ppl, digits)}${near ? ` (${NEAR_UNIGRAM_LABEL})` : ''}`;
}

function textCell(v: unknown): string {
  return `<td>${esc(v)}</td>`;
}

function table(cls: string, head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n');
  return `<table class="${cls}">\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function verdictClass(v: Verdict['verdict']): string {
  return v === 'supported' ? 'yes' : v === 'not supported' ? 'no' : 'maybe';
}

export function verdictTable(r: StudyResults): string {
  if (r.verdicts.length === 0) return '<p class="note">The results document has no verdicts.</p>';
  const rows = r.verdicts.map((v) => [
    `<td class="num">${esc(v.claim)}</td>`,
    textCell(v.statement),
    `<td><span class="verdict ${verdictClass(v.verdict)}">${esc(v.verdict)}</span><br>${esc(v.reason)}${
      v.caveats.length ? `<br><em>caveat: ${esc(v.caveats.join('; '))}</em>` : ''
    }</td>`,
    textCell(v.evidence),
  ]);
  return table(
    'verdicts',
    ['claim', 'statement', 'verdict here, and why', 'evidence (paired comparisons)'],
    rows,
  );
}

function paramsOf(r: StudyResults, sizeId: string): number | undefined {
  return r.sizes.find((s) => s.id === sizeId)?.params;
}

/** One row per training run (each seed its own row), ordered by size then seed. */
export function runsTable(r: StudyResults): string {
  if (r.runs.length === 0) return '<p class="note">No training runs in this study.</p>';
  const order = new Map([...r.sizes].sort((a, b) => a.params - b.params).map((s, i) => [s.id, i]));
  const runs = [...r.runs].sort(
    (a, b) => (order.get(a.size_id) ?? 1e9) - (order.get(b.size_id) ?? 1e9) || a.seed - b.seed,
  );
  const u = r.data.unigram_ppl;
  const rows = runs.map((run) => {
    const params = paramsOf(r, run.size_id);
    return [
      textCell(run.id),
      textCell(run.size_id),
      numCell(params, fmtInt(params)),
      numCell(run.seed, String(run.seed)),
      numCell(run.steps, fmtInt(run.steps)),
      numCell(run.tokens, fmtInt(run.tokens)),
      numCell(run.epochs, `${fmtFixed(run.epochs, 2)}${run.epochs > 1 ? ' ⚠' : ''}`),
      numCell(run.tokens_per_s, fmtInt(run.tokens_per_s)),
      numCell(run.mfu, fmtPct(run.mfu)),
      numCell(run.wall_s, fmtFixed(run.wall_s, 1)),
      numCell(run.final_ppl, pplText(run.final_ppl, u)),
      numCell(run.final_count, fmtInt(run.final_count)),
      textCell(run.annealed.map((a) => `${a.budget_s} s: ${fmtFixed(a.ppl, 1)}`).join(', ')),
    ];
  });
  return table(
    'runs',
    [
      'run',
      'size',
      'params',
      'seed',
      'steps',
      'tokens',
      'epochs',
      'tokens/s',
      'MFU',
      'train s',
      'final val ppl',
      'tokens scored',
      'annealed ppl by budget',
    ],
    rows,
  );
}

/**
 * Perplexity of each run's final model per data source, beside the unigram baseline's; a model
 * within 5% of a source's baseline is marked near it there.
 */
export function sourcesTable(r: StudyResults): string {
  const sources = r.runs[0]?.per_source ?? [];
  if (sources.length < 2) return '';
  const head = ['run', ...sources.map((s) => `${s.source} (${s.windows} windows, ${s.tokens} tokens)`)];
  const rows = r.runs.map((run) => [
    textCell(run.id),
    ...run.per_source.map((s) => numCell(s.ppl, pplText(s.ppl, s.unigram_ppl, 1))),
  ]);
  rows.push([
    textCell('unigram baseline'),
    ...sources.map((s) => numCell(s.unigram_ppl, fmtFixed(s.unigram_ppl, 1))),
  ]);
  return table('sources', head, rows);
}

/** Warnings the study raised (repeated data, models near the unigram baseline). */
export function warningsList(r: StudyResults): string {
  if (r.warnings.length === 0) return '';
  return `<div class="note"><strong>Warnings</strong><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`;
}

/** The loss law, its exponents beside the published ones, and where each grid size takes over. */
export function scalingTable(r: StudyResults): string {
  const f = r.scaling;
  if (!f) return '<p class="note">No scaling fit: it needs at least 3 sizes and 6 annealed points.</p>';
  const iv = (k: string, d = 2) => {
    const x = f.intervals[k];
    return x ? `${fmtFixed(x.value, d)} (95% ${fmtFixed(x.low, d)}–${fmtFixed(x.high, d)})` : MISSING;
  };
  const law = table(
    'law',
    ['quantity', 'this study', 'published'],
    [
      [
        textCell('N_opt ∝ t^a (wall-clock on this machine)'),
        textCell(iv('exponent')),
        textCell(`${f.published['kaplan']}; ${f.published['hoffmann']}`),
      ],
      [textCell('α (parameters)'), textCell(iv('alpha')), textCell('Hoffmann 0.34')],
      [textCell('β (tokens)'), textCell(iv('beta')), textCell('Hoffmann 0.28')],
      [
        textCell('tokens/s = k N^−γ'),
        textCell(`k ${f.throughput.k.toExponential(2)}, γ ${fmtFixed(f.throughput.gamma, 2)}`),
        textCell('γ = 1 when time is proportional to FLOPs'),
      ],
      [
        textCell('E, A, B'),
        textCell(`${fmtFixed(f.law.E, 3)}, ${f.law.A.toExponential(2)}, ${f.law.B.toExponential(2)}`),
        textCell('Hoffmann 1.69, 406.4, 410.7 (their data and units)'),
      ],
    ],
  );
  const opt = table(
    'optimum',
    ['training time', 'predicted N_opt (non-embedding)', 'predicted loss at N_opt'],
    f.optimum.map((o) => [
      numCell(o.t, `${fmtInt(o.t)} s`),
      numCell(o.n_opt, fmtInt(o.n_opt)),
      numCell(o.loss, fmtFixed(o.loss, 3)),
    ]),
  );
  const take = table(
    'takeover',
    ['size', 'predicted optimal from (training s)'],
    f.takeover.map((x) => [
      textCell(x.size_id),
      numCell(x.from_s ?? Number.NaN, x.from_s === null ? 'never in 1 s – 10^8 s' : fmtInt(x.from_s)),
    ]),
  );
  return `${law}
${opt}
<p>When each size of this grid would be the compute-optimal one on this machine, by the fit:</p>
${take}
<p class="note">${esc(f.note)}</p>`;
}

export function sizesTable(r: StudyResults): string {
  const rows = [...r.sizes]
    .sort((a, b) => a.params - b.params)
    .map((s) => [
      textCell(s.id),
      textCell(s.sweeps.join(', ')),
      numCell(s.d_model, String(s.d_model)),
      numCell(s.n_layers, String(s.n_layers)),
      numCell(s.n_heads, String(s.n_heads)),
      numCell(s.d_ff, String(s.d_ff)),
      numCell(s.params, fmtInt(s.params)),
      numCell(s.non_embedding_params, fmtInt(s.non_embedding_params)),
      numCell(s.flops_per_token, fmtInt(s.flops_per_token)),
      numCell(s.lr, String(s.lr)),
    ]);
  return table(
    'sizes',
    [
      'size',
      'sweeps',
      'd_model',
      'layers',
      'heads',
      'd_ff',
      'params',
      'non-embedding',
      'train FLOPs/token',
      'peak lr',
    ],
    rows,
  );
}

/** A point's measured latency (ms at batch 1), its ratio to its dense model's, and tokens/s at batch 32. */
function latencyCells(p: CompressionPoint): string[] {
  const l = p.latency;
  if (!l) return [0, 1, 2].map(() => numCell(null, MISSING));
  const ratio = l.latency_ms_b1 / l.dense_latency_ms_b1;
  return [
    numCell(l.latency_ms_b1, fmtFixed(l.latency_ms_b1, 2)),
    numCell(ratio, `${fmtFixed(ratio, 2)}×`),
    numCell(l.tokens_per_s_b32, fmtInt(Math.round(l.tokens_per_s_b32))),
  ];
}

/**
 * One row per compressed (or dense) evaluation, its perplexity marked when near the unigram
 * baseline and its evaluation tokens beside it; accuracy column only when some point has one,
 * latency columns only when some point has a measured latency.
 */
export function compressionTable(
  points: CompressionPoint[],
  empty: string,
  unigramPpl: number | null,
): string {
  if (points.length === 0) return `<p class="note">${esc(empty)}</p>`;
  const withAcc = points.some((p) => isNum(p.accuracy));
  const withLat = points.some((p) => p.latency !== undefined);
  const rows = points.map((p) => {
    const cells = [
      textCell(p.size_id),
      textCell(p.method),
      textCell(p.setting),
      numCell(p.seed, String(p.seed)),
      numCell(p.bits, isNum(p.bits) ? String(p.bits) : MISSING),
      numCell(p.sparsity, fmtPct(p.sparsity)),
      numCell(p.bytes, fmtInt(p.bytes)),
      numCell(p.nonzero_params, fmtInt(p.nonzero_params)),
      numCell(p.ppl, pplText(p.ppl, unigramPpl)),
      numCell(p.tokens, fmtInt(p.tokens)),
      `<td class="num" title="${esc(`${p.ppl_low} – ${p.ppl_high}`)}">${esc(`${fmtFixed(p.ppl_low, 2)} – ${fmtFixed(p.ppl_high, 2)}`)}</td>`,
      numCell(p.kl, fmtFixed(p.kl, 4)),
      numCell(p.top1, fmtPct(p.top1)),
    ];
    if (withAcc) cells.push(numCell(p.accuracy, fmtPct(p.accuracy)));
    if (withLat) cells.push(...latencyCells(p));
    return cells;
  });
  const head = [
    'size',
    'method',
    'setting',
    'seed',
    'bits',
    'sparsity',
    'bytes',
    'non-zero params',
    'ppl',
    'tokens scored',
    'ppl 95% interval',
    'KL vs dense',
    'top-1 agreement',
  ];
  const lat = withLat ? ['latency b1, ms', 'latency vs dense', 'tokens/s b32'] : [];
  return table('compression', [...head, ...(withAcc ? ['accuracy'] : []), ...lat], rows);
}

function defList(entries: Array<[string, string]>): string {
  return `<dl>\n${entries.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('\n')}\n</dl>`;
}

/** Data source and versions, hardware, versions, and every protocol choice as given. */
export function provenanceSection(r: StudyResults): string {
  const h = r.hardware;
  const general = defList([
    ['tlc version', r.tlc_version],
    ['git commit', r.git ?? 'unknown (not run from a git checkout)'],
    ['results created', r.created],
    ['preset', r.preset],
    ['training budget per size', `${r.budget_s} s of training time (evaluation excluded)`],
    ['seeds', r.seeds.join(', ')],
    [
      'hardware',
      `${h.cpu}; ${h.cores} cores; ${h.threads} threads used; backend ${h.backend}; Node ${h.node}`,
    ],
  ]);
  const protocol = Object.entries(r.protocol);
  const protoHtml =
    protocol.length > 0
      ? table(
          'protocol',
          ['protocol choice', 'value'],
          protocol.map(([k, v]) => [`<td class="key">${esc(k)}</td>`, textCell(v)]),
        )
      : '<p class="note">The results document lists no protocol choices.</p>';
  return [
    '<h3>Data</h3>',
    `<p><strong>${esc(r.data.name)}</strong>. ${esc(r.data.note)}</p>`,
    "<p>The paper's data sets (Wikipedia + BookCorpus, WMT14 English–French, MNLI, SST-2) were not available to this study (they cannot be fetched here); the corpus above replaced them, so absolute numbers are not comparable to the paper's, only the shapes and orderings of the curves are.</p>",
    `<details open><summary>Data provenance (packages, versions, checksums)</summary><pre>${esc(JSON.stringify(r.data.provenance, null, 2))}</pre></details>`,
    '<h3>Software and hardware</h3>',
    general,
    '<h3>Protocol</h3>',
    protoHtml,
  ].join('\n');
}
