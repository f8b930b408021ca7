// The one naming system of a model's tensors, as typed records: the layout (params.ts) adds its
// tensors under these names, the layers look their weights up through them, and the workspace
// names each activation after the tensor that produces it (`layers.0.attn.qkv` holds the output
// of the linear layer `layers.0.attn.qkv`). A misspelled field fails to compile; the strings
// themselves are the checkpoint names (safetensors files), which never change. No code outside this
// file spells a tensor name or suffix: a record built on a workspace key (`selfAttnNames(key)`) names
// a sublayer's buffers after its tensors. No math here.
import { decoderLayers, encoderLayers, type ModelConfig } from './config.ts';

/** A linear layer: `<prefix>.weight` (Out, In) and `<prefix>.bias` (Out). */
export interface LinearNames {
  prefix: string;
  weight: string;
  bias: string;
}

/** A layer norm: gain `<prefix>.weight` and shift `<prefix>.bias`, both (C). */
export type NormNames = LinearNames;

export interface SelfAttnNames {
  prefix: string;
  /** the fused query|key|value projection (3C, C) */
  qkv: LinearNames;
  proj: LinearNames;
}

export interface CrossAttnNames {
  prefix: string;
  /** queries from the decoder (C, C) */
  q: LinearNames;
  /** keys|values from the encoder output (2C, C) */
  kv: LinearNames;
  proj: LinearNames;
}

export interface MlpNames {
  prefix: string;
  fc: LinearNames;
  proj: LinearNames;
}

/** One residual block: self-attention, cross-attention (decoder of encdec), MLP, each with its norm. */
export interface BlockNames {
  prefix: string;
  ln1: NormNames;
  attn: SelfAttnNames;
  lnx: NormNames;
  xattn: CrossAttnNames;
  ln2: NormNames;
  mlp: MlpNames;
}

/** One stack's own tensors; `pfx` is '' for a lone encoder or decoder, 'enc.' / 'dec.' in encdec. */
export interface StackNames {
  pfx: string;
  posEmb: string;
  /** post-LN: the norm over the embeddings */
  embLn: NormNames;
  /** pre-LN: the final norm */
  lnF: NormNames;
  blocks: BlockNames[];
}

export function linearNames(prefix: string): LinearNames {
  return { prefix, weight: `${prefix}.weight`, bias: `${prefix}.bias` };
}

export const normNames: (prefix: string) => NormNames = linearNames;

export function selfAttnNames(prefix: string): SelfAttnNames {
  return { prefix, qkv: linearNames(`${prefix}.qkv`), proj: linearNames(`${prefix}.proj`) };
}

export function crossAttnNames(prefix: string): CrossAttnNames {
  return {
    prefix,
    q: linearNames(`${prefix}.q`),
    kv: linearNames(`${prefix}.kv`),
    proj: linearNames(`${prefix}.proj`),
  };
}

export function mlpNames(prefix: string): MlpNames {
  return { prefix, fc: linearNames(`${prefix}.fc`), proj: linearNames(`${prefix}.proj`) };
}

/** The block at `prefix` (e.g. 'layers.0', 'dec.layers.1'). */
export function blockNames(prefix: string): BlockNames {
  return {
    prefix,
    ln1: normNames(`${prefix}.ln1`),
    attn: selfAttnNames(`${prefix}.attn`),
    lnx: normNames(`${prefix}.lnx`),
    xattn: crossAttnNames(`${prefix}.xattn`),
    ln2: normNames(`${prefix}.ln2`),
    mlp: mlpNames(`${prefix}.mlp`),
  };
}

const POS_EMB = 'pos_emb.weight';

/** A stack's tensors: `pfx` ('' or 'enc.' / 'dec.') and its `nLayers` blocks (`<pfx>layers.<i>`). */
export function stackNames(pfx: string, nLayers: number): StackNames {
  return {
    pfx,
    posEmb: `${pfx}${POS_EMB}`,
    embLn: normNames(`${pfx}emb_ln`),
    lnF: normNames(`${pfx}ln_f`),
    blocks: Array.from({ length: nLayers }, (_, i) => blockNames(`${pfx}layers.${i}`)),
  };
}

/** The two stacks of a model: the encoder (the source side of encdec) and the decoder (the target side). */
export interface ModelStacks {
  enc: StackNames;
  dec: StackNames;
}

/**
 * A config's stacks. The one its family lacks (the decoder of an encoder, the encoder of a decoder)
 * has no blocks, and none of its tensors is in the layout (presentStacks lists the others).
 */
export function modelStacks(c: ModelConfig): ModelStacks {
  const encdec = c.family === 'encdec';
  return {
    enc: stackNames(encdec ? 'enc.' : '', encoderLayers(c)),
    dec: stackNames(encdec ? 'dec.' : '', decoderLayers(c)),
  };
}

/** The stacks whose tensors a config's layout holds, encoder first. */
export function presentStacks(c: ModelConfig): StackNames[] {
  const { enc, dec } = modelStacks(c);
  return c.family === 'encdec' ? [enc, dec] : c.family === 'encoder' ? [enc] : [dec];
}

/** The tensors outside the stacks: the (tied) token embedding and the heads. */
export const HEAD_NAMES = {
  tokEmb: 'tok_emb.weight',
  /** the encoder's MLM head: RoBERTa's dense-gelu-LN transform and the output bias */
  lmHead: {
    prefix: 'lm_head',
    dense: linearNames('lm_head.dense'),
    ln: normNames('lm_head.ln'),
    bias: 'lm_head.bias',
  },
  /** the classification head on the first token */
  cls: { prefix: 'cls', dense: linearNames('cls.dense'), out: linearNames('cls.out') },
} as const;

/** The token embedding or a stack's position embedding (of any stack prefix). */
export function isEmbedding(name: string): boolean {
  return name === HEAD_NAMES.tokEmb || name === POS_EMB || name.endsWith(`.${POS_EMB}`);
}

/** The linear layer whose weight matrix is `weight` (a layout name such as 'layers.0.attn.qkv.weight'). */
export function linearOfWeight(weight: string): LinearNames {
  const n = linearNames(weight.replace(/\.weight$/, ''));
  if (n.weight !== weight)
    throw new Error(`${weight} is not the weight of a linear layer (no .weight suffix)`);
  return n;
}
