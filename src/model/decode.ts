// Incremental decoding of the encoder-decoder model with a key/value cache: the encoder runs once
// per batch, each decoder layer's cross-attention keys/values of the encoder output are computed
// once, its self-attention keys/values are cached for the generated prefix, and each step runs the
// decoder on ONE new position per live row. Rows can be dropped or reordered between steps (beam
// search, finished sentences). Greedy decoding and teacher-forced rescoring live here too; beam
// search is in beam.ts. Eval mode only: no dropout, no backward.
import type { FloatArray } from '../engine/backend.ts';
import type { AttendOneShape } from '../engine/decode-kernels.ts';
import { InputError } from '../engine/errors.ts';
import type { ModelConfig } from './config.ts';
import { type Ctx, layernorm, linearForward, mlp, residualForward, type Sublayer } from './layers.ts';
import {
  type CrossAttnNames,
  crossAttnNames,
  HEAD_NAMES,
  modelStacks,
  type NormNames,
  type SelfAttnNames,
  type StackNames,
  selfAttnNames,
} from './names.ts';
import type { Transformer } from './transformer.ts';

/**
 * Per decoder layer: the self-attention cache (rows, Tcap, 2C) (key | value) and the cross
 * keys/values (B, Ts, 2C) of each source, computed once (a row reads its source's block).
 */
interface LayerCache<A extends FloatArray> {
  self: A;
  cross: A;
}

/**
 * The decoder that holds each model's cache buffers. They live in the model's workspace and are
 * reused by the next decoder (fresh buffers of tens of MB per batch cost more in first-touch page
 * faults than a step's work), so one decoder per model is live at a time: a newer one takes over.
 */
const owners = new WeakMap<object, object>();

/** Decoding from a forward pass never needs gradients: a sublayer's backward is a programming error. */
function noBackward(): never {
  throw new Error('incremental decoding has no backward');
}

export class CachedDecoder<A extends FloatArray> {
  /** live rows */
  n: number;
  /** the position the next step fills (0 = the start token) */
  t = 0;
  /** source sentence of each live row (n) */
  src: Int32Array;
  readonly Tcap: number;
  private readonly cfg: ModelConfig;
  private readonly ctx: Ctx<A>;
  /** the decoder stack's tensor names */
  private readonly names: StackNames;
  private readonly caches: LayerCache<A>[];
  /**
   * (rows, Tcap): the cache row holding position j of live row r. Step t writes every row's
   * key/value to its own cache row at position t; a reorder moves these indices, never the keys.
   */
  private slots: Int32Array;
  private slotsSpare: Int32Array;

  /**
   * Encode a source batch (B, Ts) and prepare a cache for `maxRows` live rows (B times the beam)
   * of at most `Tcap` decoder positions (capped at max_len). Row r starts on source r.
   */
  constructor(
    readonly model: Transformer<A>,
    private readonly srcMask: Uint8Array,
    src: Int32Array,
    readonly B: number,
    readonly Ts: number,
    Tcap: number,
    maxRows = B,
  ) {
    const { be, cfg } = model;
    this.cfg = cfg;
    const enc = model.encode(src, srcMask, B, Ts, 'cached decoding');
    this.ctx = { be, ws: model.ws, p: model.p, g: model.g, dropout: 0, seed: 0, site: 0 };
    this.names = modelStacks(cfg).dec;
    this.Tcap = Math.max(1, Math.min(Tcap, cfg.max_len));
    const C = cfg.d_model;
    const R = Math.max(B, maxRows);
    const { ws } = model;
    owners.set(ws, this);
    this.caches = this.names.blocks.map((blk, i) => {
      const cross = ws.f(`inc.cache.L${i}.cross`, B * Ts * 2 * C);
      linearForward(this.ctx, cross, enc, blk.xattn.kv, B * Ts, C, 2 * C);
      return { self: ws.f(`inc.cache.L${i}.self`, R * this.Tcap * 2 * C), cross };
    });
    this.slots = new Int32Array(R * this.Tcap);
    this.slotsSpare = new Int32Array(R * this.Tcap);
    this.n = B;
    this.src = Int32Array.from({ length: B }, (_, r) => r);
  }

  /**
   * Keep the live rows `rows` (indices into the current rows, repeats allowed), in that order:
   * their cached prefixes (through the slot table) and sources move along.
   */
  reorder(rows: Int32Array): void {
    const { Tcap, t } = this;
    const m = rows.length;
    for (const r of rows) if (r < 0 || r >= this.n) throw new Error(`reorder: row ${r} of ${this.n}`);
    this.checkOwner();
    const src = Int32Array.from(rows, (r) => this.src[r]!);
    rows.forEach((r, i) => {
      this.slotsSpare.set(this.slots.subarray(r * Tcap, r * Tcap + t), i * Tcap);
    });
    [this.slots, this.slotsSpare] = [this.slotsSpare, this.slots];
    this.src = src;
    this.n = m;
  }

  /**
   * Run the decoder on one new position of every live row, reading `tokens` (n): the token at
   * position t (the start token at t = 0). Returns the next-token logits (n, V) (a workspace view,
   * valid until the next forward) and advances t.
   */
  step(tokens: Int32Array): A {
    const { n, t, Tcap, cfg, ctx } = this;
    const { be, ws, p } = ctx;
    if (t >= Tcap) throw new InputError(`cached decoding: position ${t} is past the cache of ${Tcap}`);
    if (tokens.length !== n)
      throw new InputError(`cached decoding: expected ${n} tokens, found ${tokens.length}`);
    for (const tk of tokens)
      if (tk < 0 || tk >= cfg.vocab)
        throw new InputError(`cached decoding: token id ${tk} is outside [0, ${cfg.vocab})`);
    this.checkOwner();
    const C = cfg.d_model;
    const pre = cfg.norm === 'pre';
    for (let r = 0; r < n; r++) this.slots[r * Tcap + t] = r;
    const { names } = this;
    const emb = ws.f('inc.emb', n * C); // (n, 1, C): position t of each row
    be.embeddingForward(
      emb,
      tokens,
      p.get(HEAD_NAMES.tokEmb),
      p.get(names.posEmb).subarray(t * C) as A,
      n,
      1,
      C,
    );
    let x = pre ? emb : layernorm(ctx, 'inc.embln', names.embLn, emb, n, C).out;
    names.blocks.forEach((blk, i) => {
      // a step's buffers are its sublayer's, under 'inc.' (apart from the full forward's)
      const run = (sub: { prefix: string }, ln: NormNames, f: Sublayer<A>): void => {
        x = residualForward(ctx, `inc.${sub.prefix}`, pre, ln, f, x, n, C).y;
      };
      run(blk.attn, blk.ln1, this.selfStep(blk.attn, i));
      run(blk.xattn, blk.lnx, this.crossStep(blk.xattn, i));
      run(blk.mlp, blk.ln2, mlp<A>(blk.mlp, n, C, cfg.d_ff));
    });
    const h = pre ? layernorm(ctx, 'inc.lnf', names.lnF, x, n, C).out : x;
    const logits = ws.f('inc.logits', n * cfg.vocab); // (n, V), the tied output embedding
    be.linearForward(logits, h, p.get(HEAD_NAMES.tokEmb), null, n, C, cfg.vocab);
    this.t = t + 1;
    return logits;
  }

  private checkOwner(): void {
    if (owners.get(this.ctx.ws) !== this)
      throw new Error('cached decoding: a newer CachedDecoder on the same model took over this one’s cache');
  }

  /** Self-attention of the new position over the cached prefix (its own key/value appended first). */
  private selfStep(names: SelfAttnNames, i: number): Sublayer<A> {
    const { n, t, Tcap } = this;
    const C = this.cfg.d_model;
    const cache = this.caches[i]!;
    const shape: AttendOneShape = {
      n,
      Tk: t + 1,
      C,
      NH: this.cfg.n_heads,
      qStride: 3 * C,
      kvStride: 2 * C,
      blockStride: Tcap * 2 * C,
      idxRowStride: Tcap,
      idxKeyStride: 1,
    };
    return {
      forward: (ctx, key, u) => {
        const { be, ws } = ctx;
        const w = selfAttnNames(key);
        const qkv = ws.f(w.qkv.prefix, n * 3 * C); // (n, 3C)
        const att = ws.f(`${key}.att`, n * C);
        const out = ws.f(w.proj.prefix, n * C);
        linearForward(ctx, qkv, u, names.qkv, n, C, 3 * C);
        // each row's key and value go to position t of its own cache row
        const at = cache.self.subarray(t * 2 * C) as A;
        be.copyRows(at, Tcap * 2 * C, qkv.subarray(C) as A, 3 * C, null, n, 2 * C);
        be.attendOne(att, qkv, cache.self, cache.self.subarray(C) as A, null, this.slots, shape);
        linearForward(ctx, out, att, names.proj, n, C, C);
        return { u, out, saved: [] };
      },
      backward: noBackward,
    };
  }

  /** Cross-attention of the new position over its source's cached encoder keys/values. */
  private crossStep(names: CrossAttnNames, i: number): Sublayer<A> {
    const { n, Ts } = this;
    const C = this.cfg.d_model;
    const kv = this.caches[i]!.cross;
    const shape: AttendOneShape = {
      n,
      Tk: Ts,
      C,
      NH: this.cfg.n_heads,
      qStride: C,
      kvStride: 2 * C,
      blockStride: Ts * 2 * C,
      idxRowStride: 1,
      idxKeyStride: 0,
    };
    return {
      forward: (ctx, key, u) => {
        const { be, ws } = ctx;
        const w = crossAttnNames(key);
        const q = ws.f(w.q.prefix, n * C);
        const att = ws.f(`${key}.att`, n * C);
        const out = ws.f(w.proj.prefix, n * C);
        linearForward(ctx, q, u, names.q, n, C, C);
        be.attendOne(att, q, kv, kv.subarray(C) as A, this.srcMask, this.src, shape);
        linearForward(ctx, out, att, names.proj, n, C, C);
        return { u, out, saved: [] };
      },
      backward: noBackward,
    };
  }
}

export interface Decoded {
  /** the output tokens, without the start and end tokens */
  tokens: Int32Array;
  /** log-probability of each output token, then of the end token when it was produced */
  logprobs: Float64Array;
  /** whether decoding stopped at the end token (false: cut at the length limit) */
  ended: boolean;
}

/**
 * Greedy decoding with the key/value cache: the same tokens as Transformer.greedyDecode (each row's
 * most likely next token until the end token or maxLen tokens, capped at max_len), plus the
 * log-probabilities. Rows that produced the end token leave the batch.
 */
export function greedyDecodeCached<A extends FloatArray>(
  model: Transformer<A>,
  src: Int32Array,
  srcMask: Uint8Array,
  B: number,
  Ts: number,
  maxLen: number,
  bos: number,
  eos: number,
): Decoded[] {
  const L = Math.max(0, Math.min(maxLen, model.cfg.max_len));
  const dec = new CachedDecoder(model, srcMask, src, B, Ts, L);
  const V = model.cfg.vocab;
  const out: number[][] = Array.from({ length: B }, () => []);
  const lps: number[][] = Array.from({ length: B }, () => []);
  const ended = new Array<boolean>(B).fill(false);
  const best = new Int32Array(B);
  const lp = new Float64Array(B);
  let tokens = new Int32Array(B).fill(bos);
  for (let t = 0; t < L && dec.n > 0; t++) {
    const logits = dec.step(tokens);
    model.be.logSoftmaxTopK(logits, dec.n, V, 1, best, lp); // each row's argmax and its log-probability
    const keep: number[] = [];
    const next: number[] = [];
    for (let j = 0; j < dec.n; j++) {
      const r = dec.src[j]!;
      lps[r]!.push(lp[j]!);
      if (best[j] === eos) ended[r] = true;
      else {
        out[r]!.push(best[j]!);
        keep.push(j);
        next.push(best[j]!);
      }
    }
    if (keep.length < dec.n) dec.reorder(Int32Array.from(keep));
    tokens = Int32Array.from(next);
  }
  return out.map((y, r) => ({
    tokens: Int32Array.from(y),
    logprobs: Float64Array.from(lps[r]!),
    ended: ended[r]!,
  }));
}

/**
 * Teacher-forced log-probabilities of each row's output under the model (one uncached forward):
 * one per token, then one for the end token when `ended[r]`. Row r translates source r.
 */
export function sequenceLogprobs<A extends FloatArray>(
  model: Transformer<A>,
  src: Int32Array,
  srcMask: Uint8Array,
  B: number,
  Ts: number,
  outs: readonly Int32Array[],
  ended: readonly boolean[],
  bos: number,
  eos: number,
): Float64Array[] {
  const seqs = outs.map((y, r) => (ended[r] ? [...y, eos] : [...y]));
  const Tt = Math.max(1, ...seqs.map((s) => s.length));
  const tgtIn = new Int32Array(B * Tt).fill(bos);
  const tgtOut = new Int32Array(B * Tt).fill(-1);
  seqs.forEach((s, r) => {
    s.forEach((tk, k) => {
      tgtOut[r * Tt + k] = tk;
      if (k + 1 < Tt) tgtIn[r * Tt + k + 1] = tk;
    });
  });
  const batch = { B, Ts, Tt, src, srcMask, tgtIn, tgtOut };
  const tape = model.forwardSeq2Seq(batch, { train: false, grad: false, rowLosses: true });
  const out = seqs.map((s) => new Float64Array(s.length));
  const { idx, losses } = tape.head;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    out[Math.floor(i / Tt)]![i % Tt] = -losses![j]!;
  }
  return out;
}
