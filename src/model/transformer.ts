// The Transformer model of all three families over one flat parameter buffer: forward returns a
// tape (loss, logits and everything backward needs), backward accumulates into the flat gradient.
import { argmaxRow } from '../engine/argmax.ts';
import type { Backend, FloatArray } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { ClassBatch, LmBatch, Seq2SeqBatch } from './batch.ts';
import type { ModelConfig } from './config.ts';
import { clsHeadBackward, clsHeadForward, type HeadTape, lmHeadBackward, lmHeadForward } from './heads.ts';
import type { Ctx } from './layers.ts';
import { modelStacks } from './names.ts';
import { buildLayout, initParams, type Layout, ParamViews } from './params.ts';
import { type StackSpec, type StackTape, stackBackward, stackForward } from './stack.ts';
import { Workspace } from './workspace.ts';

export interface ForwardOptions {
  /** apply dropout (training) */
  train: boolean;
  /** compute d(loss)/dlogits for a following backward */
  grad: boolean;
  /** dropout seed of this step */
  seed?: number;
  /** label smoothing (encdec translation) */
  labelSmoothing?: number;
  /** also return each counted position's loss (tape.head.losses), for per-window statistics */
  rowLosses?: boolean;
  /** false: the LM head's logits alone, no loss (forwardLm without grad); default true */
  loss?: boolean;
}

export interface Tape<A extends FloatArray> {
  kind: 'lm' | 'seq2seq' | 'cls';
  ctx: Ctx<A>;
  enc: StackTape<A> | null;
  dec: StackTape<A> | null;
  head: HeadTape<A>;
  /** mean loss over counted positions */
  loss: number;
  sum: number;
  count: number;
}

export class Transformer<A extends FloatArray> {
  readonly layout: Layout;
  readonly params: A;
  readonly grads: A;
  readonly p: ParamViews<A>;
  readonly g: ParamViews<A>;
  readonly ws: Workspace<A>;
  /** forward-only buffers (no gradient asked): one layer's worth, shared by all layers */
  readonly evalWs: Workspace<A>;
  private readonly enc: StackSpec;
  private readonly dec: StackSpec;

  constructor(
    readonly be: Backend<A>,
    readonly cfg: ModelConfig,
    seed: number,
  ) {
    this.layout = buildLayout(cfg);
    this.params = be.alloc(this.layout.total);
    this.grads = be.alloc(this.layout.total);
    this.p = new ParamViews(this.layout, this.params);
    this.g = new ParamViews(this.layout, this.grads);
    this.ws = new Workspace(be);
    this.evalWs = new Workspace(be, true);
    initParams(be, this.layout, this.params, cfg, seed);
    const { enc, dec } = modelStacks(cfg);
    this.enc = { key: 'enc', names: enc, causal: false };
    this.dec = { key: 'dec', names: dec, causal: true };
  }

  zeroGrad(): void {
    this.be.fill(this.grads, 0, this.layout.total);
  }

  private ctx(o: ForwardOptions): Ctx<A> {
    return {
      be: this.be,
      ws: o.grad ? this.ws : this.evalWs,
      p: this.p,
      g: this.g,
      dropout: o.train ? this.cfg.dropout : 0,
      seed: o.seed ?? 0,
      site: 0,
    };
  }

  private checkTokens(tokens: Int32Array, n: number, T: number, what: string): void {
    if (tokens.length !== n)
      throw new InputError(`${what}: expected ${n} token ids (B*T), found ${tokens.length}`);
    if (T > this.cfg.max_len) {
      throw new InputError(
        `${what}: sequence length ${T} exceeds max_len ${this.cfg.max_len}`,
        'shorten the sequences or raise max_len',
      );
    }
    const V = this.cfg.vocab;
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      if (t < 0 || t >= V)
        throw new InputError(`${what}: token id ${t} at position ${i} is outside the vocabulary [0, ${V})`);
    }
  }

  /** Encoder MLM or decoder causal LM. */
  forwardLm(b: LmBatch, o: ForwardOptions): Tape<A> {
    if (this.cfg.family === 'encdec')
      throw new InputError('forwardLm: an encdec model takes seq2seq batches');
    this.checkTokens(b.tokens, b.B * b.T, b.T, 'LM batch');
    const ctx = this.ctx(o);
    const isEnc = this.cfg.family === 'encoder';
    const spec = isEnc ? this.enc : this.dec;
    const st = stackForward(ctx, this.cfg, spec, b.tokens, b.B, b.T, b.keyMask, null);
    const head = lmHeadForward(
      ctx,
      st.out,
      b.targets,
      this.cfg.d_model,
      this.cfg.vocab,
      isEnc,
      o.grad,
      0,
      o.rowLosses === true,
      o.grad || o.loss !== false,
    );
    return this.tape('lm', ctx, isEnc ? st : null, isEnc ? null : st, head);
  }

  /** Encoder-decoder translation. */
  forwardSeq2Seq(b: Seq2SeqBatch, o: ForwardOptions): Tape<A> {
    if (this.cfg.family !== 'encdec')
      throw new InputError(`forwardSeq2Seq: needs an encdec model, this is ${this.cfg.family}`);
    this.checkTokens(b.src, b.B * b.Ts, b.Ts, 'source batch');
    this.checkTokens(b.tgtIn, b.B * b.Tt, b.Tt, 'target batch');
    const ctx = this.ctx(o);
    const C = this.cfg.d_model;
    const es = stackForward(ctx, this.cfg, this.enc, b.src, b.B, b.Ts, b.srcMask, null);
    const dEnc = o.grad ? this.ws.f('enc.dout', b.B * b.Ts * C) : null;
    if (dEnc) this.be.fill(dEnc, 0, dEnc.length);
    const cross = { enc: es.out, dEnc, Tk: b.Ts, mask: b.srcMask };
    const ds = stackForward(ctx, this.cfg, this.dec, b.tgtIn, b.B, b.Tt, null, cross);
    const head = lmHeadForward(
      ctx,
      ds.out,
      b.tgtOut,
      C,
      this.cfg.vocab,
      false,
      o.grad,
      o.labelSmoothing ?? 0,
      o.rowLosses === true,
    );
    return this.tape('seq2seq', ctx, es, ds, head);
  }

  /**
   * The encoder output (B, Ts, C) of a source batch (encdec, eval mode), in a private buffer that
   * no later forward's scratch can touch. `what` names the caller in errors.
   */
  encode(src: Int32Array, srcMask: Uint8Array, B: number, Ts: number, what = 'encode'): A {
    if (this.cfg.family !== 'encdec')
      throw new InputError(`${what}: needs an encdec model, this is ${this.cfg.family}`);
    this.checkTokens(src, B * Ts, Ts, 'source batch');
    if (srcMask.length !== B * Ts)
      throw new InputError(`source mask: expected ${B * Ts} entries (B*T), found ${srcMask.length}`);
    const ctx = this.ctx({ train: false, grad: false });
    const es = stackForward(ctx, this.cfg, this.enc, src, B, Ts, srcMask, null);
    const n = B * Ts * this.cfg.d_model;
    const enc = this.be.alloc(n);
    this.be.copy(enc, es.out, n);
    return enc;
  }

  /**
   * Greedy decoding of a source batch (encdec): the encoder runs once; then, one position at a
   * time, the decoder reads the prefix so far (`bos` first) and each unfinished row takes its most
   * likely next token, until every row has produced `eos` or `maxLen` tokens (capped at max_len).
   * Rows of `srcMask` mark real source tokens. Returns each row's tokens, without bos and eos.
   * The decoder recomputes the whole prefix at each position (no key/value cache): the reference
   * that the cached decoder of decode.ts is tested against.
   */
  greedyDecode(
    src: Int32Array,
    srcMask: Uint8Array,
    B: number,
    Ts: number,
    maxLen: number,
    bos: number,
    eos: number,
  ): Int32Array[] {
    const enc = this.encode(src, srcMask, B, Ts, 'greedyDecode');
    const ctx = this.ctx({ train: false, grad: false });
    const C = this.cfg.d_model;
    const cross = { enc, dEnc: null, Tk: Ts, mask: srcMask };
    const L = Math.max(0, Math.min(maxLen, this.cfg.max_len));
    const out: number[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    let left = B;
    for (let t = 0; t < L && left > 0; t++) {
      const T = t + 1;
      const tokens = new Int32Array(B * T);
      const targets = new Int32Array(B * T).fill(-1);
      for (let r = 0; r < B; r++) {
        tokens[r * T] = bos;
        const y = out[r]!;
        for (let k = 0; k < t; k++) tokens[r * T + 1 + k] = k < y.length ? y[k]! : eos;
        if (!done[r]) targets[r * T + t] = 0; // a logits row at the last position; the loss is unused
      }
      const ds = stackForward(ctx, this.cfg, this.dec, tokens, B, T, null, cross);
      const head = lmHeadForward(ctx, ds.out, targets, C, this.cfg.vocab, false, false);
      const V = this.cfg.vocab;
      for (let j = 0; j < head.idx.length; j++) {
        const r = Math.floor(head.idx[j]! / T);
        const best = argmaxRow(head.logits, j * V, V);
        if (best === eos) {
          done[r] = 1;
          left--;
        } else out[r]!.push(best);
      }
    }
    return out.map((y) => Int32Array.from(y));
  }

  /** Sequence classification on the encoder (first-token pooling). */
  forwardCls(b: ClassBatch, o: ForwardOptions): Tape<A> {
    const K = this.cfg.n_classes;
    if (this.cfg.family !== 'encoder' || K === 0) {
      throw new InputError(
        'forwardCls: needs an encoder with n_classes > 0',
        'set n_classes in the model config',
      );
    }
    this.checkTokens(b.tokens, b.B * b.T, b.T, 'classification batch');
    const ctx = this.ctx(o);
    const st = stackForward(ctx, this.cfg, this.enc, b.tokens, b.B, b.T, b.keyMask, null);
    const head = clsHeadForward(
      ctx,
      st.out,
      b.B,
      b.T,
      this.cfg.d_model,
      K,
      b.labels,
      o.grad,
      o.rowLosses === true,
    );
    return this.tape('cls', ctx, st, null, head);
  }

  private tape(
    kind: Tape<A>['kind'],
    ctx: Ctx<A>,
    enc: StackTape<A> | null,
    dec: StackTape<A> | null,
    head: HeadTape<A>,
  ): Tape<A> {
    const loss = head.count > 0 ? head.sum / head.count : 0;
    return { kind, ctx, enc, dec, head, loss, sum: head.sum, count: head.count };
  }

  /**
   * Accumulate d(lossScale * mean loss)/dparams into `grads`. The tape must come from a forward
   * with grad: true, and no other forward may run in between (they share the workspace).
   */
  backward(t: Tape<A>, lossScale = 1): void {
    const { ctx, head } = t;
    if (!head.dlogits) throw new Error('backward needs a forward with grad: true');
    if (head.count === 0) return;
    if (lossScale !== 1) this.be.scale(head.dlogits, lossScale, head.dlogits.length);
    const C = this.cfg.d_model;
    const top = (t.dec ?? t.enc)!;
    const N = top.B * top.T;
    const dh = this.ws.f(`${top.spec.key}.dout`, N * C);
    if (t.kind === 'cls') clsHeadBackward(ctx, head, dh, N, C);
    else lmHeadBackward(ctx, head, dh, N, C);
    stackBackward(ctx, this.cfg, top, dh);
    if (t.kind === 'seq2seq')
      stackBackward(ctx, this.cfg, t.enc!, this.ws.f('enc.dout', t.enc!.B * t.enc!.T * C));
  }
}
