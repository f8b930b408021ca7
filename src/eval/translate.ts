// Translation with an encoder-decoder model: quality (greedy decoding of the fixed validation
// batches, detokenized, scored with sacreBLEU-compatible corpus BLEU and chrF against the
// references, the validation targets as the batches hold them: truncated to the data's max
// length), and plain sentences translated by beam search (`tlc translate`). No file I/O.

import { BOS_ID, EOS_ID, type Tokenizer } from '../data/tokenizer/index.ts';
import type { Seq2SeqBatch } from '../model/batch.ts';
import { beamSearch } from '../model/beam.ts';
import { greedyDecodeCached } from '../model/decode.ts';
import type { Transformer } from '../model/transformer.ts';
import { corpusBleu, corpusChrf } from './bleu.ts';

export interface TranslationScores {
  /** corpus BLEU, 0-100 */
  bleu: number;
  bleu_signature: string;
  /** corpus chrF (beta 2, character 6-grams), 0-100 */
  chrf: number;
  chrf_signature: string;
  sentences: number;
  /** how decoding ran */
  decoding: string;
  /** the first few (hypothesis, reference) pairs, to look at */
  examples: Array<{ hyp: string; ref: string }>;
}

/** Most tokens greedy decoding may produce for a source batch of Ts positions (Ts counts <s> and </s>). */
export function maxOutputLen(Ts: number, maxLen: number): number {
  return Math.min(maxLen, 2 * Ts + 10);
}

/** Greedy-decode every batch (with the key/value cache) and score the outputs against the batches' targets. */
export function translationScores(
  model: Transformer<Float32Array>,
  batches: readonly Seq2SeqBatch[],
  tok: Tokenizer,
  nExamples = 3,
): TranslationScores {
  const hyps: string[] = [];
  const refs: string[] = [];
  for (const b of batches) {
    const out = greedyDecodeCached(
      model,
      b.src,
      b.srcMask,
      b.B,
      b.Ts,
      maxOutputLen(b.Ts, model.cfg.max_len),
      BOS_ID,
      EOS_ID,
    );
    for (let r = 0; r < b.B; r++) {
      const row = b.tgtOut.subarray(r * b.Tt, (r + 1) * b.Tt);
      let n = 0;
      while (n < row.length && row[n]! >= 0 && row[n] !== EOS_ID) n++;
      refs.push(tok.decode(row.subarray(0, n), { skipSpecial: true }).trim());
      hyps.push(tok.decode(out[r]!.tokens, { skipSpecial: true }).trim());
    }
  }
  const bleu = corpusBleu(hyps, [refs]);
  const chrf = corpusChrf(hyps, [refs]);
  return {
    bleu: bleu.score,
    bleu_signature: bleu.signature,
    chrf: chrf.score,
    chrf_signature: chrf.signature,
    sentences: hyps.length,
    decoding: `greedy, at most min(max_len, 2 * source length + 10) tokens, stops at </s>`,
    examples: hyps.slice(0, nExamples).map((hyp, i) => ({ hyp, ref: refs[i]! })),
  };
}

export interface TranslateOptions {
  /** beam size (1: greedy) */
  beam: number;
  /** length penalty alpha: hypotheses rank by logprob / length^alpha */
  lenPenalty: number;
  /** sentences decoded together */
  batch: number;
  /** most output tokens (end token included); default maxOutputLen of the batch's source length */
  maxLen?: number;
  /** called after each batch with the sentences done so far */
  progress?: (done: number, total: number) => void;
}

export interface Translation {
  src: string;
  hyp: string;
  /** the best hypothesis's length-normalized log-probability */
  score: number;
  /** its output token ids (no start or end token) */
  tokens: number[];
  /** the source was cut to fit the model's max_len */
  truncated: boolean;
}

/**
 * Translate sentences (one source each) by beam search, batched by similar length; results in
 * input order. Sources longer than max_len - 2 tokens are cut (and marked truncated).
 */
export function translateSentences(
  model: Transformer<Float32Array>,
  tok: Tokenizer,
  sentences: readonly string[],
  o: TranslateOptions,
): Translation[] {
  const keep = model.cfg.max_len - 2; // room for <s> and </s>
  const ids = sentences.map((s) => tok.encode(s));
  const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length || a - b);
  const out = new Array<Translation>(sentences.length);
  for (let i0 = 0; i0 < order.length; i0 += o.batch) {
    const rows = order.slice(i0, i0 + o.batch);
    const B = rows.length;
    const Ts = Math.min(keep, Math.max(...rows.map((r) => ids[r]!.length))) + 2;
    const src = new Int32Array(B * Ts);
    const srcMask = new Uint8Array(B * Ts);
    rows.forEach((r, b) => {
      const x = ids[r]!.subarray(0, keep);
      src[b * Ts] = BOS_ID;
      src.set(x, b * Ts + 1);
      src[b * Ts + x.length + 1] = EOS_ID;
      srcMask.fill(1, b * Ts, b * Ts + x.length + 2);
    });
    const maxLen = o.maxLen ?? maxOutputLen(Ts, model.cfg.max_len);
    const hyps = beamSearch(model, src, srcMask, B, Ts, {
      beam: o.beam,
      lenPenalty: o.lenPenalty,
      maxLen,
      bos: BOS_ID,
      eos: EOS_ID,
    });
    rows.forEach((r, b) => {
      const h = hyps[b]![0]!;
      const hyp = tok.decode(h.tokens, { skipSpecial: true }).trim();
      const truncated = ids[r]!.length > keep;
      out[r] = { src: sentences[r]!, hyp, score: h.score, tokens: Array.from(h.tokens), truncated };
    });
    o.progress?.(Math.min(i0 + o.batch, order.length), order.length);
  }
  return out;
}
