// Study results built by hand for the verdict tests: windows with a shared difficulty (pairing
// removes it) and per-window noise, runs with annealed points and un-annealed curves, and
// compression points with their per-window sums. Only memory; no run directory is written.
import { Rng } from '../../src/engine/rng.ts';
import type { ClaimContext } from '../../src/study/claims/common.ts';
import type { PointSums } from '../../src/study/compress-grid.ts';
import { Evidence, type WindowSource } from '../../src/study/evidence.ts';
import type { CompressionPoint, SizeSpec, TrainedRun } from '../../src/study/types.ts';
import type { EvalRecord } from '../../src/train/rundir.ts';

export const W = 400; // windows
export const C = 20; // predicted tokens per window
export const BUDGET = 120;
export const counts = new Array<number>(W).fill(C);
/** every window's own difficulty (summed loss), shared by all models: pairing removes it */
const base = Array.from({ length: W }, (_, w) => C * (6 + 0.8 * Math.sin(w * 1.7)));

/** window sums of a model whose mean loss is 6 + offset (+ per-window noise of sd `noise` nats) */
export function sums(offset: number, seed: number, noise = 0.3): number[] {
  const rng = new Rng(seed);
  return base.map((b) => b + C * offset + noise * Math.sqrt(C) * rng.normal());
}

export function size(id: string, params: number, sweeps: Array<'depth' | 'width'> = ['depth']): SizeSpec {
  return {
    id,
    sweeps,
    d_model: 64,
    n_layers: 1,
    n_heads: 2,
    d_ff: 256,
    params,
    non_embedding_params: params / 2,
    flops_per_token: 6 * params,
    lr: 1e-3,
    warmup_steps: 10,
    batch_size: 16,
  };
}

export interface World {
  runs: TrainedRun[];
  last: Map<string, number[]>;
  evals: Map<string, EvalRecord[]>;
}

/**
 * A run: `final` is its annealed loss offset at the budget; `curve` its un-annealed evaluations
 * as [tokens, offset] pairs (stable phase), at times proportional to tokens / tps.
 */
export function addRun(
  w: World,
  id: string,
  sizeId: string,
  seed: number,
  final: number,
  curve: Array<[number, number]> = [],
  tps = 1000,
): void {
  const dir = `mem:${id}`;
  const noiseSeed = [...id].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 17);
  w.last.set(dir, sums(final, noiseSeed));
  const ev: EvalRecord[] = [[0, 2] as [number, number], ...curve].map(([tokens, off], i) => ({
    step: i * 10,
    wall_s: tokens / tps,
    tokens,
    loss: 6 + off,
    count: W * C,
    sums: sums(off, noiseSeed * 104729 + i),
  }));
  w.evals.set(id, ev);
  w.runs.push({
    id,
    size_id: sizeId,
    seed,
    run_dir: dir,
    steps: 1000,
    tokens: 0,
    wall_s: BUDGET,
    epochs: 0.5,
    tokens_per_s: tps,
    mfu: 0.5,
    final_loss: 6 + final,
    final_ppl: Math.exp(6 + final),
    final_count: W * C,
    curve: ev.map((e) => ({
      step: e.step,
      wall_s: e.wall_s,
      tokens: e.tokens,
      flops: 0,
      loss: e.loss,
      ppl: Math.exp(e.loss),
      count: W * C,
    })),
    annealed: [
      {
        budget_s: BUDGET,
        step: 1000,
        wall_s: BUDGET,
        tokens: 0,
        loss: 6 + final,
        ppl: Math.exp(6 + final),
        run_dir: dir,
      },
    ],
    per_source: [],
  });
}

export function context(w: World, sizes: SizeSpec[], o: Partial<ClaimContext> = {}): ClaimContext {
  const src: WindowSource = {
    counts,
    unigramNll: base.map((b) => b + C * 2),
    evals: (r) => w.evals.get(r.id)!,
    last: (dir) => w.last.get(dir)!,
  };
  return {
    sizes,
    runs: w.runs,
    ev: new Evidence(w.runs, src),
    budgetS: BUDGET,
    decayFraction: 0.2,
    unigramPpl: Math.exp(8),
    tooShort: false,
    ...o,
  };
}

export const world = (): World => ({ runs: [], last: new Map(), evals: new Map() });
export const depth3 = [size('s', 1e6), size('m', 2e6), size('l', 4e6)];

/** A compression point with its per-window sums: dense at `dense` offset, compressed at `comp`. */
export function point(
  sums: PointSums,
  o: {
    size: string;
    seed?: number;
    method: string;
    setting: string;
    bits?: number | null;
    sparsity?: number | null;
    bytes: number;
    nonzero?: number;
    dense: number;
    comp: number;
    matched_to?: string;
    step?: number;
    /** the fine-tuned arm: whether each test example is classified correctly (1) or not (0) */
    correct?: number[];
  },
): CompressionPoint {
  const seed = o.seed ?? 1;
  const p: CompressionPoint = {
    run_id: `${o.size}-s${seed}`,
    size_id: o.size,
    seed,
    method: o.method,
    setting: o.setting,
    bits: o.bits ?? null,
    sparsity: o.sparsity ?? null,
    sparsity_all: o.sparsity ?? null,
    bytes: o.bytes,
    nonzero_params: o.nonzero ?? o.bytes,
    loss: 6 + o.comp,
    ppl: Math.exp(6 + o.comp),
    ppl_low: 0,
    ppl_high: 0,
    stderr_loss: 0.01,
    tokens: W * C,
    kl: 0,
    top1: 1,
    ...(o.step !== undefined ? { step: o.step } : {}),
    ...(o.matched_to ? { matched_to: o.matched_to } : {}),
    ...(o.correct ? { accuracy: o.correct.reduce((a, x) => a + x, 0) / o.correct.length } : {}),
  };
  const key = (o.size.charCodeAt(0) * 31 + seed) * 1000;
  const d = sums.get(p) ? sums.get(p)!.dense : null;
  const dense = d ?? sumsOf(o.dense, key);
  sums.set(p, {
    dense,
    comp: dense.map((x, i) => x + C * (o.comp - o.dense) + 0.05 * Math.sin(i + key)),
    dense_correct: null,
    comp_correct: o.correct ?? null,
  });
  return p;
}
const sumsOf = (off: number, seed: number) => sums(off, seed);

/** Two sizes, each dense + one quantization + one pruning setting with the given loss increases. */
export function robustness(
  inc: { s: [number, number]; l: [number, number] },
  sumsMap: PointSums,
): CompressionPoint[] {
  const pts: CompressionPoint[] = [];
  for (const [sz, [q, p]] of Object.entries(inc) as Array<[string, [number, number]]>) {
    const dense = sz === 's' ? 0.1 : 0.0;
    pts.push(point(sumsMap, { size: sz, method: 'dense', setting: 'fp32', bytes: 100, dense, comp: dense }));
    pts.push(
      point(sumsMap, {
        size: sz,
        method: 'rtn',
        setting: 'int3:channel',
        bits: 3,
        bytes: 20,
        dense,
        comp: dense + q,
      }),
    );
    pts.push(
      point(sumsMap, {
        size: sz,
        method: 'magnitude',
        setting: '70%:global',
        sparsity: 0.7,
        bytes: 60,
        dense,
        comp: dense + p,
      }),
    );
  }
  return pts;
}
