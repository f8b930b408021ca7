// Magnitude pruning as a pure function from weights and a spec to a keep-mask over the flat
// parameter buffer (unstructured, N:M, whole attention heads, FFN neurons), plus what a pruning
// loop needs: applying masks to weights and gradients, a sparsity report, the cubic schedule.
// It never trains: fine-tuning between gradual pruning steps is the caller's loop.
//
// Decisions (stated once here, relied on by tests):
// - Targets: unstructured and N:M prune every linear weight matrix (`linear: true`, which includes
//   lm_head.dense and cls.*), plus tok_emb and the position embeddings when `embeddings` is set.
//   Biases and layer norms are never targets.
// - Order: weights are ranked by (|w|, flat index); the first k in that order are pruned, so ties
//   break deterministically toward the lower index. |w| is compared at float32 precision.
// - Unstructured: global = one threshold over all targets, exactly round(s*N) weights pruned;
//   layer = exactly round(s*size) in every target tensor.
// - N:M: in every M consecutive weights along the input (last) dimension keep the N largest; the
//   sparsity is exactly 1 - N/M and scope is irrelevant. The input dimension must divide by M.
// - Heads / neurons: score = L2 norm of the unit's weights (a head's q, k, v rows and its proj
//   columns, cross-attention included; a neuron's fc row and proj column). The lowest-scoring
//   round(s*units) units go (global over all modules, or per module for scope layer), so the
//   achieved sparsity is the nearest achievable one and is reported. Pruning a unit also zeros its
//   matching bias entries (q/k/v bias of a head, fc bias of a neuron), so its output is exactly
//   zero and the container may drop it; the proj bias is shared by all units and stays.
// - Gradual pruning: pruned weights are 0, so they rank first and stay pruned as sparsity grows.
import type { FloatArray } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { ModelConfig } from '../model/config.ts';
import {
  type BlockNames,
  type CrossAttnNames,
  isEmbedding,
  type MlpNames,
  modelStacks,
  type SelfAttnNames,
} from '../model/names.ts';
import type { Layout, ParamSpec } from '../model/params.ts';
import { type PruneSpec, validatePruneSpec } from './prune-spec.ts';

export {
  formatPruneSpec,
  PRUNE_SYNTAX,
  type PrunePattern,
  type PruneSpec,
  parsePruneSpec,
  validatePruneSpec,
} from './prune-spec.ts';

interface Strided {
  offset: number;
  count: number;
  stride: number;
  len: number;
}

/** One prunable head or neuron: its weights (scored) and its bias entries (zeroed with it). */
interface Unit {
  module: string;
  weights: Strided[];
  biases: Strided[];
}

function specOf(layout: Layout, name: string): ParamSpec {
  const s = layout.byName.get(name);
  if (!s)
    throw new InputError(
      `pruning: the layout has no tensor ${name}`,
      'the parameters do not belong to this model config',
    );
  return s;
}

/** rows [r0, r0+n) of an (out, in) matrix, or entries [r0, r0+n) of a vector */
function rows(s: ParamSpec, r0: number, n: number): Strided {
  const inDim = s.shape.length > 1 ? s.shape[s.shape.length - 1]! : 1;
  return { offset: s.offset + r0 * inDim, count: 1, stride: 0, len: n * inDim };
}

function cols(s: ParamSpec, c0: number, n: number): Strided {
  const inDim = s.shape[1]!;
  return { offset: s.offset + c0, count: s.shape[0]!, stride: inDim, len: n };
}

type AttnModule = { cross: false; n: SelfAttnNames } | { cross: true; n: CrossAttnNames };

/** Attention modules (the decoder's cross-attention too, in encdec), each with n_heads heads. */
function attentionModules(cfg: ModelConfig): AttnModule[] {
  const { enc, dec } = modelStacks(cfg);
  const self = (b: BlockNames): AttnModule => ({ cross: false, n: b.attn });
  const cross = cfg.family === 'encdec';
  return [
    ...enc.blocks.map(self),
    ...dec.blocks.flatMap((b): AttnModule[] => (cross ? [self(b), { cross: true, n: b.xattn }] : [self(b)])),
  ];
}

/** The MLPs of every block, encoder first. */
function mlpModules(cfg: ModelConfig): MlpNames[] {
  const { enc, dec } = modelStacks(cfg);
  return [...enc.blocks, ...dec.blocks].map((b) => b.mlp);
}

function headUnits(layout: Layout, cfg: ModelConfig): Unit[] {
  const C = cfg.d_model;
  const hd = C / cfg.n_heads;
  const units: Unit[] = [];
  for (const a of attentionModules(cfg)) {
    const proj = specOf(layout, a.n.proj.weight);
    for (let h = 0; h < cfg.n_heads; h++) {
      const r = h * hd;
      let w: Strided[];
      let b: Strided[];
      if (a.cross) {
        const { q: qn, kv: kvn } = a.n;
        const [q, qb, kv, kvb] = [qn.weight, qn.bias, kvn.weight, kvn.bias].map((x) => specOf(layout, x));
        w = [rows(q!, r, hd), rows(kv!, r, hd), rows(kv!, C + r, hd)];
        b = [rows(qb!, r, hd), rows(kvb!, r, hd), rows(kvb!, C + r, hd)];
      } else {
        const qkv = specOf(layout, a.n.qkv.weight);
        const qkvb = specOf(layout, a.n.qkv.bias);
        w = [0, C, 2 * C].map((o) => rows(qkv, o + r, hd));
        b = [0, C, 2 * C].map((o) => rows(qkvb, o + r, hd));
      }
      units.push({ module: a.n.prefix, weights: [...w, cols(proj, r, hd)], biases: b });
    }
  }
  return units;
}

function neuronUnits(layout: Layout, cfg: ModelConfig): Unit[] {
  const units: Unit[] = [];
  for (const m of mlpModules(cfg)) {
    const fc = specOf(layout, m.fc.weight);
    const fcb = specOf(layout, m.fc.bias);
    const proj = specOf(layout, m.proj.weight);
    for (let j = 0; j < cfg.d_ff; j++)
      units.push({
        module: m.prefix,
        weights: [rows(fc, j, 1), cols(proj, j, 1)],
        biases: [rows(fcb, j, 1)],
      });
  }
  return units;
}

/** The weight tensors a spec prunes (and whose sparsity is reported), in layout order. */
export function pruneTargets(layout: Layout, cfg: ModelConfig, spec: PruneSpec): string[] {
  const p = spec.pattern;
  if (p === 'heads' || p === 'neurons') {
    const names =
      p === 'heads'
        ? attentionModules(cfg).flatMap((a) =>
            (a.cross ? [a.n.q, a.n.kv, a.n.proj] : [a.n.qkv, a.n.proj]).map((l) => l.weight),
          )
        : mlpModules(cfg).flatMap((m) => [m.fc.weight, m.proj.weight]);
    return names
      .map((n) => specOf(layout, n))
      .sort((a, b) => a.offset - b.offset)
      .map((s) => s.name);
  }
  return layout.specs.filter((s) => s.linear || (spec.embeddings && isEmbedding(s.name))).map((s) => s.name);
}

// ---- selection -------------------------------------------------------------------------------

/** |w| as order-preserving uint32 keys: float32 bit patterns, to be read with the sign cleared. */
function magnitudeKeys(params: FloatArray): Uint32Array {
  const f = params instanceof Float32Array ? params : Float32Array.from(params);
  return new Uint32Array(f.buffer, f.byteOffset, f.length);
}

/** Set mask to 0 for the k entries of `ranges` first in (|w|, index) order (radix select, O(N)). */
function pruneSmallest(
  keys: Uint32Array,
  ranges: Array<[number, number]>,
  k: number,
  mask: Uint8Array,
): void {
  if (k <= 0) return;
  const hist = new Float64Array(65536);
  for (const [o, n] of ranges) {
    for (let i = o; i < o + n; i++) {
      const b = (keys[i]! & 0x7fffffff) >>> 16;
      hist[b] = hist[b]! + 1;
    }
  }
  let below = 0;
  let hi = 0;
  while (below + hist[hi]! < k) below += hist[hi++]!;
  hist.fill(0);
  for (const [o, n] of ranges) {
    for (let i = o; i < o + n; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (key >>> 16 === hi) hist[key & 0xffff] = hist[key & 0xffff]! + 1;
    }
  }
  let lo = 0;
  while (below + hist[lo]! < k) below += hist[lo++]!;
  const thr = ((hi << 16) | lo) >>> 0;
  let ties = k - below;
  for (const [o, n] of ranges) {
    for (let i = o; i < o + n; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (key < thr || (key === thr && ties-- > 0)) mask[i] = 0;
    }
  }
}

function pruneNM(keys: Uint32Array, s: ParamSpec, n: number, m: number, mask: Uint8Array): void {
  const inDim = s.shape[s.shape.length - 1]!;
  if (inDim % m !== 0) {
    throw new InputError(
      `N:M pruning of ${s.name}: its input dimension ${inDim} does not divide by M = ${m}`,
      `choose M dividing ${inDim}, or use unstructured pruning`,
    );
  }
  const order = Array.from({ length: m }, (_, i) => i);
  for (let g = s.offset; g < s.offset + s.size; g += m) {
    order.sort((a, b) => (keys[g + a]! & 0x7fffffff) - (keys[g + b]! & 0x7fffffff) || a - b);
    for (let j = 0; j < m - n; j++) mask[g + order[j]!] = 0;
  }
}

function forEach(parts: Strided[], f: (i: number) => void): void {
  for (const p of parts)
    for (let r = 0; r < p.count; r++) for (let j = 0; j < p.len; j++) f(p.offset + r * p.stride + j);
}

function pruneUnits(params: FloatArray, units: Unit[], spec: PruneSpec, mask: Uint8Array): number {
  const scores = units.map((u) => {
    let ss = 0;
    forEach(u.weights, (i) => {
      ss += params[i]! * params[i]!;
    });
    return Math.sqrt(ss);
  });
  const groups = new Map<string, number[]>();
  units.forEach((u, i) => {
    const key = spec.scope === 'global' ? '' : u.module;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  let pruned = 0;
  for (const ids of groups.values()) {
    ids.sort((a, b) => scores[a]! - scores[b]! || a - b);
    const k = Math.round(spec.sparsity * ids.length);
    for (const id of ids.slice(0, k)) {
      forEach([...units[id]!.weights, ...units[id]!.biases], (i) => {
        mask[i] = 0;
      });
    }
    pruned += k;
  }
  return pruned;
}

// ---- the pure function -----------------------------------------------------------------------

export interface PrunePlan {
  /** 1 = keep, 0 = prune, over the whole flat buffer */
  mask: Uint8Array;
  /** weight tensors the spec targets, in layout order */
  targets: string[];
  requested: number;
  /** pruned weights / weights in targets (biases not counted) */
  achieved: number;
  /** heads / neurons: how many units there are and how many were pruned */
  units: { total: number; pruned: number } | null;
}

/** Compute the mask of a spec and what it achieves. Pure: params are not changed. */
export function planPrune(params: FloatArray, layout: Layout, cfg: ModelConfig, spec: PruneSpec): PrunePlan {
  validatePruneSpec(spec);
  if (params.length !== layout.total) {
    throw new InputError(
      `pruning: expected a parameter buffer of ${layout.total} floats, found ${params.length}`,
      'pass the model.params of this config',
    );
  }
  const mask = new Uint8Array(params.length).fill(1);
  const targets = pruneTargets(layout, cfg, spec);
  const tspecs = targets.map((n) => specOf(layout, n));
  let units: PrunePlan['units'] = null;
  const p = spec.pattern;
  if (p === 'heads' || p === 'neurons') {
    const us = p === 'heads' ? headUnits(layout, cfg) : neuronUnits(layout, cfg);
    units = { total: us.length, pruned: pruneUnits(params, us, spec, mask) };
  } else {
    const keys = magnitudeKeys(params);
    if (typeof p === 'object') for (const s of tspecs) pruneNM(keys, s, p.n, p.m, mask);
    else if (spec.scope === 'layer')
      for (const s of tspecs)
        pruneSmallest(keys, [[s.offset, s.size]], Math.round(spec.sparsity * s.size), mask);
    else {
      const N = tspecs.reduce((a, s) => a + s.size, 0);
      pruneSmallest(
        keys,
        tspecs.map((s) => [s.offset, s.size]),
        Math.round(spec.sparsity * N),
        mask,
      );
    }
  }
  let zeros = 0;
  let total = 0;
  for (const s of tspecs) {
    total += s.size;
    for (let i = s.offset; i < s.offset + s.size; i++) zeros += 1 - mask[i]!;
  }
  return { mask, targets, requested: spec.sparsity, achieved: total > 0 ? zeros / total : 0, units };
}

/** The keep-mask (1 = keep) of a spec over the whole flat buffer. */
export function pruneMask(params: FloatArray, layout: Layout, cfg: ModelConfig, spec: PruneSpec): Uint8Array {
  return planPrune(params, layout, cfg, spec).mask;
}

function checkMask(what: string, x: FloatArray, mask: Uint8Array): void {
  if (mask.length !== x.length) {
    throw new InputError(
      `${what}: mask has ${mask.length} entries, the buffer ${x.length}`,
      "build the mask from this model's parameters",
    );
  }
}

/** params[i] = 0 where mask[i] = 0 (in place). */
export function applyMask(params: FloatArray, mask: Uint8Array): void {
  checkMask('applyMask', params, mask);
  for (let i = 0; i < mask.length; i++) if (!mask[i]) params[i] = 0;
}

/**
 * grads[i] = 0 where mask[i] = 0 (in place), for fine-tuning a pruned model: call it after
 * backward and before clipping. Adam moments can still move a pruned weight, so also applyMask
 * to the params after every optimizer step.
 */
export function maskGrads(grads: FloatArray, mask: Uint8Array): void {
  checkMask('maskGrads', grads, mask);
  for (let i = 0; i < mask.length; i++) if (!mask[i]) grads[i] = 0;
}

export interface TensorSparsity {
  name: string;
  size: number;
  nonzero: number;
  sparsity: number;
}

export interface SparsityReport {
  tensors: TensorSparsity[];
  size: number;
  nonzero: number;
  sparsity: number;
}

/** Non-zeros per named tensor and over all of them (what "non-zero parameters" plots use). */
export function sparsityOf(params: FloatArray, layout: Layout, targets: readonly string[]): SparsityReport {
  const tensors = targets.map((name) => {
    const s = specOf(layout, name);
    let nonzero = 0;
    for (let i = s.offset; i < s.offset + s.size; i++) if (params[i] !== 0) nonzero++;
    return { name, size: s.size, nonzero, sparsity: s.size > 0 ? 1 - nonzero / s.size : 0 };
  });
  const size = tensors.reduce((a, t) => a + t.size, 0);
  const nonzero = tensors.reduce((a, t) => a + t.nonzero, 0);
  return { tensors, size, nonzero, sparsity: size > 0 ? 1 - nonzero / size : 0 };
}

// ---- gradual pruning schedule ----------------------------------------------------------------

function checkSchedule(t0: number, tEnd: number, sInit: number, sFinal: number, nSteps: number): void {
  if (!Number.isInteger(nSteps) || nSteps < 1)
    throw new InputError(`cubic schedule: nSteps must be an integer >= 1, found ${nSteps}`);
  if (!(tEnd > t0))
    throw new InputError(`cubic schedule: tEnd must be after t0, found t0 ${t0}, tEnd ${tEnd}`);
  if (!(sInit >= 0 && sInit <= sFinal && sFinal <= 1)) {
    throw new InputError(`cubic schedule: need 0 <= sInit <= sFinal <= 1, found ${sInit} -> ${sFinal}`);
  }
}

/**
 * Zhu & Gupta (2017): s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n Δt))^3 with Δt = (tEnd - t0)/n,
 * held constant between pruning steps (t counts whole Δt's since t0); s_i before t0, s_f after tEnd.
 */
export function cubicSchedule(
  step: number,
  t0: number,
  tEnd: number,
  sInit: number,
  sFinal: number,
  nSteps: number,
): number {
  checkSchedule(t0, tEnd, sInit, sFinal, nSteps);
  const k = step < t0 ? 0 : Math.min(nSteps, Math.floor(((step - t0) * nSteps) / (tEnd - t0)));
  if (k === 0 || k === nSteps) return k === 0 ? sInit : sFinal; // exact endpoints
  return sFinal + (sInit - sFinal) * (1 - k / nSteps) ** 3;
}

/** The n + 1 (step, sparsity) points where a gradual loop recomputes the mask (t0 ... tEnd). */
export function cubicPlan(
  t0: number,
  tEnd: number,
  sInit: number,
  sFinal: number,
  nSteps: number,
): Array<{ step: number; sparsity: number }> {
  checkSchedule(t0, tEnd, sInit, sFinal, nSteps);
  return Array.from({ length: nSteps + 1 }, (_, k) => {
    const step = t0 + Math.ceil((k * (tEnd - t0)) / nSteps);
    return { step, sparsity: cubicSchedule(step, t0, tEnd, sInit, sFinal, nSteps) };
  });
}
