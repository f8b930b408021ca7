// Text generation with a decoder (dense Transformer or the compressed runtime, both a CausalLm):
// prompts are encoded after the document separator `</s>` (how training streams start a
// document), run in batches through the key/value-cached decoder (model/decode-causal.ts), and
// each new token is chosen greedily or sampled: temperature, then top-k, then top-p (nucleus) over
// the renormalized distribution, from a seeded generator per input (so a text's result does not
// depend on the batch it ran in). `<pad>`, `<s>` and `<mask>` are never chosen; `</s>` ends a text.
// No I/O here (the CLI does it).
import { BOS_ID, EOS_ID, MASK_ID, PAD_ID } from '../data/tokenizer/bytelevel.ts';
import type { Tokenizer } from '../data/tokenizer/index.ts';
import type { FloatArray } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { hash32, Rng } from '../engine/rng.ts';
import { type CausalLm, generateCached, type PickToken } from '../model/decode-causal.ts';

export interface SamplingOptions {
  /** 0 = greedy (the most likely token); > 0 divides the logits before the softmax */
  temperature: number;
  /** keep the k most likely tokens (0 = all) */
  topK: number;
  /** keep the smallest most-likely set whose probability reaches p (1 = all) */
  topP: number;
}

const NEVER = new Set([PAD_ID, BOS_ID, MASK_ID]);

/**
 * The distribution a token is sampled from, most likely first (ties: lower id): softmax of
 * x[off .. off + V) / temperature over the allowed tokens, cut to the top k, then to the smallest
 * prefix whose probability reaches top-p, renormalized. Probabilities in double.
 */
export function samplingDistribution(
  x: ArrayLike<number>,
  off: number,
  V: number,
  o: SamplingOptions,
): { ids: number[]; probs: number[] } {
  if (!(o.temperature > 0)) throw new Error('samplingDistribution needs a temperature > 0');
  const ids: number[] = [];
  for (let v = 0; v < V; v++) if (!NEVER.has(v)) ids.push(v);
  const z = (v: number) => x[off + v]! / o.temperature;
  ids.sort((a, b) => z(b) - z(a) || a - b);
  const kept = o.topK > 0 ? ids.slice(0, o.topK) : ids;
  const max = z(kept[0]!);
  let sum = 0;
  const w = kept.map((v) => {
    const e = Math.exp(z(v) - max);
    sum += e;
    return e;
  });
  let n = kept.length;
  if (o.topP < 1) {
    let acc = 0;
    for (n = 0; n < kept.length; ) {
      acc += w[n++]! / sum;
      if (acc >= o.topP) break;
    }
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i]!;
  return { ids: kept.slice(0, n), probs: w.slice(0, n).map((e) => e / s) };
}

/** The most likely allowed token (lowest id on ties). */
export function greedyToken(x: ArrayLike<number>, off: number, V: number): number {
  let best = -1;
  for (let v = 0; v < V; v++) if (!NEVER.has(v) && (best < 0 || x[off + v]! > x[off + best]!)) best = v;
  return best;
}

/** One draw from a distribution (ids, probs) with a uniform u in [0, 1). */
export function drawFrom(d: { ids: number[]; probs: number[] }, u: number): number {
  let acc = 0;
  for (let i = 0; i < d.ids.length; i++) {
    acc += d.probs[i]!;
    if (u < acc) return d.ids[i]!;
  }
  return d.ids[d.ids.length - 1]!; // u within rounding of 1
}

/**
 * A PickToken for the cached decoder: greedy at temperature 0, else sampled with input `first + row`'s
 * own generator (seeded from `seed` and that index).
 */
export function samplingPick(o: SamplingOptions, seed: number, first: number): PickToken {
  if (o.temperature === 0) return (_r, _s, x, off, V) => greedyToken(x, off, V);
  const rngs = new Map<number, Rng>();
  return (row, _s, x, off, V) => {
    let rng = rngs.get(row);
    if (!rng) {
      rng = new Rng(hash32(seed, first + row));
      rngs.set(row, rng);
    }
    return drawFrom(samplingDistribution(x, off, V, o), rng.uniform());
  };
}

export interface GenerateTextOptions {
  maxNew: number;
  sampling: SamplingOptions;
  seed: number;
  /** prompts run together */
  batch: number;
  /** names input i in messages */
  where?: (i: number) => string;
  progress?: (done: number, total: number) => void;
}

export interface GenerateResult {
  prompt: string;
  /** the generated continuation (special tokens dropped) */
  text: string;
  tokens: number[];
  /** the model's log-probability (temperature 1) of the continuation, `</s>` included when it ended */
  logprob: number;
  /** whether it stopped at `</s>` (false: --max-new tokens or the model's max_len) */
  ended: boolean;
}

/** `</s>` then the prompt's tokens; refused when no new token would fit in max_len. */
export function encodePrompt(tok: Tokenizer, text: string, maxLen: number, where: string): Int32Array {
  const ids = Int32Array.from([EOS_ID, ...tok.encode(text)]);
  if (ids.length >= maxLen)
    throw new InputError(
      `${where}: the prompt is ${ids.length} tokens with the leading </s>, the model's max_len is ${maxLen} (no room for a new token)`,
      'shorten the prompt',
    );
  return ids;
}

/** Continue each prompt (batched, cached); results in input order. */
export function generateTexts<A extends FloatArray>(
  lm: CausalLm<A>,
  tok: Tokenizer,
  texts: readonly string[],
  o: GenerateTextOptions,
): GenerateResult[] {
  const where = o.where ?? ((i) => `text ${i + 1}`);
  const ids = texts.map((t, i) => encodePrompt(tok, t, lm.cfg.max_len, where(i)));
  const out: GenerateResult[] = [];
  for (let s = 0; s < ids.length; s += o.batch) {
    const part = ids.slice(s, s + o.batch);
    const pick = samplingPick(o.sampling, o.seed, s);
    const gen = generateCached(lm, part, { maxNew: o.maxNew, eos: EOS_ID, pick });
    gen.forEach((g, i) => {
      const tokens = Array.from(g.tokens);
      out.push({
        prompt: texts[s + i]!,
        text: tok.decode(tokens, { skipSpecial: true }),
        tokens,
        logprob: g.logprobs.reduce((a, b) => a + b, 0),
        ended: g.ended,
      });
    });
    o.progress?.(Math.min(s + o.batch, ids.length), ids.length);
  }
  return out;
}
