// The encoder's forward (eval, no gradients) with per-layer widths, for models whose pruned heads and
// FFN neurons were cut out (structured.ts): layer i runs h_i heads (qkv (N, 3·h_i·hd), attention on
// width h_i·hd) and F_i neurons, on the fp32 (or compressed, via Ctx.linear) kernels at those smaller
// shapes. Built from layers.ts's residual wrapper, MLP and layer norm; it adds only the attention
// sublayer of a cut width. Full-width layers compute exactly what stackForward does.
import type { AttnShape, FloatArray } from '../engine/backend.ts';
import type { ModelConfig } from '../model/config.ts';
import { type Ctx, layernorm, linearForward, mlp, residualForward, type Sublayer } from '../model/layers.ts';
import { stackPrefixes } from '../model/params.ts';

/** Heads and FFN width of each encoder layer (full: n_heads and d_ff). */
export interface LayerWidth {
  heads: number;
  ff: number;
}

/** out (N, C) = the bias (C) in every row: a sublayer with no live unit left. */
function biasOnly<A extends FloatArray>(ctx: Ctx<A>, key: string, prefix: string, N: number, C: number): A {
  const out = ctx.ws.f(`${key}.out`, N * C);
  ctx.be.fill(out, 0, N * C);
  ctx.be.addBias(out, ctx.p.get(`${prefix}.bias`), N, C);
  return out;
}

function noBackward(): never {
  throw new Error('the compressed runtime runs forward only');
}

/** Self-attention with h heads of size hd on a model of width C (qkv (3·h·hd, C), proj (C, h·hd)). */
function cutAttention<A extends FloatArray>(
  prefix: string,
  B: number,
  T: number,
  C: number,
  h: number,
  hd: number,
  keyMask: Uint8Array | null,
): Sublayer<A> {
  const N = B * T;
  const ca = h * hd;
  const shape: AttnShape = {
    B,
    Tq: T,
    Tk: T,
    C: ca,
    NH: h,
    causal: false,
    qStride: 3 * ca,
    kStride: 3 * ca,
    vStride: 3 * ca,
  };
  return {
    forward(ctx, key, u) {
      if (h === 0) return { u, out: biasOnly(ctx, key, `${prefix}.proj`, N, C), saved: [] };
      const { be, ws } = ctx;
      const qkv = ws.f(`${key}.qkv`, N * 3 * ca); // (B, T, 3·ca)
      const probs = ws.f(`${key}.probs`, B * h * T * T); // (B, h, T, T)
      const att = ws.f(`${key}.att`, N * ca); // (B, T, ca)
      const out = ws.f(`${key}.out`, N * C);
      linearForward(ctx, qkv, u, `${prefix}.qkv`, N, C, 3 * ca);
      be.attentionForward(att, probs, qkv, qkv.subarray(ca) as A, qkv.subarray(2 * ca) as A, keyMask, shape);
      linearForward(ctx, out, att, `${prefix}.proj`, N, ca, C);
      return { u, out, saved: [] };
    },
    backward: noBackward,
  };
}

/** An MLP of F neurons (F may be 0: the output is the projection's bias). */
function cutMlp<A extends FloatArray>(prefix: string, N: number, C: number, F: number): Sublayer<A> {
  if (F > 0) return mlp<A>(prefix, N, C, F);
  return {
    forward: (ctx, key, u) => ({ u, out: biasOnly(ctx, key, `${prefix}.proj`, N, C), saved: [] }),
    backward: noBackward,
  };
}

/** Final hidden states (B, T, C) of the encoder over tokens (B, T), layer i at widths[i]. */
export function encoderForward<A extends FloatArray>(
  ctx: Ctx<A>,
  cfg: ModelConfig,
  widths: readonly LayerWidth[],
  tokens: Int32Array,
  B: number,
  T: number,
  keyMask: Uint8Array | null,
): A {
  const { be, ws, p } = ctx;
  const C = cfg.d_model;
  const N = B * T;
  const pre = cfg.norm === 'pre';
  const hd = C / cfg.n_heads;
  const emb = ws.f('enc.emb', N * C); // (B, T, C)
  be.embeddingForward(emb, tokens, p.get('tok_emb.weight'), p.get('pos_emb.weight'), B, T, C);
  let x = pre ? emb : layernorm(ctx, 'enc.embln', 'emb_ln', emb, N, C).out;
  stackPrefixes(cfg).enc.forEach((lp, i) => {
    const w = widths[i]!;
    const key = `enc.L${i}`;
    x = residualForward(
      ctx,
      `${key}.attn`,
      pre,
      `${lp}.ln1`,
      cutAttention<A>(`${lp}.attn`, B, T, C, w.heads, hd, keyMask),
      x,
      N,
      C,
    ).y;
    x = residualForward(ctx, `${key}.mlp`, pre, `${lp}.ln2`, cutMlp<A>(`${lp}.mlp`, N, C, w.ff), x, N, C).y;
  });
  return pre ? layernorm(ctx, 'enc.lnf', 'ln_f', x, N, C).out : x;
}
