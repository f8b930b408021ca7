// What the infer benchmark's parent tells a child (bench/infer.ts, bench/infer/child.ts), and the
// helpers both sides use.
import type { ModelConfig } from '../../src/model/config.ts';

export interface ModelEntry {
  name: string;
  cfg: ModelConfig;
  /** a training run (dense weights) or a random init with this seed */
  dense: { run: string } | { seed: number };
  /** compressed containers by runtime form name */
  containers: Record<string, string>;
  onnx: { fp32: string; int8: string };
  /** fixed evaluation batches (JSON) */
  evalFile: string;
}
export interface Job {
  model: ModelEntry;
  engine: 'tlc' | 'ort';
  form: string;
  threads: number;
  /** serve: batch-1 figures and peak RSS; batch: throughput and the evaluation logits; both (--quick) */
  mode: 'serve' | 'batch' | 'both';
  shape: { T: number; B: number; prompt: number; newTokens: number; reps: number };
  logitsFile: string;
}

export const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
export const randomTokens = (n: number, V: number, seed: number) =>
  Int32Array.from({ length: n }, (_, i) => 5 + ((i * 7919 + seed * 104729) % (V - 5)));
export interface EvalBatch {
  B: number;
  T: number;
  tokens: number[];
  keyMask: number[] | null;
  targets: number[];
}
