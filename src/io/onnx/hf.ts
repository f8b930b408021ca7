// The Hugging Face files beside an ONNX export, in the layout @huggingface/transformers reads from a
// local folder: config.json (a model_type whose transformers.js class has our inputs and outputs:
// roberta for the encoders, gpt2 for the decoder), tokenizer.json, tokenizer_config.json,
// special_tokens_map.json and, for the decoder, generation_config.json.
import { BOS_ID, EOS_ID, PAD_ID, type Tokenizer } from '../../data/tokenizer/index.ts';
import type { ModelConfig } from '../../model/config.ts';
import type { GraphKind } from './transformer.ts';

const SPECIAL = {
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  pad_token: '<pad>',
  mask_token: '<mask>',
};

export interface HfFiles {
  [file: string]: unknown;
}

/** What the tlc model really is, kept in config.json under "tlc" (the HF fields describe the ONNX graph's interface). */
export interface TlcSection {
  model: ModelConfig;
  kind: GraphKind;
  source: string;
  step: number | null;
  compression: unknown;
  int8_scheme: string | null;
  tlc_version: string;
}

function roberta(cfg: ModelConfig): Record<string, unknown> {
  return {
    model_type: 'roberta',
    vocab_size: cfg.vocab,
    hidden_size: cfg.d_model,
    num_hidden_layers: cfg.n_layers,
    num_attention_heads: cfg.n_heads,
    intermediate_size: cfg.d_ff,
    max_position_embeddings: cfg.max_len,
    hidden_act: 'gelu_new',
    layer_norm_eps: 1e-5,
    type_vocab_size: 1,
  };
}

function gpt2(cfg: ModelConfig): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    vocab_size: cfg.vocab,
    n_embd: cfg.d_model,
    n_layer: cfg.n_layers,
    n_head: cfg.n_heads,
    n_inner: cfg.d_ff,
    n_positions: cfg.max_len,
    n_ctx: cfg.max_len,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    use_cache: true,
    tie_word_embeddings: true,
  };
}

export function hfConfig(tlc: TlcSection): Record<string, unknown> {
  const cfg = tlc.model;
  const ids = { pad_token_id: PAD_ID, bos_token_id: BOS_ID, eos_token_id: EOS_ID };
  let arch: Record<string, unknown>;
  if (tlc.kind === 'causal') arch = { architectures: ['GPT2LMHeadModel'], ...gpt2(cfg) };
  else if (tlc.kind === 'mlm') arch = { architectures: ['RobertaForMaskedLM'], ...roberta(cfg) };
  else {
    const labels = Array.from({ length: cfg.n_classes }, (_, i) => `LABEL_${i}`);
    arch = {
      architectures: ['RobertaForSequenceClassification'],
      ...roberta(cfg),
      num_labels: cfg.n_classes,
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    };
  }
  return { ...arch, ...ids, torch_dtype: 'float32', tlc };
}

/**
 * tokenizer.json as tlc wrote it, plus, for the encoders, RoBERTa's post-processor (<s> text </s>,
 * the form tlc's MLM rows and classification examples have) and its left-stripping <mask>; the
 * decoder's adds no specials.
 */
export function hfTokenizerJson(tok: Tokenizer, kind: GraphKind): Record<string, unknown> {
  const json = tok.toJSON();
  if (kind === 'causal') return { ...json };
  return {
    ...json,
    // "<mask>" takes the space before it, as RoBERTa's does: "in the <mask> of" masks one " word"
    // token, the form tlc's MLM training masks
    added_tokens: json.added_tokens.map((t) => (t.content === '<mask>' ? { ...t, lstrip: true } : t)),
    post_processor: {
      type: 'RobertaProcessing',
      sep: [SPECIAL.eos_token, EOS_ID],
      cls: [SPECIAL.bos_token, BOS_ID],
      trim_offsets: true,
      add_prefix_space: false,
    },
  };
}

/** Every HF file of the folder, by name (all JSON). */
export function hfFiles(tok: Tokenizer, tlc: TlcSection): HfFiles {
  const kind = tlc.kind;
  const tokenizerConfig = {
    tokenizer_class: kind === 'causal' ? 'GPT2Tokenizer' : 'RobertaTokenizer',
    ...SPECIAL,
    model_max_length: tlc.model.max_len,
    add_prefix_space: false,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    padding_side: kind === 'causal' ? 'left' : 'right',
  };
  const files: HfFiles = {
    'config.json': hfConfig(tlc),
    'tokenizer.json': hfTokenizerJson(tok, kind),
    'tokenizer_config.json': tokenizerConfig,
    'special_tokens_map.json': SPECIAL,
  };
  if (kind === 'causal') {
    files['generation_config.json'] = {
      bos_token_id: BOS_ID,
      eos_token_id: EOS_ID,
      pad_token_id: PAD_ID,
      max_length: tlc.model.max_len,
    };
  }
  return files;
}
