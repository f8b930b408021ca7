// The paper's three claims judged on the data at hand, from the frontier and the compression grid.
// Each verdict carries its evidence in words and numbers; "inconclusive" when differences are
// within the noise (± 2 standard errors over seeds, or 1% with a single seed).
import type { CompressionPoint, Frontier, SizeSpec, TrainedRun, Verdict } from './types.ts';

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** Is a below b by more than the noise? */
function clearlyBelow(a: number, sa: number, b: number, sb: number): boolean {
  const noise = Number.isFinite(sa) && Number.isFinite(sb) ? 2 * Math.hypot(sa, sb) : 0.01 * Math.min(a, b);
  return a < b - noise;
}

export function claim1(sizes: SizeSpec[], frontier: Frontier, runs: TrainedRun[]): Verdict {
  const statement =
    'Under the same wall-clock training budget, larger (wider or deeper) models reach lower validation loss.';
  const k = frontier.times.length - 1;
  const at = new Map(frontier.per_size.map((p) => [p.size_id, { ppl: p.ppl[k]!, se: p.stderr[k]! }]));
  const parts: string[] = [];
  let support = 0;
  let against = 0;
  for (const sweep of ['depth', 'width'] as const) {
    const inSweep = sizes.filter((s) => s.sweeps.includes(sweep)).sort((a, b) => a.params - b.params);
    if (inSweep.length < 2) continue;
    const largest = inSweep[inSweep.length - 1]!;
    const best = inSweep.reduce((w, s) => (at.get(s.id)!.ppl < at.get(w.id)!.ppl ? s : w));
    const l = at.get(largest.id)!;
    const others = inSweep.filter((s) => s !== largest);
    const beatsAll = others.every((s) => clearlyBelow(l.ppl, l.se, at.get(s.id)!.ppl, at.get(s.id)!.se));
    const b = at.get(best.id)!;
    const bestClear = best !== largest && clearlyBelow(b.ppl, b.se, l.ppl, l.se);
    if (beatsAll) support++;
    else if (bestClear) against++;
    parts.push(
      `${sweep} sweep (${inSweep.map((s) => `${s.id} ${fmt(at.get(s.id)!.ppl)}`).join(', ')}): ` +
        (beatsAll
          ? `the largest, ${largest.id}, is best`
          : bestClear
            ? `${best.id} beats the largest, ${largest.id}`
            : 'differences within noise'),
    );
  }
  const cross = frontier.crossings.map((c) => `${c.b} overtakes ${c.a} at ${fmt(c.t)} s`);
  const seeds = new Set(runs.map((r) => r.seed)).size;
  const evidence =
    `Validation perplexity at the ${fmt(frontier.times[k]!)} s budget — ${parts.join('; ')}. ` +
    `Compute-optimal size at this budget: ${frontier.compute_optimal.size_id}. ` +
    (cross.length
      ? `Crossings: ${cross.join('; ')}.`
      : 'No larger model overtook a smaller one within the budget.') +
    ` ${seeds} seed${seeds === 1 ? '' : 's'}${seeds === 1 ? ' (noise not measured: differences under 1% count as ties)' : ''}.`;
  const verdict =
    support > 0 && against === 0
      ? 'supported'
      : against > 0 && support === 0
        ? 'not supported'
        : 'inconclusive';
  return { claim: 1, statement, verdict, evidence };
}

function spearman(xs: number[], ys: number[]): number {
  const rank = (v: number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    idx.forEach(([, i], k) => {
      r[i] = k;
    });
    return r;
  };
  const rx = rank(xs);
  const ry = rank(ys);
  const n = xs.length;
  const d2 = rx.reduce((a, r, i) => a + (r - ry[i]!) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

/** Relative perplexity increase of each compressed point over its own dense model. */
function degradation(points: CompressionPoint[]): Map<string, Map<string, number>> {
  const dense = new Map<string, number>();
  for (const p of points) if (p.method === 'dense') dense.set(p.run_id, p.ppl);
  const bySetting = new Map<string, Map<string, number[]>>();
  for (const p of points) {
    const d = dense.get(p.run_id);
    if (p.method === 'dense' || d === undefined) continue;
    const key = `${p.method} ${p.setting}`;
    const m = bySetting.get(key) ?? new Map<string, number[]>();
    m.set(p.size_id, [...(m.get(p.size_id) ?? []), p.ppl / d - 1]);
    bySetting.set(key, m);
  }
  const out = new Map<string, Map<string, number>>();
  for (const [k, m] of bySetting)
    out.set(k, new Map([...m].map(([s, v]) => [s, v.reduce((a, b) => a + b, 0) / v.length])));
  return out;
}

export function claim2(sizes: SizeSpec[], points: CompressionPoint[]): Verdict {
  const statement =
    'Larger models are more robust to compression (quantization, pruning): they lose relatively less.';
  const deg = degradation(points);
  const rows: string[] = [];
  let neg = 0;
  let pos = 0;
  for (const [setting, m] of deg) {
    const ss = sizes.filter((s) => m.has(s.id));
    if (ss.length < 3) continue;
    const meaningful = ss.some((s) => m.get(s.id)! > 0.01);
    if (!meaningful) continue; // a setting that hurts nobody says nothing about robustness
    const rho = spearman(
      ss.map((s) => s.params),
      ss.map((s) => m.get(s.id)!),
    );
    if (rho <= -0.5) neg++;
    else if (rho >= 0.5) pos++;
    rows.push(
      `${setting}: ρ=${rho.toFixed(2)} (${ss.map((s) => `${s.id} +${(100 * m.get(s.id)!).toFixed(1)}%`).join(', ')})`,
    );
  }
  const verdict =
    rows.length === 0
      ? 'inconclusive'
      : neg > pos && neg >= rows.length / 2
        ? 'supported'
        : pos > neg
          ? 'not supported'
          : 'inconclusive';
  const dense = new Map(points.filter((p) => p.method === 'dense').map((p) => [p.size_id, p.ppl]));
  const ordered = sizes.filter((s) => dense.has(s.id)).sort((a, b) => a.params - b.params);
  const largerWorse =
    ordered.length >= 2 && dense.get(ordered[ordered.length - 1]!.id)! > dense.get(ordered[0]!.id)!;
  const caveat = largerWorse
    ? ' Caveat: at this budget the larger models are also the less trained ones (higher dense perplexity), and a model that has learned less has less to lose; the paper compares models that converged further.'
    : '';
  const evidence = rows.length
    ? `Spearman correlation between parameter count and relative perplexity increase, per setting (negative = larger models degrade less): ${rows.join('; ')}. ${neg} settings favour larger models, ${pos} favour smaller ones.${caveat}`
    : 'No compression setting degraded any model by more than 1%, or fewer than 3 sizes were compressed: nothing to compare.';
  return { claim: 2, statement, verdict, evidence };
}

export function claim3(sizes: SizeSpec[], points: CompressionPoint[]): Verdict {
  const statement =
    'At the same inference budget (bytes), a heavily compressed large model beats a lightly compressed small model.';
  const order = [...sizes].sort((a, b) => a.params - b.params);
  const rank = new Map(order.map((s, i) => [s.id, i]));
  const quant = points.filter((p) => p.method === 'dense' || p.bits !== null);
  const wins: string[] = [];
  const losses: string[] = [];
  for (const light of quant.filter((p) => p.method === 'dense' || (p.bits ?? 0) >= 8)) {
    // the best point of a strictly larger model that fits in the same bytes
    const rivals = quant.filter(
      (p) => rank.get(p.size_id)! > rank.get(light.size_id)! && p.bytes <= light.bytes,
    );
    if (rivals.length === 0) continue;
    const best = rivals.reduce((a, b) => (b.ppl < a.ppl ? b : a));
    const line = `${best.size_id} ${best.setting} (${(best.bytes / 1e6).toFixed(2)} MB, ppl ${fmt(best.ppl)}) vs ${light.size_id} ${light.setting} (${(light.bytes / 1e6).toFixed(2)} MB, ppl ${fmt(light.ppl)})`;
    if (best.ppl < light.ppl * 0.99) wins.push(line);
    else if (best.ppl > light.ppl * 1.01) losses.push(line);
  }
  const n = wins.length + losses.length;
  const verdict =
    n === 0
      ? 'inconclusive'
      : wins.length > losses.length
        ? 'supported'
        : losses.length > wins.length
          ? 'not supported'
          : 'inconclusive';
  const evidence =
    n === 0
      ? 'No larger model fits in the bytes of a lightly compressed (8-bit or dense) smaller one: nothing to compare.'
      : `Lightly compressed smaller models against the best larger model in no more bytes: larger wins ${wins.length}, smaller wins ${losses.length}. ` +
        `${wins.length ? `Larger wins: ${wins.slice(0, 4).join('; ')}. ` : ''}${losses.length ? `Smaller wins: ${losses.slice(0, 4).join('; ')}.` : ''}`;
  return { claim: 3, statement, verdict, evidence };
}
