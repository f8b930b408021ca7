// A hand-written scanner over UTF-8 bytes that splits text exactly as GPT-2's pre-tokenization
// regex does (see GPT2_PATTERN in bytelevel.ts; a test checks the two agree), without allocating
// strings. It does not know about vocabularies or merges.

/** Character classes of the regex: other, \p{L}, \p{N}, \s. */
const OTHER = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;

/** Class of every BMP code point (surrogates count as OTHER, as the /u regex treats them). */
const BMP_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(0x10000);
  const codes: number[] = [];
  for (let c = 0; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) codes.push(c);
  // One string of all non-surrogate BMP chars: each is one UTF-16 unit, so string index = position.
  let all = '';
  for (let k = 0; k < codes.length; k += 8192) all += String.fromCharCode(...codes.slice(k, k + 8192));
  const mark = (re: RegExp, cls: number): void => {
    for (const m of all.matchAll(re)) {
      for (let k = 0; k < m[0].length; k++) t[codes[m.index + k]!] = cls;
    }
  };
  mark(/\p{L}+/gu, LETTER);
  mark(/\p{N}+/gu, NUMBER);
  mark(/\s+/gu, SPACE);
  return t;
})();

const RE_L = /^\p{L}$/u;
const RE_N = /^\p{N}$/u;
const RE_S = /^\s$/u;

function astralClass(cp: number): number {
  const s = String.fromCodePoint(cp);
  if (RE_L.test(s)) return LETTER;
  if (RE_N.test(s)) return NUMBER;
  if (RE_S.test(s)) return SPACE;
  return OTHER;
}

/** Byte length of the UTF-8 sequence starting with lead byte b (1 for stray bytes). */
function seqLen(b: number): number {
  if (b < 0xc0) return 1;
  if (b < 0xe0) return 2;
  if (b < 0xf0) return 3;
  return 4;
}

/** Class of the code point whose UTF-8 sequence starts at i (input is valid UTF-8). */
function classAt(bytes: Uint8Array, i: number, n: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return BMP_CLASS[b]!;
  const len = seqLen(b);
  if (i + len > n) return OTHER;
  if (len === 2) return BMP_CLASS[((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f)]!;
  if (len === 3)
    return BMP_CLASS[((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f)]!;
  const cp =
    ((b & 0x07) << 18) |
    ((bytes[i + 1]! & 0x3f) << 12) |
    ((bytes[i + 2]! & 0x3f) << 6) |
    (bytes[i + 3]! & 0x3f);
  return astralClass(cp);
}

/** End of the run of code points of class `cls` that starts at i. */
function runEnd(bytes: Uint8Array, i: number, n: number, cls: number): number {
  let j = i;
  while (j < n) {
    const b = bytes[j]!;
    if (b < 0x80) {
      if (BMP_CLASS[b] !== cls) break;
      j++;
    } else {
      if (classAt(bytes, j, n) !== cls) break;
      j += seqLen(b);
    }
  }
  return Math.min(j, n);
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0. */
function contraction(bytes: Uint8Array, i: number, n: number): number {
  if (i + 1 >= n) return 0;
  const d = bytes[i + 1]!;
  if (d === 0x73 || d === 0x74 || d === 0x6d || d === 0x64) return 2; // s t m d
  if (i + 2 >= n) return 0;
  const e = bytes[i + 2]!;
  if ((d === 0x72 && e === 0x65) || (d === 0x76 && e === 0x65) || (d === 0x6c && e === 0x6c)) return 3; // re ve ll
  return 0;
}

/**
 * End (exclusive) of the pre-token that starts at byte i. Mirrors the regex alternation:
 * contraction | ' '?letters | ' '?digits | ' '?others | \s+(?!\S) | \s+.
 */
export function pieceEnd(bytes: Uint8Array, i: number, n: number): number {
  const c = bytes[i]!;
  if (c === 0x27) {
    const k = contraction(bytes, i, n);
    if (k > 0) return i + k;
  }
  if (c === 0x20 && i + 1 < n) {
    const next = classAt(bytes, i + 1, n);
    if (next !== SPACE) return runEnd(bytes, i + 1, n, next);
  }
  const cls = classAt(bytes, i, n);
  if (cls !== SPACE) return runEnd(bytes, i, n, cls);
  // whitespace run: leave its last char to the next piece when a non-space follows
  let j = i;
  let last = i;
  while (j < n && classAt(bytes, j, n) === SPACE) {
    last = j;
    j += seqLen(bytes[j]!);
  }
  if (j >= n) return n;
  return last > i ? last : j;
}

/** All pre-token boundaries of a byte string (for tests and tools; hot loops call pieceEnd). */
export function scanPieces(bytes: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < bytes.length; ) {
    const e = pieceEnd(bytes, i, bytes.length);
    out.push([i, e]);
    i = e;
  }
  return out;
}
