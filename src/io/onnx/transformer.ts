// The ONNX graphs of tlc's Transformers, op for op the math of src/model/: the encoder MLM (tied
// head with RoBERTa's transform), the causal decoder with past key/values in and present out, and
// the encoder classifier. Linear layers are fp32 MatMul or int8 (onnxruntime's dynamic quantization,
// see linear.ts); everything else (embeddings, layer norms, attention, the tied head) stays fp32.
import type { ModelConfig } from '../../model/config.ts';
import {
  HEAD_NAMES,
  type MlpNames,
  modelStacks,
  type NormNames,
  type SelfAttnNames,
  type StackNames,
} from '../../model/names.ts';
import { GraphBuilder } from './graph.ts';
import { type Int8Scheme, linear } from './linear.ts';
import { DT } from './proto.ts';

/** layer norm epsilon of tlc's kernels (src/engine/ts/layers.ts) */
const LN_EPS = 1e-5;
/** added to the scores of masked keys: exp(-1e9 - max) is exactly 0 in fp32, as tlc's masked probabilities */
const MASKED = -1e9;

export type GraphKind = 'mlm' | 'causal' | 'cls';

export interface GraphOptions {
  /** null: fp32 linear layers */
  int8: Int8Scheme | null;
}

/** Parameter tensors by tlc name (src/model/names.ts), fp32, row-major. */
export type Weights = (name: string) => Float32Array;

export interface Ctx {
  g: GraphBuilder;
  w: Weights;
  cfg: ModelConfig;
  int8: Int8Scheme | null;
}

/** The graph's initializers carry the checkpoint names. */
function layerNorm(c: Ctx, x: string, n: NormNames): string {
  const C = c.cfg.d_model;
  const scale = c.g.f32(n.weight, [C], c.w(n.weight));
  const bias = c.g.f32(n.bias, [C], c.w(n.bias));
  return c.g.op('LayerNormalization', [x, scale, bias], { axis: { i: -1 }, epsilon: { f: LN_EPS } });
}

/** gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): tlc's tanh approximation, in the
 * Pow form onnxruntime's FastGeluFusion recognizes (one fused kernel at optimization level "all") */
function gelu(c: Ctx, x: string): string {
  const { g } = c;
  const half = g.op('Mul', [x, g.scalarF(0.5)]);
  const cube = g.op('Pow', [x, g.scalarF(3)]);
  const inner = g.op('Add', [x, g.op('Mul', [cube, g.scalarF(0.044715)])]);
  const t = g.op('Tanh', [g.op('Mul', [inner, g.scalarF(Math.sqrt(2 / Math.PI))])]);
  return g.op('Mul', [half, g.op('Add', [t, g.scalarF(1)])]);
}

/** (B, T, C) -> (B, H, T, hd), or (B, H, hd, T) with `keyT` */
function heads(c: Ctx, x: string, keyT: boolean): string {
  const H = c.cfg.n_heads;
  const hd = c.cfg.d_model / H;
  const r = c.g.op('Reshape', [x, c.g.constant('i64', [0, 0, H, hd])]);
  return c.g.op('Transpose', [r], { perm: { ints: keyT ? [0, 2, 3, 1] : [0, 2, 1, 3] } });
}

interface Past {
  key: string;
  value: string;
  /** names of the present outputs this layer produces */
  presentKey: string;
  presentValue: string;
}

/** softmax((q k^T) / sqrt(hd) + bias) v, heads merged back to (B, T, C) */
function attend(c: Ctx, q: string, kT: string, v: string, bias: string): string {
  const { g } = c;
  const hd = c.cfg.d_model / c.cfg.n_heads;
  const s = g.op('Mul', [g.op('MatMul', [q, kT]), g.scalarF(1 / Math.sqrt(hd))]);
  const p = g.op('Softmax', [g.op('Add', [s, bias])], { axis: { i: -1 } });
  const a = g.op('Transpose', [g.op('MatMul', [p, v])], { perm: { ints: [0, 2, 1, 3] } });
  return g.op('Reshape', [a, g.constant('i64', [0, 0, c.cfg.d_model])]);
}

function selfAttention(c: Ctx, x: string, n: SelfAttnNames, bias: string, past: Past | null): string {
  const C = c.cfg.d_model;
  const qkv = linear(c, x, n.qkv, C, 3 * C);
  const [q, k, v] = c.g.ops(
    'Split',
    [qkv, c.g.constant('i64', [C, C, C])],
    { axis: { i: -1 } },
    { outputs: 3 },
  ) as [string, string, string];
  let att: string;
  if (past) {
    const kAll = c.g.op(
      'Concat',
      [past.key, heads(c, k, false)],
      { axis: { i: 2 } },
      { out: past.presentKey },
    );
    const vAll = c.g.op(
      'Concat',
      [past.value, heads(c, v, false)],
      { axis: { i: 2 } },
      { out: past.presentValue },
    );
    const kT = c.g.op('Transpose', [kAll], { perm: { ints: [0, 1, 3, 2] } });
    att = attend(c, heads(c, q, false), kT, vAll, bias);
  } else att = attend(c, heads(c, q, false), heads(c, k, true), heads(c, v, false), bias);
  return linear(c, att, n.proj, C, C);
}

function mlp(c: Ctx, x: string, n: MlpNames): string {
  const { d_model: C, d_ff: F } = c.cfg;
  return linear(c, gelu(c, linear(c, x, n.fc, C, F)), n.proj, F, C);
}

/** The graph's one stack: the encoder's (mlm, cls) or the decoder's (causal). */
function stackOf(cfg: ModelConfig): StackNames {
  const { enc, dec } = modelStacks(cfg);
  return cfg.family === 'encoder' ? enc : dec;
}

/** the residual blocks and final norm over embeddings x (B, T, C) */
function stack(c: Ctx, x: string, bias: string, pasts: Past[] | null): string {
  const pre = c.cfg.norm === 'pre';
  const names = stackOf(c.cfg);
  let h = pre ? x : layerNorm(c, x, names.embLn);
  names.blocks.forEach((blk, i) => {
    const sub = (ln: NormNames, f: (u: string) => string) => {
      if (pre) h = c.g.op('Add', [h, f(layerNorm(c, h, ln))]);
      else h = layerNorm(c, c.g.op('Add', [h, f(h)]), ln);
    };
    sub(blk.ln1, (u) => selfAttention(c, u, blk.attn, bias, pasts ? pasts[i]! : null));
    sub(blk.ln2, (u) => mlp(c, u, blk.mlp));
  });
  return pre ? layerNorm(c, h, names.lnF) : h;
}

/** logits (B, T, V) = x E^T (+ bias), with E the token embedding (V, C) as stored: Gemm transB */
function tiedHead(c: Ctx, x: string, emb: string, bias: string | null): string {
  const { g } = c;
  const C = c.cfg.d_model;
  const flat = g.op('Reshape', [x, g.constant('i64', [-1, C])]);
  const y = g.op('Gemm', bias ? [flat, emb, bias] : [flat, emb], { transB: { i: 1 } });
  const bt = g.op('Shape', [x], { start: { i: 0 }, end: { i: 2 } });
  const shape = g.op('Concat', [bt, g.constant('i64', [c.cfg.vocab])], { axis: { i: 0 } });
  return g.op('Reshape', [y, shape]);
}

/** Encoder inputs, embeddings and the additive key mask (B, 1, 1, T). */
function encoderInputs(c: Ctx, emb: string): { x: string; bias: string } {
  const { g, cfg } = c;
  const ids = g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', DT.INT64, ['batch_size', 'sequence_length']);
  const { posEmb } = stackOf(cfg);
  const pos = g.f32(posEmb, [cfg.max_len, cfg.d_model], c.w(posEmb));
  const T = g.op('Shape', [ids], { start: { i: 1 }, end: { i: 2 } });
  const posT = g.op('Slice', [pos, g.constant('i64', [0]), T, g.constant('i64', [0])]); // (T, C)
  const x = g.op('Add', [g.op('Gather', [emb, ids], { axis: { i: 0 } }), posT]);
  const m = g.op('Cast', [mask], { to: { i: DT.FLOAT } });
  const b = g.op('Mul', [g.op('Sub', [m, g.scalarF(1)]), g.scalarF(-MASKED)]); // 0 kept, -1e9 masked
  return { x, bias: g.op('Unsqueeze', [b, g.constant('i64', [1, 2])]) };
}

/**
 * Decoder inputs with past key/values: input_ids (B, S), attention_mask (B, P+S) over past and new
 * tokens, position_ids (B, S); the additive mask (B, 1, S, P+S) allows key j for query i when
 * j <= P + i and attention_mask[b, j] = 1.
 */
function decoderInputs(c: Ctx, emb: string): { x: string; bias: string; pasts: Past[] } {
  const { g, cfg } = c;
  const H = cfg.n_heads;
  const hd = cfg.d_model / H;
  const ids = g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  const posIds = g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  const names = stackOf(cfg);
  const pasts: Past[] = names.blocks.map((_, i) => ({
    key: g.input(`past_key_values.${i}.key`, DT.FLOAT, ['batch_size', H, 'past_sequence_length', hd]),
    value: g.input(`past_key_values.${i}.value`, DT.FLOAT, ['batch_size', H, 'past_sequence_length', hd]),
    presentKey: `present.${i}.key`,
    presentValue: `present.${i}.value`,
  }));
  const pos = g.f32(names.posEmb, [cfg.max_len, cfg.d_model], c.w(names.posEmb));
  const x = g.op('Add', [
    g.op('Gather', [emb, ids], { axis: { i: 0 } }),
    g.op('Gather', [pos, posIds], { axis: { i: 0 } }),
  ]);
  const zero = g.constant('i64', [0], []);
  const one = g.constant('i64', [1], []);
  const L = g.op('Gather', [g.op('Shape', [mask]), one], { axis: { i: 0 } }); // scalar P + S
  const S = g.op('Gather', [g.op('Shape', [ids]), one], { axis: { i: 0 } });
  const rows = g.op('Unsqueeze', [g.op('Range', [g.op('Sub', [L, S]), L, one]), g.constant('i64', [1])]); // (S, 1)
  const causal = g.op('LessOrEqual', [g.op('Range', [zero, L, one]), rows]); // (S, L)
  const keys = g.op('Unsqueeze', [g.op('Cast', [mask], { to: { i: DT.BOOL } }), g.constant('i64', [1, 2])]);
  const allowed = g.op('And', [causal, keys]); // (B, 1, S, L)
  const bias = g.op('Where', [allowed, g.scalarF(0), g.scalarF(MASKED)]);
  return { x, bias, pasts };
}

/** Build the graph of one export kind; returns the builder holding it. */
export function buildGraph(cfg: ModelConfig, w: Weights, kind: GraphKind, o: GraphOptions): GraphBuilder {
  const g = new GraphBuilder();
  const c: Ctx = { g, w, cfg, int8: o.int8 };
  const C = cfg.d_model;
  const { tokEmb, lmHead, cls } = HEAD_NAMES;
  const emb = g.f32(tokEmb, [cfg.vocab, C], w(tokEmb));
  if (kind === 'causal') {
    const { x, bias, pasts } = decoderInputs(c, emb);
    const h = stack(c, x, bias, pasts);
    g.output(tiedHead(c, h, emb, null), 'logits', DT.FLOAT, ['batch_size', 'sequence_length', cfg.vocab]);
    pasts.forEach((p) => {
      const dims = ['batch_size', cfg.n_heads, 'total_sequence_length', C / cfg.n_heads];
      g.output(p.presentKey, p.presentKey, DT.FLOAT, dims);
      g.output(p.presentValue, p.presentValue, DT.FLOAT, dims);
    });
    return g;
  }
  const { x, bias } = encoderInputs(c, emb);
  const h = stack(c, x, bias, null);
  if (kind === 'mlm') {
    const t = layerNorm(c, gelu(c, linear(c, h, lmHead.dense, C, C)), lmHead.ln);
    const b = g.f32(lmHead.bias, [cfg.vocab], w(lmHead.bias));
    g.output(tiedHead(c, t, emb, b), 'logits', DT.FLOAT, ['batch_size', 'sequence_length', cfg.vocab]);
    return g;
  }
  const first = g.op('Gather', [h, g.constant('i64', [0], [])], { axis: { i: 1 } }); // (B, C)
  const d = g.op('Tanh', [linear(c, first, cls.dense, C, C)]);
  g.output(linear(c, d, cls.out, C, cfg.n_classes), 'logits', DT.FLOAT, ['batch_size', cfg.n_classes]);
  return g;
}
