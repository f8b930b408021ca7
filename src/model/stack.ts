// One Transformer stack (embeddings, N residual blocks, final norm) as an explicit
// forward/backward pair. Used as the encoder, the decoder, or both halves of an encdec model.
import type { FloatArray } from '../engine/backend.ts';
import type { ModelConfig } from './config.ts';
import {
  type AttnGeom,
  type Ctx,
  crossAttention,
  type DropCache,
  dropout,
  dropoutBack,
  type LnCache,
  layernorm,
  layernormBack,
  mlp,
  type ResCache,
  residualBackward,
  residualForward,
  type Sublayer,
  selfAttention,
} from './layers.ts';
import { HEAD_NAMES, type NormNames, type StackNames } from './names.ts';
import { embedTokens } from './tied.ts';

export interface StackSpec {
  /** workspace key of this stack: "enc" (encoder, or the source side of encdec) or "dec" (decoder, or the target side) */
  key: string;
  /** the stack's tensor names (names.ts's modelStacks) */
  names: StackNames;
  causal: boolean;
}

export interface CrossInput<A extends FloatArray> {
  enc: A;
  /** gradient wrt enc, accumulated by every cross-attention (null in eval) */
  dEnc: A | null;
  Tk: number;
  mask: Uint8Array | null;
}

export interface BlockTape<A extends FloatArray> {
  /** each sublayer (attn, xattn, mlp) with its norm and what its forward saved; key names its buffers */
  subs: Array<{ key: string; ln: NormNames; sub: Sublayer<A>; cache: ResCache<A> }>;
}

export interface StackTape<A extends FloatArray> {
  spec: StackSpec;
  B: number;
  T: number;
  tokens: Int32Array;
  embLn: LnCache<A> | null;
  drop: DropCache;
  blocks: BlockTape<A>[];
  lnf: LnCache<A> | null;
  /** final hidden states (B, T, C) */
  out: A;
}

export function stackForward<A extends FloatArray>(
  ctx: Ctx<A>,
  cfg: ModelConfig,
  spec: StackSpec,
  tokens: Int32Array,
  B: number,
  T: number,
  keyMask: Uint8Array | null,
  cross: CrossInput<A> | null,
  /** called after each block with what it saved (before a later block may reuse its buffers) */
  onBlock?: (i: number, blk: BlockTape<A>) => void,
): StackTape<A> {
  const { ws, p } = ctx;
  const C = cfg.d_model;
  const N = B * T;
  const pre = cfg.norm === 'pre';
  const { names } = spec;
  const emb = ws.f(`${spec.key}.emb`, N * C); // (B, T, C)
  embedTokens(ctx, emb, tokens, p.get(names.posEmb), B, T, C);
  const embLn = pre ? null : layernorm(ctx, names.embLn.prefix, names.embLn, emb, N, C);
  const x0 = embLn ? embLn.out : emb;
  let x = ctx.dropout > 0 ? ws.f(`${spec.key}.x0`, N * C) : x0;
  const drop = dropout(ctx, `${spec.key}.x0`, x, x0, N * C);
  const geom: AttnGeom = { B, Tq: T, Tk: T, C, NH: cfg.n_heads, causal: spec.causal, keyMask };
  const blocks: BlockTape<A>[] = [];
  for (const blk of names.blocks) {
    const subs: BlockTape<A>['subs'] = [];
    // a sublayer's buffers are named after it: `layers.0.attn.qkv` holds that linear layer's output
    const run = (key: string, ln: NormNames, sub: Sublayer<A>): void => {
      const cache = residualForward(ctx, key, pre, ln, sub, x, N, C);
      subs.push({ key, ln, sub, cache });
      x = cache.y;
    };
    run(blk.attn.prefix, blk.ln1, selfAttention<A>(blk.attn, geom));
    if (cross) {
      const g: AttnGeom = { B, Tq: T, Tk: cross.Tk, C, NH: cfg.n_heads, causal: false, keyMask: cross.mask };
      run(blk.xattn.prefix, blk.lnx, crossAttention<A>(blk.xattn, g, cross.enc, cross.dEnc));
    }
    run(blk.mlp.prefix, blk.ln2, mlp<A>(blk.mlp, N, C, cfg.d_ff));
    blocks.push({ subs });
    onBlock?.(blocks.length - 1, { subs });
  }
  const lnf = pre ? layernorm(ctx, names.lnF.prefix, names.lnF, x, N, C) : null;
  return { spec, B, T, tokens, embLn, drop, blocks, lnf, out: lnf ? lnf.out : x };
}

/** Backpropagate dout (B, T, C) through the stack; parameter gradients accumulate. */
export function stackBackward<A extends FloatArray>(
  ctx: Ctx<A>,
  cfg: ModelConfig,
  t: StackTape<A>,
  dout: A,
): void {
  const { be, ws, g } = ctx;
  const C = cfg.d_model;
  const N = t.B * t.T;
  const n = N * C;
  const pre = cfg.norm === 'pre';
  const bufs = [ws.f(`${t.spec.key}.gA`, n), ws.f(`${t.spec.key}.gB`, n)] as const;
  /** a scratch gradient buffer that is not b */
  const other = (b: A): A => (b === bufs[0] ? bufs[1] : bufs[0]);
  let dy = dout;
  if (t.lnf) {
    dy = bufs[0];
    be.fill(dy, 0, n);
    layernormBack(ctx, t.spec.names.lnF, t.lnf, dy, dout, N, C);
  } else if (pre) {
    dy = bufs[0]; // pre-LN blocks add into dy in place: never into the caller's dout
    be.copy(dy, dout, n);
  }
  for (let i = t.blocks.length - 1; i >= 0; i--) {
    const subs = t.blocks[i]!.subs;
    for (let j = subs.length - 1; j >= 0; j--) {
      const s = subs[j]!;
      dy = residualBackward(ctx, pre, s.ln, s.sub, s.cache, dy, other(dy), N, C);
    }
  }
  // dy is now d(x after embedding dropout)
  let dx0 = dy;
  if (t.drop.p > 0) {
    dx0 = other(dy);
    dropoutBack(ctx, t.drop, dx0, dy, n);
  }
  let demb = dx0;
  if (t.embLn) {
    demb = other(dx0);
    be.fill(demb, 0, n);
    layernormBack(ctx, t.spec.names.embLn, t.embLn, demb, dx0, N, C);
  }
  be.embeddingBackward(g.get(HEAD_NAMES.tokEmb), g.get(t.spec.names.posEmb), demb, t.tokens, t.B, t.T, C);
}
