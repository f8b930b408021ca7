// Beam search for the encoder-decoder model over the cached decoder of decode.ts, batched over
// source sentences. Hypotheses are ranked by the length-normalized score logprob / length^alpha
// (fairseq / CTranslate2 style; length counts the end token when there is one). Each step keeps
// the K best growing hypotheses per sentence among the top 2K candidates; a finished hypothesis
// (end token, or the length limit) leaves the batch, and a sentence leaves when no live
// hypothesis can still beat its best finished one.
import type { FloatArray } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { CachedDecoder } from './decode.ts';
import type { Transformer } from './transformer.ts';

export interface BeamOptions {
  /** beam size K >= 1 */
  beam: number;
  /** length penalty alpha >= 0: score = logprob / length^alpha (0 = raw log-probability) */
  lenPenalty: number;
  /** most output tokens (the end token included), capped at max_len */
  maxLen: number;
  bos: number;
  eos: number;
}

export interface Hypothesis {
  /** output tokens, without the start and end tokens */
  tokens: Int32Array;
  /** summed log-probability of the tokens (and of the end token when ended) */
  logprob: number;
  /** logprob / length^alpha */
  score: number;
  /** false when cut at the length limit */
  ended: boolean;
}

interface Live {
  tokens: number[];
  logprob: number;
}

interface Candidate {
  /** parent row */
  j: number;
  v: number;
  logprob: number;
}

/** Beam search every source of the batch (B, Ts): each sentence's hypotheses, best first (at most K). */
export function beamSearch<A extends FloatArray>(
  model: Transformer<A>,
  src: Int32Array,
  srcMask: Uint8Array,
  B: number,
  Ts: number,
  o: BeamOptions,
): Hypothesis[][] {
  const K = o.beam;
  if (!Number.isInteger(K) || K < 1)
    throw new InputError(`beam search: beam size must be an integer >= 1, found ${K}`);
  if (!(o.lenPenalty >= 0))
    throw new InputError(`beam search: length penalty must be >= 0, found ${o.lenPenalty}`);
  const L = Math.max(0, Math.min(o.maxLen, model.cfg.max_len));
  const norm = (logprob: number, len: number): number => (len > 0 ? logprob / len ** o.lenPenalty : logprob);
  const finished: Hypothesis[][] = Array.from({ length: B }, () => []);
  const finish = (s: number, h: Live, ended: boolean): void => {
    const len = h.tokens.length + (ended ? 1 : 0);
    finished[s]!.push({
      tokens: Int32Array.from(h.tokens),
      logprob: h.logprob,
      score: norm(h.logprob, len),
      ended,
    });
  };
  const dec = new CachedDecoder(model, srcMask, src, B, Ts, L, B * K);
  let live: Live[] = Array.from({ length: B }, () => ({ tokens: [], logprob: 0 }));
  if (L === 0) for (let s = 0; s < B; s++) finish(s, live[s]!, false);
  const V = model.cfg.vocab;
  const k2 = Math.min(2 * K, V); // candidates per live row
  const top = new Int32Array(B * K * k2);
  const topLp = new Float64Array(B * K * k2);
  let tokens = new Int32Array(B).fill(o.bos);
  for (let t = 0; t < L && dec.n > 0; t++) {
    const logits = dec.step(tokens);
    model.be.logSoftmaxTopK(logits, dec.n, V, k2, top, topLp); // each row's top 2K log-probabilities
    const last = t + 1 === L;
    const parents: number[] = [];
    const next: Live[] = [];
    // rows of one source are contiguous: [j0, j)
    for (let j0 = 0, j = 0; j0 < dec.n; j0 = j) {
      const s = dec.src[j0]!;
      const cands: Candidate[] = [];
      for (j = j0; j < dec.n && dec.src[j] === s; j++)
        for (let i = j * k2; i < (j + 1) * k2; i++)
          cands.push({ j, v: top[i]!, logprob: live[j]!.logprob + topLp[i]! });
      cands.sort((a, b) => b.logprob - a.logprob || a.j - b.j || a.v - b.v);
      const kept: Candidate[] = [];
      for (const c of cands) {
        if (kept.length === K) break;
        if (c.v === o.eos) finish(s, { tokens: live[c.j]!.tokens, logprob: c.logprob }, true);
        else kept.push(c);
      }
      const grown = kept.map((c) => ({ tokens: [...live[c.j]!.tokens, c.v], logprob: c.logprob }));
      if (last) for (const h of grown) finish(s, h, false);
      if (last || sentenceDone(finished[s]!, grown, L ** o.lenPenalty)) continue;
      kept.forEach((c, i) => {
        parents.push(c.j);
        next.push(grown[i]!);
      });
    }
    dec.reorder(Int32Array.from(parents));
    live = next;
    tokens = Int32Array.from(next, (h) => h.tokens[h.tokens.length - 1]!);
  }
  return finished.map((f) => f.sort((a, b) => b.score - a.score).slice(0, K));
}

/**
 * A sentence is done when its best finished score beats every live hypothesis's best possible
 * score: log-probabilities only fall as a hypothesis grows, so a live one of logprob S <= 0 can
 * end at most at S / maxLen^alpha (`maxNorm` = maxLen^alpha). Exact, unlike fairseq's "K finished"
 * rule, which with alpha > 0 can stop before a longer hypothesis overtakes the short ones.
 */
function sentenceDone(finished: readonly Hypothesis[], live: readonly Live[], maxNorm: number): boolean {
  if (live.length === 0) return true;
  if (finished.length === 0) return false;
  const best = Math.max(...finished.map((h) => h.score));
  return live.every((h) => h.logprob / maxNorm <= best);
}
