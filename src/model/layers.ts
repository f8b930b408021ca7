// Transformer layer math as explicit forward/backward pairs over the Backend (llm.c style):
// linear, self- and cross-attention, MLP, and the pre-/post-LN residual wrapper. Forward returns
// what backward needs; backward accumulates parameter gradients. No I/O, no training policy.
import type { AttnShape, Backend, FloatArray, Int8Weights } from '../engine/backend.ts';
import { hash32 } from '../engine/rng.ts';
import type { ParamViews } from './params.ts';
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
  prefix: string,
  N: number,
  In: number,
  Out: number,
): void {
  const bias = ctx.p.get(`${prefix}.bias`);
  const impl = ctx.linear?.get(prefix);
  const q = ctx.int8?.weights.get(prefix);
  if (impl) impl(out, inp, bias, N, In, Out);
  else if (q) ctx.be.linearInt8Forward(out, inp, q, bias, N, In, Out, ctx.int8!.outlierThreshold);
  else ctx.be.linearForward(out, inp, ctx.p.get(`${prefix}.weight`), bias, N, In, Out);
}

/** dinp (N, In) = dout W (overwrite, or += if accumulate); dW += dout^T inp; db += colsum(dout) */
export function linearBackward<A extends FloatArray>(
  ctx: Ctx<A>,
  dinp: A | null,
  dout: A,
  inp: A,
  prefix: string,
  N: number,
  In: number,
  Out: number,
  accumulate: boolean,
): void {
  const w = ctx.p.get(`${prefix}.weight`);
  ctx.be.linearBackward(
    dinp,
    ctx.g.get(`${prefix}.weight`),
    ctx.g.get(`${prefix}.bias`),
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
export interface SubCache<A extends FloatArray> {
  u: A;
  out: A;
  saved: A[];
}

/** A sublayer: forward(u) -> out (N, C); backward writes or accumulates dU. */
export interface Sublayer<A extends FloatArray> {
  forward(ctx: Ctx<A>, key: string, u: A): SubCache<A>;
  backward(ctx: Ctx<A>, c: SubCache<A>, dout: A, dU: A, accumulate: boolean): void;
}

export function selfAttention<A extends FloatArray>(prefix: string, g: AttnGeom): Sublayer<A> {
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
      const qkv = ws.f(`${key}.qkv`, N * 3 * C); // (B, T, 3C)
      const probs = ws.f(`${key}.probs`, B * g.NH * T * T); // (B, NH, T, T)
      const att = ws.f(`${key}.att`, N * C); // (B, T, C)
      const out = ws.f(`${key}.out`, N * C);
      linearForward(ctx, qkv, u, `${prefix}.qkv`, N, C, 3 * C);
      be.attentionForward(att, probs, qkv, qkv.subarray(C) as A, qkv.subarray(2 * C) as A, g.keyMask, shape);
      linearForward(ctx, out, att, `${prefix}.proj`, N, C, C);
      return { u, out, saved: [qkv, probs, att] };
    },
    backward(ctx, c, dout, dU, accumulate) {
      const { be, ws } = ctx;
      const [qkv, probs, att] = c.saved as [A, A, A];
      const datt = ws.f(`${SCRATCH}.self.datt`, N * C);
      const dqkv = ws.f(`${SCRATCH}.self.dqkv`, N * 3 * C);
      linearBackward(ctx, datt, dout, att, `${prefix}.proj`, N, C, C, false);
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
      linearBackward(ctx, dU, dqkv, c.u, `${prefix}.qkv`, N, C, 3 * C, accumulate);
    },
  };
}

/** Cross-attention: queries from u (B, Tq, C), keys/values from enc (B, Tk, C); dEnc accumulates. */
export function crossAttention<A extends FloatArray>(
  prefix: string,
  g: AttnGeom,
  enc: A,
  dEnc: A | null,
): Sublayer<A> {
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
      const q = ws.f(`${key}.q`, N * C);
      const kv = ws.f(`${key}.kv`, Nk * 2 * C);
      const probs = ws.f(`${key}.probs`, B * g.NH * Tq * Tk);
      const att = ws.f(`${key}.att`, N * C);
      const out = ws.f(`${key}.out`, N * C);
      linearForward(ctx, q, u, `${prefix}.q`, N, C, C);
      linearForward(ctx, kv, enc, `${prefix}.kv`, Nk, C, 2 * C);
      be.attentionForward(att, probs, q, kv, kv.subarray(C) as A, g.keyMask, shape);
      linearForward(ctx, out, att, `${prefix}.proj`, N, C, C);
      return { u, out, saved: [q, kv, probs, att] };
    },
    backward(ctx, c, dout, dU, accumulate) {
      const { be, ws } = ctx;
      const [q, kv, probs, att] = c.saved as [A, A, A, A];
      const datt = ws.f(`${SCRATCH}.cross.datt`, N * C);
      const dq = ws.f(`${SCRATCH}.cross.dq`, N * C);
      const dkv = ws.f(`${SCRATCH}.cross.dkv`, Nk * 2 * C);
      linearBackward(ctx, datt, dout, att, `${prefix}.proj`, N, C, C, false);
      be.attentionBackward(dq, dkv, dkv.subarray(C) as A, datt, q, kv, kv.subarray(C) as A, probs, shape);
      linearBackward(ctx, dEnc, dkv, enc, `${prefix}.kv`, Nk, C, 2 * C, true);
      linearBackward(ctx, dU, dq, c.u, `${prefix}.q`, N, C, C, accumulate);
    },
  };
}

export function mlp<A extends FloatArray>(prefix: string, N: number, C: number, F: number): Sublayer<A> {
  return {
    forward(ctx, key, u) {
      const { be, ws } = ctx;
      const h = ws.f(`${key}.h`, N * F); // (N, F) pre-activation
      const a = ws.f(`${key}.a`, N * F); // gelu(h)
      const out = ws.f(`${key}.out`, N * C);
      linearForward(ctx, h, u, `${prefix}.fc`, N, C, F);
      be.geluForward(a, h, N * F);
      linearForward(ctx, out, a, `${prefix}.proj`, N, F, C);
      return { u, out, saved: [h, a] };
    },
    backward(ctx, c, dout, dU, accumulate) {
      const { be, ws } = ctx;
      const [h, a] = c.saved as [A, A];
      const da = ws.f(`${SCRATCH}.mlp.da`, N * F);
      linearBackward(ctx, da, dout, a, `${prefix}.proj`, N, F, C, false);
      be.geluBackward(da, h, da, N * F);
      linearBackward(ctx, dU, da, c.u, `${prefix}.fc`, N, C, F, accumulate);
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
  prefix: string,
  inp: A,
  N: number,
  C: number,
): LnCache<A> {
  const out = ctx.ws.f(`${key}.out`, N * C);
  const mean = ctx.ws.f(`${key}.mean`, N);
  const rstd = ctx.ws.f(`${key}.rstd`, N);
  ctx.be.layernormForward(
    out,
    mean,
    rstd,
    inp,
    ctx.p.get(`${prefix}.weight`),
    ctx.p.get(`${prefix}.bias`),
    N,
    C,
  );
  return { inp, out, mean, rstd };
}

/** dinp += LN backward of dout */
export function layernormBack<A extends FloatArray>(
  ctx: Ctx<A>,
  prefix: string,
  c: LnCache<A>,
  dinp: A,
  dout: A,
  N: number,
  C: number,
): void {
  ctx.be.layernormBackward(
    dinp,
    ctx.g.get(`${prefix}.weight`),
    ctx.g.get(`${prefix}.bias`),
    dout,
    c.inp,
    ctx.p.get(`${prefix}.weight`),
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
  lnPrefix: string,
  sub: Sublayer<A>,
  x: A,
  N: number,
  C: number,
): ResCache<A> {
  const n = N * C;
  const { be, ws } = ctx;
  const branch = (u: A): { sc: SubCache<A>; d: A; drop: DropCache } => {
    const sc = sub.forward(ctx, `${key}.f`, u);
    const d = ctx.dropout > 0 ? ws.f(`${key}.d`, n) : sc.out;
    return { sc, d, drop: dropout(ctx, `${key}.drop`, d, sc.out, n) };
  };
  if (pre) {
    const ln = layernorm(ctx, `${key}.ln`, lnPrefix, x, N, C);
    const { sc, d, drop } = branch(ln.out);
    const y = ws.f(`${key}.y`, n);
    be.add(y, x, d, n);
    return { ln, sub: sc, drop, y };
  }
  const { sc, d, drop } = branch(x);
  const s = ws.f(`${key}.s`, n);
  be.add(s, x, d, n);
  const ln = layernorm(ctx, `${key}.ln`, lnPrefix, s, N, C);
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
  lnPrefix: string,
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
    layernormBack(ctx, lnPrefix, c.ln, dy, dln, N, C);
    return dy;
  }
  // y = LN(x + drop(f(x))): dx = ds + f'(drop'(ds)) with ds = LN'(dy)
  be.fill(dx, 0, n);
  layernormBack(ctx, lnPrefix, c.ln, dx, dy, N, C);
  const dsub = ws.f(`${SCRATCH}.res.dsub`, n);
  dropoutBack(ctx, c.drop, dsub, dx, n);
  sub.backward(ctx, c.sub, dsub, dx, true);
  return dx;
}
