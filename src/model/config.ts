// Model configuration for the three families (encoder MLM, decoder LM, encoder-decoder), its
// schema (validated once, at the edge), and the one function for parameter count and FLOPs.
import { z } from 'zod';

/**
 * The fields of a model config, one definition for the model, training and the study. The
 * training config's model section is these minus what the data decides (vocab, n_classes), with
 * d_ff and max_len optional (train/config.ts); `modelConfigSchema` is the whole, strict record.
 */
export const modelFields = z.object({
  /** encoder: RoBERTa-style MLM; decoder: GPT-style causal LM; encdec: translation */
  family: z.enum(['encoder', 'decoder', 'encdec']),
  /** vocabulary size (shared by source and target in encdec) */
  vocab: z.number().int().min(8),
  d_model: z.number().int().min(1),
  /** encoder layers (encoder, encdec) or decoder layers (decoder) */
  n_layers: z.number().int().min(1),
  /** decoder layers of an encdec model; defaults to n_layers */
  n_dec_layers: z.number().int().min(1).optional(),
  n_heads: z.number().int().min(1),
  /** feed-forward width; the usual choice is 4 * d_model */
  d_ff: z.number().int().min(1),
  /** longest sequence (learned position embeddings) */
  max_len: z.number().int().min(1),
  /**
   * dropout on embeddings and residual branches (no attention-probability dropout); default 0:
   * the paper trains large models briefly on lots of data, where dropout only slows learning
   */
  dropout: z.number().min(0).max(0.9).default(0),
  /** pre-LN (default: stable at large depth, as the paper) or post-LN (original Transformer/BERT) */
  norm: z.enum(['pre', 'post']).default('pre'),
  /** std of the normal init of weights and embeddings; 0.02 as BERT/GPT-2 (N(0,1) stalls training) */
  init_std: z.number().positive().default(0.02),
  /**
   * init of each residual branch's output projection (attn/xattn/mlp .proj): 'normal' as the
   * rest; 'scaled' divides the std by sqrt(2 x layers) (GPT-2); 'zero' starts every block as the
   * identity, so a deep stack begins training as a shallow one does
   */
  resid_init: z.enum(['normal', 'scaled', 'zero']).default('normal'),
  /** classes of a classification head on the encoder (0 = none) */
  n_classes: z.number().int().min(0).default(0),
});

export const modelConfigSchema = modelFields.strict().refine((c) => c.d_model % c.n_heads === 0, {
  message: 'd_model must be divisible by n_heads',
  path: ['n_heads'],
});

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

export function resolveModelConfig(input: ModelConfigInput): ModelConfig {
  return modelConfigSchema.parse(input);
}

export function decoderLayers(c: ModelConfig): number {
  return c.family === 'encdec' ? (c.n_dec_layers ?? c.n_layers) : c.family === 'decoder' ? c.n_layers : 0;
}

export function encoderLayers(c: ModelConfig): number {
  return c.family === 'decoder' ? 0 : c.n_layers;
}

export interface ModelStats {
  /** all parameters, embeddings included (tied output counted once) */
  params: number;
  /** parameters outside token and position embeddings */
  nonEmbeddingParams: number;
  /** forward FLOPs per input token (multiply-add = 2 FLOPs) */
  fwdFlopsPerToken: number;
  /** training FLOPs per input token: forward + backward = 3 x forward */
  trainFlopsPerToken: number;
}

/**
 * Parameter count and FLOPs per token. `seqLen` is the (source) sequence length; `predictFraction`
 * the share of positions whose output logits are computed (MLM: the masked ~15%; LM: 1).
 * For encdec a "token" is one source token plus one target token (equal lengths assumed).
 * Counted: every GEMM (2 FLOPs per multiply-add) incl. attention scores and the output head.
 * Not counted: elementwise ops, softmax, layer norms (a few % at these sizes).
 */
export function modelStats(c: ModelConfig, seqLen: number, predictFraction?: number): ModelStats {
  const C = c.d_model;
  const F = c.d_ff;
  const V = c.vocab;
  const Le = encoderLayers(c);
  const Ld = decoderLayers(c);
  const blockParams = 4 * C * C + 4 * C + 2 * C * F + F + C + 4 * C; // attn + mlp + two LNs
  const crossParams = 4 * C * C + 4 * C + 2 * C; // q, kv, proj + LN
  const nPos = c.family === 'encdec' ? 2 : 1;
  let nonEmb = (Le + Ld) * blockParams + Ld * (c.family === 'encdec' ? crossParams : 0);
  nonEmb += c.norm === 'pre' ? 2 * C * (c.family === 'encdec' ? 2 : 1) : 2 * C * nPos; // ln_f or emb_ln
  if (c.family === 'encoder') nonEmb += C * C + C + 2 * C + V; // LM-head transform + output bias
  if (c.n_classes > 0) nonEmb += C * C + C + c.n_classes * C + c.n_classes;
  const emb = V * C + nPos * c.max_len * C;
  const T = seqLen;
  const pf = predictFraction ?? (c.family === 'encoder' ? 0.15 : 1);
  const blockFlops = 2 * (4 * C * C + 2 * C * F) + 2 * 2 * T * C; // linears + QK^T and AV
  const crossFlops = 2 * (4 * C * C) + 2 * 2 * T * C;
  let fwd = Le * blockFlops + Ld * (blockFlops + (c.family === 'encdec' ? crossFlops : 0));
  const head = 2 * C * V + (c.family === 'encoder' ? 2 * C * C : 0);
  fwd += pf * head;
  if (c.family === 'encdec') fwd /= 2; // per source+target token pair, reported per token
  return {
    params: nonEmb + emb,
    nonEmbeddingParams: nonEmb,
    fwdFlopsPerToken: fwd,
    trainFlopsPerToken: 3 * fwd,
  };
}
