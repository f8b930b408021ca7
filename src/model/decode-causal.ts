// Incremental generation for decoder-only (causal LM) models with a key/value cache: one prefill
// forward over the prompts (the training forward, stackForward, whose per-layer keys/values are
// copied into the cache), then ONE new position per live row per step. Rows have their own lengths
// (prompts of different lengths share a batch) and can be dropped or reordered between steps.
// The same code runs a dense Transformer and the compressed runtime: both are a `CausalLm` (a
// config and a forward-only Ctx whose linear hook picks the weight form). Eval mode only: no
// dropout, no backward. Token choice (greedy, sampling) is the caller's `pick`; the uncached
// reference `generateUncached` recomputes the whole prefix with the model's forwardLm.
import { argmaxRow } from '../engine/argmax.ts';
import type { AttnShape, FloatArray } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { LmBatch } from './batch.ts';
import type { ModelConfig } from './config.ts';
import type { HeadTape } from './heads.ts';
import { type Ctx, layernorm, linearForward, mlp, residualForward, type Sublayer } from './layers.ts';
import { modelStacks, type SelfAttnNames, type StackNames, selfAttnNames } from './names.ts';
import { type StackSpec, stackForward } from './stack.ts';
import { embedTokens, tiedOutput } from './tied.ts';
import type { Transformer } from './transformer.ts';

/** What cached generation needs of a decoder: its config and a forward-only context over its weights. */
export interface CausalLm<A extends FloatArray> {
  readonly cfg: ModelConfig;
  inferCtx(): Ctx<A>;
}

/** A dense Transformer (decoder family) as a CausalLm. */
export function denseCausalLm<A extends FloatArray>(m: Transformer<A>): CausalLm<A> {
  return {
    cfg: m.cfg,
    inferCtx: () => ({ be: m.be, ws: m.evalWs, p: m.p, g: m.g, dropout: 0, seed: 0, site: 0 }),
  };
}

/** the CausalCache that holds each workspace's cache buffers now (a newer one takes them over) */
const owners = new WeakMap<object, object>();

function noBackward(): never {
  throw new Error('incremental decoding has no backward');
}

/** Key/value caches of every layer for up to `maxRows` rows of at most `Tcap` positions. */
export class CausalCache<A extends FloatArray> {
  /** live rows */
  n = 0;
  /** original row (prompt index in the prefill) of each live row */
  rows: Int32Array = new Int32Array(0);
  /** filled positions of each live row: the position its next token takes */
  len: Int32Array = new Int32Array(0);
  readonly Tcap: number;
  readonly cfg: ModelConfig;
  private readonly ctx: Ctx<A>;
  /** the decoder stack's tensor names */
  private readonly names: StackNames;
  /** per layer (maxRows, Tcap, 2C): key | value of each filled position */
  private self: A[];
  /** the gather target of reorder, made at the first reorder (a single stream never needs it) */
  private spare: A[] | null = null;
  /** (n, Tcap) 1 = a filled cache position */
  private mask = new Uint8Array(0);

  constructor(
    lm: CausalLm<A>,
    readonly maxRows: number,
    Tcap: number,
  ) {
    this.cfg = lm.cfg;
    if (this.cfg.family !== 'decoder')
      throw new InputError(
        `cached generation needs a decoder (causal LM) model, this one is ${this.cfg.family}`,
        'train with --config tiny-decoder (or another decoder config)',
      );
    this.ctx = lm.inferCtx();
    this.names = modelStacks(this.cfg).dec;
    this.Tcap = Math.max(1, Math.min(Tcap, this.cfg.max_len));
    const size = maxRows * this.Tcap * 2 * this.cfg.d_model;
    // the caches live in the model's workspace: a new CausalCache (the next request) reuses the
    // last one's memory instead of allocating its own while the old one waits for the collector
    const { ws } = this.ctx;
    this.self = this.names.blocks.map((_, i) => ws.f(`cdec.cache.L${i}`, size));
    owners.set(ws, this);
  }

  /**
   * Run the prompts (each non-empty, at most Tcap tokens) through the model in one padded forward,
   * fill the cache with their keys/values, and return the next-token logits of each prompt's last
   * position (B, V) (a workspace view, valid until the next forward).
   */
  prefill(prompts: readonly Int32Array[]): A {
    this.checkOwner();
    const { cfg, ctx, Tcap } = this;
    const { be } = ctx;
    const B = prompts.length;
    const C = cfg.d_model;
    if (B === 0 || B > this.maxRows)
      throw new InputError(`cached generation: expected 1 to ${this.maxRows} prompts, found ${B}`);
    const P = Math.max(...prompts.map((p) => p.length));
    if (prompts.some((p) => p.length === 0) || P > Tcap)
      throw new InputError(
        `cached generation: each prompt needs 1 to ${Tcap} tokens, found ${Math.min(...prompts.map((p) => p.length))} to ${P}`,
        'shorten the prompt or ask for fewer new tokens',
      );
    const tokens = new Int32Array(B * P);
    const keyMask = new Uint8Array(B * P);
    const targets = new Int32Array(B * P).fill(-1);
    prompts.forEach((p, r) => {
      for (const t of p)
        if (t < 0 || t >= cfg.vocab)
          throw new InputError(`cached generation: token id ${t} is outside [0, ${cfg.vocab})`);
      tokens.set(p, r * P);
      keyMask.fill(1, r * P, r * P + p.length);
      targets[r * P + p.length - 1] = 0; // a logits row at the last prompt position; the loss is unused
    });
    const spec: StackSpec = { key: 'cdec', names: this.names, causal: true };
    // each layer's keys/values are copied as the forward passes it: a forward-only workspace
    // reuses one layer's buffers for the next
    const st = stackForward(ctx, cfg, spec, tokens, B, P, keyMask, null, (i, blk) => {
      const qkv = blk.subs[0]!.cache.sub.saved[0]!; // (B, P, 3C) of this layer's self-attention
      const cache = this.self[i]!;
      prompts.forEach((p, r) => {
        for (let t = 0; t < p.length; t++)
          be.copy(
            cache.subarray((r * Tcap + t) * 2 * C) as A,
            qkv.subarray((r * P + t) * 3 * C + C) as A,
            2 * C,
          );
      });
    });
    this.n = B;
    this.rows = Int32Array.from({ length: B }, (_, r) => r);
    this.len = Int32Array.from(prompts, (p) => p.length);
    this.mask = new Uint8Array(B * Tcap);
    prompts.forEach((p, r) => {
      this.mask.fill(1, r * Tcap, r * Tcap + p.length);
    });
    return this.head(st.out, targets);
  }

  private checkOwner(): void {
    if (owners.get(this.ctx.ws) !== this)
      throw new Error('cached generation: a newer CausalCache on the same model took over this one’s cache');
  }

  /** Logits (rows with a target, V) of the tied output embedding over h. */
  private head(h: A, targets: Int32Array): A {
    const { cfg, ctx } = this;
    const { be, ws } = ctx;
    const C = cfg.d_model;
    let n = 0;
    const idx = ws.i32('cdec.head.idx', targets.length);
    targets.forEach((t, i) => {
      if (t >= 0) idx[n++] = i;
    });
    const hsel = ws.f('cdec.head.h', n * C);
    be.gatherRows(hsel, h, idx.subarray(0, n), n, C);
    const logits = ws.f('cdec.head.logits', n * cfg.vocab);
    tiedOutput(ctx, logits, hsel, null, n, C, cfg.vocab);
    return logits;
  }

  /**
   * Append `tokens` (n: one per live row) at each row's next position and return the next-token
   * logits (n, V) (a workspace view, valid until the next forward).
   */
  step(tokens: Int32Array): A {
    this.checkOwner();
    const { n, Tcap, cfg, ctx } = this;
    const { be, ws, p } = ctx;
    if (tokens.length !== n)
      throw new InputError(`cached generation: expected ${n} tokens, found ${tokens.length}`);
    for (let r = 0; r < n; r++) {
      const tk = tokens[r]!;
      if (tk < 0 || tk >= cfg.vocab)
        throw new InputError(`cached generation: token id ${tk} is outside [0, ${cfg.vocab})`);
      if (this.len[r]! >= Tcap)
        throw new InputError(`cached generation: row ${this.rows[r]} is full (${Tcap} positions)`);
    }
    const C = cfg.d_model;
    const pre = cfg.norm === 'pre';
    const { names } = this;
    const emb = ws.f('cinc.emb', n * C); // (n, 1, C): token + position len[r] of each row
    const pos = ws.f('cinc.pos', n * C);
    embedTokens(ctx, emb, tokens, null, n, 1, C);
    be.gatherRows(pos, p.get(names.posEmb), this.len, n, C);
    be.add(emb, emb, pos, n * C);
    for (let r = 0; r < n; r++) this.mask[r * Tcap + this.len[r]!] = 1;
    let x = pre ? emb : layernorm(ctx, 'cinc.embln', names.embLn, emb, n, C).out;
    names.blocks.forEach((blk, i) => {
      // a step's buffers are its sublayer's, under 'cinc.' (apart from the prefill's)
      const att = this.selfStep(blk.attn, i);
      x = residualForward(ctx, `cinc.${blk.attn.prefix}`, pre, blk.ln1, att, x, n, C).y;
      const ff = mlp<A>(blk.mlp, n, C, cfg.d_ff);
      x = residualForward(ctx, `cinc.${blk.mlp.prefix}`, pre, blk.ln2, ff, x, n, C).y;
    });
    const h = pre ? layernorm(ctx, 'cinc.lnf', names.lnF, x, n, C).out : x;
    const logits = ws.f('cinc.logits', n * cfg.vocab); // (n, V), the tied output embedding
    tiedOutput(ctx, logits, h, null, n, C, cfg.vocab);
    for (let r = 0; r < n; r++) this.len[r]!++;
    return logits;
  }

  /** Self-attention of each row's new position over its cached prefix (its own key/value appended first). */
  private selfStep(names: SelfAttnNames, i: number): Sublayer<A> {
    const { n, Tcap } = this;
    const C = this.cfg.d_model;
    const cache = this.self[i]!;
    const shape: AttnShape = {
      B: n,
      Tq: 1,
      Tk: Tcap,
      C,
      NH: this.cfg.n_heads,
      causal: false,
      qStride: 3 * C,
      kStride: 2 * C,
      vStride: 2 * C,
    };
    return {
      forward: (ctx, key, u) => {
        const { be, ws } = ctx;
        const w = selfAttnNames(key);
        const qkv = ws.f(w.qkv.prefix, n * 3 * C); // (n, 3C)
        const probs = ws.f(`${key}.probs`, n * shape.NH * Tcap);
        const att = ws.f(`${key}.att`, n * C);
        const out = ws.f(w.proj.prefix, n * C);
        linearForward(ctx, qkv, u, names.qkv, n, C, 3 * C);
        for (let r = 0; r < n; r++) {
          const dst = cache.subarray((r * Tcap + this.len[r]!) * 2 * C) as A;
          be.copy(dst, qkv.subarray(r * 3 * C + C) as A, 2 * C); // key and value of row r's new position
        }
        be.attentionForward(att, probs, qkv, cache, cache.subarray(C) as A, this.mask, shape);
        linearForward(ctx, out, att, names.proj, n, C, C);
        return { u, out, saved: [] };
      },
      backward: noBackward,
    };
  }

  /** Keep the live rows `keep` (indices into the current rows, repeats allowed), in that order. */
  reorder(keep: Int32Array): void {
    this.checkOwner();
    const { be } = this.ctx;
    const { Tcap } = this;
    const m = keep.length;
    for (const r of keep) if (r < 0 || r >= this.n) throw new Error(`reorder: row ${r} of ${this.n}`);
    if (m > 0) {
      const row = Tcap * 2 * this.cfg.d_model;
      this.spare ??= this.self.map(() => be.alloc(this.maxRows * row));
      const spare = this.spare;

      this.self.forEach((c, i) => {
        be.gatherRows(spare[i]!, c, keep, m, row);
        [this.self[i], spare[i]] = [spare[i]!, c];
      });
    }
    const mask = new Uint8Array(m * Tcap);
    keep.forEach((r, i) => {
      mask.set(this.mask.subarray(r * Tcap, (r + 1) * Tcap), i * Tcap);
    });
    this.mask = mask;
    this.rows = Int32Array.from(keep, (r) => this.rows[r]!);
    this.len = Int32Array.from(keep, (r) => this.len[r]!);
    this.n = m;
  }
}

/** Chooses row `row`'s next token from its logits x[off .. off + V) (`step`: tokens generated so far). */
export type PickToken = (row: number, step: number, x: ArrayLike<number>, off: number, V: number) => number;

/** The greedy choice: the most likely token (lowest id on ties). */
export const greedyPick: PickToken = (_r, _s, x, off, V) => argmaxRow(x, off, V);

export interface Generated {
  /** the new tokens (the end token excluded) */
  tokens: Int32Array;
  /** the model's log-probability (temperature 1) of each new token, then of the end token when it came */
  logprobs: Float64Array;
  /** whether generation stopped at the end token (false: maxNew tokens or the position limit) */
  ended: boolean;
}

export interface GenerateOptions {
  /** new tokens per prompt at most (also capped by max_len - prompt length) */
  maxNew: number;
  /** the end token (-1: none) */
  eos: number;
  pick?: PickToken;
}

/** The number of new tokens a prompt of P tokens may get. */
export function newTokenLimit(cfg: ModelConfig, P: number, maxNew: number): number {
  return Math.max(0, Math.min(maxNew, cfg.max_len - P));
}

/**
 * Generation with the key/value cache for a batch of prompts: prefill, then one step per new
 * token; a row that produced the end token (or reached its limit) leaves the batch.
 */
export function generateCached<A extends FloatArray>(
  lm: CausalLm<A>,
  prompts: readonly Int32Array[],
  o: GenerateOptions,
): Generated[] {
  const { cfg } = lm;
  const V = cfg.vocab;
  const pick = o.pick ?? greedyPick;
  const B = prompts.length;
  const limit = prompts.map((p) => newTokenLimit(cfg, p.length, o.maxNew));
  const Tcap = Math.max(...prompts.map((p, r) => p.length + limit[r]!));
  const cache = new CausalCache(lm, B, Tcap);
  const out: number[][] = prompts.map(() => []);
  const lps: number[][] = prompts.map(() => []);
  const ended = new Array<boolean>(B).fill(false);
  const lp = new Float64Array(V);
  let logits = cache.prefill(prompts);
  for (;;) {
    const keep: number[] = [];
    const next: number[] = [];
    for (let j = 0; j < cache.n; j++) {
      const r = cache.rows[j]!;
      if (out[r]!.length >= limit[r]!) continue;
      const tk = pick(r, out[r]!.length, logits, j * V, V);
      lps[r]!.push(logSoftmaxRow(logits, j * V, V, lp)[tk]!);
      if (tk === o.eos) ended[r] = true;
      else {
        out[r]!.push(tk);
        if (out[r]!.length < limit[r]!) {
          keep.push(j);
          next.push(tk);
        }
      }
    }
    if (keep.length === 0) break;
    if (keep.length < cache.n) cache.reorder(Int32Array.from(keep));
    logits = cache.step(Int32Array.from(next));
  }
  return out.map((y, r) => ({
    tokens: Int32Array.from(y),
    logprobs: Float64Array.from(lps[r]!),
    ended: ended[r]!,
  }));
}

/** A forward over an LM batch: the logits at the positions whose target is not -1. */
export type LmForward<A extends FloatArray> = (b: LmBatch) => HeadTape<A>;

/**
 * The reference: the same generation without a cache, each row's whole sequence recomputed by
 * `forward` (the model's forwardLm) for every new token, one row at a time.
 */
export function generateUncached<A extends FloatArray>(
  cfg: ModelConfig,
  forward: LmForward<A>,
  prompts: readonly Int32Array[],
  o: GenerateOptions,
): Generated[] {
  const V = cfg.vocab;
  const pick = o.pick ?? greedyPick;
  const lp = new Float64Array(V);
  return prompts.map((prompt, r) => {
    const limit = newTokenLimit(cfg, prompt.length, o.maxNew);
    const seq = [...prompt];
    const lps: number[] = [];
    let ended = false;
    while (seq.length - prompt.length < limit) {
      const T = seq.length;
      const targets = new Int32Array(T).fill(-1);
      targets[T - 1] = 0;
      const h = forward({ B: 1, T, tokens: Int32Array.from(seq), keyMask: null, targets });
      const tk = pick(r, T - prompt.length, h.logits, 0, V);
      lps.push(logSoftmaxRow(h.logits, 0, V, lp)[tk]!);
      if (tk === o.eos) {
        ended = true;
        break;
      }
      seq.push(tk);
    }
    return { tokens: Int32Array.from(seq.slice(prompt.length)), logprobs: Float64Array.from(lps), ended };
  });
}

/** out[v] = log-softmax of the row x[off .. off + V) in double (the reference for the logged log-probs). */
function logSoftmaxRow(x: ArrayLike<number>, off: number, V: number, out: Float64Array): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (x[off + v]! > max) max = x[off + v]!;
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(x[off + v]! - max);
  const lse = max + Math.log(sum);
  for (let v = 0; v < V; v++) out[v] = x[off + v]! - lse;
  return out;
}
