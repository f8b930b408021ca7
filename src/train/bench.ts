// Timed training steps (forward, backward, AdamW) of one model shape on random tokens: the
// measurement behind `tlc bench train` and bench/train.ts. Reports the median step and the memory
// the model itself accounts for; no data loading, no eval, no comparison with other frameworks.
import type { Backend } from '../engine/backend.ts';
import { AdamW, gradClipScale } from '../engine/optim.ts';
import { Rng } from '../engine/rng.ts';
import type { LmBatch, Seq2SeqBatch } from '../model/batch.ts';
import { type ModelConfig, modelStats } from '../model/config.ts';
import { Transformer } from '../model/transformer.ts';

export interface BenchTrainOptions {
  cfg: ModelConfig;
  seq: number;
  batch: number;
  warmup: number;
  steps: number;
  seed: number;
  /** called before every step (i counts warm-up steps too; timed = past the warm-up) */
  onStep?: (i: number, timed: boolean) => void;
}

export interface BenchTrainResult {
  tokens_per_s: number;
  /** tokens/s of the fastest and the slowest timed step */
  tokens_per_s_max: number;
  tokens_per_s_min: number;
  step_ms: number;
  step_ms_min: number;
  step_ms_max: number;
  /** every timed step, in order */
  steps_ms: number[];
  params: number;
  flops_per_token: number;
  model_flops_per_s: number;
  threads: number;
  backend: string;
  family: string;
  steps: number;
  peak_rss_mb: number;
  /** params + grads + 2 AdamW moments, MB (fp32) */
  state_mb: number;
  /** the model's whole workspace: saved activations plus backward scratch, MB */
  activations_mb: number;
  /**
   * the part of the workspace the forward pass fills (the tape backward reads: saved activations,
   * forward temporaries, the loss gradient), MB; the rest is backward scratch
   */
  saved_mb: number;
}

/** Random batch of the model's kind: MLM (15% targets), causal LM, or seq2seq of equal lengths. */
export function randomBatch(cfg: ModelConfig, B: number, T: number, rng: Rng): LmBatch | Seq2SeqBatch {
  const V = cfg.vocab;
  const ids = (n: number) => Int32Array.from({ length: n }, () => 5 + rng.int(V - 5));
  if (cfg.family === 'encdec') {
    return {
      B,
      Ts: T,
      Tt: T,
      src: ids(B * T),
      srcMask: new Uint8Array(B * T).fill(1),
      tgtIn: ids(B * T),
      tgtOut: ids(B * T),
    };
  }
  const tokens = ids(B * T);
  const targets =
    cfg.family === 'encoder' ? Int32Array.from(tokens, (t) => (rng.uniform() < 0.15 ? t : -1)) : ids(B * T);
  return { B, T, tokens, keyMask: null, targets };
}

const MB = 1024 * 1024;

export function benchTrain(be: Backend<Float32Array>, o: BenchTrainOptions): BenchTrainResult {
  const { cfg } = o;
  const m = new Transformer(be, cfg, o.seed);
  const opt = new AdamW(be, m.layout.total, m.layout.specs);
  const rng = new Rng(o.seed);
  const batches = Array.from({ length: 4 }, () => randomBatch(cfg, o.batch, o.seq, rng));
  const times: number[] = [];
  let savedBytes = 0;
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const b = batches[i % batches.length]!;
    o.onStep?.(i, i >= o.warmup);
    const t0 = process.hrtime.bigint();
    m.zeroGrad();
    const tape =
      'src' in b
        ? m.forwardSeq2Seq(b, { train: true, grad: true, seed: i })
        : m.forwardLm(b, { train: true, grad: true, seed: i });
    if (i === 0) savedBytes = m.ws.floatBytes(); // every buffer so far was made by the forward
    m.backward(tape);
    const clip = gradClipScale(be, m.grads, m.layout.total, 1.0);
    opt.step(m.params, m.grads, 1e-4, clip.scale);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= o.warmup) times.push(ms);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)]!;
  const tokens = cfg.family === 'encdec' ? 2 * o.batch * o.seq : o.batch * o.seq;
  const stats = modelStats(cfg, o.seq);
  const tps = tokens / (med / 1000);
  return {
    tokens_per_s: Math.round(tps),
    tokens_per_s_max: Math.round(tokens / (sorted[0]! / 1000)),
    tokens_per_s_min: Math.round(tokens / (sorted[sorted.length - 1]! / 1000)),
    step_ms: +med.toFixed(2),
    step_ms_min: +sorted[0]!.toFixed(2),
    step_ms_max: +sorted[sorted.length - 1]!.toFixed(2),
    steps_ms: times.map((t) => +t.toFixed(2)),
    params: stats.params,
    flops_per_token: Math.round(stats.trainFlopsPerToken),
    model_flops_per_s: Math.round(tps * stats.trainFlopsPerToken),
    threads: be.getThreads(),
    backend: be.name,
    family: cfg.family,
    steps: o.steps,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    state_mb: +((4 * 4 * m.layout.total) / MB).toFixed(1),
    activations_mb: +(m.ws.floatBytes() / MB).toFixed(1),
    saved_mb: +(savedBytes / MB).toFixed(1),
  };
}
