// Translation quality of an encoder-decoder model: greedy decoding of the fixed validation
// batches, detokenized, scored with sacreBLEU-compatible corpus BLEU and chrF against the
// references (the validation targets as the batches hold them: truncated to the data's max length).

import { BOS_ID, EOS_ID, type Tokenizer } from '../data/tokenizer/index.ts';
import type { Seq2SeqBatch } from '../model/batch.ts';
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

/** Greedy-decode every batch and score the outputs against the batches' targets. */
export function translationScores(
  model: Transformer<Float32Array>,
  batches: readonly Seq2SeqBatch[],
  tok: Tokenizer,
  nExamples = 3,
): TranslationScores {
  const hyps: string[] = [];
  const refs: string[] = [];
  for (const b of batches) {
    const out = model.greedyDecode(
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
      hyps.push(tok.decode(out[r]!, { skipSpecial: true }).trim());
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
