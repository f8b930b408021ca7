// The compressed-model runtime: loads a container keeping each linear weight in its stored form
// (int8 codes for q8_ch_sym, packed k-bit codes for the other quantized formats, CSR for pruned fp32
// weights at least `sparseMin` sparse; see weight-forms.ts), cuts pruned heads and FFN neurons out
// of fp32 layers (structured.ts: physically smaller layers), and keeps every other tensor in one
// compact fp32 buffer. The encoder's masked-LM or classification forward and the decoder's causal-LM
// forward (and, through inferCtx, cached generation: model/decode-causal.ts) run each linear layer on
// its form's kernel (Ctx.linear). It does not train, and runs no encoder-decoder. Heads and neurons
// are cut out of encoders only (a pruned decoder runs its zeros at full width).

import type { CompressSpec } from '../compress/compress.ts';
import { materialize, openStoredContainer, type StoredSource } from '../compress/container.ts';
import type { Backend, Int8Weights } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { Scorer } from '../eval/metrics.ts';
import type { ClassBatch, LmBatch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import { clsHeadForward, type HeadTape, lmHeadForward } from '../model/heads.ts';
import type { Ctx, LinearImpl } from '../model/layers.ts';
import { HEAD_NAMES, linearOfWeight, modelStacks } from '../model/names.ts';
import { buildLayout, type Layout, type ParamSpec, ParamViews } from '../model/params.ts';
import { type StackSpec, stackForward } from '../model/stack.ts';
import type { TiedEmbedding } from '../model/tied.ts';
import { Workspace } from '../model/workspace.ts';
import { encoderForward, type LayerWidth } from './encoder.ts';
import { cutLayer, cutSpec, liveUnits } from './structured.ts';
import { type TiedForm, tiedBytes, tiedEmbedding, tiedFormOf } from './tied-embedding.ts';
import {
  DEFAULT_SPARSE_MIN,
  type FormOptions,
  formBytes,
  formOf,
  linearImpl,
  type WeightForm,
} from './weight-forms.ts';

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
  {
    // the tied embedding int8 too: the lookup and the output projection on int8 (tied-embedding.ts)
    name: 'int8-emb',
    flags: ['--quant', 'int8', '--embeddings'],
    spec: { quant: 'int8', method: 'rtn', prune: null, embeddings: true },
  },
  {
    name: 'int4-g32',
    flags: ['--quant', 'int4:group32:sym'],
    spec: { quant: 'int4:group32:sym', method: 'rtn', prune: null, embeddings: false },
  },
  {
    name: 'int4-g32-emb',
    flags: ['--quant', 'int4:group32:sym', '--embeddings'],
    spec: { quant: 'int4:group32:sym', method: 'rtn', prune: null, embeddings: true },
  },
  {
    name: 'sparse90',
    flags: ['--prune', '90%'],
    spec: { quant: null, method: 'rtn', prune: '90%', embeddings: false },
  },
];

export interface WeightBytes {
  /** int8 codes, scales and row sums of the int8 linear layers */
  int8: number;
  /** packed codes, scales and zero points of the k-bit linear layers */
  kbit: number;
  /** row pointers, indices and values of the CSR linear layers */
  sparse: number;
  /** the fp32 tensors kept (embeddings, norms, biases, weights in none of the forms above, cut layers) */
  fp32: number;
  /** all of the above: the weight bytes held */
  held: number;
  /** the same model held all in fp32 at full width (the dequantize-to-fp32 path) */
  dense: number;
}

export interface RuntimeOptions {
  outlierThreshold?: number;
  /** least sparsity at which a pruned fp32 weight runs on the CSR kernel (default DEFAULT_SPARSE_MIN) */
  sparseMin?: number;
}

/** An encoder (MLM, classifier) or a decoder whose linear layers run on the kernels of their stored forms. */
export class CompressedModel {
  readonly ws: Workspace<Float32Array>;
  private readonly p: ParamViews<Float32Array>;
  private readonly spec: StackSpec;
  private readonly impls: ReadonlyMap<string, LinearImpl<Float32Array>>;

  constructor(
    readonly be: Backend<Float32Array>,
    readonly cfg: ModelConfig,
    /** the model's full layout (for accounting) */
    readonly full: Layout,
    /** layout of the fp32 tensors kept, over `params` (cut layers with their cut shapes) */
    readonly kept: Layout,
    readonly params: Float32Array,
    /** compressed linear layers by prefix (e.g. 'layers.0.attn.qkv') */
    readonly forms: ReadonlyMap<string, WeightForm>,
    /** heads and FFN width per encoder layer (cut layers narrower than the config) */
    readonly widths: readonly LayerWidth[],
    readonly outlierThreshold: number,
    /** the tied token embedding in its stored int8 / k-bit form (then not among the kept fp32 tensors), or null */
    readonly tiedForm: TiedForm | null = null,
  ) {
    if (cfg.family === 'encdec')
      throw new InputError(
        'the compressed runtime runs encoder and decoder models, this one is encdec',
        'translate with tlc translate, evaluate with tlc eval (weights dequantized)',
      );
    this.ws = new Workspace(be, true); // forward only: one set of layer buffers serves every layer
    this.p = new ParamViews(kept, params);
    const { enc, dec } = modelStacks(cfg);
    this.spec =
      cfg.family === 'decoder'
        ? { key: 'dec', names: dec, causal: true }
        : { key: 'enc', names: enc, causal: false };
    this.impls = new Map([...forms].map(([k, f]) => [k, linearImpl(be, f, { outlierThreshold })]));
    this.tied = tiedForm ? tiedEmbedding(be, tiedForm, outlierThreshold) : undefined;
  }

  private readonly tied: TiedEmbedding<Float32Array> | undefined;

  /** The int8 layers by prefix (the int8 runtime's view). */
  get int8(): ReadonlyMap<string, Int8Weights> {
    return new Map([...this.forms].flatMap(([k, f]) => (f.kind === 'int8' ? [[k, f.w] as const] : [])));
  }

  /** Whether some layer runs narrower than the config (cut heads or neurons). */
  get cut(): boolean {
    return this.widths.some((w) => w.heads < this.cfg.n_heads || w.ff < this.cfg.d_ff);
  }

  /** A forward-only context over the kept tensors, each linear layer on its form's kernel. */
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
      linear: this.impls,
      ...(this.tied ? { tied: this.tied } : {}),
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
    const out = this.cut
      ? encoderForward(ctx, this.cfg, this.widths, b.tokens, b.B, b.T, b.keyMask)
      : stackForward(ctx, this.cfg, this.spec, b.tokens, b.B, b.T, b.keyMask, null).out;
    return clsHeadForward(ctx, out, b.B, b.T, this.cfg.d_model, K, b.labels, false);
  }

  /** Logits at the positions of `b` whose target is not -1 (eval mode; the loss uses those targets). */
  /** `loss: false`: the logits alone (no cross-entropy over them) */
  forwardLm(b: LmBatch, o: { loss?: boolean } = {}): HeadTape<Float32Array> {
    const { B, T, tokens } = b;
    this.checkBatch(tokens, B, T);
    const ctx = this.inferCtx();
    const out = this.cut
      ? encoderForward(ctx, this.cfg, this.widths, tokens, B, T, b.keyMask)
      : stackForward(ctx, this.cfg, this.spec, tokens, B, T, b.keyMask, null).out;
    const mlm = this.cfg.family === 'encoder';
    const { d_model: C, vocab: V } = this.cfg;
    return lmHeadForward(ctx, out, b.targets, C, V, mlm, false, 0, false, o.loss !== false);
  }

  private checkBatch(tokens: Int32Array, B: number, T: number): void {
    if (tokens.length !== B * T || T > this.cfg.max_len)
      throw new InputError(
        `compressed forward: expected ${B}x${T} tokens with T <= max_len ${this.cfg.max_len}, found ${tokens.length} tokens`,
        'shorten the sequences',
      );
    for (const t of tokens)
      if (t < 0 || t >= this.cfg.vocab)
        throw new InputError(
          `compressed forward: token id ${t} is outside the vocabulary [0, ${this.cfg.vocab})`,
        );
  }

  /** Weight bytes held, by form, against the same model in fp32. */
  weightBytes(): WeightBytes {
    const by = { int8: 0, kbit: 0, csr: 0 };
    for (const f of this.forms.values()) by[f.kind] += formBytes(f);
    if (this.tiedForm) by[this.tiedForm.kind] += tiedBytes(this.tiedForm);
    const fp32 = this.params.byteLength;
    const held = by.int8 + by.kbit + by.csr + fp32;
    return { int8: by.int8, kbit: by.kbit, sparse: by.csr, fp32, held, dense: this.full.total * 4 };
  }
}

/** The int8 runtime's model: the same class (kept name for existing callers). */
export { CompressedModel as Int8Model };

/** The model as a Scorer (perplexity, KL and top-1 agreement in eval/metrics.ts). */
export function compressedScorer(m: CompressedModel): Scorer {
  return {
    score(x) {
      if (x.kind !== 'lm')
        throw new InputError(`the compressed runtime scores LM batches, found a ${x.kind} batch`);
      const h = m.forwardLm(x.b);
      return { V: h.V, logits: h.logits, idx: h.idx, targets: h.targets };
    },
  };
}
/** Kept name for existing callers. */
export const int8Scorer = compressedScorer;

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

/** Builds a CompressedModel from a container's stored tensors (see readStoredContainer). */
export function compressedModelFrom(
  be: Backend<Float32Array>,
  cfg: ModelConfig,
  layout: Layout,
  stored: StoredSource,
  o: RuntimeOptions = {},
): CompressedModel {
  const opts: FormOptions = {
    outlierThreshold: o.outlierThreshold ?? DEFAULT_OUTLIER_THRESHOLD,
    sparseMin: o.sparseMin ?? DEFAULT_SPARSE_MIN,
    inPlace: stored.fresh === true,
  };
  for (const s of layout.specs)
    if (!stored.has(s.name)) throw new InputError(`compressed model: no stored tensor for ${s.name}`);
  // heads and neurons are cut out of encoders only (encoderForward); a decoder keeps full width
  const live: ReturnType<typeof liveUnits> =
    cfg.family === 'encoder' ? liveUnits(cfg, layout, stored) : new Map();
  const cut = new Map<string, { shape: number[]; values: Float32Array }>();
  const blocks = modelStacks(cfg).enc.blocks;
  for (const blk of blocks) {
    const u = live.get(blk.prefix);
    if (u) for (const [n, t] of cutLayer(cfg, layout, stored, blk, u)) cut.set(n, t);
  }
  const widths = blocks.map((blk) => {
    const u = live.get(blk.prefix);
    return { heads: u ? u.heads.length : cfg.n_heads, ff: u ? u.neurons.length : cfg.d_ff };
  });
  const forms = new Map<string, WeightForm>();
  const keptSpecs: ParamSpec[] = [];
  const tied = tiedFormOf(HEAD_NAMES.tokEmb, stored.get(HEAD_NAMES.tokEmb)!, opts.inPlace);
  for (const s of layout.specs) {
    if (tied && s.name === HEAD_NAMES.tokEmb) continue;
    const c = cut.get(s.name);
    if (c) {
      keptSpecs.push(cutSpec(s, c.shape));
      continue;
    }
    const f = s.linear ? formOf(s.name, s.shape[0]!, s.shape[1]!, stored.get(s.name)!, opts) : null;
    if (f) forms.set(linearOfWeight(s.name).prefix, f);
    else keptSpecs.push(s);
  }
  const kept = compactLayout(keptSpecs);
  const params = be.alloc(kept.total);
  for (const s of kept.specs)
    params.set(cut.get(s.name)?.values ?? materialize(stored.get(s.name)!, s.size), s.offset);
  return new CompressedModel(be, cfg, layout, kept, params, forms, widths, opts.outlierThreshold, tied);
}

/** Loads a compressed container (model.safetensors of tlc compress) keeping its weights as stored. */
export function loadCompressedModel(
  file: string,
  be: Backend<Float32Array>,
  o: RuntimeOptions = {},
): CompressedModel {
  // tensor by tensor from the file: the peak holds the model's final forms plus one tensor read
  const c = openStoredContainer(file, buildLayout);
  try {
    return compressedModelFrom(be, c.model, c.layout, c.stored, o);
  } finally {
    c.close();
  }
}

/** Kept names for existing callers (the int8 runtime is now this runtime). */
export const loadInt8Model = loadCompressedModel;
export function int8ModelFrom(
  be: Backend<Float32Array>,
  cfg: ModelConfig,
  layout: Layout,
  stored: StoredSource,
  outlierThreshold = DEFAULT_OUTLIER_THRESHOLD,
): CompressedModel {
  return compressedModelFrom(be, cfg, layout, stored, { outlierThreshold });
}
