// The compression half of a study: every trained run through the same grid (bits × RTN/GPTQ,
// sparsities × one-shot/gradual), each result cached on disk so a re-run skips it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CompressSpec } from '../compress/compress.ts';
import { finetuneForCompression } from '../compress/finetune.ts';
import type { Backend } from '../engine/backend.ts';
import { type CompressResult, compressRun } from '../eval/model-eval.ts';
import { type LoadedRun, loadSnapshot, loadTrainedRun } from '../train/load.ts';
import { Progress } from '../train/progress.ts';
import type { SavedRunConfig } from '../train/run.ts';
import { readJson } from '../train/rundir.ts';
import { denseLatency, pointLatency } from './latency.ts';
import type { StudyPreset } from './presets.ts';
import type { CompressionPoint, LatencyRecord } from './types.ts';

export interface GridSetting {
  tag: string;
  method: 'rtn' | 'gptq' | 'magnitude' | 'gradual';
  spec: CompressSpec;
  bits: number | null;
}

/** Per-channel symmetric weight quantization and global unstructured magnitude pruning. */
export const GRID_PROTOCOL = {
  quantization:
    'weights of every linear layer and the (tied) token and position embeddings, per-channel (per output row) symmetric, round-half-even; biases and layer norms stay fp32',
  gptq: 'GPTQ per linear layer (embeddings: round-to-nearest), damping 1% of mean diag(H), blocks of 128 columns, no act-order, Hessians from 8 training batches through the dense model (not layer-by-layer requantized inputs)',
  pruning:
    'magnitude, one global threshold over every linear weight matrix (embeddings and biases kept), one-shot',
  gradual:
    'magnitude pruning along a cubic schedule over 75% of the fine-tuning steps (10 mask updates), then fine-tuning with the final mask; LR a tenth of training, constant',
  bytes:
    'exact size of the container file (safetensors: packed k-bit codes, fp32 scales, bit masks, fp32 kept values, header)',
};

export function gridSettings(
  p: Pick<StudyPreset, 'quantBits' | 'gptqBits' | 'sparsities' | 'gradual'>,
): GridSetting[] {
  const none = { quant: null, prune: null, method: 'rtn' as const, embeddings: false };
  const out: GridSetting[] = [];
  for (const b of p.quantBits)
    out.push({
      tag: `rtn-int${b}`,
      method: 'rtn',
      bits: b,
      spec: { ...none, quant: `int${b}:channel`, embeddings: true },
    });
  for (const b of p.gptqBits)
    out.push({
      tag: `gptq-int${b}`,
      method: 'gptq',
      bits: b,
      spec: { ...none, quant: `int${b}:channel`, method: 'gptq', embeddings: true },
    });
  for (const s of p.sparsities.filter((x) => x > 0)) {
    const pct = Math.round(s * 100);
    out.push({
      tag: `prune-${pct}`,
      method: 'magnitude',
      bits: null,
      spec: { ...none, prune: `${pct}%:global` },
    });
    if (p.gradual && s >= 0.7)
      out.push({
        tag: `gradual-${pct}`,
        method: 'gradual',
        bits: null,
        spec: { ...none, prune: `${pct}%:global` },
      });
  }
  return out;
}

/** Per-window losses of every point (dense and compressed sides), kept out of results.json. */
export type PointSums = Map<
  CompressionPoint,
  { dense: number[]; comp: number[]; dense_correct: number[] | null; comp_correct: number[] | null }
>;

function point(
  run: { id: string; sizeId: string; seed: number },
  g: GridSetting | null,
  r: CompressResult,
  sums: PointSums,
  latency: LatencyRecord | null = null,
): CompressionPoint {
  const s = g ? r.compressed : r.dense;
  const p: CompressionPoint = {
    run_id: run.id,
    size_id: run.sizeId,
    seed: run.seed,
    method: g ? g.method : 'dense',
    setting: g ? (g.spec.quant ?? g.spec.prune ?? '') : 'fp32',
    bits: g ? g.bits : null,
    sparsity: g ? r.sparsity_achieved : null,
    sparsity_all: g ? 1 - r.nonzero / r.total : null,
    bytes: g ? r.bytes : r.dense_bytes,
    nonzero_params: g ? r.nonzero : r.total,
    loss: s.loss,
    ppl: s.ppl,
    ppl_low: s.ppl_low,
    ppl_high: s.ppl_high,
    stderr_loss: s.stderr_loss,
    tokens: s.tokens,
    kl: g ? (s.kl ?? 0) : 0,
    top1: g ? (s.top1 ?? 1) : 1,
    step: r.step,
    ...(s.accuracy !== null ? { accuracy: s.accuracy } : {}),
    ...(latency ? { latency } : {}),
  };
  sums.set(p, {
    dense: r.dense.window_nll,
    comp: s.window_nll,
    dense_correct: r.dense.correct_each,
    comp_correct: s.correct_each,
  });
  return p;
}

/** A run loaded once, on first use (most grid settings are cached on disk and need no model). */
export function lazyRun(
  runDir: string,
  be: Backend<Float32Array>,
  log: (m: string) => void,
): () => LoadedRun {
  let loaded: LoadedRun | null = null;
  return () => {
    loaded ??= loadTrainedRun(runDir, be, log);
    return loaded;
  };
}

export interface GridRun {
  id: string;
  sizeId: string;
  seed: number;
  runDir: string;
}

/** What the latency measurement needs of a run: its sequence length, masked share and family. */
function timingShape(runDir: string) {
  const saved = readJson<SavedRunConfig>(path.join(runDir, 'config.json'), `config of run ${runDir}`);
  return {
    seqLen: saved.config.data.seq_len,
    maskedShare: saved.config.data.mlm_prob,
    family: saved.model.family,
  };
}

export interface GridOptions {
  /**
   * Measure each point's latency and throughput (src/study/latency.ts) on this process's backend
   * and threads: the study's own process does; a queue worker (another machine) does not.
   */
  latency?: boolean;
}

/** Compress one run over the grid (cached per setting under outDir/compress/<run>/<tag>). */
export function compressGrid(
  run: GridRun,
  preset: StudyPreset,
  outDir: string,
  be: Backend<Float32Array>,
  log: (m: string) => void,
  sums: PointSums,
  o: GridOptions = {},
): CompressionPoint[] {
  const base = path.join(outDir, 'compress', run.id);
  const load = lazyRun(run.runDir, be, log);
  const shape = o.latency ? timingShape(run.runDir) : null;
  let denseRec: LatencyRecord | null = null;
  const cached = (tag: string, spec: CompressSpec, make: () => CompressResult): CompressResult =>
    cachedResult(path.join(base, tag), spec) ?? make();
  const points: CompressionPoint[] = [];
  let first: CompressResult | null = null;
  for (const g of gridSettings(preset)) {
    const dir = path.join(base, g.tag);
    const r = cached(g.tag, g.spec, () => {
      log(`  compress ${run.id}: ${g.tag}`);
      if (g.method !== 'gradual')
        return compressRun(run.runDir, g.spec, dir, be, { calibBatches: 8, log, loaded: load() });
      const steps = Math.max(
        20,
        Math.round(
          JSON.parse(fs.readFileSync(path.join(run.runDir, 'result.json'), 'utf8')).spent.step * 0.1,
        ),
      );
      const ft = finetuneForCompression(run.runDir, dir, g.spec, {
        steps,
        gradual: true,
        qat: false,
        be,
        progress: new Progress(process.stderr, 5, undefined, true),
      });
      return compressRun(ft, g.spec, dir, be, { calibBatches: 8, log, reference: load() });
    });
    first ??= r;
    const lat = shape ? pointLatency(dir, r.sha256, load, be, shape) : null;
    denseRec ??= lat ? denseLatency(lat) : null;
    points.push(point(run, g, r, sums, lat));
  }
  if (first) points.unshift(point(run, null, first, sums, denseRec));
  return points;
}

/** A cached compression result in dir whose spec matches, or null. */
function cachedResult(dir: string, spec: CompressSpec): CompressResult | null {
  const f = path.join(dir, 'result.json');
  if (!fs.existsSync(f)) return null;
  try {
    const r = JSON.parse(fs.readFileSync(f, 'utf8')) as CompressResult;
    return JSON.stringify(r.spec) === JSON.stringify(spec) && r.dense.window_nll ? r : null;
  } catch {
    return null;
  }
}

/** The matched-quality settings of a preset (claim 2, comparison b): one per family. */
export function matchedSettings(p: StudyPreset): GridSetting[] {
  const all = gridSettings({
    ...p,
    quantBits: [p.matched.quant],
    gptqBits: [],
    sparsities: [p.matched.prune],
    gradual: false,
  });
  return all;
}

/**
 * Compress a run's weight snapshot at `step` with the matched settings (the snapshot as its own
 * dense reference), cached under outDir/compress-matched/<run>/step-<step>/<tag>.
 */
export function compressSnapshot(
  run: GridRun,
  step: number,
  preset: StudyPreset,
  outDir: string,
  be: Backend<Float32Array>,
  log: (m: string) => void,
  sums: PointSums,
  loaded: () => LoadedRun,
): CompressionPoint[] {
  const base = path.join(outDir, 'compress-matched', run.id, `step-${step}`);
  let snap: LoadedRun | null = null;
  const points: CompressionPoint[] = [];
  for (const g of matchedSettings(preset)) {
    const dir = path.join(base, g.tag);
    let r = cachedResult(dir, g.spec);
    if (!r) {
      log(`  compress ${run.id} snapshot at step ${step}: ${g.tag}`);
      snap ??= loadSnapshot(loaded(), step, be);
      r = compressRun(run.runDir, g.spec, dir, be, { calibBatches: 8, log, loaded: snap });
    }
    points.push(point(run, g, r, sums));
  }
  return points;
}

/** Points with the lowest perplexity for at most their size (bytes or non-zeros), ascending. */
export function paretoFront(
  points: CompressionPoint[],
  size: (p: CompressionPoint) => number,
): CompressionPoint[] {
  const sorted = [...points].sort((a, b) => size(a) - size(b) || a.ppl - b.ppl);
  const out: CompressionPoint[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    if (p.ppl < best) {
      out.push(p);
      best = p.ppl;
    }
  }
  return out;
}

/** The Pareto front over measured latency at batch 1: every point that has one, methods together. */
export function latencyFront(points: CompressionPoint[]): CompressionPoint[] {
  const timed = points.filter((p) => p.latency !== undefined && p.matched_to === undefined);
  return paretoFront(timed, (p) => p.latency!.latency_ms_b1);
}
