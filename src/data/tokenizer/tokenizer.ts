// The byte-level BPE tokenizer: encode text to ids (scanner + merge ranks + a per-word cache),
// decode ids to text, and save/load as Hugging Face tokenizer.json. Encode never inserts special
// tokens, not even when the text contains "<s>" literally: text is data; batchers add specials.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { CorruptError, InputError } from '../../engine/errors.ts';
import {
  BOS_ID,
  BYTE_TO_CHAR,
  EOS_ID,
  MASK_ID,
  N_SPECIAL,
  PAD_ID,
  SPECIALS,
  tokenStringToBytes,
  UNK_ID,
} from './bytelevel.ts';
import { fromHfJson, type HfTokenizerJson, toHfJson } from './hfjson.ts';
import { pieceEnd } from './scan.ts';
import { ByteKeyTable, hashBytes, PairTable } from './tables.ts';
import type { BpeModel } from './train.ts';

/** Pieces longer than this (bytes) are encoded without caching. */
const CACHE_MAX_PIECE = 128;
/** The cache is emptied when it holds this many pieces (bounds memory on endless input). */
const CACHE_MAX_ENTRIES = 1 << 18;
const TWO32 = 4294967296;

/** Binary min-heap of float64 keys in a preallocated buffer. */
function heapPush(h: Float64Array, n: number, key: number): number {
  let i = n;
  h[i] = key;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= key) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = key;
  return n + 1;
}

function heapPop(h: Float64Array, n: number): number {
  const last = h[n - 1]!;
  let i = 0;
  const m = n - 1;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= m) break;
    if (c + 1 < m && h[c + 1]! < h[c]!) c++;
    if (h[c]! >= last) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
  return m;
}

export class Tokenizer {
  static readonly PAD = PAD_ID;
  static readonly BOS = BOS_ID;
  static readonly EOS = EOS_ID;
  static readonly UNK = UNK_ID;
  static readonly MASK = MASK_ID;
  /** ids below this are specials */
  static readonly N_SPECIAL = N_SPECIAL;

  readonly vocab: readonly string[];
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly byteId = new Int32Array(256);
  private readonly tokenBytes: Uint8Array[];
  private readonly ranks = new PairTable(-1, 1 << 14);
  private readonly mergeResult: Int32Array;
  private readonly cache = new ByteKeyTable(1 << 14);
  private cacheStart: Int32Array = new Int32Array(1 << 14);
  private cacheLen: Int32Array = new Int32Array(1 << 14);
  private cacheIds: Int32Array = new Int32Array(1 << 16);
  private cacheUsed = 0;
  private hashHex: string | undefined;

  constructor(model: BpeModel) {
    this.vocab = model.vocab;
    this.merges = model.merges;
    const idOf = new Map(model.vocab.map((t, i) => [t, i]));
    SPECIALS.forEach((s, i) => {
      if (model.vocab[i] !== s) {
        throw new InputError(
          `tokenizer vocab id ${i} must be ${s}, found ${JSON.stringify(model.vocab[i])}`,
          'special ids are fixed: <pad>=0 <s>=1 </s>=2 <unk>=3 <mask>=4',
        );
      }
    });
    BYTE_TO_CHAR.forEach((c, b) => {
      const id = idOf.get(c);
      if (id === undefined)
        throw new InputError(
          `tokenizer vocab lacks the token for byte ${b}`,
          'a byte-level BPE vocab holds all 256 byte tokens',
        );
      this.byteId[b] = id;
    });
    this.tokenBytes = model.vocab.map((t, i) => {
      const bytes = i < N_SPECIAL ? Buffer.from(t, 'utf8') : tokenStringToBytes(t);
      if (!bytes)
        throw new InputError(
          `tokenizer token ${i} (${JSON.stringify(t)}) is not a byte-level string`,
          'vocab entries must use the GPT-2 byte-to-unicode alphabet',
        );
      return bytes;
    });
    this.mergeResult = new Int32Array(model.merges.length);
    model.merges.forEach(([a, b], r) => {
      const c = idOf.get(`${model.vocab[a]}${model.vocab[b]}`);
      if (c === undefined)
        throw new InputError(
          `merge ${r} (${a}, ${b}) makes a token missing from the vocab`,
          'every merge result must be in the vocab',
        );
      // a pair listed twice keeps its first (lowest) rank, as HF does
      if (this.ranks.get(a, b) < 0) this.ranks.set(a, b, r);
      this.mergeResult[r] = c;
    });
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** sha256 (hex) of the vocab and merges: identifies the tokenizer in token-file headers. */
  get hash(): string {
    this.hashHex ??= createHash('sha256')
      .update(JSON.stringify([this.vocab, this.merges]))
      .digest('hex');
    return this.hashHex;
  }

  /** Ids of `text` (no specials added). Exact inverse of decode for any valid Unicode string. */
  encode(text: string): Int32Array {
    const bytes = Buffer.from(text, 'utf8');
    const n = bytes.length;
    const out = new Int32Array(n);
    let m = 0;
    for (let i = 0; i < n; ) {
      const e = pieceEnd(bytes, i, n);
      if (e - i === 1) {
        out[m++] = this.byteId[bytes[i]!]!;
      } else if (e - i <= CACHE_MAX_PIECE) {
        m = this.encodeCached(bytes, i, e, out, m);
      } else {
        const ids = this.bpe(bytes, i, e);
        out.set(ids, m);
        m += ids.length;
      }
      i = e;
    }
    return out.slice(0, m);
  }

  private encodeCached(bytes: Uint8Array, s: number, e: number, out: Int32Array, m: number): number {
    const h = hashBytes(bytes, s, e);
    const k = this.cache.find(bytes, s, e, h);
    if (k >= 0) {
      const st = this.cacheStart[k]!;
      const len = this.cacheLen[k]!;
      for (let j = 0; j < len; j++) out[m + j] = this.cacheIds[st + j]!;
      return m + len;
    }
    const ids = this.bpe(bytes, s, e);
    out.set(ids, m);
    if (this.cache.size >= CACHE_MAX_ENTRIES) {
      this.cache.clear();
      this.cacheUsed = 0;
    }
    const nk = this.cache.insert(bytes, s, e, h);
    if (nk >= this.cacheStart.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.cacheStart = grow(this.cacheStart);
      this.cacheLen = grow(this.cacheLen);
    }
    if (this.cacheUsed + ids.length > this.cacheIds.length) {
      const b = new Int32Array(Math.max(this.cacheIds.length * 2, this.cacheUsed + ids.length));
      b.set(this.cacheIds);
      this.cacheIds = b;
    }
    this.cacheIds.set(ids, this.cacheUsed);
    this.cacheStart[nk] = this.cacheUsed;
    this.cacheLen[nk] = ids.length;
    this.cacheUsed += ids.length;
    return m + ids.length;
  }

  /**
   * BPE on one pre-token, as HF does: repeatedly merge the lowest-rank adjacent pair, leftmost
   * first, using a heap of (rank, position) over a linked list: O(n log n) even for huge pieces.
   */
  private bpe(bytes: Uint8Array, s: number, e: number): Int32Array {
    const L = e - s;
    const sym = new Int32Array(L);
    const nxt = new Int32Array(L);
    const prv = new Int32Array(L);
    for (let i = 0; i < L; i++) {
      sym[i] = this.byteId[bytes[s + i]!]!;
      nxt[i] = i + 1 < L ? i + 1 : -1;
      prv[i] = i - 1;
    }
    const heap = new Float64Array(3 * L + 1);
    let hn = 0;
    for (let i = 0; i + 1 < L; i++) {
      const r = this.ranks.get(sym[i]!, sym[i + 1]!);
      if (r >= 0) hn = heapPush(heap, hn, r * TWO32 + i);
    }
    let count = L;
    while (hn > 0) {
      const key = heap[0]!;
      hn = heapPop(heap, hn);
      const r = Math.floor(key / TWO32);
      const pos = key - r * TWO32;
      const q = nxt[pos]!;
      if (sym[pos] === -1 || q < 0 || this.ranks.get(sym[pos]!, sym[q]!) !== r) continue;
      sym[pos] = this.mergeResult[r]!;
      sym[q] = -1;
      count--;
      const nq = nxt[q]!;
      nxt[pos] = nq;
      if (nq >= 0) prv[nq] = pos;
      const p = prv[pos]!;
      if (p >= 0) {
        const r2 = this.ranks.get(sym[p]!, sym[pos]!);
        if (r2 >= 0) hn = heapPush(heap, hn, r2 * TWO32 + p);
      }
      if (nq >= 0) {
        const r3 = this.ranks.get(sym[pos]!, sym[nq]!);
        if (r3 >= 0) hn = heapPush(heap, hn, r3 * TWO32 + pos);
      }
    }
    const out = new Int32Array(count);
    for (let i = 0, j = 0; i >= 0; i = nxt[i]!) out[j++] = sym[i]!;
    return out;
  }

  /** Text of `ids`. Specials decode to their literal text unless skipSpecial. */
  decode(ids: ArrayLike<number>, opts: { skipSpecial?: boolean } = {}): string {
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const tb = this.tokenBytes[id];
      if (tb === undefined) {
        throw new InputError(
          `token id ${id} at position ${i} is outside the vocabulary [0, ${this.vocabSize})`,
          'decode ids made by this tokenizer',
        );
      }
      if (!(opts.skipSpecial && id < N_SPECIAL)) total += tb.length;
    }
    const buf = Buffer.allocUnsafe(total);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (opts.skipSpecial && id < N_SPECIAL) continue;
      const tb = this.tokenBytes[id]!;
      buf.set(tb, o);
      o += tb.length;
    }
    return buf.toString('utf8');
  }

  /** Raw bytes of one token (specials: their UTF-8 text). */
  tokenBytesOf(id: number): Uint8Array {
    const tb = this.tokenBytes[id];
    if (tb === undefined)
      throw new InputError(
        `token id ${id} is outside the vocabulary [0, ${this.vocabSize})`,
        'use ids made by this tokenizer',
      );
    return tb;
  }

  /**
   * 1 for tokens that start a word: the token's first byte is whitespace (the byte-level space
   * marker "Ġ", or newline/tab). Batchers also treat a token that follows a special as a start.
   */
  wordStartTable(): Uint8Array {
    const t = new Uint8Array(this.vocabSize);
    for (let i = N_SPECIAL; i < this.vocabSize; i++) {
      const b = this.tokenBytes[i]![0];
      t[i] = b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d ? 1 : 0;
    }
    return t;
  }

  toJSON(): HfTokenizerJson {
    return toHfJson({ vocab: [...this.vocab], merges: this.merges.map(([a, b]) => [a, b]) });
  }

  static fromJSON(obj: unknown, where?: string): Tokenizer {
    return new Tokenizer(fromHfJson(obj, where));
  }

  /** Write tokenizer.json atomically. */
  save(file: string): void {
    writeFileAtomic(file, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
  }

  /** Read tokenizer.json; a missing, truncated or foreign file gives a typed error naming it. */
  static load(file: string): Tokenizer {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(
        `cannot read tokenizer file ${file}: ${(e as Error).message}`,
        'check the path, or train a tokenizer first',
      );
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new CorruptError(
        `tokenizer file ${file} is not valid JSON (${(e as Error).message}; ${text.length} chars)`,
        'the file is damaged or truncated: delete it and train or copy the tokenizer again',
      );
    }
    return Tokenizer.fromJSON(obj, file);
  }
}
