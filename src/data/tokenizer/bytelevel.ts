// GPT-2 byte-level pieces shared by training and encoding: the byte<->printable-char table that
// tokenizer.json stores tokens in, and the pre-tokenizer (GPT-2's regex). No BPE logic here.

/** The five special tokens; their ids are fixed (0..4) and come before the 256 byte tokens. */
export const SPECIALS = ['<pad>', '<s>', '</s>', '<unk>', '<mask>'] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;
export const MASK_ID = 4;
export const N_SPECIAL = SPECIALS.length;
/** id of the token for byte b is BYTE_BASE + b in a tokenizer we train */
export const BYTE_BASE = N_SPECIAL;

/**
 * GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes map to
 * U+0100 upwards, so every byte string becomes a string without spaces or control characters.
 */
function buildByteToChar(): string[] {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const isDirect = new Set(direct);
  const out: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = String.fromCharCode(isDirect.has(b) ? b : 256 + n++);
  }
  return out;
}

/** BYTE_TO_CHAR[b] is the one-char string that stands for byte b in vocab and merges. */
export const BYTE_TO_CHAR: readonly string[] = Object.freeze(buildByteToChar());

/** Inverse of BYTE_TO_CHAR indexed by char code (all codes are < 0x144); -1 where unused. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x200).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => {
    t[c.charCodeAt(0)] = b;
  });
  return t;
})();

/** Raw bytes of a byte-level token string, or null when it contains a char outside the table. */
export function tokenStringToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c]! : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/**
 * GPT-2's pre-tokenization pattern, as Hugging Face's ByteLevel pre-tokenizer (use_regex) applies
 * it: contractions, optional space + letters, optional space + digits, optional space + other
 * symbols, whitespace runs (leaving the last space to the next word). Its matches cover every
 * char of the input, so concatenating them gives the input back.
 */
export const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** A fresh global regex for GPT2_PATTERN (regexes with /g carry lastIndex, so never share one). */
export function pretokenizer(): RegExp {
  return new RegExp(GPT2_PATTERN, 'gu');
}

/** Split text into pre-tokens. The pieces concatenate back to `text` exactly. */
export function pretokenize(text: string, re: RegExp = pretokenizer()): string[] {
  re.lastIndex = 0;
  const out: string[] = [];
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    // defensive: the pattern matches every code point, but never let a gap drop text
    if (m.index > end) out.push(text.slice(end, m.index));
    out.push(m[0]);
    end = m.index + m[0].length;
  }
  if (end < text.length) out.push(text.slice(end));
  return out;
}
