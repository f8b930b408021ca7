// Sequence classification with a fine-tuned encoder (dense Transformer or the compressed runtime):
// each text is encoded as the fine-tuning batches were ("<s> text </s>", cut to max_len), texts run
// in padded batches, and each gets its most likely label and the probability of every label.
// No I/O here (the CLI does it).
import { BOS_ID, EOS_ID, PAD_ID } from '../data/tokenizer/bytelevel.ts';
import type { Tokenizer } from '../data/tokenizer/index.ts';
import { InputError } from '../engine/errors.ts';
import type { ClassBatch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import type { HeadTape } from '../model/heads.ts';
import type { Transformer } from '../model/transformer.ts';

/** What classification needs of a model: its config and the class logits (B, n_classes) of a batch. */
export interface ClsModel {
  readonly cfg: ModelConfig;
  forwardCls(b: ClassBatch): HeadTape<Float32Array>;
}

/** A dense Transformer (a fine-tuning run) as a ClsModel, in eval mode. */
export function denseCls(m: Transformer<Float32Array>): ClsModel {
  return { cfg: m.cfg, forwardCls: (b) => m.forwardCls(b, { train: false, grad: false }).head };
}

export interface ClassifyResult {
  text: string;
  /** the most likely label's name */
  label: string;
  /** its class id */
  id: number;
  /** probability of each label, by name, in class-id order */
  probs: Record<string, number>;
  /** whether the text was cut to fit max_len */
  truncated: boolean;
}

/** `labels` names the classes (class id order); when shorter, the rest are named "class N". */
export function classify(
  m: ClsModel,
  tok: Tokenizer,
  texts: readonly string[],
  o: { batch: number; labels: readonly string[]; progress?: (done: number, total: number) => void },
): ClassifyResult[] {
  const K = m.cfg.n_classes;
  if (m.cfg.family !== 'encoder' || K === 0)
    throw new InputError(
      `classification needs a fine-tuned encoder (n_classes > 0), this model is a ${m.cfg.family} without a classification head`,
      'fine-tune a classifier with tlc finetune --from RUN --data DATA',
    );
  const names = Array.from({ length: K }, (_, k) => o.labels[k] ?? `class ${k}`);
  const max = m.cfg.max_len - 2;
  const out: ClassifyResult[] = [];
  for (let s = 0; s < texts.length; s += o.batch) {
    const part = texts.slice(s, s + o.batch).map((t) => tok.encode(t));
    const B = part.length;
    const T = Math.max(...part.map((r) => Math.min(r.length, max))) + 2;
    const tokens = new Int32Array(B * T).fill(PAD_ID);
    const keyMask = new Uint8Array(B * T);
    part.forEach((r, b) => {
      const n = Math.min(r.length, max);
      tokens[b * T] = BOS_ID;
      tokens.set(r.subarray(0, n), b * T + 1);
      tokens[b * T + n + 1] = EOS_ID;
      keyMask.fill(1, b * T, b * T + n + 2);
    });
    const h = m.forwardCls({ B, T, tokens, keyMask, labels: new Int32Array(B).fill(-1) });
    part.forEach((r, b) => {
      let mx = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) mx = Math.max(mx, h.logits[b * K + k]!);
      const e = Array.from({ length: K }, (_, k) => Math.exp(h.logits[b * K + k]! - mx));
      const z = e.reduce((a, x) => a + x, 0);
      let best = 0;
      for (let k = 1; k < K; k++) if (e[k]! > e[best]!) best = k;
      out.push({
        text: texts[s + b]!,
        label: names[best]!,
        id: best,
        probs: Object.fromEntries(names.map((n, k) => [n, e[k]! / z])),
        truncated: r.length > max,
      });
    });
    o.progress?.(Math.min(s + o.batch, texts.length), texts.length);
  }
  return out;
}
