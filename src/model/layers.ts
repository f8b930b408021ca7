// Transformer layer math as explicit forward/backward pairs over the Backend (llm.c style):
// linear, self- and cross-attention, MLP, and the pre-/post-LN residual wrapper. Forward returns
// what backward needs; backward accumulates parameter gradients. No I/O, no training policy.
import type { AttnShape, Backend, FloatArray, Int8Weights } from '../engine/backend.ts';
import { hash32 } from '../engine/rng.ts';
import {
  type CrossAttnNames,
  crossAttnNames,
  type LinearNames,
  type MlpNames,
  mlpNames,
  type NormNames,
  type SelfAttnNames,
  selfAttnNames,
} from './names.ts';
import type { ParamViews } from './params.ts';
import type { TiedEmbedding } from './tied.ts';
import type { Workspace } from './workspace.ts';

export interface Ctx<A extends FloatArray> {
  be: Backend<A>;
  ws: Workspace<A>;
  p: ParamViews<A>;
  g: ParamViews<A>;
  /** dropout probability when training (0 in eval) */
  dropout: number;
  /** per-step seed; each dropout site draws hash32(seed, site) */
  seed: number;
  /** next dropout site number (advanced by forward) */
  site: number;
  /**
   * Inference with compressed weights: the linear layers whose prefix is in this map run its
   * implementation (int8, k-bit, sparse ... kernels; their fp32 weight need not exist in `p`),
   * the others the fp32 linear; forward only.
   */
  linear?: ReadonlyMap<string, LinearImpl<A>>;
  /** @deprecated the int8 runtime's earlier hook, kept for existing callers: use `linear` */
  int8?: { weights: ReadonlyMap<string, Int8Weights>; outlierThreshold: number };
  /**
   * Inference with the tied token embedding held compressed (its fp32 weight need not exist in
   * `p`): the lookup and the output projection run on this form; forward only.
   */
  tied?: TiedEmbedding<A>;
}

/** A linear layer's forward with its weight held in some compressed form: out (N, Out) = inp W^T + bias. */
export type LinearImpl<A extends FloatArray> = (
  out: A,
  inp: A,
  bias: A | null,
  N: number,
  In: number,
  Out: number,
) => void;

/**
 * Workspace prefix of backward scratch: buffers a sublayer's backward fills and reads within one
 * call (gradients of its internal activations). One set serves every layer, since the layers'
 * backwards run one after another; only what forward saves for backward is held per layer.
 */
const SCRATCH = 'bwd';

// ---- linear: out (N, Out) = inp (N, In) W^T + b, W stored (Out, In) -------------------------
export function linearForward<A extends FloatArray>(
  ctx: Ctx<A>,
  out: A,
  inp: A,
  n: LinearNames,
  N: number,
  In: number,
  Out: number,
): void {
  const bias = ctx.p.get(n.bias);
  const impl = ctx.linear?.get(n.prefix);
  const q = ctx.int8?.weights.get(n.prefix);
  if (impl) impl(out, inp, bias, N, In, Out);
  else if (q) ctx.be.linearInt8Forward(out, inp, q, bias, N, In, Out, ctx.int8!.outlierThreshold);
  else ctx.be.linearForward(out, inp, ctx.p.get(n.weight), bias, N, In, Out);
}

/** dinp (N, In) = dout W (overwrite, or += if accumulate); dW += dout^T inp; db += colsum(dout) */
export function linearBackward<A extends FloatArray>(
  ctx: Ctx<A>,
  dinp: A | null,
  dout: A,
  inp: A,
  names: LinearNames,
  N: number,
  In: number,
  Out: number,
  accumulate: boolean,
): void {
  const w = ctx.p.get(names.weight);
  ctx.be.linearBackward(
    dinp,
    ctx.g.get(names.weight),
    ctx.g.get(names.bias),
    dout,
    inp,
    w,
    N,
    In,
    Out,
    accumulate,
  );
}

/** Geometry of one attention call. */
export interface AttnGeom {
  B: number;
  Tq: number;
  Tk: number;
  C: number;
  NH: number;
  causal: boolean;
  keyMask: Uint8Array | null;
}

// ---- sublayers: each maps u (N, C) to out (N, C) -------------------------------------------
/** What a sublayer's forward keeps for its backward: input, output, and its own activations S. */
export interface SubCache<A extends FloatArray, S extends readonly A[] = readonly A[]> {
  u: A;
  out: A;
  saved: S;
}

/**
 * A sublayer: forward(u) -> out (N, C); backward writes or accumulates dU. S types what forward
 * saves (e.g. [qkv, probs, att]), so backward reads it back without casts.
 */
export interface Sublayer<A extends FloatArray, S extends readonly A[] = readonly A[]> {
  forward(ctx: Ctx<A>, key: string, u: A): SubCache<A, S>;
  backward(ctx: Ctx<A>, c: SubCache<A, S>, dout: A, dU: A, accumulate: boolean): void;
}

/**
 * Self-attention; its workspace buffers are named after the tensors that fill them, under `key`
 * (the stacks pass the sublayer's own name, e.g. `layers.0.attn`: `layers.0.attn.qkv` holds the
 * output of the linear layer `layers.0.attn.qkv`).
 */
export function selfAttention<A extends FloatArray>(
  n: SelfAttnNames,
  g: AttnGeom,
): Sublayer<A, readonly [qkv: A, probs: A, att: A]> {
  const { B, Tq: T, C } = g;
  const N = B * T;
  const shape: AttnShape = {
    B,
    Tq: T,
    Tk: T,
    C,
    NH: g.NH,
    causal: g.causal,
    qStride: 3 * C,
    kStride: 3 * C,
    vStride: 3 * C,
  };
  return {
    forward(ctx, key, u) {
      const { be, ws } = ctx;
      const w = selfAttnNames(key);
      const qkv = ws.f(w.qkv.prefix, N * 3 * C); // (B, T, 3C)
      const probs = ws.f(`${key}.probs`, B * g.NH * T * T); // (B, NH, T, T)
      const att = ws.f(`${key}.att`, N * C); // (B, T, C)
      const out = ws.f(w.proj.prefix, N * C);
      linearForward(ctx, qkv, u, n.qkv, N, C, 3 * C);
      be.attentionForward(att, probs, qkv, qkv.subarray(C) as A, qkv.subarray(2 * C) as A, g.keyMask, shape);
      linearForward(ctx, out, att, n.proj, N, C, C);
      return { u, out, saved: [qkv, probs, att] };
    },
    backward(ctx, c, dout, dU, accumulate) {
      const { be, ws } = ctx;
      const [qkv, probs, att] = c.saved;
      const datt = ws.f(`${SCRATCH}.self.datt`, N * C);
      const dqkv = ws.f(`${SCRATCH}.self.dqkv`, N * 3 * C);
      linearBackward(ctx, datt, dout, att, n.proj, N, C, C, false);
      const q = qkv;
      const k = qkv.subarray(C) as A;
      const v = qkv.subarray(2 * C) as A;
      be.attentionBackward(
        dqkv,
        dqkv.subarray(C) as A,
        dqkv.subarray(2 * C) as A,
        datt,
        q,
        k,
        v,
        probs,
        shape,
      );
      linearBackward(ctx, dU, dqkv, c.u, n.qkv, N, C, 3 * C, accumulate);
    },
  };
}

/** Cross-attention: queries from u (B, Tq, C), keys/values from enc (B, Tk, C); dEnc accumulates. */
export function crossAttention<A extends FloatArray>(
  n: CrossAttnNames,
  g: AttnGeom,
  enc: A,
  dEnc: A | null,
): Sublayer<A, readonly [q: A, kv: A, probs: A, att: A]> {
  const { B, Tq, Tk, C } = g;
  const N = B * Tq;
  const Nk = B * Tk;
  const shape: AttnShape = {
    B,
    Tq,
    Tk,
    C,
    NH: g.NH,
    causal: false,
    qStride: C,
    kStride: 2 * C,
    vStride: 2 * C,
  };
  return {
    forward(ctx, key, u) {
      const { be, ws } = ctx;
      const w = crossAttnNames(key);
      const q = ws.f(w.q.prefix, N * C);
      const kv = ws.f(w.kv.prefix, Nk * 2 * C);
      const probs = ws.f(`${key}.probs`, B * g.NH * Tq * Tk);
      const att = ws.f(`${key}.att`, N * C);
      const out = ws.f(w.proj.prefix, N * C);
      linearForward(ctx, q, u, n.q, N, C, C);
      linearForward(ctx, kv, enc, n.kv, Nk, C, 2 * C);
      be.attentionForward(att, probs, q, kv, kv.subarray(C) as A, g.keyMask, shape);
      linearForward(ctx, out, att, n.proj, N, C, C);
      return { u, out, saved: [q, kv, probs, att] };
    },
    backward(ctx, c, dout, dU, accumulate) {
      const { be, ws } = ctx;
      const [q, kv, probs, att] = c.saved;
      const datt = ws.f(`${SCRATCH}.cross.datt`, N * C);
      const dq = ws.f(`${SCRATCH}.cross.dq`, N * C);
      const dkv = ws.f(`${SCRATCH}.cross.dkv`, Nk * 2 * C);
      linearBackward(ctx, datt, dout, att, n.proj, N, C, C, false);
      be.attentionBackward(dq, dkv, dkv.subarray(C) as A, datt, q, kv, kv.subarray(C) as A, probs, shape);
      linearBackward(ctx, dEnc, dkv, enc, n.kv, Nk, C, 2 * C, true);
      linearBackward(ctx, dU, dq, c.u, n.q, N, C, C, accumulate);
    },
  };
}

export function mlp<A extends FloatArray>(
  n: MlpNames,
  N: number,
  C: number,
  F: number,
): Sublayer<A, readonly [h: A, gelu: A]> {
  return {
    forward(ctx, key, u) {
      const { be, ws } = ctx;
      const w = mlpNames(key);
      const h = ws.f(w.fc.prefix, N * F); // (N, F) pre-activation
      const a = ws.shareLayers ? h : ws.f(`${key}.gelu`, N * F); // gelu(h); forward only: over h
      const out = ws.f(w.proj.prefix, N * C);
      linearForward(ctx, h, u, n.fc, N, C, F);
      be.geluForward(a, h, N * F);
      linearForward(ctx, out, a, n.proj, N, F, C);
      return { u, out, saved: [h, a] };
    },
    backward(ctx, c, dout, dU, accumulate) {
      const { be, ws } = ctx;
      const [h, a] = c.saved;
      const da = ws.f(`${SCRATCH}.mlp.da`, N * F);
      linearBackward(ctx, da, dout, a, n.proj, N, F, C, false);
      be.geluBackward(da, h, da, N * F);
      linearBackward(ctx, dU, da, c.u, n.fc, N, C, F, accumulate);
    },
  };
}

// ---- dropout site ---------------------------------------------------------------------------
export interface DropCache {
  mask: Uint8Array;
  p: number;
}

/** out = dropout(inp) at the next site (a copy when p = 0). */
export function dropout<A extends FloatArray>(
  ctx: Ctx<A>,
  key: string,
  out: A,
  inp: A,
  n: number,
): DropCache {
  const site = ctx.site++;
  const mask = ctx.ws.u8(`${key}.mask`, ctx.dropout > 0 ? n : 0);
  if (ctx.dropout > 0) ctx.be.dropoutForward(out, mask, inp, ctx.dropout, hash32(ctx.seed, site), n);
  else if (out !== inp) ctx.be.copy(out, inp, n);
  return { mask, p: ctx.dropout };
}

export function dropoutBack<A extends FloatArray>(
  ctx: Ctx<A>,
  d: DropCache,
  dinp: A,
  dout: A,
  n: number,
): void {
  if (d.p > 0) ctx.be.dropoutBackward(dinp, dout, d.mask, d.p, n);
  else if (dinp !== dout) ctx.be.copy(dinp, dout, n);
}

// ---- layer norm -------------------------------------------------------------------------------
export interface LnCache<A extends FloatArray> {
  inp: A;
  out: A;
  mean: A;
  rstd: A;
}

export function layernorm<A extends FloatArray>(
  ctx: Ctx<A>,
  key: string,
  n: NormNames,
  inp: A,
  N: number,
  C: number,
): LnCache<A> {
  const out = ctx.ws.f(`${key}.out`, N * C);
  const mean = ctx.ws.f(`${key}.mean`, N);
  const rstd = ctx.ws.f(`${key}.rstd`, N);
  ctx.be.layernormForward(out, mean, rstd, inp, ctx.p.get(n.weight), ctx.p.get(n.bias), N, C);
  return { inp, out, mean, rstd };
}

/** dinp += LN backward of dout */
export function layernormBack<A extends FloatArray>(
  ctx: Ctx<A>,
  names: NormNames,
  c: LnCache<A>,
  dinp: A,
  dout: A,
  N: number,
  C: number,
): void {
  ctx.be.layernormBackward(
    dinp,
    ctx.g.get(names.weight),
    ctx.g.get(names.bias),
    dout,
    c.inp,
    ctx.p.get(names.weight),
    c.mean,
    c.rstd,
    N,
    C,
  );
}

// ---- residual wrapper: pre-LN y = x + drop(f(LN(x))); post-LN y = LN(x + drop(f(x))) --------
export interface ResCache<A extends FloatArray> {
  ln: LnCache<A>;
  sub: SubCache<A>;
  drop: DropCache;
  y: A;
}

export function residualForward<A extends FloatArray>(
  ctx: Ctx<A>,
  key: string,
  pre: boolean,
  lnNames: NormNames,
  sub: Sublayer<A>,
  x: A,
  N: number,
  C: number,
): ResCache<A> {
  const n = N * C;
  const { be, ws } = ctx;
  const branch = (u: A): { sc: SubCache<A>; d: A; drop: DropCache } => {
    const sc = sub.forward(ctx, key, u); // the sublayer's buffers and the residual's share `key`
    const d = ctx.dropout > 0 ? ws.f(`${key}.d`, n) : sc.out;
    return { sc, d, drop: dropout(ctx, `${key}.drop`, d, sc.out, n) };
  };
  if (pre) {
    const ln = layernorm(ctx, `${key}.ln`, lnNames, x, N, C);
    const { sc, d, drop } = branch(ln.out);
    const y = ws.f(`${key}.y`, n);
    be.add(y, x, d, n);
    return { ln, sub: sc, drop, y };
  }
  const { sc, d, drop } = branch(x);
  const s = ws.f(`${key}.s`, n);
  be.add(s, x, d, n);
  const ln = layernorm(ctx, `${key}.ln`, lnNames, s, N, C);
  return { ln, sub: sc, drop, y: ln.out };
}

/**
 * dx = d(y)/d(x) applied to dy; returns the buffer holding dx. Pre-LN adds the branch's gradient to
 * dy in place and returns dy (the residual stream's gradient needs no copy); post-LN overwrites dx
 * (which must not alias dy) and returns it.
 */
export function residualBackward<A extends FloatArray>(
  ctx: Ctx<A>,
  pre: boolean,
  lnNames: NormNames,
  sub: Sublayer<A>,
  c: ResCache<A>,
  dy: A,
  dx: A,
  N: number,
  C: number,
): A {
  const n = N * C;
  const { be, ws } = ctx;
  if (pre) {
    // y = x + drop(f(LN(x))): dx = dy + LN'(f'(drop'(dy))); without dropout the branch reads dy itself,
    // and is done with it before LN' adds into it
    let dsub = dy;
    if (c.drop.p > 0) {
      dsub = ws.f(`${SCRATCH}.res.dsub`, n);
      dropoutBack(ctx, c.drop, dsub, dy, n);
    }
    const dln = ws.f(`${SCRATCH}.res.dln`, n);
    sub.backward(ctx, c.sub, dsub, dln, false);
    layernormBack(ctx, lnNames, c.ln, dy, dln, N, C);
    return dy;
  }
  // y = LN(x + drop(f(x))): dx = ds + f'(drop'(ds)) with ds = LN'(dy)
  be.fill(dx, 0, n);
  layernormBack(ctx, lnNames, c.ln, dx, dy, N, C);
  const dsub = ws.f(`${SCRATCH}.res.dsub`, n);
  dropoutBack(ctx, c.drop, dsub, dx, n);
  sub.backward(ctx, c.sub, dsub, dx, true);
  return dx;
}
