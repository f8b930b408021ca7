// The tied token embedding's two uses — the lookup at the input and the output projection of the
// LM head — through one seam: fp32 in the parameters (training, dense inference), or a compressed
// runtime's own form of E (ctx.tied: int8 or k-bit codes, src/infer/tied-embedding.ts). No math here.
import type { FloatArray } from '../engine/backend.ts';
import type { Ctx } from './layers.ts';
import { HEAD_NAMES } from './names.ts';

/** The tied token embedding E (V, C) in some compressed form: its lookup and its output projection. */
export interface TiedEmbedding<A extends FloatArray> {
  /** out (B*T, C) = E[tokens] + pos (T, C) broadcast over B when pos is given */
  lookup(out: A, tokens: Int32Array, pos: A | null, B: number, T: number, C: number): void;
  /** out (n, V) = x E^T + bias */
  head(out: A, x: A, bias: A | null, n: number, C: number, V: number): void;
}

/** out (B*T, C) = E[tokens] (+ pos): the token embedding as the context holds it (fp32 in p, or ctx.tied). */
export function embedTokens<A extends FloatArray>(
  ctx: Ctx<A>,
  out: A,
  tokens: Int32Array,
  pos: A | null,
  B: number,
  T: number,
  C: number,
): void {
  if (ctx.tied) ctx.tied.lookup(out, tokens, pos, B, T, C);
  else ctx.be.embeddingForward(out, tokens, ctx.p.get(HEAD_NAMES.tokEmb), pos, B, T, C);
}

/** out (n, V) = x E^T + bias: the tied output projection, on the form the context holds E in. */
export function tiedOutput<A extends FloatArray>(
  ctx: Ctx<A>,
  out: A,
  x: A,
  bias: A | null,
  n: number,
  C: number,
  V: number,
): void {
  if (ctx.tied) ctx.tied.head(out, x, bias, n, C, V);
  else ctx.be.linearForward(out, x, ctx.p.get(HEAD_NAMES.tokEmb), bias, n, C, V);
}
