// The encoder's forward (eval, no gradients) with per-layer widths, for models whose pruned heads and
// FFN neurons were cut out (structured.ts): layer i runs h_i heads (qkv (N, 3·h_i·hd), attention on
// width h_i·hd) and F_i neurons, on the fp32 (or compressed, via Ctx.linear) kernels at those smaller
// shapes. Built from layers.ts's residual wrapper, MLP and layer norm; it adds only the attention
// sublayer of a cut width. Full-width layers compute exactly what stackForward does.
import type { AttnShape, FloatArray } from '../engine/backend.ts';
import type { ModelConfig } from '../model/config.ts';
import { type Ctx, layernorm, linearForward, mlp, residualForward, type Sublayer } from '../model/layers.ts';
import {
  type LinearNames,
  type MlpNames,
  modelStacks,
  type SelfAttnNames,
  selfAttnNames,
} from '../model/names.ts';
import { embedTokens } from '../model/tied.ts';

/** Heads and FFN width of each encoder layer (full: n_heads and d_ff). */
export interface LayerWidth {
  heads: number;
  ff: number;
}

/** out (N, C) = the bias (C) in every row: a sublayer with no live unit left. */
function biasOnly<A extends FloatArray>(ctx: Ctx<A>, key: string, n: LinearNames, N: number, C: number): A {
  const out = ctx.ws.f(`${key}.out`, N * C);
  ctx.be.fill(out, 0, N * C);
  ctx.be.addBias(out, ctx.p.get(n.bias), N, C);
  return out;
}

function noBackward(): never {
  throw new Error('the compressed runtime runs forward only');
}

/** Self-attention with h heads of size hd on a model of width C (qkv (3·h·hd, C), proj (C, h·hd)). */
function cutAttention<A extends FloatArray>(
  n: SelfAttnNames,
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
      if (h === 0) return { u, out: biasOnly(ctx, key, n.proj, N, C), saved: [] };
      const { be, ws } = ctx;
      const w = selfAttnNames(key);
      const qkv = ws.f(w.qkv.prefix, N * 3 * ca); // (B, T, 3·ca)
      const probs = ws.f(`${key}.probs`, B * h * T * T); // (B, h, T, T)
      const att = ws.f(`${key}.att`, N * ca); // (B, T, ca)
      const out = ws.f(w.proj.prefix, N * C);
      linearForward(ctx, qkv, u, n.qkv, N, C, 3 * ca);
      be.attentionForward(att, probs, qkv, qkv.subarray(ca) as A, qkv.subarray(2 * ca) as A, keyMask, shape);
      linearForward(ctx, out, att, n.proj, N, ca, C);
      return { u, out, saved: [] };
    },
    backward: noBackward,
  };
}

/** An MLP of F neurons (F may be 0: the output is the projection's bias). */
function cutMlp<A extends FloatArray>(n: MlpNames, N: number, C: number, F: number): Sublayer<A> {
  if (F > 0) return mlp<A>(n, N, C, F);
  return {
    forward: (ctx, key, u) => ({ u, out: biasOnly(ctx, key, n.proj, N, C), saved: [] }),
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
  const { ws, p } = ctx;
  const C = cfg.d_model;
  const N = B * T;
  const pre = cfg.norm === 'pre';
  const hd = C / cfg.n_heads;
  const names = modelStacks(cfg).enc;
  const emb = ws.f('enc.emb', N * C); // (B, T, C)
  embedTokens(ctx, emb, tokens, p.get(names.posEmb), B, T, C);
  let x = pre ? emb : layernorm(ctx, 'enc.embln', names.embLn, emb, N, C).out;
  names.blocks.forEach((blk, i) => {
    const w = widths[i]!;
    // a sublayer's buffers: 'enc.' + its name (stackForward's: the name alone)
    const att = cutAttention<A>(blk.attn, B, T, C, w.heads, hd, keyMask);
    x = residualForward(ctx, `enc.${blk.attn.prefix}`, pre, blk.ln1, att, x, N, C).y;
    const ff = cutMlp<A>(blk.mlp, N, C, w.ff);
    x = residualForward(ctx, `enc.${blk.mlp.prefix}`, pre, blk.ln2, ff, x, N, C).y;
  });
  return pre ? layernorm(ctx, 'enc.lnf', names.lnF, x, N, C).out : x;
}
