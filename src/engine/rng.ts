// Seeded random numbers, passed explicitly (never a global): a small-state generator for
// initialisation and sampling (its state can be saved and restored for exact resume), and the
// counter-based hash that dropout uses so every backend draws the same mask.

/** murmur3's 32-bit finalizer. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Counter-based hash of (seed, i) to a uniform uint32. Native code reproduces it bit for bit. */
export function hash32(seed: number, i: number): number {
  return fmix32((i ^ fmix32(seed >>> 0)) >>> 0);
}

/** uint32 threshold for dropout probability p in [0, 1): keep element i iff hash32(seed, i) >= it. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout probability must be in [0, 1), got ${p}`);
  return Math.min(0xffffffff, Math.floor(p * 4294967296));
}

export function dropoutKeep(seed: number, i: number, threshold: number): boolean {
  return hash32(seed, i) >= threshold;
}

/** sfc32 generator state: four uint32 words. */
export type RngState = [number, number, number, number];

/** A seeded generator (sfc32). Deterministic across platforms; state is four uint32s. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = fmix32(seed ^ 0x9e3779b9) | 0;
    this.b = fmix32(seed + 0x6a09e667) | 0;
    this.c = fmix32(seed ^ 0xbb67ae85) | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  getState(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  setState(s: RngState): void {
    [this.a, this.b, this.c, this.d] = s.map((x) => x | 0) as RngState;
  }

  // The state words are kept as int32 (`| 0`), which V8 stores unboxed (small integers); as uint32
  // (`>>> 0`) half of them would be heap numbers, allocated on every draw. Same stream either way.
  nextU32(): number {
    const t = (this.a + this.b + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** uniform in [0, 1) with 32 bits of resolution */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** standard normal (Box-Muller; uses two uniforms per call so the state alone determines the stream) */
  normal(): number {
    let u = this.uniform();
    while (u <= 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place */
  shuffle<T>(xs: T[] | Int32Array | Uint32Array): void {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
  }
}
