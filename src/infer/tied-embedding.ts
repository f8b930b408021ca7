// The tied token embedding held as int8 by the compressed runtime: a container whose embeddings were
// quantized with q8_ch_sym (tlc compress --quant int8 --embeddings) keeps E (V, C) as int8 codes with
// one scale per token row. Its lookup dequantizes only the rows it reads; its output projection
// (logits = x E^T) runs on the int8 kernel, one scale per output channel being one per token. The
// fp32 E (V * C * 4 bytes: most of a small model, a quarter of a 110 M decoder) is never built.
import type { StoredTensor } from '../compress/container.ts';
import type { Backend, Int8Weights } from '../engine/backend.ts';
import type { TiedEmbedding } from '../model/layers.ts';
import { INT8_FORMAT, int8FromQuant } from './int8-weights.ts';

/** The int8 form of a stored tied embedding, or null (keep it in fp32). */
export function int8Embedding(name: string, t: StoredTensor): Int8Weights | null {
  return t.kind === 'quant' && t.q.format === INT8_FORMAT ? int8FromQuant(name, t.q, t.mask) : null;
}

/** out (B*T, C) = dequantized E[tokens] (+ pos (T, C) broadcast over B): the reference lookup. */
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

/** The TiedEmbedding of an int8 E on `be`: the lookup above, the head on the int8 linear kernel. */
export function int8Tied(
  be: Backend<Float32Array>,
  w: Int8Weights,
  outlierThreshold: number,
): TiedEmbedding<Float32Array> {
  return {
    lookup: (out, tokens, pos, _B, T, C) => int8Lookup(w, out, tokens, pos, T, C),
    head: (out, x, bias, n, C, V) => be.linearInt8Forward(out, x, w, bias, n, C, V, outlierThreshold),
  };
}
