// Translation batches under a token budget: pairs truncated to max lengths, sorted by length
// (with a seeded random tie order, so buckets change every epoch), packed greedily so that
// B * Ts <= maxTokens and B * Tt <= maxTokens (padding included), then the batch order shuffled.
// Every pair appears in exactly one batch per epoch. Does not tokenize.
import { InputError } from '../../engine/errors.ts';
import { hash32, Rng } from '../../engine/rng.ts';
import { BOS_ID, EOS_ID } from '../tokenizer/bytelevel.ts';
import {
  type Batcher,
  checkPositiveInt,
  checkState,
  type EpochPosition,
  epochOrder,
  type Seq2SeqBatch,
} from './types.ts';

/** A tokenized pair, without specials. */
export interface PairIds {
  src: ArrayLike<number>;
  tgt: ArrayLike<number>;
}

export interface Seq2SeqOptions {
  /** budget per batch: B * Ts and B * Tt must each stay within it (padding counts) */
  maxTokens: number;
  /** longest src row including <s> and </s>; longer sources are truncated */
  maxSrcLen: number;
  /** longest tgt row including <s> (tgtIn) or </s> (tgtOut); longer targets are truncated */
  maxTgtLen: number;
  /** new length-tie order and batch order every epoch (default true) */
  shuffle?: boolean;
}

export interface Seq2SeqState extends EpochPosition {
  kind: 'seq2seq';
  n: number;
}

interface EpochPlan {
  /** pair indices, batch by batch */
  items: Int32Array;
  /** batch b is items[starts[b], starts[b + 1]) */
  starts: Int32Array;
  /** order in which batches are served */
  order: Int32Array;
}

export class Seq2SeqBatcher implements Batcher<Seq2SeqBatch, Seq2SeqState> {
  private readonly srcLen: Int32Array;
  private readonly tgtLen: Int32Array;
  private readonly shuffle: boolean;
  private pos: EpochPosition;
  private plan: EpochPlan;

  constructor(
    private readonly pairs: ReadonlyArray<PairIds>,
    rng: Rng,
    private readonly opts: Seq2SeqOptions,
  ) {
    checkPositiveInt('maxSrcLen', opts.maxSrcLen, 3);
    checkPositiveInt('maxTgtLen', opts.maxTgtLen, 2);
    checkPositiveInt('maxTokens', opts.maxTokens);
    if (opts.maxTokens < Math.max(opts.maxSrcLen, opts.maxTgtLen)) {
      throw new InputError(
        `maxTokens ${opts.maxTokens} is below the longest allowed row (${Math.max(opts.maxSrcLen, opts.maxTgtLen)}), so a long pair fits no batch`,
        'raise maxTokens or lower maxSrcLen/maxTgtLen',
      );
    }
    if (pairs.length === 0)
      throw new InputError('seq2seq batcher got no pairs', 'check the corpus and its split');
    this.shuffle = opts.shuffle ?? true;
    this.srcLen = Int32Array.from(pairs, (p) => Math.min(p.src.length, opts.maxSrcLen - 2) + 2);
    this.tgtLen = Int32Array.from(pairs, (p) => Math.min(p.tgt.length, opts.maxTgtLen - 1) + 1);
    this.pos = { seed: rng.nextU32(), epoch: 0, cursor: 0 };
    this.plan = this.planEpoch(0);
  }

  get epoch(): number {
    return this.pos.epoch;
  }

  /** Batches in the current epoch. */
  get batchesThisEpoch(): number {
    return this.plan.order.length;
  }

  private planEpoch(epoch: number): EpochPlan {
    const { srcLen: sl, tgtLen: tl } = this;
    const perm = Array.from(epochOrder(this.pairs.length, this.pos.seed, epoch, this.shuffle));
    perm.sort((i, j) => sl[i]! - sl[j]! || tl[i]! - tl[j]!); // stable: ties keep the seeded order
    const starts: number[] = [0];
    let maxS = 0;
    let maxT = 0;
    let count = 0;
    for (let k = 0; k < perm.length; k++) {
      const i = perm[k]!;
      const s = Math.max(maxS, sl[i]!);
      const t = Math.max(maxT, tl[i]!);
      if (count > 0 && ((count + 1) * s > this.opts.maxTokens || (count + 1) * t > this.opts.maxTokens)) {
        starts.push(k);
        count = 0;
        maxS = sl[i]!;
        maxT = tl[i]!;
      } else {
        maxS = s;
        maxT = t;
      }
      count++;
    }
    starts.push(perm.length);
    const nBatches = starts.length - 1;
    const order = new Int32Array(nBatches);
    for (let b = 0; b < nBatches; b++) order[b] = b;
    if (this.shuffle) new Rng(hash32(this.pos.seed ^ 0x5bd1e995, epoch)).shuffle(order);
    return { items: Int32Array.from(perm), starts: Int32Array.from(starts), order };
  }

  next(): Seq2SeqBatch {
    if (this.pos.cursor >= this.plan.order.length) {
      this.pos = { ...this.pos, epoch: this.pos.epoch + 1, cursor: 0 };
      this.plan = this.planEpoch(this.pos.epoch);
    }
    const b = this.plan.order[this.pos.cursor++]!;
    const idx = this.plan.items.subarray(this.plan.starts[b]!, this.plan.starts[b + 1]!);
    return this.build(idx);
  }

  private build(idx: Int32Array): Seq2SeqBatch {
    const B = idx.length;
    let Ts = 0;
    let Tt = 0;
    for (const i of idx) {
      Ts = Math.max(Ts, this.srcLen[i]!);
      Tt = Math.max(Tt, this.tgtLen[i]!);
    }
    const src = new Int32Array(B * Ts);
    const srcMask = new Uint8Array(B * Ts);
    const tgtIn = new Int32Array(B * Tt);
    const tgtOut = new Int32Array(B * Tt).fill(-1);
    idx.forEach((i, r) => {
      const p = this.pairs[i]!;
      const ns = this.srcLen[i]! - 2;
      const nt = this.tgtLen[i]! - 1;
      const so = r * Ts;
      src[so] = BOS_ID;
      for (let k = 0; k < ns; k++) src[so + 1 + k] = p.src[k]!;
      src[so + ns + 1] = EOS_ID;
      srcMask.fill(1, so, so + ns + 2);
      const to = r * Tt;
      tgtIn[to] = BOS_ID;
      for (let k = 0; k < nt; k++) {
        tgtIn[to + 1 + k] = p.tgt[k]!;
        tgtOut[to + k] = p.tgt[k]!;
      }
      tgtOut[to + nt] = EOS_ID;
    });
    return { B, Ts, Tt, src, srcMask, tgtIn, tgtOut };
  }

  state(): Seq2SeqState {
    return { kind: 'seq2seq', n: this.pairs.length, ...this.pos };
  }

  restore(state: Seq2SeqState): void {
    checkState('seq2seq', this.pairs.length, state);
    this.pos = { seed: state.seed >>> 0, epoch: state.epoch, cursor: state.cursor };
    this.plan = this.planEpoch(this.pos.epoch);
  }
}
