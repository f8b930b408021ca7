// The training loop's view of data and of the model: tagged batches, a resumable batch stream,
// fixed evaluation sets, and forward/evaluate over whichever kind of batch arrives.
import { argmaxRow } from '../engine/argmax.ts';
import type { FloatArray } from '../engine/backend.ts';
import type { ClassBatch, LmBatch, Seq2SeqBatch } from '../model/batch.ts';
import type { ForwardOptions, Tape, Transformer } from '../model/transformer.ts';

export type AnyBatch =
  | { kind: 'lm'; b: LmBatch }
  | { kind: 'seq2seq'; b: Seq2SeqBatch }
  | { kind: 'cls'; b: ClassBatch };

export interface TrainData {
  kind: AnyBatch['kind'];
  vocabSize: number;
  /** classes of a classification task (0 otherwise) */
  nClasses: number;
  /** the longest sequence a batch can hold (sets the model's max_len) */
  maxLen: number;
  /** share of positions that carry a loss (MLM: the masking rate), for FLOPs */
  predictFraction: number;
  next(): AnyBatch;
  /** JSON-serializable position of the stream, for exact resume */
  state(): unknown;
  restore(s: unknown): void;
  /** fixed validation subset, identical for every run on this data and tokenizer */
  valid: AnyBatch[];
  /** held-out test batches (classification reports accuracy on them) */
  test: AnyBatch[];
  /** what the run's report says about the data */
  describe: Record<string, unknown>;
  /** the tokenizer file to copy into the run directory */
  tokenizerFile: string;
}

/** Positions processed by a batch (counted toward the token budget). */
export function batchTokens(x: AnyBatch): number {
  if (x.kind === 'seq2seq') return x.b.B * (x.b.Ts + x.b.Tt);
  return x.b.B * x.b.T;
}

export function forwardAny<A extends FloatArray>(m: Transformer<A>, x: AnyBatch, o: ForwardOptions): Tape<A> {
  if (x.kind === 'lm') return m.forwardLm(x.b, o);
  if (x.kind === 'seq2seq') return m.forwardSeq2Seq(x.b, o);
  return m.forwardCls(x.b, o);
}

export interface EvalResult {
  /** mean loss per counted position (nats) */
  loss: number;
  count: number;
  /** classification only */
  accuracy?: number;
}

/** Token-weighted mean loss over a fixed set of batches (no dropout); accuracy for classifiers. */
export function evaluate<A extends FloatArray>(
  m: Transformer<A>,
  batches: AnyBatch[],
  smoothing = 0,
): EvalResult {
  let sum = 0;
  let count = 0;
  let correct = 0;
  let rows = 0;
  for (const x of batches) {
    const t = forwardAny(m, x, { train: false, grad: false, labelSmoothing: smoothing });
    sum += t.sum;
    count += t.count;
    if (x.kind === 'cls') {
      const K = t.head.V;
      for (let i = 0; i < x.b.B; i++) {
        if (argmaxRow(t.head.logits, i * K, K) === x.b.labels[i]) correct++;
        rows++;
      }
    }
  }
  const r: EvalResult = { loss: count > 0 ? sum / count : Number.NaN, count };
  if (rows > 0) r.accuracy = correct / rows;
  return r;
}
