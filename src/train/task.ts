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

/** The validation windows of an LM task (one window = one row of `valid`, batch-major). */
export interface WindowMeta {
  /** the predicted tokens asked for per evaluation */
  target_tokens: number;
  sources: string[];
  /** per window: index into sources */
  source: Int32Array;
  /** per window: predicted tokens */
  count: Int32Array;
  /** per source: full windows in the validation split, and how many are evaluated */
  available: number[];
  taken: number[];
  /** add-one-smoothed unigram model of the training split on the same targets */
  unigram: { ppl: number; windowNll: Float64Array };
}

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
  /** language modelling: where the validation windows come from, and the unigram baseline on them */
  windows: WindowMeta | null;
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
  /** per window (one row of one batch, in batch order): summed loss of its counted positions */
  windowSums: Float64Array;
  /** per window: counted positions */
  windowCounts: Int32Array;
}

/** Rows of a batch (windows) and the length of one row in the flat position index. */
function rowsOf(x: AnyBatch): { rows: number; rowLen: number } {
  if (x.kind === 'seq2seq') return { rows: x.b.B, rowLen: x.b.Tt };
  return { rows: x.b.B, rowLen: x.kind === 'cls' ? 1 : x.b.T };
}

/** Token-weighted mean loss over a fixed set of batches (no dropout), per-window sums; accuracy for classifiers. */
export function evaluate<A extends FloatArray>(
  m: Transformer<A>,
  batches: AnyBatch[],
  smoothing = 0,
): EvalResult {
  let sum = 0;
  let count = 0;
  let correct = 0;
  let nWin = 0;
  for (const x of batches) nWin += rowsOf(x).rows;
  const windowSums = new Float64Array(nWin);
  const windowCounts = new Int32Array(nWin);
  let w0 = 0;
  for (const x of batches) {
    const t = forwardAny(m, x, { train: false, grad: false, labelSmoothing: smoothing, rowLosses: true });
    sum += t.sum;
    count += t.count;
    const { rows, rowLen } = rowsOf(x);
    const h = t.head;
    const losses = h.losses as A;
    for (let i = 0; i < h.idx.length; i++) {
      if (h.targets[i]! < 0) continue;
      const w = w0 + (x.kind === 'cls' ? i : Math.floor(h.idx[i]! / rowLen));
      windowSums[w]! += losses[i] ?? 0;
      windowCounts[w]!++;
    }
    if (x.kind === 'cls') {
      const K = h.V;
      for (let i = 0; i < x.b.B; i++) if (argmaxRow(h.logits, i * K, K) === x.b.labels[i]) correct++;
    }
    w0 += rows;
  }
  const r: EvalResult = { loss: count > 0 ? sum / count : Number.NaN, count, windowSums, windowCounts };
  if (batches.length > 0 && batches[0]!.kind === 'cls') r.accuracy = correct / nWin;
  return r;
}
