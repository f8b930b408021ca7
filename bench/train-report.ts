// The arithmetic of bench/train.ts's report: per-variant medians over pooled step times, the
// tlc/PyTorch ratio against PyTorch's fastest variant (either way of writing its blocks), tlc bf16
// against PyTorch's bf16 autocast, MFU against the measured FMA peak, memory against what tlc
// accounts for, and the targets. Pure functions; runs nothing.

import { modelStats, resolveModelConfig } from '../src/model/config.ts';
import type { BenchConfig } from './configs.ts';
import type { TorchGelu, TorchModule } from './torch-peer.ts';

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
  /** tlc: the linear layers' precision; torch: fp32 or bf16 autocast (absent: fp32) */
  precision?: 'fp32' | 'bf16' | undefined;
  /** torch only: hand-written blocks or nn.TransformerEncoder, and its GELU */
  module?: TorchModule | undefined;
  gelu?: TorchGelu | undefined;
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
  module?: TorchModule | undefined;
  gelu?: TorchGelu | undefined;
  precision?: 'fp32' | 'bf16' | undefined;
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
  /** PyTorch's fastest fp32 variant, over both ways of writing the blocks: the peer */
  torch_best: VariantSummary | null;
  ratio_tlc_over_torch: number | null;
  /** PyTorch's fastest fp32 variant with each way of writing the blocks (null: it did not run) */
  torch_best_hand: VariantSummary | null;
  torch_best_stock: VariantSummary | null;
  /** PyTorch's fastest bf16-autocast variant, and tlc bf16 (same thread count as tlc) over it */
  torch_bf16_best: VariantSummary | null;
  ratio_tlc_bf16_over_torch_bf16: number | null;
  /**
   * every PyTorch run counted (aten dispatch, forward + backward) the GEMM FLOPs that tlc's formula
   * gives for the rows that run predicted; null when PyTorch did not run
   */
  torch_flops_match: boolean | null;
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
    ...(v.module ? { module: v.module, gelu: v.gelu ?? 'tanh', precision: v.precision ?? 'fp32' } : {}),
  };
}

/** The GEMM FLOPs per token tlc's formula gives for config c when `rows` of its B x T positions are predicted. */
export function expectedFlopsPerToken(c: BenchConfig, rows: number): number {
  const m = resolveModelConfig({
    family: c.family,
    vocab: c.vocab,
    d_model: c.d,
    n_layers: c.layers,
    n_heads: c.heads,
    d_ff: c.ff,
    max_len: c.seq,
  });
  return modelStats(m, c.seq, rows / (c.batch * c.seq)).trainFlopsPerToken;
}

/** A torch run counted the FLOPs the formula gives (to 1 FLOP per token: torch_train.py rounds). */
function flopsMatch(c: BenchConfig, last: Record<string, unknown>): boolean {
  const counted = last['flops_per_token'];
  const rows = last['predicted_rows'];
  if (typeof counted !== 'number' || typeof rows !== 'number') return false;
  const want = expectedFlopsPerToken(c, rows);
  return Math.abs(counted - want) <= 1;
}

type Pair = { r: VariantResult; s: VariantSummary };
const fastest = (xs: Pair[]): VariantSummary | null =>
  [...xs].sort((a, b) => b.s.tokens_per_s - a.s.tokens_per_s)[0]?.s ?? null;

/** The PyTorch side of a summary: the best per module, the bf16 peer, and whether the work matched. */
function torchPeers(c: BenchConfig, vs: Pair[], tlcBf16: VariantSummary | null) {
  const torch = vs.filter((x) => x.r.kind === 'torch');
  const fp32 = torch.filter((x) => x.r.precision !== 'bf16');
  const bf16 = fastest(torch.filter((x) => x.r.precision === 'bf16'));
  const byModule = (m: TorchModule) => fastest(fp32.filter((x) => x.r.module === m));
  return {
    torch_best_hand: byModule('hand'),
    torch_best_stock: byModule('stock'),
    torch_bf16_best: bf16,
    ratio_tlc_bf16_over_torch_bf16:
      bf16 && tlcBf16 ? +(tlcBf16.tokens_per_s / bf16.tokens_per_s).toFixed(3) : null,
    torch_flops_match:
      torch.length === 0 ? null : torch.every((x) => x.r.runs.every((r) => flopsMatch(c, r.last))),
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
  const torches = vs
    .filter((x) => x.r.kind === 'torch' && x.r.precision !== 'bf16')
    .sort((a, b) => b.s.tokens_per_s - a.s.tokens_per_s);
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
    torch_params_match: vs
      .filter((x) => x.r.kind === 'torch')
      .every((x) => x.r.runs.every((r) => r.last['params'] === last['params'])),
    flops_per_token: fpt,
    tlc: tlc.s,
    tlc_bf16: bf16,
    ratio_bf16_over_fp32: bf16 ? +(bf16.tokens_per_s / tlc.s.tokens_per_s).toFixed(3) : null,
    torch_best: best,
    ratio_tlc_over_torch: best ? +(tlc.s.tokens_per_s / best.tokens_per_s).toFixed(3) : null,
    ...torchPeers(c, vs, bf16),
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

/** Why the PyTorch runs of a summary are no peer of tlc's (different parameters or FLOPs), or null. */
export function peerMismatch(s: Summary): string | null {
  if (s.torch_params_match && s.torch_flops_match !== false) return null;
  const torch = s.variants.filter((v) => v.module !== undefined).map((v) => v.variant);
  return (
    `${s.name}: the PyTorch runs do not do tlc's work (parameter counts match: ${s.torch_params_match}, ` +
    `GEMM FLOPs match: ${s.torch_flops_match}; runs: ${torch.join(', ')}); bench/torch_train.py no longer ` +
    'builds the model tlc trains: fix it before comparing'
  );
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

/** ' stock', ' hand erf': how the peer's blocks were written, when known. */
function peerName(v: VariantSummary): string {
  if (!v.module) return '';
  return v.gelu === 'erf' ? ` ${v.module} erf` : ` ${v.module}`;
}

/**
 * A few lines for stderr after the JSON: per config the headline figures (the PyTorch peer named by
 * its module when known; tlc bf16 over PyTorch bf16 when that ran), then every target.
 */
export function formatSummary(results: Summary[], targets: Target[]): string {
  const x = (v: number | null, digits = 2) => (v === null ? '–' : `${v.toFixed(digits)}×`);
  const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
  const bf16Peer = results.some((r) => r.torch_bf16_best !== null);
  const rows = results.map((r) => [
    r.name,
    String(r.tlc.tokens_per_s),
    r.torch_best ? `${r.torch_best.tokens_per_s}${peerName(r.torch_best)}` : '–',
    x(r.ratio_tlc_over_torch),
    r.ratio_per_round ? `${Math.min(...r.ratio_per_round)}–${Math.max(...r.ratio_per_round)}` : '–',
    pct(r.mfu_tlc),
    r.memory.rss_over_accounted.toFixed(2),
    x(r.ratio_bf16_over_fp32),
    ...(bf16Peer ? [x(r.ratio_tlc_bf16_over_torch_bf16)] : []),
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
    ...(bf16Peer ? ['bf16/torch bf16'] : []),
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
