// One compression of a trained model: magnitude pruning, then quantization (round-to-nearest or
// GPTQ with Hessians from calibration batches) of the targeted tensors, producing the stored form
// of every tensor and the exact weights it stands for. No training here (see gradual.ts).
import { InputError } from '../engine/errors.ts';
import type { ParamSpec } from '../model/params.ts';
import { Transformer } from '../model/transformer.ts';
import { type AnyBatch, forwardAny } from '../train/task.ts';
import { materialize, type StoredTensor } from './container.ts';
import { interceptLinearInputs } from './intercept.ts';
import { applyMask, type PrunePlan, type PruneSpec, parsePruneSpec, planPrune } from './prune.ts';
import type { QuantFormat } from './quant/formats.ts';
import { parseQuantSpec } from './quant/formats.ts';
import { type GptqOptions, gptqQuantize, HessianAccumulator } from './quant/gptq.ts';
import { matrixShape, paramSlice, selectQuantTargets } from './quant/rtn.ts';

export interface CompressSpec {
  /** quantization spec (e.g. int4:group64), or null */
  quant: string | null;
  method: 'rtn' | 'gptq';
  /** pruning spec (e.g. 50%:global), or null */
  prune: string | null;
  /** quantize the (tied) token and position embeddings too */
  embeddings: boolean;
  /** evaluate with 8-bit dynamic per-token activations at every linear layer (W8A8-style) */
  act8?: boolean;
  gptq?: GptqOptions;
}

export interface Compressed {
  stored: Map<string, StoredTensor>;
  /** the weights the stored form stands for (flat, the model's layout) */
  params: Float32Array;
  nonzero: number;
  total: number;
  plan: PrunePlan | null;
  format: QuantFormat | null;
  prune: PruneSpec | null;
}

/**
 * H = 2/N X^T X for the input X of every target linear layer, from forward passes over `batches`
 * of the dense model, caught where the model multiplies by that layer's weight. All layers see dense inputs (one pass, not
 * the reference's layer-by-layer requantized inputs): stated in the protocol.
 */
export function collectHessians(
  model: Transformer<Float32Array>,
  targets: ParamSpec[],
  batches: AnyBatch[],
): Map<string, HessianAccumulator> {
  const byOffset = new Map(targets.map((s) => [s.offset, s]));
  const acc = new Map(targets.map((s) => [s.name, new HessianAccumulator(matrixShape(s)[1])]));
  let probe: Transformer<Float32Array> | null = null;
  const spy = interceptLinearInputs(
    model.be,
    () => probe?.params ?? null,
    (offset, x, rows, cols) => {
      const s = byOffset.get(offset);
      if (s && cols === matrixShape(s)[1]) acc.get(s.name)!.add(x, rows);
      return undefined;
    },
  );
  probe = new Transformer(spy, model.cfg, 0);
  probe.params.set(model.params);
  for (const x of batches) forwardAny(probe, x, { train: false, grad: false });
  return acc;
}

export function compressModel(
  model: Transformer<Float32Array>,
  spec: CompressSpec,
  calib: AnyBatch[] | null,
): Compressed {
  const { layout, cfg } = model;
  const params = Float32Array.from(model.params);
  const pruneSpec = spec.prune ? parsePruneSpec(spec.prune) : null;
  const plan = pruneSpec ? planPrune(params, layout, cfg, pruneSpec) : null;
  if (plan) applyMask(params, plan.mask);
  const format = spec.quant ? parseQuantSpec(spec.quant) : null;
  const qTargets = format ? selectQuantTargets(layout.specs, { embeddings: spec.embeddings }) : [];
  if (format && spec.method === 'gptq') {
    if (plan)
      throw new InputError(
        'GPTQ together with pruning is not supported',
        'use --method rtn with --prune, or quantize without pruning',
      );
    if (!calib || calib.length === 0)
      throw new InputError('GPTQ needs calibration batches', 'pass --calib-batches N (N >= 1)');
  }
  const H = format && spec.method === 'gptq' ? collectHessians(model, qTargets, calib!) : null;
  const pruned = new Set(plan?.targets ?? []);
  const stored = new Map<string, StoredTensor>();
  const quantized = new Set(qTargets.map((s) => s.name));
  for (const s of layout.specs) {
    const w = paramSlice(params, s);
    const mask = plan && pruned.has(s.name) ? plan.mask.subarray(s.offset, s.offset + s.size) : null;
    if (format && quantized.has(s.name)) {
      const [rows, cols] = matrixShape(s);
      const h = H?.get(s.name);
      // a tensor no calibration input reached (the position table) is rounded to nearest
      const q =
        h && h.count > 0
          ? gptqQuantize(w, rows, cols, h.hessian(), format, spec.gptq)
          : format.quantize(w, rows, cols);
      stored.set(s.name, { kind: 'quant', q, mask: mask ? Uint8Array.from(mask) : null });
    } else if (mask) {
      const m = Uint8Array.from(mask);
      stored.set(s.name, { kind: 'sparse', mask: m, values: w.filter((_, i) => m[i] === 1) });
    } else stored.set(s.name, { kind: 'dense', values: Float32Array.from(w) });
  }
  const out = new Float32Array(layout.total);
  let nonzero = 0;
  let total = 0;
  for (const s of layout.specs) {
    const v = materialize(stored.get(s.name)!, s.size);
    out.set(v, s.offset);
    total += s.size;
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) nonzero++;
  }
  return { stored, params: out, nonzero, total, plan, format, prune: pruneSpec };
}
