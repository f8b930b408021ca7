// Open-addressing hash tables over typed arrays for the tokenizer's hot loops: byte strings ->
// entry index (word counts, the encode cache) and token-id pairs -> number (pair counts, merge
// ranks). They exist because Map with string/double keys was the bottleneck; no BPE logic here.

/** FNV-1a over bytes[s, e). */
export function hashBytes(bytes: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function grownU8(a: Uint8Array, need: number): Uint8Array {
  if (need <= a.length) return a;
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function grownI32(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Byte-string keys -> dense entry indices 0..size-1. Keys are copied into an internal pool. */
export class ByteKeyTable {
  private slots: Int32Array; // entry index + 1, 0 = empty
  private keyStart: Int32Array = new Int32Array(1024);
  private keyLen: Int32Array = new Int32Array(1024);
  private keyHash: Int32Array = new Int32Array(1024);
  private pool: Uint8Array = new Uint8Array(1 << 16);
  private poolUsed = 0;
  size = 0;

  constructor(initialSlots = 1 << 12) {
    this.slots = new Int32Array(initialSlots);
  }

  /** Index of key bytes[s, e), or -1. */
  find(bytes: Uint8Array, s: number, e: number, h: number): number {
    const mask = this.slots.length - 1;
    const len = e - s;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const v = this.slots[p]!;
      if (v === 0) return -1;
      const k = v - 1;
      if (this.keyHash[k] === (h | 0) && this.keyLen[k] === len && this.sameKey(k, bytes, s, len)) return k;
    }
  }

  /** Insert a key known to be absent; returns its index. */
  insert(bytes: Uint8Array, s: number, e: number, h: number): number {
    if ((this.size + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const k = this.size++;
    const len = e - s;
    this.keyStart = grownI32(this.keyStart, k + 1);
    this.keyLen = grownI32(this.keyLen, k + 1);
    this.keyHash = grownI32(this.keyHash, k + 1);
    this.pool = grownU8(this.pool, this.poolUsed + len);
    this.pool.set(bytes.subarray(s, e), this.poolUsed);
    this.keyStart[k] = this.poolUsed;
    this.keyLen[k] = len;
    this.keyHash[k] = h | 0;
    this.poolUsed += len;
    this.place(k, h);
    return k;
  }

  /** The bytes of entry k (a view into the pool; copy it if the table keeps growing). */
  key(k: number): Uint8Array {
    const s = this.keyStart[k]!;
    return this.pool.subarray(s, s + this.keyLen[k]!);
  }

  /** Bytes held by keys (for cache size limits). */
  get poolBytes(): number {
    return this.poolUsed;
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
    this.poolUsed = 0;
  }

  private sameKey(k: number, bytes: Uint8Array, s: number, len: number): boolean {
    const o = this.keyStart[k]!;
    const pool = this.pool;
    for (let i = 0; i < len; i++) if (pool[o + i] !== bytes[s + i]) return false;
    return true;
  }

  private place(k: number, h: number): void {
    const mask = this.slots.length - 1;
    let p = h & mask;
    while (this.slots[p] !== 0) p = (p + 1) & mask;
    this.slots[p] = k + 1;
  }

  private rehash(cap: number): void {
    this.slots = new Int32Array(cap);
    for (let k = 0; k < this.size; k++) this.place(k, this.keyHash[k]! >>> 0);
  }
}

function pairHash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 13;
  return h >>> 0;
}

/** (a, b) pairs of non-negative int32 ids -> a float64 value; absent pairs read as `missing`. */
export class PairTable {
  private ka: Int32Array;
  private kb: Int32Array;
  private val: Float64Array;
  size = 0;

  constructor(
    private readonly missing = -1,
    initialSlots = 1 << 12,
  ) {
    this.ka = new Int32Array(initialSlots).fill(-1);
    this.kb = new Int32Array(initialSlots);
    this.val = new Float64Array(initialSlots);
  }

  get(a: number, b: number): number {
    const mask = this.ka.length - 1;
    for (let p = pairHash(a, b) & mask; ; p = (p + 1) & mask) {
      const x = this.ka[p]!;
      if (x === -1) return this.missing;
      if (x === a && this.kb[p] === b) return this.val[p]!;
    }
  }

  set(a: number, b: number, v: number): void {
    this.val[this.slot(a, b)] = v;
  }

  /** Add d to the value (absent counts as 0); returns the new value. */
  add(a: number, b: number, d: number): number {
    const p = this.slot(a, b);
    const v = this.val[p]! + d;
    this.val[p] = v;
    return v;
  }

  /** Slot of (a, b), inserting it with value 0 when absent. */
  private slot(a: number, b: number): number {
    if ((this.size + 1) * 2 > this.ka.length) this.rehash(this.ka.length * 2);
    const mask = this.ka.length - 1;
    let p = pairHash(a, b) & mask;
    for (;;) {
      const x = this.ka[p]!;
      if (x === -1) break;
      if (x === a && this.kb[p] === b) return p;
      p = (p + 1) & mask;
    }
    this.ka[p] = a;
    this.kb[p] = b;
    this.val[p] = 0;
    this.size++;
    return p;
  }

  private rehash(cap: number): void {
    const { ka, kb, val } = this;
    this.ka = new Int32Array(cap).fill(-1);
    this.kb = new Int32Array(cap);
    this.val = new Float64Array(cap);
    const mask = cap - 1;
    for (let q = 0; q < ka.length; q++) {
      const a = ka[q]!;
      if (a === -1) continue;
      let p = pairHash(a, kb[q]!) & mask;
      while (this.ka[p] !== -1) p = (p + 1) & mask;
      this.ka[p] = a;
      this.kb[p] = kb[q]!;
      this.val[p] = val[q]!;
    }
  }
}
