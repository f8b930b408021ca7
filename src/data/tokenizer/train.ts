// Byte-level BPE training: count pre-tokens (words), then repeatedly merge the most frequent
// adjacent pair, updating pair counts incrementally (only the words that contain the merged pair
// are touched) and picking the maximum from a lazy max-heap. Does not encode or serialize.
import { InputError } from '../../engine/errors.ts';
import { BYTE_BASE, BYTE_TO_CHAR, N_SPECIAL, SPECIALS } from './bytelevel.ts';
import { pieceEnd } from './scan.ts';
import { ByteKeyTable, hashBytes, PairTable } from './tables.ts';

export interface TrainBpeOptions {
  /** total vocabulary size including the 5 specials and the 256 byte tokens (>= 261) */
  vocabSize: number;
  /** stop merging when the best pair occurs fewer times than this (default 2: a pair seen once teaches nothing) */
  minFrequency?: number;
}

/** A trained model: token strings by id (byte-level form; specials literal) and merges by rank. */
export interface BpeModel {
  vocab: string[];
  merges: Array<[number, number]>;
}

/** Words (unique pre-tokens) with their frequencies and current symbol sequences. */
interface Words {
  freq: Float64Array;
  start: Int32Array;
  len: Int32Array;
  syms: Int32Array;
}

function countWords(texts: Iterable<string>): Words {
  const table = new ByteKeyTable(1 << 16);
  let freq = new Float64Array(1 << 14);
  for (const text of texts) {
    const bytes = Buffer.from(text, 'utf8');
    const n = bytes.length;
    for (let i = 0; i < n; ) {
      const e = pieceEnd(bytes, i, n);
      if (e - i >= 2) {
        const h = hashBytes(bytes, i, e);
        let k = table.find(bytes, i, e, h);
        if (k < 0) {
          k = table.insert(bytes, i, e, h);
          if (k >= freq.length) {
            const f = new Float64Array(freq.length * 2);
            f.set(freq);
            freq = f;
          }
        }
        freq[k]! += 1;
      }
      i = e;
    }
  }
  const nWords = table.size;
  const start = new Int32Array(nWords);
  const len = new Int32Array(nWords);
  let total = 0;
  for (let k = 0; k < nWords; k++) total += table.key(k).length;
  const syms = new Int32Array(total);
  let o = 0;
  for (let k = 0; k < nWords; k++) {
    const key = table.key(k);
    start[k] = o;
    len[k] = key.length;
    for (let i = 0; i < key.length; i++) syms[o + i] = BYTE_BASE + key[i]!;
    o += key.length;
  }
  return { freq: freq.subarray(0, nWords), start, len, syms };
}

/** Max-heap of (count, a, b): larger count first, then smaller a, then smaller b (deterministic ties). */
class PairHeap {
  private c: number[] = [];
  private a: number[] = [];
  private b: number[] = [];

  get size(): number {
    return this.c.length;
  }

  private above(i: number, j: number): boolean {
    const { c, a, b } = this;
    if (c[i] !== c[j]) return c[i]! > c[j]!;
    if (a[i] !== a[j]) return a[i]! < a[j]!;
    return b[i]! < b[j]!;
  }

  private swap(i: number, j: number): void {
    for (const arr of [this.c, this.a, this.b]) {
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
    }
  }

  push(count: number, a: number, b: number): void {
    this.c.push(count);
    this.a.push(a);
    this.b.push(b);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Remove the top; returns [count, a, b]. */
  pop(): [number, number, number] {
    const top: [number, number, number] = [this.c[0]!, this.a[0]!, this.b[0]!];
    const last = this.c.length - 1;
    this.swap(0, last);
    this.c.pop();
    this.a.pop();
    this.b.pop();
    const n = this.c.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.above(l, m)) m = l;
      if (r < n && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** Pair counts plus, for every pair, the words that (may) contain it. */
class PairIndex {
  readonly counts = new PairTable(0, 1 << 16);
  private listOf = new PairTable(-1, 1 << 16);
  private lists: number[][] = [];

  addWord(a: number, b: number, w: number): void {
    let li = this.listOf.get(a, b);
    if (li < 0) {
      li = this.lists.length;
      this.lists.push([]);
      this.listOf.set(a, b, li);
    }
    this.lists[li]!.push(w);
  }

  words(a: number, b: number): number[] {
    const li = this.listOf.get(a, b);
    return li < 0 ? [] : this.lists[li]!;
  }
}

function initialPairs(words: Words): PairIndex {
  const idx = new PairIndex();
  const { freq, start, len, syms } = words;
  for (let w = 0; w < freq.length; w++) {
    const s = start[w]!;
    for (let i = s; i < s + len[w]! - 1; i++) {
      idx.counts.add(syms[i]!, syms[i + 1]!, freq[w]!);
      idx.addWord(syms[i]!, syms[i + 1]!, w);
    }
  }
  return idx;
}

/**
 * Replace every (a, b) in word w by c, left to right, updating neighbour pair counts.
 * Pairs that gained count are appended to `gained` as a, b, a, b, ...
 */
function mergeInWord(
  words: Words,
  idx: PairIndex,
  w: number,
  a: number,
  b: number,
  c: number,
  gained: number[],
): void {
  const { syms, start, len } = words;
  const f = words.freq[w]!;
  const s = start[w]!;
  const n = len[w]!;
  let out = 0;
  for (let r = 0; r < n; ) {
    if (r + 1 < n && syms[s + r] === a && syms[s + r + 1] === b) {
      if (out > 0) {
        const prev = syms[s + out - 1]!;
        idx.counts.add(prev, a, -f);
        idx.counts.add(prev, c, f);
        idx.addWord(prev, c, w);
        gained.push(prev, c);
      }
      if (r + 2 < n) {
        const next = syms[s + r + 2]!;
        idx.counts.add(b, next, -f);
        idx.counts.add(c, next, f);
        idx.addWord(c, next, w);
        gained.push(c, next);
      }
      syms[s + out++] = c;
      r += 2;
    } else {
      syms[s + out++] = syms[s + r++]!;
    }
  }
  len[w] = out;
}

/** The initial vocabulary: specials, then the 256 byte tokens in byte order. */
export function baseVocab(): string[] {
  return [...SPECIALS, ...BYTE_TO_CHAR];
}

/** A heap holding every distinct initial pair once, with its count. */
function initialHeap(words: Words, idx: PairIndex): PairHeap {
  const heap = new PairHeap();
  const seen = new PairTable(-1);
  for (let w = 0; w < words.freq.length; w++) {
    const s = words.start[w]!;
    for (let i = s; i < s + words.len[w]! - 1; i++) {
      const a = words.syms[i]!;
      const b = words.syms[i + 1]!;
      if (seen.get(a, b) < 0) {
        seen.set(a, b, 1);
        heap.push(idx.counts.get(a, b), a, b);
      }
    }
  }
  return heap;
}

/** Merge (a, b) -> c in every word that holds it; push the pairs that gained count (once each). */
function applyMerge(
  words: Words,
  idx: PairIndex,
  heap: PairHeap,
  a: number,
  b: number,
  c: number,
  step: number,
  scratch: MergeScratch,
): void {
  const { stamp, pushedAt, gained } = scratch;
  gained.length = 0;
  for (const w of idx.words(a, b)) {
    if (stamp[w] === step) continue;
    stamp[w] = step;
    mergeInWord(words, idx, w, a, b, c, gained);
  }
  idx.counts.set(a, b, 0);
  for (let i = 0; i < gained.length; i += 2) {
    const x = gained[i]!;
    const y = gained[i + 1]!;
    if (pushedAt.get(x, y) === step) continue;
    pushedAt.set(x, y, step);
    const v = idx.counts.get(x, y);
    if (v > 0) heap.push(v, x, y);
  }
}

interface MergeScratch {
  /** merge step that last visited each word */
  stamp: Int32Array;
  /** merge step that last pushed each pair */
  pushedAt: PairTable;
  gained: number[];
}

/** Train a byte-level BPE model on `texts` up to `vocabSize` tokens (fewer if pairs run out). */
export function trainBpe(texts: Iterable<string>, opts: TrainBpeOptions): BpeModel {
  const base = N_SPECIAL + 256;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < base) {
    throw new InputError(
      `BPE vocabSize must be an integer >= ${base} (5 specials + 256 bytes), got ${opts.vocabSize}`,
      `ask for at least ${base}; typical sizes are 8000 to 50000`,
    );
  }
  const minFreq = opts.minFrequency ?? 2;
  const words = countWords(texts);
  const idx = initialPairs(words);
  const heap = initialHeap(words, idx);
  const vocab = baseVocab();
  const idOf = new Map(vocab.map((t, i) => [t, i]));
  const merges: Array<[number, number]> = [];
  const scratch: MergeScratch = {
    stamp: new Int32Array(words.freq.length),
    pushedAt: new PairTable(-1),
    gained: [],
  };
  while (vocab.length < opts.vocabSize && heap.size > 0) {
    const [count, a, b] = heap.pop();
    const cur = idx.counts.get(a, b);
    if (cur !== count) {
      if (cur > 0) heap.push(cur, a, b); // stale entry: requeue with the current count
      continue;
    }
    if (cur < minFreq || cur <= 0) break;
    // a merge whose string already exists (reached by another merge path) reuses that id, as HF does
    const str = vocab[a]! + vocab[b]!;
    let c = idOf.get(str);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(str);
      idOf.set(str, c);
    }
    merges.push([a, b]);
    applyMerge(words, idx, heap, a, b, c, merges.length, scratch);
  }
  return { vocab, merges };
}
