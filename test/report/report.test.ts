// The study report: figures render to SVG/PNG, index.html shows the input's numbers, verdicts and
// protocol, escapes text, and still renders when a study has no compression or fine-tuning arm.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { allFigures, frontierFigure } from '../../src/report/figures.ts';
import { headline, prefixSvgIds, writeReport } from '../../src/report/html.ts';
import { placeLabels } from '../../src/report/labels.ts';
import { logTicks, orderedSizes } from '../../src/report/style.ts';
import { fmtFixed, fmtInt, runsTable } from '../../src/report/tables.ts';
import { fixture } from './fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-report-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The rows of <table class="cls">, each as its cells' [title attribute or null, text]. */
function tableRows(html: string, cls: string): Array<Array<[string | null, string]>> {
  const m = new RegExp(`<table class="${cls}">([\\s\\S]*?)</table>`).exec(html);
  assert.ok(m, `table ${cls} not found`);
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(m[1]!)![1]!;
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((tr) =>
    [...tr[1]!.matchAll(/<td[^>]*?(?: title="([^"]*)")?>([\s\S]*?)<\/td>/g)].map(
      (td) => [td[1] ?? null, td[2]!] as [string | null, string],
    ),
  );
}

test('a full study renders every figure as inline SVG plus SVG and PNG files', async () => {
  const r = fixture({ finetune: true });
  const dir = path.join(tmp, 'full');
  const out = await writeReport(r, dir);
  const figs = allFigures(r);
  assert.equal(figs.length, 12);
  assert.ok(
    figs.every((f) => f.spec !== null),
    `skipped: ${figs.filter((f) => !f.spec).map((f) => f.id)}`,
  );
  assert.deepEqual(out.warnings, [], 'Vega-Lite / Vega warnings');
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  assert.equal(html, out.html);
  for (const f of figs) {
    const section = new RegExp(`<figure id="${f.id}">[\\s\\S]*?</figure>`).exec(html)?.[0] ?? '';
    assert.equal((section.match(/<svg\b/g) ?? []).length, 1, `${f.id} has one inline svg`);
    const png = fs.readFileSync(path.join(dir, `${f.id}.png`));
    assert.ok(png.subarray(0, 8).equals(PNG_MAGIC), `${f.id}.png is a PNG`);
    assert.ok(png.length > 20_000, `${f.id}.png has ${png.length} bytes`);
    assert.match(fs.readFileSync(path.join(dir, `${f.id}.svg`), 'utf8'), /^<svg[^>]*viewBox=/);
    assert.ok(out.files.includes(path.join(dir, `${f.id}.png`)));
  }
  // no scripts, no external fetches
  assert.doesNotMatch(html, /<script|<link|src="http|href="http/i);
  // results.json is the document as given
  assert.deepEqual(
    JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')),
    JSON.parse(JSON.stringify(r)),
  );
  // verdict table: one row per claim, with its verdict and (escaped) evidence
  const verdicts = tableRows(html, 'verdicts');
  assert.equal(verdicts.length, r.verdicts.length);
  for (const [i, v] of r.verdicts.entries()) {
    assert.equal(verdicts[i]![0]![1], String(v.claim));
    assert.equal(verdicts[i]![1]![1], v.statement);
    assert.match(verdicts[i]![2]![1], new RegExp(`>${v.verdict}<`));
    assert.ok(verdicts[i]![2]![1].includes(v.reason), 'the one-line reason beside the verdict');
    assert.equal(verdicts[i]![3]![1], v.evidence.replace(/&/g, '&#38;').replace(/</g, '&#60;'));
  }
  // every protocol entry, the data note and the hardware
  const proto = tableRows(html, 'protocol').map((row) => [row[0]![1], row[1]![1]]);
  assert.deepEqual(proto, Object.entries(r.protocol));
  assert.ok(html.includes(r.data.note.replace(/'/g, '&#39;')));
  assert.ok(html.includes(r.hardware.cpu) && html.includes(`${r.hardware.threads} threads used`));
  assert.ok(html.includes(`<dd>${r.tlc_version}</dd>`) && html.includes(`<dd>${r.git}</dd>`));
});

test('every number in the runs table is the input value, and follows the input when it changes', () => {
  const r = fixture();
  const rows = tableRows(runsTable(r), 'runs');
  assert.equal(rows.length, r.runs.length);
  const order = orderedSizes(r).map((s) => s.id);
  const runs = [...r.runs].sort(
    (a, b) => order.indexOf(a.size_id) - order.indexOf(b.size_id) || a.seed - b.seed,
  );
  for (const [i, run] of runs.entries()) {
    const cells = rows[i]!;
    const params = r.sizes.find((s) => s.id === run.size_id)!.params;
    assert.equal(cells[0]![1], run.id);
    const expect: Array<[number, string]> = [
      [params, fmtInt(params)],
      [run.seed, String(run.seed)],
      [run.steps, fmtInt(run.steps)],
      [run.tokens, fmtInt(run.tokens)],
      [run.epochs, fmtFixed(run.epochs, 2)],
      [run.tokens_per_s, fmtInt(run.tokens_per_s)],
      [run.mfu, `${(100 * run.mfu).toFixed(1)}%`],
      [run.wall_s, fmtFixed(run.wall_s, 1)],
      [run.final_ppl, fmtFixed(run.final_ppl, 2)],
      [run.final_count, fmtInt(run.final_count)],
    ];
    assert.deepEqual(
      cells.slice(2, -1),
      expect.map(([v, s]) => [String(v), s]),
      `row of ${run.id}`,
    );
  }
  const before = runsTable(r);
  r.runs[4]!.final_ppl = 123.456;
  const changed = tableRows(runsTable(r), 'runs').find((row) => row[0]![1] === r.runs[4]!.id)!;
  assert.deepEqual(changed[10], ['123.456', '123.46']);
  assert.notEqual(runsTable(r), before);
  assert.equal(fmtInt(1234567), '1,234,567');
});

test('text from the results is escaped in the HTML and in the figures; missing arms are skipped with a note', async () => {
  const r = fixture({ compression: false, dataName: '<script>alert("x")</script> & co' });
  r.verdicts[0]!.evidence = '<img src=x onerror=alert(1)>';
  r.protocol['<b>bold</b>'] = 'a "quoted" <i>value</i>';
  r.pareto = { bytes: [], nonzero: [], latency: [] };
  const dir = path.join(tmp, 'bare');
  const out = await writeReport(r, dir);
  assert.deepEqual(out.warnings, []);
  assert.doesNotMatch(out.html, /<script|<img|<b>|<i>/);
  assert.ok(out.html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; co'));
  assert.ok(out.html.includes('&#60;img src=x onerror=alert(1)&#62;'));
  // the data name also appears in every figure's subtitle, escaped by the SVG writer
  const svg1 = fs.readFileSync(path.join(dir, 'fig-1-ppl-vs-time.svg'), 'utf8');
  assert.ok(svg1.includes('&lt;script&gt;'), 'escaped in the SVG');
  assert.doesNotMatch(svg1, /<script/);
  // training figures render; compression and fine-tuning figures are skipped with a reason
  const skipped = [
    ...out.html.matchAll(/<figure id="([^"]+)"><h3>[^<]*<\/h3><p class="note">Figure skipped: ([^<]*)<\/p>/g),
  ].map((m) => m[1]);
  assert.deepEqual(skipped, [
    'fig-4-quantization',
    'fig-5-pruning',
    'fig-6a-pareto-bytes',
    'fig-6b-pareto-nonzero',
    'fig-6c-pareto-latency',
    'fig-7a-finetune-bytes',
    'fig-7b-finetune-nonzero',
  ]);
  assert.equal((out.html.match(/<svg\b/g) ?? []).length, 5);
  assert.ok(!fs.existsSync(path.join(dir, 'fig-4-quantization.png')));
  assert.ok(fs.existsSync(path.join(dir, 'fig-3-iso-time-frontier.png')));
  assert.match(out.html, /No compression points in this study/);
});

test('the headline says so when the largest model does not win, and where curves cross', () => {
  const lose = fixture({ largestWins: false, compression: false });
  const largest = orderedSizes(lose).at(-1)!.id;
  assert.notEqual(lose.frontier.compute_optimal.size_id, largest, 'fixture precondition: the largest loses');
  const h = headline(lose);
  assert.match(h, new RegExp(`The largest size trained, ${largest}, did not win`));
  assert.match(
    h,
    new RegExp(`does not fall below ${lose.frontier.compute_optimal.size_id}'s curve for good`),
  );
  for (const c of lose.frontier.crossings.filter((c) => c.b === largest))
    assert.ok(h.includes(`${c.a}'s at`));
  const win = fixture({ compression: false });
  assert.equal(
    win.frontier.compute_optimal.size_id,
    orderedSizes(win).at(-1)!.id,
    'fixture precondition: the largest wins',
  );
  assert.match(headline(win), /the largest model won/);
  assert.match(
    headline(win),
    /claim 1 supported; claim 1a supported; claim 2 inconclusive; claim 3-bytes not supported/,
  );
});

test('the frontier figure marks one diamond per crossing and rings the compute-optimal point', () => {
  const r = fixture();
  assert.ok(r.frontier.crossings.length > 0, 'fixture precondition: some crossings');
  const layers = frontierFigure(r)!.layer as Array<{
    mark: { shape?: string };
    data: { values: Array<Record<string, unknown>> };
  }>;
  const diamonds = layers.find((l) => l.mark.shape === 'diamond')!;
  assert.deepEqual(
    diamonds.data.values.map((v) => v['t']),
    r.frontier.crossings.map((c) => c.t).sort((a, b) => a - b),
  );
  const ring = layers.find((l) => l.mark.shape === 'circle')!;
  assert.deepEqual(
    ring.data.values.map((v) => [v['t'], v['ppl']]),
    [[r.frontier.compute_optimal.t, r.frontier.compute_optimal.ppl]],
  );
});

test('log ticks stay in range and are few; ids in inlined SVGs are made unique', () => {
  for (const [lo, hi] of [
    [55, 190],
    [1.5, 3000],
    [2e5, 6e7],
    [80, 82],
  ] as const) {
    const t = logTicks(lo, hi);
    assert.ok(t.length >= 2 && t.length <= 10, `${lo}..${hi}: ${t}`);
    assert.ok(
      t.every((v) => v >= lo * 0.999 && v <= hi * 1.001),
      `${lo}..${hi}: ${t}`,
    );
  }
  assert.deepEqual(logTicks(90, 1100), [100, 200, 500, 1000]);
  const svg = '<svg><clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"></g></svg>';
  assert.equal(
    prefixSvgIds(svg, 'f'),
    '<svg><clipPath id="f-clip1"><rect/></clipPath><g clip-path="url(#f-clip1)"></g></svg>',
  );
});

test('placed labels do not overlap', () => {
  const pts = [
    { x: 1e6, y: 70, text: 'd384-L6 · magnitude global-0.9' },
    { x: 1.05e6, y: 69, text: 'd128-L2 · dense' },
    { x: 1.1e6, y: 68.5, text: 'd256-L4 · rtn int8' },
  ];
  const placed = placeLabels(pts, [1e5, 1e7], [50, 200], { w: 600, h: 360, yLog: true });
  const py = placed.map((p) => (360 * Math.log(200 / p.ly)) / Math.log(200 / 50));
  for (let i = 0; i < py.length; i++)
    for (let j = i + 1; j < py.length; j++)
      assert.ok(Math.abs(py[i]! - py[j]!) >= 12.9, `labels ${i} and ${j}`);
  assert.ok(placed.every((p) => p.side === 'left'));
  assert.equal(
    placeLabels([{ x: 1e5, y: 100, text: 'at the left edge' }], [1e5, 1e7], [50, 200], {
      w: 600,
      h: 360,
      yLog: true,
    })[0]!.side,
    'right',
  );
});
