// The study's scaling section on runs made from a known law: the fit uses every annealed point at
// its non-embedding parameters and tokens, recovers the law's predictions, the throughput law and
// the optimum's exponent, its take-over times match the true law's; the report's table puts the
// exponent beside Kaplan's and Hoffmann's, its log-log figure draws the fit's own N_opt(t) with the
// measured optima, and the CLI line gives the budget from which each size would be optimal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scalingLine } from '../../src/cli/study-run.ts';
import { optimumSpec } from '../../src/report/figures-scaling.ts';
import { scalingTable } from '../../src/report/tables.ts';
import { lawLoss, optimalExponent, optimalN, takeoverTimes } from '../../src/study/lawfit.ts';
import { scalingFit } from '../../src/study/scaling.ts';
import type { Frontier, SizeSpec, TrainedRun } from '../../src/study/types.ts';
import { fixture } from '../report/fixture.ts';

// at 30–120 s of this machine the optimum lies inside the grid (about 3.4e5 to 6.5e5)
const TRUE = { E: 3.0, A: 100, alpha: 0.35, B: 200, beta: 0.3 };
const TP = { k: 2e11, gamma: 1 };
const TIMES = [30, 60, 120];
const EMBEDDING = 5e5; // counted in params, not in the law's N

function sizeOf(i: number, n: number): SizeSpec {
  return {
    id: `z${i}`,
    sweeps: ['width'],
    d_model: 64 * (i + 1),
    n_layers: 4,
    n_heads: 2,
    d_ff: 256,
    params: n + EMBEDDING,
    non_embedding_params: n,
    flops_per_token: 6 * n,
    lr: 1e-3,
    warmup_steps: 50,
    batch_size: 16,
  };
}

function runOf(s: SizeSpec): TrainedRun {
  const n = s.non_embedding_params;
  const tps = TP.k * n ** -TP.gamma;
  const annealed = TIMES.map((t) => {
    const loss = lawLoss(TRUE, n, tps * t);
    return {
      budget_s: t,
      step: t,
      wall_s: t,
      tokens: tps * t,
      loss,
      ppl: Math.exp(loss),
      run_dir: `r/${s.id}-${t}`,
    };
  });
  const last = annealed[annealed.length - 1]!;
  return {
    id: `${s.id}-s1`,
    size_id: s.id,
    seed: 1,
    run_dir: `r/${s.id}`,
    steps: 1000,
    tokens: last.tokens,
    wall_s: 120,
    epochs: 0.5,
    tokens_per_s: tps,
    mfu: 0.3,
    final_loss: last.loss,
    final_ppl: last.ppl,
    final_count: 20000,
    curve: [],
    annealed,
    per_source: [],
  };
}

function study() {
  const sizes = [2e5, 5e5, 1e6, 2e6, 4e6].map((n, i) => sizeOf(i, n));
  const runs = sizes.map(runOf);
  // the measured optimum at each annealed budget (only `best` is read by the fit)
  const best = TIMES.map((t) => {
    const k = runs.reduce(
      (a, r, i) => (r.annealed[TIMES.indexOf(t)]!.loss < runs[a]!.annealed[TIMES.indexOf(t)]!.loss ? i : a),
      0,
    );
    return { t, ppl: runs[k]!.annealed[TIMES.indexOf(t)]!.ppl, size_id: sizes[k]!.id, ties: [] };
  });
  const fr = { best } as unknown as Frontier;
  return { sizes, runs, fr, f: scalingFit(sizes, runs, fr, 120, 30)! };
}

test('the fit takes every annealed point at its non-embedding parameters and recovers the known law', () => {
  const { sizes, f } = study();
  assert.equal(f.points.length, sizes.length * TIMES.length);
  for (const p of f.points) {
    const s = sizes.find((x) => x.id === p.size_id)!;
    assert.equal(p.n, s.non_embedding_params, `${p.size_id}: N is the non-embedding count`);
    assert.ok(Math.abs(p.d / (TP.k * p.n ** -TP.gamma * p.t) - 1) < 1e-9, 'D is the tokens at that budget');
    const pred = lawLoss(f.law, p.n, p.d);
    assert.ok(Math.abs(pred / p.loss - 1) < 0.005, `${p.size_id} at ${p.t} s: ${pred} vs ${p.loss}`);
  }
  assert.ok(Math.abs(f.throughput.gamma - 1) < 1e-9 && Math.abs(f.throughput.k / TP.k - 1) < 1e-6);
  const truth = optimalExponent(TRUE, TP);
  assert.ok(Math.abs(f.exponent - truth) < 0.01, `exponent ${f.exponent}, true ${truth}`);
  const iv = f.intervals['exponent']!;
  assert.ok(iv.low <= iv.high && Number.isFinite(iv.low) && iv.value === f.exponent, JSON.stringify(iv));
  for (const o of f.optimum) assert.equal(o.n_opt, optimalN(f.law, f.throughput, o.t));
  assert.deepEqual(
    f.measured.map((m) => [m.t, m.n]),
    TIMES.map((t, i) => [t, sizes.find((s) => s.id === f.measured[i]!.size_id)!.non_embedding_params]),
  );
});

test("take-over times: the fit's match the true law's", () => {
  const { sizes, f } = study();
  const truth = takeoverTimes(
    TRUE,
    sizes.map((s) => ({
      id: s.id,
      n: s.non_embedding_params,
      tps: TP.k * s.non_embedding_params ** -TP.gamma,
    })),
  );
  assert.deepEqual(
    f.takeover.map((x) => x.size_id),
    sizes.map((s) => s.id),
  );
  // exact data: the fitted law's take-over times are the true ones, to the 5% time grid
  for (const [i, x] of f.takeover.entries()) {
    const t = truth[i]!.from_s!;
    assert.ok(
      x.from_s !== null && Math.abs(Math.log(x.from_s / t)) < Math.log(1.06),
      `${x.size_id}: ${x.from_s} vs ${t}`,
    );
  }
  // the grid's sizes take over in order, the second within the budgets trained, the last ~25× beyond
  assert.ok(truth[1]!.from_s! < 120 && truth[4]!.from_s! > 1000);
});

test('the report: exponents beside the published ones, take-over times, and the log-log figure of the fit', () => {
  const { sizes, f } = study();
  const r = { ...fixture({ compression: false }), sizes, scaling: f };
  const html = scalingTable(r);
  const iv = f.intervals['exponent']!;
  assert.ok(
    html.includes(`${iv.value.toFixed(2)} (95% ${iv.low.toFixed(2)}–${iv.high.toFixed(2)})`),
    'the exponent with its interval',
  );
  assert.match(html, /Kaplan et al\. 2020: N_opt ∝ C\^0\.73/);
  assert.match(html, /Hoffmann et al\. 2022: N_opt ∝ C\^0\.46–0\.50/);
  for (const x of f.takeover) assert.ok(html.includes(`<td>${x.size_id}</td>`), x.size_id);
  const nulled = { ...r, scaling: { ...f, takeover: [{ size_id: 'zz', from_s: null }] } };
  assert.match(scalingTable(nulled), /never in 1 s – 10\^8 s/);

  interface Layer {
    data: { values: Array<Record<string, number | string>> };
    mark: { type: string };
    encoding: { y: { scale: { type: string } } };
  }
  const spec = optimumSpec(r) as { layer: Layer[] };
  assert.ok(
    spec.layer.every((l) => l.encoding.y.scale.type === 'log'),
    'log axes',
  );
  const line = spec.layer.find((l) => l.mark.type === 'line')!.data.values;
  assert.ok(line.length > 10);
  for (const p of line) {
    const want = optimalN(f.law, f.throughput, p['t'] as number);
    assert.ok(Math.abs((p['n'] as number) / want - 1) < 1e-12, `line at ${p['t']} s`);
  }
  const points = spec.layer.find((l) => l.mark.type === 'point')!.data.values;
  assert.deepEqual(
    points.map((p) => [p['t'], p['n'], p['label']]),
    f.measured.map((m) => [m.t, m.n, m.size_id]),
  );

  const cli = scalingLine(r)!;
  assert.ok(cli.startsWith(`scaling on this machine: N_opt ∝ t^${f.exponent.toFixed(2)} (95% `), cli);
  for (const x of f.takeover)
    assert.ok(
      cli.includes(
        x.from_s === null
          ? `${x.size_id} never`
          : `${x.size_id} from ${Math.round(x.from_s).toLocaleString('en-US')} s`,
      ),
      `${x.size_id} in: ${cli}`,
    );
  assert.equal(scalingLine({ ...r, scaling: null }), null);
});
