// Measured inference speed of the study's compressed points, on the machine and thread count the
// study runs on: the compressed container loaded by the compressed runtime (weights as stored:
// int8, k-bit, CSR; src/infer/runtime.ts) and its dense model on the same runtime, each timed on
// the forward it serves (masked-LM, or a fine-tuned classifier's classification forward) at batch 1
// (latency) and batch 32 (throughput) of the study's sequence length. Each point's figures sit in
// latency.json beside its result.json, measured again when the container, the machine, the threads
// or the protocol differ. Latency is machine-specific: it is compared only within one study.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTAINER_FILE } from '../compress/container.ts';
import type { Backend } from '../engine/backend.ts';
import { machineInfo } from '../engine/machine.ts';
import { type CompressedModel, compressedModelFrom, loadCompressedModel } from '../infer/runtime.ts';
import type { LmBatch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Transformer } from '../model/transformer.ts';
import type { LoadedRun } from '../train/load.ts';
import { writeJson } from '../train/rundir.ts';
import type { LatencyRecord } from './types.ts';

/** The timing protocol: one untimed warm-up, then the median of up to `reps` timed calls. */
export const LATENCY = {
  /** the throughput batch (sequences of the study's length) */
  batch: 32,
  /** timed calls at most, batch 1 and batch 32 */
  repsB1: 5,
  repsB32: 3,
  /** no further timed call once the timed calls of one batch size add up to this (at least one is made) */
  capMs: { b1: 200, b32: 300 },
  version: 1,
};

export const LATENCY_FILE = 'latency.json';

export const LATENCY_PROTOCOL = `each compressed container loaded by the compressed runtime (weights as stored: int8 × int8-per-token kernels for 8-bit, weight-only k-bit kernels for 2–7 bits, CSR for weights at least 85% sparse, fp32 otherwise) and its dense model (fp32 weights on the same runtime), timed on the forward it serves (a pretrained model: the masked-LM forward, logits at the masked share of positions; a fine-tuned classifier: the classification forward) of random tokens at the study's sequence length: latency at batch 1, throughput at batch ${LATENCY.batch} (tokens/s); one untimed warm-up, then the median of up to ${LATENCY.repsB1} (batch 1) and ${LATENCY.repsB32} (batch ${LATENCY.batch}) timed calls, fewer once they add up to ${LATENCY.capMs.b1} ms and ${LATENCY.capMs.b32} ms; measured in the study's own process on its backend and threads, one point at a time. Latency is specific to this machine and thread count: it is compared within this study only`;

/** A forward of a batch (nothing is read back). */
type Forward = (b: LmBatch) => void;

/**
 * What the model serves: a fine-tuned classifier (n_classes > 0) its classification forward, any
 * other model its LM head's forward at the batch's targets.
 */
function servingForward(m: CompressedModel): Forward {
  if (m.cfg.n_classes > 0)
    return (b) =>
      m.forwardCls({
        B: b.B,
        T: b.T,
        tokens: b.tokens,
        keyMask: new Uint8Array(b.B * b.T).fill(1),
        labels: new Int32Array(b.B),
      });
  return (b) => m.forwardLm(b);
}

export interface Timed {
  ms: number;
  reps: number;
}

/** One untimed call, then the median of up to `reps` timed calls, stopping once they exceed capMs. */
export function timeMedian(
  f: () => void,
  reps: number,
  capMs: number,
  now: () => number = () => performance.now(),
): Timed {
  f();
  const ms: number[] = [];
  let spent = 0;
  while (ms.length < reps && (ms.length === 0 || spent < capMs)) {
    const t0 = now();
    f();
    const d = now() - t0;
    ms.push(d);
    spent += d;
  }
  ms.sort((a, b) => a - b);
  return { ms: ms[Math.floor(ms.length / 2)]!, reps: ms.length };
}

/** B sequences of T random tokens (fixed seed), targets at every position i with i mod stride = 0. */
export function timingBatch(cfg: ModelConfig, B: number, T: number, maskedShare: number): LmBatch {
  const V = cfg.vocab;
  const tokens = Int32Array.from({ length: B * T }, (_, i) => 5 + ((i * 7919 + 104729) % (V - 5)));
  const stride = Math.max(1, Math.round(1 / maskedShare));
  const mlm = cfg.family === 'encoder';
  const targets = Int32Array.from({ length: B * T }, (_, i) => (!mlm || i % stride === 0 ? tokens[i]! : -1));
  return { B, T, tokens, targets, keyMask: null };
}

interface Speed {
  latency_ms_b1: number;
  tokens_per_s_b32: number;
  reps: { b1: number; b32: number };
}

/** Latency at batch 1 and throughput at batch LATENCY.batch of `forward` on a model of `cfg`. */
function speedOf(forward: Forward, cfg: ModelConfig, T: number, share: number): Speed {
  const one = timingBatch(cfg, 1, T, share);
  const many = timingBatch(cfg, LATENCY.batch, T, share);
  const b1 = timeMedian(() => forward(one), LATENCY.repsB1, LATENCY.capMs.b1);
  const bN = timeMedian(() => forward(many), LATENCY.repsB32, LATENCY.capMs.b32);
  return {
    latency_ms_b1: b1.ms,
    tokens_per_s_b32: (many.B * many.T) / (bN.ms / 1000),
    reps: { b1: b1.reps, b32: bN.reps },
  };
}

const denseMemo = new WeakMap<Transformer<Float32Array>, Speed>();

/**
 * The dense model's speed, measured once per loaded model: its fp32 weights on the compressed
 * runtime (every layer on the fp32 kernels), so that dense and compressed run the same code.
 */
function denseSpeed(run: LoadedRun, be: Backend<Float32Array>, T: number, share: number): Speed {
  const t = run.model;
  let s = denseMemo.get(t);
  if (!s) {
    const stored = new Map(
      t.layout.specs.map((x) => [x.name, { kind: 'dense' as const, values: t.p.get(x.name) }]),
    );
    const m = compressedModelFrom(be, t.cfg, t.layout, stored);
    s = speedOf(servingForward(m), m.cfg, T, share);
    denseMemo.set(t, s);
  }
  return s;
}

/** What a record must match to be reused: container, machine, backend, threads, shape, protocol. */
function conditions(be: Backend<Float32Array>, sha256: string, T: number) {
  return {
    version: LATENCY.version,
    sha256,
    cpu: machineInfo().cpu,
    backend: be.name,
    threads: be.getThreads(),
    seq_len: T,
    batch: LATENCY.batch,
  };
}

function cachedRecord(file: string, want: ReturnType<typeof conditions>): LatencyRecord | null {
  if (!fs.existsSync(file)) return null;
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as LatencyRecord;
    const same = (Object.keys(want) as Array<keyof typeof want>).every((k) => r[k] === want[k]);
    return same && r.latency_ms_b1 > 0 && r.dense_latency_ms_b1 > 0 ? r : null;
  } catch {
    return null;
  }
}

/**
 * The latency record of the compressed model in `dir` (its container's sha256 `sha256`): read from
 * latency.json when it was measured under the same conditions, else measured now (the dense model
 * from `load`, timed once per loaded run) and written there. Null for models the compressed
 * runtime does not run (encoder-decoder).
 */
export function pointLatency(
  dir: string,
  sha256: string,
  load: () => LoadedRun,
  be: Backend<Float32Array>,
  shape: { seqLen: number; maskedShare: number; family: ModelConfig['family'] },
): LatencyRecord | null {
  if (shape.family === 'encdec') return null;
  const T = shape.seqLen;
  const want = conditions(be, sha256, T);
  const file = path.join(dir, LATENCY_FILE);
  const known = cachedRecord(file, want);
  if (known) return known;
  const m = loadCompressedModel(path.join(dir, CONTAINER_FILE), be);
  const comp = speedOf(servingForward(m), m.cfg, T, shape.maskedShare);
  const dense = denseSpeed(load(), be, T, shape.maskedShare);
  const rec: LatencyRecord = {
    ...want,
    latency_ms_b1: comp.latency_ms_b1,
    tokens_per_s_b32: comp.tokens_per_s_b32,
    dense_latency_ms_b1: dense.latency_ms_b1,
    dense_tokens_per_s_b32: dense.tokens_per_s_b32,
    reps: comp.reps,
    dense_reps: dense.reps,
  };
  writeJson(file, rec);
  return rec;
}

/** The dense model's own record, from a compressed point's (the same dense timings). */
export function denseLatency(r: LatencyRecord): LatencyRecord {
  return {
    ...r,
    sha256: '',
    latency_ms_b1: r.dense_latency_ms_b1,
    tokens_per_s_b32: r.dense_tokens_per_s_b32,
    reps: r.dense_reps,
  };
}

/** Compressed over dense latency at batch 1 (below 1: faster than dense). */
export function latencyRatio(r: LatencyRecord): number {
  return r.latency_ms_b1 / r.dense_latency_ms_b1;
}
