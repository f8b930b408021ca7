// Structured pruning made physical: per encoder layer, the attention heads and FFN neurons that can
// still contribute (a unit contributes nothing once its columns of the output projection are all
// zero, as `--prune heads|neurons` leaves them), and the layer's fp32 tensors cut down to the live
// units: qkv (3·h·hd, C) and attn.proj (C, h·hd) for h live heads, fc (F', C) and mlp.proj (C, F')
// for F' live neurons. The cut model gives the masked model's outputs exactly (the dropped units
// added zeros). Quantized layers are not cut (their k-bit codes cannot lose columns within a scale
// group): they run at full width on their own kernels.
import { materialize, type StoredSource } from '../compress/container.ts';
import type { ModelConfig } from '../model/config.ts';
import { type BlockNames, modelStacks } from '../model/names.ts';
import type { Layout, ParamSpec } from '../model/params.ts';

/** The live units of one layer, by index (ascending). */
export interface LayerUnits {
  heads: number[];
  neurons: number[];
}

/** Columns [c0, c0 + n) of a (rows, cols) matrix are all zero. */
function zeroCols(w: Float32Array, rows: number, cols: number, c0: number, n: number): boolean {
  for (let r = 0; r < rows; r++) for (let c = c0; c < c0 + n; c++) if (w[r * cols + c] !== 0) return false;
  return true;
}

/** The four linear weights a cut narrows: qkv and attn.proj (heads), fc and mlp.proj (neurons). */
const cutWeights = (b: BlockNames): string[] => [
  b.attn.qkv.weight,
  b.attn.proj.weight,
  b.mlp.fc.weight,
  b.mlp.proj.weight,
];

/**
 * Live heads and neurons of each encoder layer that can be cut (all four of its linear weights
 * stored in fp32, dense or sparse) and has a dead unit, by layer prefix; layers absent from the
 * map run as stored.
 */
export function liveUnits(cfg: ModelConfig, layout: Layout, stored: StoredSource): Map<string, LayerUnits> {
  const C = cfg.d_model;
  const hd = C / cfg.n_heads;
  const out = new Map<string, LayerUnits>();
  for (const blk of modelStacks(cfg).enc.blocks) {
    const ts = cutWeights(blk).map((n) => stored.get(n));
    if (ts.some((t) => !t || t.kind === 'quant')) continue;
    const get = (n: string) => materialize(stored.get(n)!, layout.byName.get(n)!.size);
    const proj = get(blk.attn.proj.weight);
    const mproj = get(blk.mlp.proj.weight);
    const heads = [...Array(cfg.n_heads).keys()].filter((h) => !zeroCols(proj, C, C, h * hd, hd));
    const neurons = [...Array(cfg.d_ff).keys()].filter((j) => !zeroCols(mproj, C, cfg.d_ff, j, 1));
    if (heads.length < cfg.n_heads || neurons.length < cfg.d_ff) out.set(blk.prefix, { heads, neurons });
  }
  return out;
}

/** Rows `keep` (in order) of a (rows, cols) matrix. */
function takeRows(w: Float32Array, cols: number, keep: readonly number[]): Float32Array {
  const out = new Float32Array(keep.length * cols);
  keep.forEach((r, i) => {
    out.set(w.subarray(r * cols, (r + 1) * cols), i * cols);
  });
  return out;
}

/** Columns `keep` (in order) of a (rows, cols) matrix. */
function takeCols(w: Float32Array, rows: number, cols: number, keep: readonly number[]): Float32Array {
  const out = new Float32Array(rows * keep.length);
  for (let r = 0; r < rows; r++)
    keep.forEach((c, i) => {
      out[r * keep.length + i] = w[r * cols + c]!;
    });
  return out;
}

/**
 * The cut tensors of one layer, by parameter name, with their new shapes: the live heads' q, k and v
 * rows (q block, k block, v block, heads in order) and projection columns, the live neurons' fc rows
 * and projection columns. Output biases and layer norms are unchanged (not returned).
 */
export function cutLayer(
  cfg: ModelConfig,
  layout: Layout,
  stored: StoredSource,
  blk: BlockNames,
  u: LayerUnits,
): Map<string, { shape: number[]; values: Float32Array }> {
  const C = cfg.d_model;
  const F = cfg.d_ff;
  const hd = C / cfg.n_heads;
  const get = (n: string) => materialize(stored.get(n)!, layout.byName.get(n)!.size);
  const ca = u.heads.length * hd;
  const headRows = [0, C, 2 * C].flatMap((base) =>
    u.heads.flatMap((h) => [...Array(hd).keys()].map((i) => base + h * hd + i)),
  );
  const headCols = u.heads.flatMap((h) => [...Array(hd).keys()].map((i) => h * hd + i));
  const { qkv, proj } = blk.attn;
  const { fc, proj: mproj } = blk.mlp;
  const m = new Map<string, { shape: number[]; values: Float32Array }>();
  m.set(qkv.weight, { shape: [3 * ca, C], values: takeRows(get(qkv.weight), C, headRows) });
  m.set(qkv.bias, { shape: [3 * ca], values: takeRows(get(qkv.bias), 1, headRows) });
  m.set(proj.weight, { shape: [C, ca], values: takeCols(get(proj.weight), C, C, headCols) });
  const f = u.neurons.length;
  m.set(fc.weight, { shape: [f, C], values: takeRows(get(fc.weight), C, u.neurons) });
  m.set(fc.bias, { shape: [f], values: takeRows(get(fc.bias), 1, u.neurons) });
  m.set(mproj.weight, { shape: [C, f], values: takeCols(get(mproj.weight), C, F, u.neurons) });
  return m;
}

/** Specs of the cut tensors replacing the originals (same names, new shapes and sizes). */
export function cutSpec(s: ParamSpec, shape: number[]): ParamSpec {
  return { ...s, shape, size: shape.reduce((a, b) => a * b, 1) };
}
