// End to end: `tlc study --task mt --preset quick` on mt-en-fr-small (three encoder-decoder sizes)
// finishes inside 3 minutes and writes a report whose figures and verdict rows exist and are
// computed from the runs: every BLEU equals a recomputation from the saved translations, the
// width-vs-depth row names the best size of each sweep and its interval is the paired bootstrap
// of their saved outputs, and the frontier's last point is the best final model.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { bleuSentenceStats, corpusBleu, corpusChrf } from '../../src/eval/bleu.ts';
import { pairedBleuBootstrap } from '../../src/eval/bleu-bootstrap.ts';
import type { OutputsFile } from '../../src/study/mt/decode.ts';
import type { BleuSample } from '../../src/study/mt/sample.ts';
import type { MtResults } from '../../src/study/mt/types.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-mt-study-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const read = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

test('tlc study --task mt --preset quick: report, figures and verdicts computed from the runs, within 3 min', () => {
  const out = path.join(tmp, 'study');
  const t0 = performance.now();
  const r = runTlc(['study', '--task', 'mt', '--preset', 'quick', '--out', out, '--json'], 600_000);
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(seconds < 180, `the quick MT study took ${seconds.toFixed(0)} s (limit 180 s)`);
  const printed = JSON.parse(r.stdout) as { verdicts: Array<{ claim: string }>; report: string };
  assert.deepEqual(
    printed.verdicts.map((v) => v.claim),
    ['1', 'width-depth', '2', '3-bytes', '3-nonzero'],
  );

  const res = read<MtResults>(path.join(out, 'report', 'results.json'));
  assert.equal(res.task, 'mt');
  assert.equal(res.sizes.length, 3);
  const sample = read<BleuSample>(path.join(out, res.data.sample.file));
  assert.equal(sample.pairs.length, res.data.sample.sentences);
  assert.equal(sample.pairs.length, 64);
  const refs = [sample.pairs.map((p) => p.tgt)];
  const hypsOf = (file: string) => {
    const o = read<OutputsFile>(path.join(out, file));
    assert.equal(o.hyps.length, sample.pairs.length);
    return o.hyps;
  };

  // every BLEU and chrF equals a recomputation from the saved outputs
  for (const run of res.runs) {
    assert.deepEqual(
      run.bleu.map((b) => b.t),
      res.bleu_times,
    );
    assert.equal(run.final.decoding, 'beam');
    for (const b of [...run.bleu, run.final]) {
      const h = hypsOf(b.file);
      assert.ok(Math.abs(corpusBleu(h, refs).score - b.bleu) < 1e-9, `${run.id} ${b.file}`);
      assert.ok(Math.abs(corpusChrf(h, refs).score - b.chrf) < 1e-9);
    }
    assert.ok(run.curve.length >= 4, 'validation loss at every grid time');
    assert.ok(run.steps > 0 && Number.isFinite(run.final_loss));
  }
  for (const p of res.compression)
    assert.ok(Math.abs(corpusBleu(hypsOf(p.file), refs).score - p.bleu) < 1e-9);
  assert.equal(res.compression.length, 3 * 5, 'dense + int8, int4, 50%, 90% per size');
  for (const p of res.compression.filter((x) => x.method === 'rtn'))
    assert.ok(p.bytes < res.compression.find((x) => x.run_id === p.run_id && x.method === 'dense')!.bytes);

  // width vs depth: the row compares the largest size of each sweep (the grown models), its interval
  // is the paired bootstrap over the same sentences
  const largest = (sweep: 'depth' | 'width') =>
    res.sizes.filter((s) => s.sweeps.includes(sweep)).reduce((a, b) => (b.params > a.params ? b : a));
  const wd = res.verdicts.find((v) => v.claim === 'width-depth')!;
  const w = largest('width');
  const d = largest('depth');
  if (w.id === d.id) assert.equal(wd.comparisons.length, 0);
  else {
    const c = wd.comparisons[0]!;
    assert.equal(c.a, w.id);
    assert.equal(c.b, d.id);
    assert.match(wd.evidence, new RegExp(`${w.id}.*${d.id}`));
    const fileOf = (id: string) => res.runs.find((x) => x.size_id === id)!.final.file;
    const again = pairedBleuBootstrap(
      bleuSentenceStats(hypsOf(fileOf(w.id)), refs),
      bleuSentenceStats(hypsOf(fileOf(d.id)), refs),
    );
    assert.ok(
      Math.abs(again.diff - c.diff) < 1e-9 &&
        Math.abs(again.low - c.low) < 1e-9 &&
        Math.abs(again.high - c.high) < 1e-9,
    );
  }
  for (const v of res.verdicts) {
    assert.equal(v.verdict, 'inconclusive', 'the quick preset is too short to be evidence');
    assert.match(v.reason, /^too short to be evidence/);
  }
  // claim 1 compares the largest of each sweep with every smaller size
  assert.ok(res.verdicts.find((v) => v.claim === '1')!.comparisons.length >= 2);

  // the frontier's last point: the best final model
  const top = res.runs.reduce((a, b) => (b.final.bleu > a.final.bleu ? b : a));
  assert.equal(res.compute_optimal.size_id, top.size_id);
  assert.equal(res.compute_optimal.decoding, 'beam');
  assert.equal(res.frontier.length, res.bleu_times.length + 1);

  // the report: every figure drawn, every verdict row present
  const html = fs.readFileSync(path.join(out, 'report', 'index.html'), 'utf8');
  for (const f of [
    'fig-mt-1-bleu-vs-time',
    'fig-mt-2-loss-vs-time',
    'fig-mt-3-frontier',
    'fig-mt-4-bleu-vs-bytes',
    'fig-mt-5-bleu-vs-nonzero',
  ]) {
    assert.ok(fs.statSync(path.join(out, 'report', `${f}.svg`)).size > 1000, f);
    assert.ok(html.includes(`id="${f}"`), f);
  }
  for (const v of res.verdicts) assert.ok(html.includes(`id="verdict-${v.claim}"`), v.claim);
  assert.ok(html.includes(res.compute_optimal.size_id));
});

test('tlc study --task mt refuses presets and options it does not have, and data without pairs', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--preset', 'full'], /presets quick and default, found --preset full/],
    [['--preset', 'quick', '--task', 'xyz'], /--task/],
    [['--preset', 'quick', '--batch-sweep'], /does not take --batch-sweep/],
    [['--preset', 'quick', '--data', 'prose-en-small'], /pairs|translation/i],
  ];
  for (const [args, re] of cases) {
    const r = runTlc(['study', '--task', 'mt', ...args, '--out', path.join(tmp, 'bad')], 120_000);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
