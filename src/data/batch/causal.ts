// Causal-LM batches: documents packed with </s> separators, cut into non-overlapping windows of
// T+1 tokens (tokens = first T, targets = last T), windows reshuffled each epoch by seed.
// The stream's tail shorter than a window is not used. Does not tokenize.
import { InputError } from '../../engine/errors.ts';
import type { Rng } from '../../engine/rng.ts';
import type { TokenizedDocs } from '../tokens.ts';
import { packStream } from './pack.ts';
import {
  type Batcher,
  checkPositiveInt,
  checkState,
  EpochCursor,
  type EpochPosition,
  type LmBatch,
} from './types.ts';

export interface CausalOptions {
  batchSize: number;
  /** T: tokens per row (each window holds T+1 tokens) */
  seqLen: number;
  /** reshuffle windows every epoch (default true; false gives stream order for evaluation) */
  shuffle?: boolean;
}

export interface CausalState extends EpochPosition {
  kind: 'causal';
  n: number;
}

export class CausalBatcher implements Batcher<LmBatch, CausalState> {
  private readonly stream: Int32Array;
  private readonly cursor: EpochCursor;

  constructor(
    data: TokenizedDocs,
    rng: Rng,
    private readonly opts: CausalOptions,
  ) {
    checkPositiveInt('batchSize', opts.batchSize);
    checkPositiveInt('seqLen', opts.seqLen);
    this.stream = packStream(data);
    const nWin = Math.floor((this.stream.length - 1) / opts.seqLen);
    if (nWin < 1) {
      throw new InputError(
        `causal batcher needs at least ${opts.seqLen + 1} tokens for one window, the corpus has ${this.stream.length}`,
        'use a shorter seqLen or more text',
      );
    }
    this.cursor = new EpochCursor(nWin, rng.nextU32(), opts.shuffle ?? true);
  }

  /** Windows per epoch. */
  get windows(): number {
    return this.cursor.n;
  }

  get epoch(): number {
    return this.cursor.epoch;
  }

  next(): LmBatch {
    const B = this.opts.batchSize;
    const T = this.opts.seqLen;
    const wins = this.cursor.take(B);
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let r = 0; r < B; r++) {
      const s = wins[r]! * T;
      tokens.set(this.stream.subarray(s, s + T), r * T);
      targets.set(this.stream.subarray(s + 1, s + T + 1), r * T);
    }
    return { B, T, tokens, keyMask: null, targets };
  }

  state(): CausalState {
    return { kind: 'causal', n: this.cursor.n, ...this.cursor.position() };
  }

  restore(state: CausalState): void {
    checkState('causal', this.cursor.n, state);
    this.cursor.setPosition(state);
  }
}
