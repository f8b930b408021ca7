// The arithmetic of bench/train.ts's report: per-variant medians over pooled step times, the
// tlc/PyTorch ratio against PyTorch's fastest variant, MFU against the measured FMA peak, memory
// against what tlc accounts for, and the targets. Pure functions; runs nothing.

import type { BenchConfig } from './configs.ts';

export interface RunRecord {
  steps_ms: number[];
  peak_rss_mb: number;
  load1: number;
  last: Record<string, unknown>;
}

export interface VariantResult {
  variant: string;
  kind: 'tlc' | 'torch';
  threads: number;
  /** tlc only: the linear layers' precision */
  precision?: 'fp32' | 'bf16' | undefined;
  openblas_env?: 'machine' | 'unset' | undefined;
  blas?: string | undefined;
  runs: RunRecord[];
}

export interface VariantSummary {
  variant: string;
  threads: number;
  tokens_per_s: number;
  tokens_per_s_min: number;
  tokens_per_s_max: number;
  step_ms: number;
  timed_steps: number;
  run_medians_tokens_per_s: number[];
  peak_rss_mb: number;
  load1_during: number[];
  blas?: string | undefined;
  openblas_env?: string | undefined;
}

export interface Summary {
  name: string;
  config: BenchConfig;
  params: number;
  /** every PyTorch variant reported the same parameter count as tlc (same architecture) */
  torch_params_match: boolean;
  flops_per_token: number;
  tlc: VariantSummary;
  /** tlc with --precision bf16 at the same thread count, when it ran */
  tlc_bf16: VariantSummary | null;
  /** bf16 tokens/s over tlc's fp32 tokens/s */
  ratio_bf16_over_fp32: number | null;
  torch_best: VariantSummary | null;
  ratio_tlc_over_torch: number | null;
  /**
   * tlc's median over PyTorch's fastest variant's median, round by round: each round runs every
   * variant once, so the two sides of a ratio were measured minutes apart. Their spread shows how
   * much of the pooled ratio is the machine's drift rather than the engines.
   */
  ratio_per_round: number[] | null;
  mfu_tlc: number | null;
  mfu_torch_best: number | null;
  memory: {
    peak_rss_mb: number;
    /** params + grads + 2 AdamW moments */
    state_mb: number;
    /** what the forward pass keeps for backward (the workspace after the first forward) */
    saved_activations_mb: number;
    /** the whole workspace: saved activations plus backward scratch */
    workspace_mb: number;
    /** the formula: state + saved activations */
    accounted_mb: number;
    rss_over_accounted: number;
    /** peak RSS / (state + the whole workspace): backward scratch counted as well */
    rss_over_state_and_workspace: number;
    /** peak RSS of the same command on a trivial model: Node, tsx, oneDNN and the CLI themselves */
    runtime_rss_mb: number;
    /** (peak RSS - runtime RSS) / accounted */
    net_rss_over_accounted: number;
  };
  variants: VariantSummary[];
  tlc_command: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function variantSummary(v: VariantResult, tokensPerStep: number): VariantSummary {
  const all = v.runs.flatMap((r) => r.steps_ms);
  if (all.length === 0) throw new Error(`${v.variant}: no timed steps`);
  const tps = (ms: number) => Math.round((tokensPerStep * 1000) / ms);
  return {
    variant: v.variant,
    threads: v.threads,
    tokens_per_s: tps(median(all)),
    tokens_per_s_min: tps(Math.max(...all)),
    tokens_per_s_max: tps(Math.min(...all)),
    step_ms: +median(all).toFixed(2),
    timed_steps: all.length,
    run_medians_tokens_per_s: v.runs.map((r) => tps(median(r.steps_ms))),
    peak_rss_mb: Math.max(...v.runs.map((r) => r.peak_rss_mb)),
    load1_during: v.runs.map((r) => r.load1),
    ...(v.blas ? { blas: v.blas, openblas_env: v.openblas_env } : {}),
  };
}

/** Summary of one config; `peak` maps a thread count to the FMA-loop FLOP/s measured for it. */
export function summarize(
  runtimeRssMb: number,
  c: BenchConfig,
  results: VariantResult[],
  peak: Map<number, number>,
  tlcArgv: string[],
): Summary {
  const tokensPerStep = c.batch * c.seq;
  const vs = results.map((r) => ({ r, s: variantSummary(r, tokensPerStep) }));
  const tlcs = vs.filter((x) => x.r.kind === 'tlc' && x.r.precision !== 'bf16');
  const torches = vs.filter((x) => x.r.kind === 'torch').sort((a, b) => b.s.tokens_per_s - a.s.tokens_per_s);
  // tlc at its default (all cores) when that variant ran, else its fastest
  const cores = Math.max(...tlcs.map((x) => x.s.threads));
  const tlc = tlcs.find((x) => x.s.threads === cores)!;
  const last = tlc.r.runs[tlc.r.runs.length - 1]!.last;
  const fpt = last['flops_per_token'] as number;
  const mfu = (s: VariantSummary) => {
    const p = peak.get(s.threads);
    return p ? +((s.tokens_per_s * fpt) / p).toFixed(3) : null;
  };
  const best = torches[0]?.s ?? null;
  const rounds = Math.min(tlc.s.run_medians_tokens_per_s.length, best?.run_medians_tokens_per_s.length ?? 0);
  const perRound = best
    ? Array.from(
        { length: rounds },
        (_, i) => +(tlc.s.run_medians_tokens_per_s[i]! / best.run_medians_tokens_per_s[i]!).toFixed(3),
      )
    : null;
  const bf16 =
    vs.find((x) => x.r.kind === 'tlc' && x.r.precision === 'bf16' && x.s.threads === cores)?.s ?? null;
  const state = last['state_mb'] as number;
  const work = last['activations_mb'] as number;
  const saved = last['saved_mb'] as number;
  return {
    name: c.name,
    config: c,
    params: last['params'] as number,
    torch_params_match: torches.every((x) => x.r.runs.every((r) => r.last['params'] === last['params'])),
    flops_per_token: fpt,
    tlc: tlc.s,
    tlc_bf16: bf16,
    ratio_bf16_over_fp32: bf16 ? +(bf16.tokens_per_s / tlc.s.tokens_per_s).toFixed(3) : null,
    torch_best: best,
    ratio_tlc_over_torch: best ? +(tlc.s.tokens_per_s / best.tokens_per_s).toFixed(3) : null,
    ratio_per_round: perRound,
    mfu_tlc: mfu(tlc.s),
    mfu_torch_best: best ? mfu(best) : null,
    memory: {
      peak_rss_mb: tlc.s.peak_rss_mb,
      state_mb: state,
      saved_activations_mb: saved,
      workspace_mb: work,
      accounted_mb: +(state + saved).toFixed(1),
      rss_over_accounted: +(tlc.s.peak_rss_mb / (state + saved)).toFixed(3),
      rss_over_state_and_workspace: +(tlc.s.peak_rss_mb / (state + work)).toFixed(3),
      runtime_rss_mb: runtimeRssMb,
      net_rss_over_accounted: +((tlc.s.peak_rss_mb - runtimeRssMb) / (state + saved)).toFixed(3),
    },
    variants: vs.map((x) => x.s),
    tlc_command: tlcArgv.slice(1).join(' '),
  };
}

export interface Target {
  target: string;
  config: string;
  value: number | null;
  required: string;
  met: boolean;
  /** how far off, as a fraction of the requirement (0 when met) */
  shortfall: number;
}

/**
 * The targets: speed ratio (2.0 reference, 1.5 others), MFU >= 0.6 on large, RSS <= 1.5 x
 * accounted, bf16 >= 1.5 x fp32 on large (when bf16 ran).
 */
export function targetsFor(results: Summary[]): Target[] {
  const out: Target[] = [];
  const atLeast = (target: string, config: string, value: number | null, need: number) =>
    out.push({
      target,
      config,
      value,
      required: `>= ${need}`,
      met: value !== null && value >= need,
      shortfall: value === null ? 1 : +Math.max(0, 1 - value / need).toFixed(3),
    });
  for (const r of results) {
    atLeast(
      'tokens/s vs fastest PyTorch',
      r.name,
      r.ratio_tlc_over_torch,
      r.name === 'reference' ? 2.0 : 1.5,
    );
    if (r.name === 'large') atLeast('MFU', r.name, r.mfu_tlc, 0.6);
    if (r.name === 'large' && r.tlc_bf16)
      atLeast('bf16 tokens/s vs tlc fp32', r.name, r.ratio_bf16_over_fp32, 1.5);
    const m = r.memory.rss_over_accounted;
    out.push({
      target: 'peak RSS / (params + grads + 2 moments + saved activations)',
      config: r.name,
      value: m,
      required: '<= 1.5',
      met: m <= 1.5,
      shortfall: +Math.max(0, m / 1.5 - 1).toFixed(3),
    });
  }
  return out;
}

/** A few lines for stderr after the JSON: per config the headline figures, then every target. */
export function formatSummary(results: Summary[], targets: Target[]): string {
  const x = (v: number | null, digits = 2) => (v === null ? '–' : `${v.toFixed(digits)}×`);
  const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
  const rows = results.map((r) => [
    r.name,
    String(r.tlc.tokens_per_s),
    r.torch_best ? String(r.torch_best.tokens_per_s) : '–',
    x(r.ratio_tlc_over_torch),
    r.ratio_per_round ? `${Math.min(...r.ratio_per_round)}–${Math.max(...r.ratio_per_round)}` : '–',
    pct(r.mfu_tlc),
    r.memory.rss_over_accounted.toFixed(2),
    x(r.ratio_bf16_over_fp32),
  ]);
  const head = [
    'config',
    'tlc tok/s',
    'torch tok/s',
    'tlc/torch',
    'per round',
    'MFU',
    'RSS/acc',
    'bf16/fp32',
  ];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  for (const t of targets) {
    const value = t.value === null ? 'n/a' : String(t.value);
    const miss = t.met ? '' : ` (off by ${(100 * t.shortfall).toFixed(1)}%)`;
    out.push(`${t.met ? 'met   ' : 'MISSED'} ${t.config}: ${t.target} ${value}, needs ${t.required}${miss}`);
  }
  return `${out.join('\n')}\n`;
}
