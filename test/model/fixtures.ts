// Tiny configs and deterministic batches shared by the model tests.

import { Rng } from '../../src/engine/rng.ts';
import type { ClassBatch, LmBatch, Seq2SeqBatch } from '../../src/model/batch.ts';
import { type ModelConfig, type ModelConfigInput, resolveModelConfig } from '../../src/model/config.ts';

export function tinyConfig(
  family: ModelConfig['family'],
  extra: Partial<ModelConfigInput> = {},
): ModelConfig {
  return resolveModelConfig({
    family,
    vocab: 23,
    d_model: 12,
    n_layers: 2,
    n_heads: 3,
    d_ff: 20,
    max_len: 9,
    ...extra,
  });
}

/** A batch with padding in the last row and ~40% of positions carrying a target. */
export function lmBatch(V: number, B: number, T: number, seed: number, causal: boolean): LmBatch {
  const rng = new Rng(seed);
  const tokens = new Int32Array(B * T);
  const keyMask = new Uint8Array(B * T).fill(1);
  const targets = new Int32Array(B * T).fill(-1);
  for (let i = 0; i < B * T; i++) tokens[i] = 5 + rng.int(V - 5);
  const padFrom = T >= 4 ? T - 2 : T; // last row: two padding positions (when long enough)
  for (let t = padFrom; t < T; t++) {
    keyMask[(B - 1) * T + t] = 0;
    tokens[(B - 1) * T + t] = 0;
  }
  for (let i = 0; i < B * T; i++) {
    if (!keyMask[i]) continue;
    if (causal) targets[i] = rng.int(V);
    else if (rng.uniform() < 0.4) targets[i] = rng.int(V);
  }
  return { B, T, tokens, keyMask, targets };
}

export function seq2seqBatch(V: number, B: number, Ts: number, Tt: number, seed: number): Seq2SeqBatch {
  const rng = new Rng(seed);
  const src = new Int32Array(B * Ts);
  const srcMask = new Uint8Array(B * Ts).fill(1);
  const tgtIn = new Int32Array(B * Tt);
  const tgtOut = new Int32Array(B * Tt);
  for (let i = 0; i < B * Ts; i++) src[i] = 5 + rng.int(V - 5);
  srcMask[B * Ts - 1] = 0;
  src[B * Ts - 1] = 0;
  for (let i = 0; i < B * Tt; i++) {
    tgtIn[i] = 5 + rng.int(V - 5);
    tgtOut[i] = rng.int(V);
  }
  tgtOut[B * Tt - 1] = -1;
  return { B, Ts, Tt, src, srcMask, tgtIn, tgtOut };
}

export function classBatch(V: number, B: number, T: number, K: number, seed: number): ClassBatch {
  const b = lmBatch(V, B, T, seed, false);
  const rng = new Rng(seed + 1);
  const labels = new Int32Array(B);
  for (let i = 0; i < B; i++) labels[i] = rng.int(K);
  return { B, T, tokens: b.tokens, keyMask: b.keyMask!, labels };
}
