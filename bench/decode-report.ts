// The figures of `npm run bench -- decode` from its runs: per mode and variant the median time over
// rounds, target tokens/s and per-sentence latency; the fastest variant of each peer; how often tlc
// and PyTorch produced the same tokens; BLEU of each; and the two targets. Pure functions; the
// input and output types shared by bench/decode.ts, bench/decode-tlc.ts and bench/torch_decode.py.
import { corpusBleu } from '../src/eval/bleu.ts';

export interface DecodeBatch {
  B: number;
  Ts: number;
  /** (B, Ts) token ids, <s> ... </s> then padding */
  src: number[];
  /** (B, Ts) 1 = a real source token */
  mask: number[];
  /** most output tokens (the end token included) */
  maxLen: number;
}

export interface DecodeMode {
  name: string;
  /** greedy: cached greedy decoding; beam: beam search; uncached: the whole prefix recomputed each step */
  kind: 'greedy' | 'beam' | 'uncached';
  /** which batch set it decodes */
  batches: string;
  /** false: the end token does not stop a row (fixed-length outputs of maxLen tokens) */
  stop: boolean;
  beam?: number;
  lenPenalty?: number;
  what: string;
}

/** The file both peers read. */
export interface DecodeInput {
  run_dir: string;
  checkpoint: string;
  config: Record<string, unknown>;
  bos: number;
  eos: number;
  batches: Record<string, DecodeBatch[]>;
  modes: DecodeMode[];
}

/** What one peer process printed. */
export interface PeerOutput {
  peer: 'tlc' | 'torch';
  threads: number;
  /** per mode: each sentence's output tokens (no <s>/</s>), in batch order, and each batch's seconds */
  modes: Record<string, { outputs: number[][]; batch_s: number[] }>;
  peak_rss_mb: number;
  [k: string]: unknown;
}

export interface VariantRuns {
  id: string;
  peer: 'tlc' | 'torch';
  threads: number;
  runs: PeerOutput[];
}

export interface VariantFigures {
  variant: string;
  threads: number;
  /** the mode's total time in each round, s */
  total_s: number[];
  median_s: number;
  /** output tokens (no </s>) per second at the median time */
  tokens_per_s: number;
  /** median time per sentence (batch 1: the latency), ms */
  ms_per_sentence: number;
}

export interface PeerSummary {
  best: VariantFigures;
  variants: VariantFigures[];
  tokens: number;
  /** mean output length, tokens */
  mean_len: number;
  bleu: number | null;
}

export interface ModeSummary {
  mode: string;
  what: string;
  sentences: number;
  tlc: PeerSummary;
  torch: PeerSummary | null;
  /** best tlc tokens/s over best PyTorch tokens/s */
  tlc_over_torch: number | null;
  /** share of sentences whose tokens are identical in both peers' outputs (their fastest variants) */
  agreement: number | null;
  /** share of output positions (up to the shorter output) with the same token */
  token_agreement: number | null;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export function countTokens(outputs: readonly number[][]): number {
  return outputs.reduce((a, o) => a + o.length, 0);
}

function figures(v: VariantRuns, mode: string, sentences: number): VariantFigures {
  const total = v.runs.map((r) => r.modes[mode]!.batch_s.reduce((a, b) => a + b, 0));
  const med = median(total);
  const tokens = countTokens(v.runs[0]!.modes[mode]!.outputs);
  return {
    variant: v.id,
    threads: v.threads,
    total_s: total.map((x) => +x.toFixed(4)),
    median_s: +med.toFixed(4),
    tokens_per_s: +(tokens / med).toFixed(1),
    ms_per_sentence: +((med / sentences) * 1000).toFixed(2),
  };
}

/** Sentence and position agreement of two peers' outputs for the same sentences. */
export function agreement(
  a: readonly number[][],
  b: readonly number[][],
): { sentences: number; tokens: number } {
  if (a.length !== b.length) throw new Error(`agreement: ${a.length} outputs vs ${b.length}`);
  let same = 0;
  let pos = 0;
  let match = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length === y.length && x.every((t, k) => t === y[k])) same++;
    const n = Math.max(x.length, y.length);
    pos += n;
    for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] === y[k]) match++;
  });
  return { sentences: a.length ? same / a.length : 1, tokens: pos ? match / pos : 1 };
}

function peerSummary(
  vs: readonly VariantRuns[],
  mode: DecodeMode,
  refs: readonly string[] | null,
  detok: (ids: number[]) => string,
): PeerSummary {
  const figs = vs.map((v) => figures(v, mode.name, v.runs[0]!.modes[mode.name]!.outputs.length));
  const best = figs.reduce((a, b) => (b.median_s < a.median_s ? b : a));
  const outs = vs.find((v) => v.id === best.variant)!.runs[0]!.modes[mode.name]!.outputs;
  const tokens = countTokens(outs);
  return {
    best,
    variants: figs,
    tokens,
    mean_len: +(tokens / Math.max(1, outs.length)).toFixed(2),
    bleu: refs ? +corpusBleu(outs.map(detok), [refs]).score.toFixed(2) : null,
  };
}

/** The outputs of a peer's fastest variant in a mode. */
export function bestOutputs(vs: readonly VariantRuns[], s: PeerSummary, mode: string): number[][] {
  return vs.find((v) => v.id === s.best.variant)!.runs[0]!.modes[mode]!.outputs;
}

/**
 * One mode's figures. `refs` (the references of the mode's sentences, in batch order) gives BLEU;
 * `detok` turns token ids into text for it.
 */
export function summarizeMode(
  mode: DecodeMode,
  tlc: readonly VariantRuns[],
  torch: readonly VariantRuns[],
  refs: readonly string[] | null,
  detok: (ids: number[]) => string,
): ModeSummary {
  const t = peerSummary(tlc, mode, refs, detok);
  const p = torch.length > 0 ? peerSummary(torch, mode, refs, detok) : null;
  const ag = p ? agreement(bestOutputs(tlc, t, mode.name), bestOutputs(torch, p, mode.name)) : null;
  return {
    mode: mode.name,
    what: mode.what,
    sentences: bestOutputs(tlc, t, mode.name).length,
    tlc: t,
    torch: p,
    tlc_over_torch: p ? +(t.best.tokens_per_s / p.best.tokens_per_s).toFixed(3) : null,
    agreement: ag ? +ag.sentences.toFixed(4) : null,
    token_agreement: ag ? +ag.tokens.toFixed(4) : null,
  };
}

export interface Target {
  name: string;
  want: number;
  got: number | null;
  met: boolean | null;
  how: string;
}

/** The two targets from the mode summaries (null where a mode did not run). */
export function decodeTargets(ms: readonly ModeSummary[]): Target[] {
  const by = new Map(ms.map((m) => [m.mode, m]));
  const cached = by.get('fixed64-cached');
  const uncached = by.get('fixed64-uncached');
  const speedup = cached && uncached ? uncached.tlc.best.median_s / cached.tlc.best.median_s : null;
  const beam = by.get('beam4-b32')?.tlc_over_torch ?? null;
  const t = (name: string, want: number, got: number | null, how: string): Target => ({
    name,
    want,
    got: got === null ? null : +got.toFixed(2),
    met: got === null ? null : got >= want,
    how,
  });
  return [
    t(
      'tlc cached greedy vs uncached, 64 output tokens',
      5,
      speedup,
      'time of fixed64-uncached / time of fixed64-cached (tlc, fastest variant of each)',
    ),
    t(
      'tlc vs PyTorch, batch 32, beam 4',
      1.5,
      beam,
      'tokens/s of tlc / tokens/s of PyTorch (fastest variants)',
    ),
  ];
}

/** A few lines for stderr: one per mode, then the targets. */
export function formatDecodeSummary(ms: readonly ModeSummary[], targets: readonly Target[]): string {
  const lines = ms.map((m) => {
    const tp = m.torch ? `${m.torch.best.tokens_per_s} tok/s (${m.torch.best.variant})` : 'no peer';
    const extra = m.torch
      ? `  x${m.tlc_over_torch}  same tokens ${(100 * m.agreement!).toFixed(1)}%` +
        (m.tlc.bleu !== null ? `  BLEU ${m.tlc.bleu} / ${m.torch.bleu}` : '')
      : m.tlc.bleu !== null
        ? `  BLEU ${m.tlc.bleu}`
        : '';
    return (
      `${m.mode.padEnd(17)} tlc ${m.tlc.best.tokens_per_s} tok/s ${m.tlc.best.ms_per_sentence} ms/sent ` +
      `(${m.tlc.best.variant})  torch ${tp}${extra}`
    );
  });
  for (const t of targets)
    lines.push(
      `target ${t.name}: ${t.got ?? 'n/a'} (want >= ${t.want}) ${t.met === null ? '' : t.met ? 'met' : 'NOT met'}`,
    );
  return `${lines.join('\n')}\n`;
}
