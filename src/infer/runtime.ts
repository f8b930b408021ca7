// The int8 inference runtime: loads a compressed container keeping its q8_ch_sym linear weights as
// Int8Array + per-row scales (no fp32 copy of them is ever made) and every other tensor in a compact
// fp32 buffer, and runs the encoder's masked-LM or classification forward, or the decoder's causal-LM
// forward (and, through inferCtx, cached generation: model/decode-causal.ts), with the int8 kernel at
// every linear layer. It does not train, and runs no encoder-decoder; other formats' tensors are
// dequantized to fp32.

import type { CompressSpec } from '../compress/compress.ts';
import { materialize, readStoredContainer, type StoredTensor } from '../compress/container.ts';
import type { Backend, Int8Weights } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import { int8WeightBytes } from '../engine/int8.ts';
import type { Scorer } from '../eval/metrics.ts';
import type { ClassBatch, LmBatch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import { clsHeadForward, type HeadTape, lmHeadForward } from '../model/heads.ts';
import type { Ctx } from '../model/layers.ts';
import { buildLayout, type Layout, type ParamSpec, ParamViews, stackPrefixes } from '../model/params.ts';
import { type StackSpec, stackForward } from '../model/stack.ts';
import { Workspace } from '../model/workspace.ts';
import { INT8_FORMAT, int8FromQuant } from './int8-weights.ts';

/**
 * Default outlier threshold (LLM.int8()'s 6.0): input channels with |x| above it in any row of a
 * call are computed in float. Pre-LN inputs are normalized, so ordinary channels stay below it.
 */
export const DEFAULT_OUTLIER_THRESHOLD = 6;

/**
 * The weight forms this runtime runs as stored (not dequantized), with the `tlc compress` flags and
 * spec that make each: what `npm run bench -- infer` measures. A new kernel form adds a row.
 */
export const RUNTIME_FORMS: ReadonlyArray<{ name: string; flags: string[]; spec: CompressSpec }> = [
  {
    name: 'int8',
    flags: ['--quant', 'int8'],
    spec: { quant: 'int8', method: 'rtn', prune: null, embeddings: false },
  },
];

export interface WeightBytes {
  /** int8 codes, scales and row sums of the int8 linear layers */
  int8: number;
  /** the fp32 tensors kept (embeddings, norms, biases, weights not stored as int8) */
  fp32: number;
  /** the same model held all in fp32 (the dequantize-to-fp32 path) */
  dense: number;
}

/** An encoder (MLM, classifier) or a decoder whose quantized linear layers run int8 x int8. */
export class Int8Model {
  readonly ws: Workspace<Float32Array>;
  private readonly p: ParamViews<Float32Array>;
  private readonly spec: StackSpec;

  constructor(
    readonly be: Backend<Float32Array>,
    readonly cfg: ModelConfig,
    /** the model's full layout (for accounting) */
    readonly full: Layout,
    /** layout of the fp32 tensors kept, over `params` */
    readonly kept: Layout,
    readonly params: Float32Array,
    /** int8 linear layers by prefix (e.g. 'layers.0.attn.qkv') */
    readonly int8: ReadonlyMap<string, Int8Weights>,
    readonly outlierThreshold: number,
  ) {
    if (cfg.family === 'encdec')
      throw new InputError(
        'the int8 runtime runs encoder and decoder models, this one is encdec',
        'translate with tlc translate, evaluate with tlc eval (weights dequantized)',
      );
    this.ws = new Workspace(be);
    this.p = new ParamViews(kept, params);
    const dec = cfg.family === 'decoder';
    const layers = stackPrefixes(cfg);
    this.spec = dec
      ? { key: 'dec', pfx: '', layers: layers.dec, causal: true }
      : { key: 'enc', pfx: '', layers: layers.enc, causal: false };
  }

  /** A forward-only context over the kept tensors, with the int8 linear hook (no gradients exist). */
  inferCtx(): Ctx<Float32Array> {
    const none = new ParamViews({ specs: [], byName: new Map(), total: 0 }, new Float32Array(0));
    return {
      be: this.be,
      ws: this.ws,
      p: this.p,
      g: none, // forward only: no gradient is ever touched
      dropout: 0,
      seed: 0,
      site: 0,
      int8: { weights: this.int8, outlierThreshold: this.outlierThreshold },
    };
  }

  /** Class logits (B, n_classes) of a classification batch (encoder with a classification head). */
  forwardCls(b: ClassBatch): HeadTape<Float32Array> {
    const K = this.cfg.n_classes;
    if (this.cfg.family !== 'encoder' || K === 0)
      throw new InputError(
        'classification needs a fine-tuned encoder (n_classes > 0), this model has no classification head',
        'fine-tune a classifier with tlc finetune, then compress that run',
      );
    this.checkBatch(b.tokens, b.B, b.T);
    const ctx = this.inferCtx();
    const st = stackForward(ctx, this.cfg, this.spec, b.tokens, b.B, b.T, b.keyMask, null);
    return clsHeadForward(ctx, st.out, b.B, b.T, this.cfg.d_model, K, b.labels, false);
  }

  /** Logits at the positions of `b` whose target is not -1 (eval mode; the loss uses those targets). */
  forwardLm(b: LmBatch): HeadTape<Float32Array> {
    this.checkBatch(b.tokens, b.B, b.T);
    const ctx = this.inferCtx();
    const st = stackForward(ctx, this.cfg, this.spec, b.tokens, b.B, b.T, b.keyMask, null);
    const mlm = this.cfg.family === 'encoder';
    return lmHeadForward(ctx, st.out, b.targets, this.cfg.d_model, this.cfg.vocab, mlm, false);
  }

  private checkBatch(tokens: Int32Array, B: number, T: number): void {
    if (tokens.length !== B * T || T > this.cfg.max_len)
      throw new InputError(
        `int8 forward: expected ${B}x${T} tokens with T <= max_len ${this.cfg.max_len}, found ${tokens.length} tokens`,
        'shorten the sequences',
      );
    for (const t of tokens)
      if (t < 0 || t >= this.cfg.vocab)
        throw new InputError(`int8 forward: token id ${t} is outside the vocabulary [0, ${this.cfg.vocab})`);
  }

  /** Weight bytes held, against the same model in fp32. */
  weightBytes(): WeightBytes {
    let int8 = 0;
    for (const w of this.int8.values()) int8 += int8WeightBytes(w);
    return { int8, fp32: this.params.byteLength, dense: this.full.total * 4 };
  }
}

/** The model as a Scorer (perplexity, KL and top-1 agreement in eval/metrics.ts). */
export function int8Scorer(m: Int8Model): Scorer {
  return {
    score(x) {
      if (x.kind !== 'lm')
        throw new InputError(`the int8 runtime scores LM batches, found a ${x.kind} batch`);
      const h = m.forwardLm(x.b);
      return { V: h.V, logits: h.logits, idx: h.idx, targets: h.targets };
    },
  };
}

/** A layout of `specs` alone, each aligned to 16 floats as buildLayout does. */
function compactLayout(specs: readonly ParamSpec[]): Layout {
  let total = 0;
  const out = specs.map((s) => {
    total = Math.ceil(total / 16) * 16;
    const c = { ...s, offset: total };
    total += s.size;
    return c;
  });
  return { specs: out, byName: new Map(out.map((s) => [s.name, s])), total };
}

/** Whether a stored tensor runs on the int8 kernel as stored. */
function isInt8(s: ParamSpec, t: StoredTensor): t is Extract<StoredTensor, { kind: 'quant' }> {
  return s.linear && t.kind === 'quant' && t.q.format === INT8_FORMAT;
}

/** Builds an Int8Model from a container's stored tensors (see readStoredContainer). */
export function int8ModelFrom(
  be: Backend<Float32Array>,
  cfg: ModelConfig,
  layout: Layout,
  stored: ReadonlyMap<string, StoredTensor>,
  outlierThreshold = DEFAULT_OUTLIER_THRESHOLD,
): Int8Model {
  const int8 = new Map<string, Int8Weights>();
  const keptSpecs: ParamSpec[] = [];
  for (const s of layout.specs) {
    const t = stored.get(s.name);
    if (!t) throw new InputError(`compressed model: no stored tensor for ${s.name}`);
    if (isInt8(s, t)) int8.set(s.name.replace(/\.weight$/, ''), int8FromQuant(s.name, t.q, t.mask));
    else keptSpecs.push(s);
  }
  const kept = compactLayout(keptSpecs);
  const params = be.alloc(kept.total);
  for (const s of kept.specs) params.set(materialize(stored.get(s.name)!, s.size), s.offset);
  return new Int8Model(be, cfg, layout, kept, params, int8, outlierThreshold);
}

/** Loads a compressed container (model.safetensors of tlc compress) for int8 inference. */
export function loadInt8Model(
  file: string,
  be: Backend<Float32Array>,
  o: { outlierThreshold?: number } = {},
): Int8Model {
  const c = readStoredContainer(file, buildLayout);
  return int8ModelFrom(be, c.model, c.layout, c.stored, o.outlierThreshold);
}
