// Weight quantization formats as data (ggml-style records): bits, granularity, symmetry, and a
// scalar reference quantize/dequantize with bit-packed codes. No model knowledge, no fast kernels.
//
// Conventions (every format):
// - A weight matrix is (rows, cols) = (out, in), row-major. Per-channel = one scale per output row;
//   group-wise = one scale per run of `groupSize` consecutive input columns within a row (the last
//   group of a row is shorter when cols is not a multiple); per-tensor = one scale in all.
//   Scales are stored row-major: index = row * groupsPerRow + group.
// - Symmetric: the RESTRICTED signed range q in [-qmax, qmax], qmax = 2^(b-1) - 1 (2 bits is ternary),
//   scale = max|w| / qmax, so 0 maps to 0 exactly and w -> -w maps q -> -q. Stored code = q + 2^(b-1),
//   in [1, 2^b - 1]; `zeros` is null.
// - Asymmetric: as the reference GPTQ quantizer, the range [min(w_min, 0), max(w_max, 0)] (it always
//   holds 0, so 0 is exact and the integer zero point needs no clamping), scale = range / (2^b - 1),
//   zero = round(-min / scale) in [0, 2^b - 1], code = clamp(round(w / scale) + zero); one zero byte
//   per scale in `zeros` (Uint8Array).
// - Either way w ~ (code - zero) * scale, scales are float32, rounding is half-to-even (torch.round).
// - Codes are packed LSB-first into one continuous little-endian bitstream over the row-major
//   elements: element i occupies bits [i*b, i*b + b); exactly ceil(n*b/8) bytes, no per-row padding.
import { CorruptError, InputError } from '../../engine/errors.ts';

export type Granularity = 'tensor' | 'channel' | 'group';
export type GroupSize = 32 | 64 | 128;

export const BIT_WIDTHS = [2, 3, 4, 5, 6, 7, 8] as const;
export const GROUP_SIZES: readonly GroupSize[] = [32, 64, 128];

/** A quantized weight matrix: packed codes plus the per-scale-group parameters. */
export interface QuantTensor {
  /** the format's name, e.g. 'q4_g64_sym' (see getFormat) */
  format: string;
  rows: number;
  cols: number;
  /** bit-packed codes, exactly ceil(rows*cols*bits/8) bytes */
  codes: Uint8Array;
  scales: Float32Array;
  /** integer zero points (asymmetric), one byte per scale; null for symmetric formats */
  zeros: Uint8Array | null;
}

export interface QuantFormat {
  name: string;
  bits: number;
  granularity: Granularity;
  groupSize?: GroupSize;
  symmetric: boolean;
  quantize(w: Float32Array, rows: number, cols: number): QuantTensor;
  dequantize(q: QuantTensor): Float32Array;
}

/**
 * Fixed per-tensor header the container stores beside the arrays: format id, rows, cols and flags
 * as four uint32. Counted by byteSize so "model size" is the real stored size.
 */
export const QUANT_HEADER_BYTES = 16;

/** Exact stored bytes of a quantized tensor: codes + scales + zero points + the fixed header. */
export function byteSize(q: QuantTensor): number {
  return q.codes.byteLength + q.scales.byteLength + (q.zeros?.byteLength ?? 0) + QUANT_HEADER_BYTES;
}

/** Round half to even, as torch.round (so RTN and GPTQ agree with the reference on ties). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Pack codes (each < 2^bits) into a little-endian, LSB-first bitstream of ceil(n*bits/8) bytes. */
export function packCodes(codes: ArrayLike<number>, bits: number): Uint8Array {
  checkBits(bits);
  const n = codes.length;
  const out = new Uint8Array(Math.ceil((n * bits) / 8));
  const mask = (1 << bits) - 1;
  for (let i = 0; i < n; i++) {
    const v = codes[i]!;
    if (v !== (v & mask)) throw new RangeError(`code ${v} at ${i} does not fit in ${bits} bits`);
    const bit = i * bits;
    const byte = bit >>> 3;
    const shift = bit & 7;
    out[byte]! |= (v << shift) & 0xff;
    if (shift + bits > 8) out[byte + 1]! |= v >>> (8 - shift);
  }
  return out;
}

/** Inverse of packCodes: the first n codes of a packed bitstream. */
export function unpackCodes(packed: Uint8Array, bits: number, n: number): Uint8Array {
  checkBits(bits);
  const need = Math.ceil((n * bits) / 8);
  if (packed.length < need) {
    throw new CorruptError(
      `packed codes too short: ${n} codes of ${bits} bits need ${need} bytes, found ${packed.length}`,
      'the quantized tensor is truncated; re-run the compression that wrote it',
    );
  }
  const out = new Uint8Array(n);
  const mask = (1 << bits) - 1;
  for (let i = 0; i < n; i++) {
    const bit = i * bits;
    const byte = bit >>> 3;
    const shift = bit & 7;
    let v = packed[byte]! >>> shift;
    if (shift + bits > 8) v |= packed[byte + 1]! << (8 - shift);
    out[i] = v & mask;
  }
  return out;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8)
    throw new RangeError(`bits must be an integer in 2..8, got ${bits}`);
}

/** The quantization grid of one scale group: w ~ (code - zero) * scale, codes in [lo, hi]. */
export interface Grid {
  scale: number;
  zero: number;
  lo: number;
  hi: number;
}

/** Fit a grid to the value range [min, max] of one scale group (scale rounded to float32). */
export function fitGrid(min: number, max: number, bits: number, symmetric: boolean): Grid {
  if (symmetric) {
    const qmax = (1 << (bits - 1)) - 1;
    const half = 1 << (bits - 1);
    let scale = Math.fround(Math.max(Math.abs(min), Math.abs(max)) / qmax);
    if (!(scale > 0 && Number.isFinite(scale))) scale = 1; // all zero (or underflow): any scale is exact
    return { scale, zero: half, lo: half - qmax, hi: half + qmax };
  }
  const maxq = (1 << bits) - 1;
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  let scale = Math.fround((hi - lo) / maxq);
  if (!(scale > 0 && Number.isFinite(scale))) scale = 1;
  const zero = Math.min(maxq, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zero, lo: 0, hi: maxq };
}

/** Round-to-nearest code of x on a grid. */
export function encode(x: number, g: Grid): number {
  const q = roundHalfEven(x / g.scale) + g.zero;
  return q < g.lo ? g.lo : q > g.hi ? g.hi : q;
}

export function decode(code: number, g: Grid): number {
  return (code - g.zero) * g.scale;
}

/** Number of scales (and zero points) a format stores for a (rows, cols) matrix. */
export function numScales(
  f: Pick<QuantFormat, 'granularity' | 'groupSize'>,
  rows: number,
  cols: number,
): number {
  if (f.granularity === 'tensor') return 1;
  if (f.granularity === 'channel') return rows;
  return rows * Math.ceil(cols / f.groupSize!);
}

/** Index into `scales` of element (r, c). */
export function scaleIndex(
  f: Pick<QuantFormat, 'granularity' | 'groupSize'>,
  cols: number,
  r: number,
  c: number,
): number {
  if (f.granularity === 'tensor') return 0;
  if (f.granularity === 'channel') return r;
  const G = f.groupSize!;
  return r * Math.ceil(cols / G) + Math.floor(c / G);
}

function checkShape(w: ArrayLike<number>, rows: number, cols: number): void {
  if (
    !(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) ||
    w.length !== rows * cols
  ) {
    throw new InputError(
      `quantize expects a (rows, cols) matrix of rows*cols values; got rows=${rows}, cols=${cols} and ${w.length} values`,
      'pass the weight matrix of one linear layer, (out, in), row-major',
    );
  }
}

/** Package unpacked codes and per-group parameters as a QuantTensor (packs the codes). */
export function buildQuantTensor(
  f: QuantFormat,
  rows: number,
  cols: number,
  codes: Uint8Array,
  scales: Float32Array,
  zeros: Uint8Array | null,
): QuantTensor {
  return { format: f.name, rows, cols, codes: packCodes(codes, f.bits), scales, zeros };
}

function quantizeRef(f: QuantFormat, w: Float32Array, rows: number, cols: number): QuantTensor {
  checkShape(w, rows, cols);
  const ns = numScales(f, rows, cols);
  const mins = new Float64Array(ns).fill(Infinity);
  const maxs = new Float64Array(ns).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = w[r * cols + c]!;
      if (!Number.isFinite(x)) {
        throw new InputError(
          `cannot quantize a non-finite weight (${x} at row ${r}, column ${c})`,
          'the model diverged or the checkpoint is damaged; check the training run',
        );
      }
      const s = scaleIndex(f, cols, r, c);
      if (x < mins[s]!) mins[s] = x;
      if (x > maxs[s]!) maxs[s] = x;
    }
  }
  const grids = Array.from({ length: ns }, (_, s) => fitGrid(mins[s]!, maxs[s]!, f.bits, f.symmetric));
  const codes = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++)
      codes[r * cols + c] = encode(w[r * cols + c]!, grids[scaleIndex(f, cols, r, c)]!);
  }
  const scales = Float32Array.from(grids, (g) => g.scale);
  const zeros = f.symmetric ? null : Uint8Array.from(grids, (g) => g.zero);
  return buildQuantTensor(f, rows, cols, codes, scales, zeros);
}

function dequantizeRef(f: QuantFormat, q: QuantTensor): Float32Array {
  const { rows, cols } = q;
  const ns = numScales(f, rows, cols);
  const bad = (what: string) =>
    new CorruptError(
      `quantized tensor (${f.name}, ${rows}x${cols}) is inconsistent: ${what}`,
      'rewrite it with tlc compress',
    );
  if (q.format !== f.name) throw bad(`it says format ${q.format}`);
  if (q.codes.length !== Math.ceil((rows * cols * f.bits) / 8)) throw bad(`${q.codes.length} code bytes`);
  if (q.scales.length !== ns) throw bad(`${q.scales.length} scales, expected ${ns}`);
  if (f.symmetric ? q.zeros !== null : q.zeros?.length !== ns)
    throw bad(`zero points do not match the format`);
  const codes = unpackCodes(q.codes, f.bits, rows * cols);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = scaleIndex(f, cols, r, c);
      const zero = q.zeros ? q.zeros[s]! : 1 << (f.bits - 1);
      out[r * cols + c] = (codes[r * cols + c]! - zero) * q.scales[s]!;
    }
  }
  return out;
}

function granularityTag(g: Granularity, groupSize?: GroupSize): string {
  return g === 'tensor' ? 'tensor' : g === 'channel' ? 'ch' : `g${groupSize}`;
}

/** Build the record of one format (names: q<bits>_<tensor|ch|g32|g64|g128>_<sym|asym>). */
export function makeFormat(
  bits: number,
  granularity: Granularity,
  symmetric: boolean,
  groupSize?: GroupSize,
): QuantFormat {
  checkBits(bits);
  if ((granularity === 'group') !== (groupSize !== undefined)) {
    throw new RangeError(
      `groupSize is required for group granularity and only for it (got ${granularity}, ${groupSize})`,
    );
  }
  const name = `q${bits}_${granularityTag(granularity, groupSize)}_${symmetric ? 'sym' : 'asym'}`;
  const f: QuantFormat = {
    name,
    bits,
    granularity,
    ...(groupSize !== undefined ? { groupSize } : {}),
    symmetric,
    quantize: (w, rows, cols) => quantizeRef(f, w, rows, cols),
    dequantize: (q) => dequantizeRef(f, q),
  };
  return Object.freeze(f);
}

const TABLE: ReadonlyMap<string, QuantFormat> = (() => {
  const m = new Map<string, QuantFormat>();
  for (const bits of BIT_WIDTHS) {
    for (const symmetric of [true, false]) {
      for (const f of [
        makeFormat(bits, 'tensor', symmetric),
        makeFormat(bits, 'channel', symmetric),
        ...GROUP_SIZES.map((g) => makeFormat(bits, 'group', symmetric, g)),
      ]) {
        m.set(f.name, f);
      }
    }
  }
  return m;
})();

/** Every format: bits 2..8 x {tensor, channel, group 32/64/128} x {sym, asym}. */
export function listFormats(): QuantFormat[] {
  return [...TABLE.values()];
}

/** A format by name (e.g. from a QuantTensor's `format`). */
export function getFormat(name: string): QuantFormat {
  const f = TABLE.get(name);
  if (!f) {
    throw new InputError(
      `unknown quantization format '${name}'`,
      `valid names look like q4_g64_sym or q8_ch_asym; see listFormats()`,
    );
  }
  return f;
}

const GRANULARITY_TOKENS = ['tensor', 'channel', 'group32', 'group64', 'group128'];
const SYMMETRY_TOKENS = ['sym', 'asym'];
const BITS_TOKENS = BIT_WIDTHS.map((b) => `int${b}`);

/**
 * Parse a quantization spec. Syntax: `int<bits>[:<granularity>][:<symmetry>]`, tokens separated
 * by ':', in any order, each kind at most once, case-insensitive:
 *   bits         int2 .. int8                                  (required)
 *   granularity  tensor | channel | group32 | group64 | group128 (default channel)
 *   symmetry     sym | asym                                    (default sym)
 * e.g. 'int4:group64:sym' -> q4_g64_sym, 'int8' -> q8_ch_sym. A format name ('q4_g64_sym') is accepted too.
 */
export function parseQuantSpec(spec: string): QuantFormat {
  const s = spec.trim().toLowerCase();
  const named = TABLE.get(s);
  if (named) return named;
  const syntax = 'int<bits>[:<granularity>][:sym|asym], e.g. int4:group64:sym';
  const fail = (msg: string, valid: string[]): never => {
    throw new InputError(
      `bad quantization spec '${spec}': ${msg}`,
      `valid: ${valid.join(', ')} (syntax ${syntax})`,
    );
  };
  let bits: number | undefined;
  let gran: string | undefined;
  let sym: string | undefined;
  for (const tok of s.split(':')) {
    if (BITS_TOKENS.includes(tok)) {
      if (bits !== undefined) fail(`bit width given twice ('${tok}')`, BITS_TOKENS);
      bits = Number(tok.slice(3));
    } else if (GRANULARITY_TOKENS.includes(tok)) {
      if (gran !== undefined) fail(`granularity given twice ('${gran}' and '${tok}')`, GRANULARITY_TOKENS);
      gran = tok;
    } else if (SYMMETRY_TOKENS.includes(tok)) {
      if (sym !== undefined) fail(`symmetry given twice ('${sym}' and '${tok}')`, SYMMETRY_TOKENS);
      sym = tok;
    } else {
      fail(`unknown token '${tok}'`, [...BITS_TOKENS, ...GRANULARITY_TOKENS, ...SYMMETRY_TOKENS]);
    }
  }
  if (bits === undefined) return fail('no bit width', BITS_TOKENS);
  const g = gran ?? 'channel';
  const granularity: Granularity = g.startsWith('group') ? 'group' : (g as Granularity);
  const groupSize = granularity === 'group' ? (Number(g.slice(5)) as GroupSize) : undefined;
  return getFormat(`q${bits}_${granularityTag(granularity, groupSize)}_${sym ?? 'sym'}`);
}
