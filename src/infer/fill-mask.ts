// Fill-mask with an encoder MLM, dense (fp32 Transformer) or int8 (Int8Model): each text's <mask>
// markers become the mask token, texts run in padded batches, and each mask position gets its
// top-k tokens by probability. Special tokens are never proposed. No I/O here (the CLI does it).
import { BOS_ID, EOS_ID, MASK_ID, N_SPECIAL, PAD_ID } from '../data/tokenizer/bytelevel.ts';
import type { Tokenizer } from '../data/tokenizer/index.ts';
import { InputError } from '../engine/errors.ts';
import type { LmBatch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import type { HeadTape } from '../model/heads.ts';
import type { Transformer } from '../model/transformer.ts';

export const MASK_MARKER = '<mask>';

/** What fill-mask needs of a model: its config and the masked-LM logits of a batch. */
export interface MlmModel {
  readonly cfg: ModelConfig;
  forwardLm(b: LmBatch): HeadTape<Float32Array>;
}

/** A dense Transformer (a training run) as an MlmModel, in eval mode. */
export function denseMlm(m: Transformer<Float32Array>): MlmModel {
  return { cfg: m.cfg, forwardLm: (b) => m.forwardLm(b, { train: false, grad: false }).head };
}

export interface Candidate {
  token: string;
  id: number;
  prob: number;
}

export interface FillMaskResult {
  text: string;
  /** per <mask>, in order: the top-k tokens */
  masks: Candidate[][];
  /** the text with every <mask> replaced by its most likely token */
  filled: string;
}

/**
 * "<s> text </s>" with each <mask> marker as the mask token. The space before a marker goes with the
 * masked word (byte-level BPE words carry their leading space), as RoBERTa's fill-mask does.
 */
export function encodeMasked(tok: Tokenizer, text: string, maxLen: number, where: string): Int32Array {
  const pieces = text.split(MASK_MARKER);
  if (pieces.length < 2)
    throw new InputError(
      `${where}: expected at least one ${MASK_MARKER} in the text, found none`,
      `e.g. "the ${MASK_MARKER} sat on the mat"`,
    );
  const ids: number[] = [BOS_ID];
  pieces.forEach((p, i) => {
    const last = i === pieces.length - 1;
    ids.push(...tok.encode(last ? p : p.replace(/\s+$/, '')));
    if (!last) ids.push(MASK_ID);
  });
  ids.push(EOS_ID);
  if (ids.length > maxLen)
    throw new InputError(
      `${where}: the text is ${ids.length} tokens with <s> and </s>, the model's max_len is ${maxLen}`,
      'shorten the text',
    );
  return Int32Array.from(ids);
}

/** Top-k of softmax(logits[row]) over the non-special tokens. */
function topK(logits: Float32Array, row: number, V: number, k: number, tok: Tokenizer): Candidate[] {
  const o = row * V;
  let max = Number.NEGATIVE_INFINITY;
  for (let v = N_SPECIAL; v < V; v++) max = Math.max(max, logits[o + v]!);
  let z = 0;
  for (let v = N_SPECIAL; v < V; v++) z += Math.exp(logits[o + v]! - max);
  const best: number[] = [];
  for (let v = N_SPECIAL; v < V; v++) {
    let i = best.length;
    while (i > 0 && logits[o + best[i - 1]!]! < logits[o + v]!) i--;
    if (i < k) {
      best.splice(i, 0, v);
      if (best.length > k) best.pop();
    }
  }
  return best.map((id) => ({ token: tok.decode([id]), id, prob: Math.exp(logits[o + id]! - max) / z }));
}

/** One padded batch of encoded rows: mask positions carry a (dummy) target so the head scores them. */
function batchOf(rows: Int32Array[]): LmBatch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const tokens = new Int32Array(B * T).fill(PAD_ID);
  const keyMask = new Uint8Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  rows.forEach((r, b) => {
    tokens.set(r, b * T);
    keyMask.fill(1, b * T, b * T + r.length);
    r.forEach((id, t) => {
      if (id === MASK_ID) targets[b * T + t] = 0;
    });
  });
  return { B, T, tokens, keyMask, targets };
}

/** Fill the masks of `texts`, `batch` texts per forward; `progress` after each batch (done, total). */
export function fillMask(
  m: MlmModel,
  tok: Tokenizer,
  texts: readonly string[],
  o: {
    topK: number;
    batch: number;
    progress?: (done: number, total: number) => void;
    where?: (i: number) => string;
  },
): FillMaskResult[] {
  const where = o.where ?? ((i: number) => `text ${i + 1}`);
  const rows = texts.map((t, i) => encodeMasked(tok, t, m.cfg.max_len, where(i)));
  const out: FillMaskResult[] = [];
  for (let s = 0; s < rows.length; s += o.batch) {
    const chunk = rows.slice(s, s + o.batch);
    const b = batchOf(chunk);
    const head = m.forwardLm(b);
    let j = 0; // head rows come in position order: row by row, mask by mask
    chunk.forEach((r, i) => {
      const masks: Candidate[][] = [];
      const filled = Int32Array.from(r);
      r.forEach((id, t) => {
        if (id !== MASK_ID) return;
        const c = topK(head.logits, j++, head.V, o.topK, tok);
        masks.push(c);
        filled[t] = c[0]!.id;
      });
      out.push({ text: texts[s + i]!, masks, filled: tok.decode(filled, { skipSpecial: true }) });
    });
    o.progress?.(Math.min(s + o.batch, rows.length), rows.length);
  }
  return out;
}
