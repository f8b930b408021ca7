// The tied token embedding E (V, C) held as stored by the compressed runtime, for a container whose
// embeddings were quantized (tlc compress --quant SPEC --embeddings): int8 codes with one scale per
// token row (q8_ch_sym), or packed k-bit codes (every other format). The lookup dequantizes only the
// rows it reads; the output projection (logits = x E^T) runs on the form's kernel (int8 x int8, or
// the weight-only k-bit linear), a scale per output channel being a scale per token. The fp32 E
// (V * C * 4 bytes: most of a small model, a quarter of a 110 M decoder) is never built.
import type { StoredTensor } from '../compress/container.ts';
import type { Backend, Int8Weights, KbitWeights } from '../engine/backend.ts';
import { int8WeightBytes } from '../engine/int8.ts';
import { kbitWeightBytes } from '../engine/kbit.ts';
import type { TiedEmbedding } from '../model/tied.ts';
import { INT8_FORMAT, int8FromQuant } from './int8-weights.ts';
import { kbitFromQuant } from './kbit-weights.ts';

export type TiedForm = { kind: 'int8'; w: Int8Weights } | { kind: 'kbit'; w: KbitWeights };

/** The form a stored tied embedding runs in, or null (a dense or pruned-only one stays fp32). */
export function tiedFormOf(name: string, t: StoredTensor, inPlace = false): TiedForm | null {
  if (t.kind !== 'quant') return null;
  if (t.q.format === INT8_FORMAT) return { kind: 'int8', w: int8FromQuant(name, t.q, t.mask, inPlace) };
  return { kind: 'kbit', w: kbitFromQuant(t.q, t.mask) };
}

/** Bytes the form holds. */
export function tiedBytes(f: TiedForm): number {
  return f.kind === 'int8' ? int8WeightBytes(f.w) : kbitWeightBytes(f.w);
}

/** out (B*T, C) = dequantized E[tokens] (+ pos (T, C) broadcast over B): int8 rows. */
export function int8Lookup(
  w: Int8Weights,
  out: Float32Array,
  tokens: Int32Array,
  pos: Float32Array | null,
  T: number,
  C: number,
): void {
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const s = w.scales[tok]!;
    const q = tok * C;
    const o = i * C;
    const pr = pos ? (i % T) * C : 0;
    if (pos) for (let c = 0; c < C; c++) out[o + c] = w.q[q + c]! * s + pos[pr + c]!;
    else for (let c = 0; c < C; c++) out[o + c] = w.q[q + c]! * s;
  }
}

/** The same over k-bit rows: element (tok, c) is (code - zero) * scale of its group (see KbitWeights). */
export function kbitLookup(
  w: KbitWeights,
  out: Float32Array,
  tokens: Int32Array,
  pos: Float32Array | null,
  T: number,
  C: number,
): void {
  const mask = (1 << w.bits) - 1;
  const half = 1 << (w.bits - 1);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const o = i * C;
    const pr = pos ? (i % T) * C : 0;
    for (let c = 0; c < C; c++) {
      const bit = (tok * C + c) * w.bits;
      const byte = bit >>> 3;
      const sh = bit & 7;
      let v = w.codes[byte]! >>> sh;
      if (sh + w.bits > 8) v |= w.codes[byte + 1]! << (8 - sh);
      const s = w.groupsPerRow === 0 ? 0 : tok * w.groupsPerRow + Math.floor(c / w.groupSize);
      const x = ((v & mask) - (w.zeros ? w.zeros[s]! : half)) * w.scales[s]!;
      out[o + c] = pos ? x + pos[pr + c]! : x;
    }
  }
}

/** The TiedEmbedding of a form on `be`: its lookup above, its output projection on the form's kernel. */
export function tiedEmbedding(
  be: Backend<Float32Array>,
  f: TiedForm,
  outlierThreshold: number,
): TiedEmbedding<Float32Array> {
  if (f.kind === 'int8')
    return {
      lookup: (out, tokens, pos, _B, T, C) => int8Lookup(f.w, out, tokens, pos, T, C),
      head: (out, x, bias, n, C, V) => be.linearInt8Forward(out, x, f.w, bias, n, C, V, outlierThreshold),
    };
  return {
    lookup: (out, tokens, pos, _B, T, C) => kbitLookup(f.w, out, tokens, pos, T, C),
    head: (out, x, bias, n, C, V) => be.linearKbitForward(out, x, f.w, bias, n, C, V),
  };
}
