// RoBERTa-style masked-LM batches: documents packed into rows of "<s> + T-1 stream tokens",
// 15% of real tokens (or whole words) selected, of which 80% become <mask>, 10% a random
// non-special token, 10% stay. Seeded and resumable. Does not tokenize.
import { InputError } from '../../engine/errors.ts';
import type { Rng, RngState } from '../../engine/rng.ts';
import { BOS_ID, MASK_ID, N_SPECIAL, PAD_ID } from '../tokenizer/bytelevel.ts';
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

export interface MlmOptions {
  batchSize: number;
  /** row length T including the leading <s> */
  seqLen: number;
  vocabSize: number;
  /** fraction of real tokens selected for prediction (default 0.15, as BERT/RoBERTa) */
  maskProb?: number;
  /** select whole words: all sub-tokens of a word together (needs wordStart) */
  wholeWord?: boolean;
  /** Tokenizer.wordStartTable(): 1 for tokens that begin a word */
  wordStart?: Uint8Array;
  /** reshuffle rows every epoch (default true; false gives a fixed order for evaluation) */
  shuffle?: boolean;
}

export interface MlmState extends EpochPosition {
  kind: 'mlm';
  n: number;
  rng: RngState;
}

export class MlmBatcher implements Batcher<LmBatch, MlmState> {
  private readonly stream: Int32Array;
  private readonly cursor: EpochCursor;
  private readonly rowLen: number;
  private readonly maskProb: number;

  constructor(
    data: TokenizedDocs,
    private readonly rng: Rng,
    private readonly opts: MlmOptions,
  ) {
    checkPositiveInt('batchSize', opts.batchSize);
    checkPositiveInt('seqLen', opts.seqLen, 2);
    checkPositiveInt('vocabSize', opts.vocabSize, N_SPECIAL + 1);
    this.maskProb = opts.maskProb ?? 0.15;
    if (!(this.maskProb > 0 && this.maskProb < 1))
      throw new InputError(`maskProb must be in (0, 1), got ${this.maskProb}`, 'the usual value is 0.15');
    if (opts.wholeWord && !opts.wordStart)
      throw new InputError(
        'wholeWord masking needs the wordStart table',
        'pass wordStart: tokenizer.wordStartTable()',
      );
    this.stream = packStream(data);
    this.rowLen = opts.seqLen - 1;
    const nRows = Math.ceil(this.stream.length / this.rowLen);
    if (nRows === 0)
      throw new InputError(
        'MLM batcher got no tokens (all documents are empty)',
        'check the corpus and its tokenization',
      );
    this.cursor = new EpochCursor(nRows, rng.nextU32(), opts.shuffle ?? true);
  }

  /** Rows per epoch. */
  get rows(): number {
    return this.cursor.n;
  }

  get epoch(): number {
    return this.cursor.epoch;
  }

  next(): LmBatch {
    const B = this.opts.batchSize;
    const T = this.opts.seqLen;
    const rows = this.cursor.take(B);
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T).fill(-1);
    let padded = false;
    for (let r = 0; r < B; r++) {
      const s = rows[r]! * this.rowLen;
      const chunk = this.stream.subarray(s, Math.min(s + this.rowLen, this.stream.length));
      tokens[r * T] = BOS_ID;
      tokens.set(chunk, r * T + 1);
      if (chunk.length + 1 < T) padded = true; // the rest stays PAD_ID (0)
    }
    let keyMask: Uint8Array | null = null;
    if (padded) {
      keyMask = new Uint8Array(B * T);
      for (let i = 0; i < B * T; i++) keyMask[i] = tokens[i] === PAD_ID ? 0 : 1;
    }
    for (let r = 0; r < B; r++)
      this.maskRow(tokens.subarray(r * T, (r + 1) * T), targets.subarray(r * T, (r + 1) * T));
    return { B, T, tokens, keyMask, targets };
  }

  private maskRow(row: Int32Array, targets: Int32Array): void {
    maskRow(row, targets, this.rng, {
      maskProb: this.maskProb,
      vocabSize: this.opts.vocabSize,
      wordStart: this.opts.wholeWord ? this.opts.wordStart : undefined,
    });
  }

  state(): MlmState {
    return { kind: 'mlm', n: this.cursor.n, ...this.cursor.position(), rng: this.rng.getState() };
  }

  restore(state: MlmState): void {
    checkState('mlm', this.cursor.n, state);
    if (!Array.isArray(state.rng) || state.rng.length !== 4)
      throw new InputError(
        'MLM batcher state lacks its rng (4 numbers)',
        'restore a state saved by MlmBatcher.state()',
      );
    this.cursor.setPosition(state);
    this.rng.setState(state.rng);
  }
}

export interface MaskOptions {
  maskProb: number;
  vocabSize: number;
  /** whole-word selection: Tokenizer.wordStartTable() (undefined = token-level selection) */
  wordStart?: Uint8Array | undefined;
}

/**
 * Select positions of one row (in place) and write their original ids to targets: each real token
 * (or whole word) with probability maskProb; selected tokens become 80% <mask>, 10% a random
 * non-special token, 10% unchanged. Shared by the training batcher and the evaluation windows.
 */
export function maskRow(row: Int32Array, targets: Int32Array, rng: Rng, o: MaskOptions): void {
  const p = o.maskProb;
  const corrupt = (t: number): void => {
    targets[t] = row[t]!;
    const u = rng.uniform();
    if (u < 0.8) row[t] = MASK_ID;
    else if (u < 0.9) row[t] = N_SPECIAL + rng.int(o.vocabSize - N_SPECIAL);
  };
  if (!o.wordStart) {
    for (let t = 0; t < row.length; t++) {
      if (row[t]! >= N_SPECIAL && rng.uniform() < p) corrupt(t);
    }
    return;
  }
  const ws = o.wordStart;
  let selected = false;
  let prev = -1; // original id before t (row[t - 1] may already be masked)
  for (let t = 0; t < row.length; t++) {
    const id = row[t]!;
    const afterSpecial = prev < N_SPECIAL;
    prev = id;
    if (id < N_SPECIAL) continue;
    if (ws[id] === 1 || afterSpecial) selected = rng.uniform() < p;
    if (selected) corrupt(t);
  }
}
