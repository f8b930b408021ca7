// The resumable-batcher contract, and the seeded epoch order every batcher shares. No masking or packing here.
import { InputError } from '../../engine/errors.ts';
import { hash32, Rng } from '../../engine/rng.ts';

// The batch shapes are the model's own (src/model/batch.ts); batchers produce exactly those.
export type { ClassBatch, LmBatch, Seq2SeqBatch } from '../../model/batch.ts';

/** A seeded batcher whose position can be saved and restored for exact resume. */
export interface Batcher<TBatch, TState> {
  next(): TBatch;
  /** JSON-serializable position; restore(state()) continues with exactly the same batches */
  state(): TState;
  restore(state: TState): void;
}

/** Position in the epoch stream: which epoch, and how many items of its order are used. */
export interface EpochPosition {
  seed: number;
  epoch: number;
  cursor: number;
}

/** The order of n items in `epoch`: a fresh Fisher-Yates shuffle seeded by (seed, epoch), or 0..n-1. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (shuffle) new Rng(hash32(seed, epoch)).shuffle(order);
  return order;
}

/** Walks items epoch after epoch in seeded order; its position is an EpochPosition. */
export class EpochCursor {
  private order: Int32Array;
  private pos: EpochPosition;

  constructor(
    readonly n: number,
    seed: number,
    private readonly shuffle: boolean,
  ) {
    this.pos = { seed: seed >>> 0, epoch: 0, cursor: 0 };
    this.order = epochOrder(n, this.pos.seed, 0, shuffle);
  }

  get epoch(): number {
    return this.pos.epoch;
  }

  /** Up to k items, stopping at the end of the epoch (the next call starts the next epoch). */
  takeUpTo(k: number): Int32Array {
    if (this.pos.cursor >= this.n) this.advanceEpoch();
    const end = Math.min(this.n, this.pos.cursor + k);
    const out = this.order.slice(this.pos.cursor, end);
    this.pos.cursor = end;
    return out;
  }

  /** Exactly k items, continuing into the next epoch(s) when this one runs out. */
  take(k: number): Int32Array {
    const out = new Int32Array(k);
    let filled = 0;
    while (filled < k) {
      const part = this.takeUpTo(k - filled);
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  private advanceEpoch(): void {
    this.pos.epoch++;
    this.pos.cursor = 0;
    this.order = epochOrder(this.n, this.pos.seed, this.pos.epoch, this.shuffle);
  }

  position(): EpochPosition {
    return { ...this.pos };
  }

  setPosition(p: EpochPosition): void {
    this.pos = { seed: p.seed >>> 0, epoch: p.epoch, cursor: p.cursor };
    this.order = epochOrder(this.n, this.pos.seed, this.pos.epoch, this.shuffle);
  }
}

/** Check a restored state's common fields; throws InputError naming what differs. */
export function checkState(
  kind: string,
  n: number,
  s: unknown,
): asserts s is { kind: string; n: number } & EpochPosition {
  const o = s as Record<string, unknown> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    o['kind'] === kind &&
    o['n'] === n &&
    Number.isInteger(o['seed']) &&
    Number.isInteger(o['epoch']) &&
    Number.isInteger(o['cursor']) &&
    (o['epoch'] as number) >= 0 &&
    (o['cursor'] as number) >= 0;
  if (!ok) {
    const found =
      typeof o === 'object' && o !== null
        ? `kind ${String(o['kind'])} over ${String(o['n'])} items`
        : String(o);
    throw new InputError(
      `cannot restore a ${kind} batcher over ${n} items from this state (found ${found})`,
      'restore the state saved by the same kind of batcher over the same data and options',
    );
  }
}

/** Positive-integer option check. */
export function checkPositiveInt(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) {
    throw new InputError(
      `${name} must be an integer >= ${min}, got ${v}`,
      `set ${name} to a whole number of at least ${min}`,
    );
  }
}
