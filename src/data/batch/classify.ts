// Classification batches: "<s> x </s>" rows truncated to maxLen, padded with 0 to the longest row
// in the batch, with a key mask and labels. Every example is served once per epoch (the last
// batch of an epoch may be smaller unless dropLast). Seeded and resumable. Does not tokenize.
import { InputError } from '../../engine/errors.ts';
import type { Rng } from '../../engine/rng.ts';
import { BOS_ID, EOS_ID } from '../tokenizer/bytelevel.ts';
import {
  type Batcher,
  type ClassBatch,
  checkPositiveInt,
  checkState,
  EpochCursor,
  type EpochPosition,
} from './types.ts';

/** A tokenized example, without specials. */
export interface LabelledIds {
  ids: ArrayLike<number>;
  label: number;
}

export interface ClassOptions {
  batchSize: number;
  /** longest row including <s> and </s>; longer texts are truncated */
  maxLen: number;
  /** reshuffle every epoch (default true; false for evaluation) */
  shuffle?: boolean;
  /** skip an epoch's last, smaller batch (default false) */
  dropLast?: boolean;
}

export interface ClassState extends EpochPosition {
  kind: 'classify';
  n: number;
}

export class ClassBatcher implements Batcher<ClassBatch, ClassState> {
  private readonly cursor: EpochCursor;

  constructor(
    private readonly examples: ReadonlyArray<LabelledIds>,
    rng: Rng,
    private readonly opts: ClassOptions,
  ) {
    checkPositiveInt('batchSize', opts.batchSize);
    checkPositiveInt('maxLen', opts.maxLen, 2);
    if (examples.length === 0)
      throw new InputError('classification batcher got no examples', 'check the corpus and its split');
    if (opts.dropLast && examples.length < opts.batchSize) {
      throw new InputError(
        `dropLast with batchSize ${opts.batchSize} leaves no batch from ${examples.length} examples`,
        'lower batchSize or turn dropLast off',
      );
    }
    examples.forEach((e, i) => {
      if (!Number.isInteger(e.label) || e.label < 0)
        throw new InputError(
          `example ${i} has label ${e.label}, expected an integer >= 0`,
          'map labels to 0..K-1',
        );
    });
    this.cursor = new EpochCursor(examples.length, rng.nextU32(), opts.shuffle ?? true);
  }

  get epoch(): number {
    return this.cursor.epoch;
  }

  next(): ClassBatch {
    let idx = this.cursor.takeUpTo(this.opts.batchSize);
    if (this.opts.dropLast && idx.length < this.opts.batchSize)
      idx = this.cursor.takeUpTo(this.opts.batchSize);
    const B = idx.length;
    const lens = Array.from(idx, (i) => Math.min(this.examples[i]!.ids.length, this.opts.maxLen - 2));
    const T = Math.max(...lens) + 2;
    const tokens = new Int32Array(B * T);
    const keyMask = new Uint8Array(B * T);
    const labels = new Int32Array(B);
    idx.forEach((i, r) => {
      const ex = this.examples[i]!;
      const n = lens[r]!;
      const o = r * T;
      tokens[o] = BOS_ID;
      for (let k = 0; k < n; k++) tokens[o + 1 + k] = ex.ids[k]!;
      tokens[o + n + 1] = EOS_ID;
      keyMask.fill(1, o, o + n + 2);
      labels[r] = ex.label;
    });
    return { B, T, tokens, keyMask, labels };
  }

  state(): ClassState {
    return { kind: 'classify', n: this.examples.length, ...this.cursor.position() };
  }

  restore(state: ClassState): void {
    checkState('classify', this.examples.length, state);
    this.cursor.setPosition(state);
  }
}
