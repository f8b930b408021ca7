// The flat parameter layout: every tensor of a model is a named slice of one buffer (names from
// names.ts), so the optimizer, checkpoints, pruning masks and quantizers work on flat slices.
// Also the seeded init.
import type { Backend, FloatArray } from '../engine/backend.ts';
import { Rng } from '../engine/rng.ts';
import { decoderLayers, encoderLayers, type ModelConfig } from './config.ts';
import {
  type BlockNames,
  HEAD_NAMES,
  type LinearNames,
  modelStacks,
  type NormNames,
  presentStacks,
} from './names.ts';

export type Init = 'normal' | 'zeros' | 'ones';

export interface ParamSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  init: Init;
  /** weight decay applies (matrices and embeddings), not to biases and layer norms */
  decay: boolean;
  /** a weight matrix of a linear layer, (out, in): what compression quantizes and prunes */
  linear: boolean;
}

export interface Layout {
  specs: ParamSpec[];
  byName: Map<string, ParamSpec>;
  total: number;
}

class LayoutBuilder {
  specs: ParamSpec[] = [];
  total = 0;
  add(name: string, shape: number[], init: Init, opts: { decay?: boolean; linear?: boolean } = {}): void {
    const size = shape.reduce((a, b) => a * b, 1);
    // align each tensor to 16 floats (64 bytes) so native kernels see aligned rows
    this.total = Math.ceil(this.total / 16) * 16;
    this.specs.push({
      name,
      shape,
      offset: this.total,
      size,
      init,
      decay: opts.decay ?? init === 'normal',
      linear: opts.linear ?? false,
    });
    this.total += size;
  }
  linear(n: LinearNames, out: number, inp: number): void {
    this.add(n.weight, [out, inp], 'normal', { linear: true });
    this.add(n.bias, [out], 'zeros');
  }
  norm(n: NormNames, C: number): void {
    this.add(n.weight, [C], 'ones');
    this.add(n.bias, [C], 'zeros');
  }
  block(n: BlockNames, C: number, F: number, cross: boolean): void {
    this.norm(n.ln1, C);
    this.linear(n.attn.qkv, 3 * C, C);
    this.linear(n.attn.proj, C, C);
    if (cross) {
      this.norm(n.lnx, C);
      this.linear(n.xattn.q, C, C);
      this.linear(n.xattn.kv, 2 * C, C);
      this.linear(n.xattn.proj, C, C);
    }
    this.norm(n.ln2, C);
    this.linear(n.mlp.fc, F, C);
    this.linear(n.mlp.proj, C, F);
  }
}

export function buildLayout(c: ModelConfig): Layout {
  const b = new LayoutBuilder();
  const C = c.d_model;
  b.add(HEAD_NAMES.tokEmb, [c.vocab, C], 'normal');
  const { enc, dec } = modelStacks(c);
  const stacks = presentStacks(c);
  for (const s of stacks) b.add(s.posEmb, [c.max_len, C], 'normal');
  if (c.norm === 'post') for (const s of stacks) b.norm(s.embLn, C);
  for (const blk of enc.blocks) b.block(blk, C, c.d_ff, false);
  for (const blk of dec.blocks) b.block(blk, C, c.d_ff, c.family === 'encdec');
  if (c.norm === 'pre') for (const s of stacks) b.norm(s.lnF, C);
  const { lmHead, cls } = HEAD_NAMES;
  if (c.family === 'encoder') {
    b.linear(lmHead.dense, C, C);
    b.norm(lmHead.ln, C);
    b.add(lmHead.bias, [c.vocab], 'zeros');
  }
  if (c.n_classes > 0) {
    b.linear(cls.dense, C, C);
    b.linear(cls.out, c.n_classes, C);
  }
  return { specs: b.specs, byName: new Map(b.specs.map((s) => [s.name, s])), total: b.total };
}

/** Named views into one flat buffer. */
export class ParamViews<A extends FloatArray> {
  constructor(
    readonly layout: Layout,
    readonly data: A,
  ) {}
  get(name: string): A {
    const s = this.layout.byName.get(name);
    if (!s) throw new Error(`no parameter named ${name}`);
    return this.data.subarray(s.offset, s.offset + s.size) as A;
  }
}

/** Deterministic init: each tensor gets its own Rng seeded from (seed, tensor index). */
export function initParams<A extends FloatArray>(
  backend: Backend<A>,
  layout: Layout,
  data: A,
  c: ModelConfig,
  seed: number,
): void {
  backend.fill(data, 0, layout.total);
  const layers = encoderLayers(c) + decoderLayers(c);
  // each residual branch's output projection (self-attention, cross-attention, MLP)
  const resids = new Set(
    presentStacks(c).flatMap((st) =>
      st.blocks.flatMap((b) => [b.attn.proj.weight, b.xattn.proj.weight, b.mlp.proj.weight]),
    ),
  );
  layout.specs.forEach((s, i) => {
    const v = data.subarray(s.offset, s.offset + s.size);
    if (s.init === 'ones') v.fill(1);
    else if (s.init === 'normal') {
      const scheme = resids.has(s.name) ? (c.resid_init ?? 'normal') : 'normal';
      if (scheme === 'zero') return;
      const std = scheme === 'scaled' ? c.init_std / Math.sqrt(2 * layers) : c.init_std;
      const rng = new Rng((seed * 1000003 + i) >>> 0);
      for (let j = 0; j < s.size; j++) v[j] = rng.normal() * std;
    }
  });
}
