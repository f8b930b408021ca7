// Compression with fine-tuning through the trainer: gradual magnitude pruning (cubic schedule,
// Zhu & Gupta 2017; the mask is recomputed at scheduled steps and gradients are masked) and
// quantization-aware fine-tuning (fake quantization, straight-through estimator).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { Transformer } from '../model/transformer.ts';
import { loadLatestCheckpoint } from '../train/checkpoint.ts';
import type { TrainConfig } from '../train/config.ts';
import { readRunConfig, runData } from '../train/load.ts';
import { Progress } from '../train/progress.ts';
import { writeJson } from '../train/rundir.ts';
import { type TrainHooks, train } from '../train/trainer.ts';
import type { CompressSpec } from './compress.ts';
import { applyMask, cubicPlan, maskGrads, type PruneSpec, parsePruneSpec, planPrune } from './prune.ts';
import { parseQuantSpec, type QuantFormat } from './quant/formats.ts';
import { FakeQuant } from './quant/qat.ts';
import { selectQuantTargets } from './quant/rtn.ts';

export interface FinetuneOptions {
  steps: number;
  /** peak LR of the fine-tuning (default: a tenth of the run's) */
  lr?: number;
  /** gradual pruning: prune over the first `rampFraction` of the steps, then fine-tune the final mask */
  rampFraction?: number;
  /** recompute the mask this many times during the ramp */
  pruneEvents?: number;
  qat: boolean;
  gradual: boolean;
  be: Backend<Float32Array>;
  progress?: Progress;
}

function pruneHooks(spec: PruneSpec, steps: number, o: FinetuneOptions): TrainHooks {
  const ramp = Math.max(1, Math.round(steps * (o.rampFraction ?? 0.75)));
  const events = Math.max(1, Math.min(ramp, o.pruneEvents ?? 10));
  const at = new Map(
    cubicPlan(0, ramp, 0, spec.sparsity, events)
      .filter((p) => p.sparsity > 0)
      .map((p) => [p.step, p.sparsity]),
  );
  let mask: Uint8Array | null = null;
  return {
    afterBackward(m) {
      if (mask) maskGrads(m.grads, mask);
    },
    afterStep(m, step) {
      const s = at.get(step);
      if (s !== undefined) mask = planPrune(m.params, m.layout, m.cfg, { ...spec, sparsity: s }).mask;
      if (mask) applyMask(m.params, mask);
    },
  };
}

function qatHooks(fq: FakeQuant): TrainHooks {
  return {
    beforeForward: (m) => fq.apply(m.params),
    afterBackward(m) {
      fq.restore(m.params);
      fq.maskGrad(m.grads);
    },
  };
}

/**
 * Fine-tune a trained run under compression, into `outDir/finetune` (a regular run directory whose
 * final weights are then compressed one-shot with the same spec). Returns that run directory.
 */
export function finetuneForCompression(
  runDir: string,
  outDir: string,
  spec: CompressSpec,
  o: FinetuneOptions,
): string {
  if (o.gradual && !spec.prune)
    throw new InputError('--gradual needs --prune', 'e.g. --prune 90% --gradual --steps 300');
  if (o.qat && !spec.quant)
    throw new InputError('--qat needs --quant', 'e.g. --quant int3 --qat --steps 300');
  if (o.qat && spec.prune && o.gradual)
    throw new InputError('--qat and --gradual together are not supported yet', 'run them as two steps');
  const saved = readRunConfig(runDir);
  const ck = loadLatestCheckpoint(runDir, (m) => o.progress?.message(`warning: ${m}`));
  if (!ck) throw new InputError(`run ${runDir} has no checkpoint`, 'train it first');
  const dir = path.join(outDir, 'finetune');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const cfg: TrainConfig = {
    ...saved.config,
    optim: {
      ...saved.config.optim,
      lr: o.lr ?? saved.config.optim.lr / 10,
      warmup_steps: 0,
      schedule: 'constant',
    },
    budget: { steps: o.steps },
    eval: { every_steps: Math.max(1, Math.floor(o.steps / 4)) },
    checkpoint: { every_seconds: 1e9, keep: 1, snapshot_at_eval: false, branch_at_seconds: [] },
  };
  const data = runData(saved, runDir);
  let hooks: TrainHooks = {};
  if (o.gradual) hooks = pruneHooks(parsePruneSpec(spec.prune!), o.steps, o);
  else if (o.qat) hooks = qatHooksLazy(parseQuantSpec(spec.quant!), spec);
  writeJson(path.join(dir, 'config.json'), { ...saved, config: cfg, from: runDir });
  fs.copyFileSync(path.join(runDir, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  train({
    cfg,
    model: saved.model,
    data,
    be: o.be,
    runDir: dir,
    resume: false,
    init: ck.tensors,
    hooks,
    progress: o.progress ?? new Progress(),
  });
  return dir;
}

/** QAT hooks whose targets are bound on first use (the layout is known only once the model exists). */
function qatHooksLazy(format: QuantFormat, spec: CompressSpec): TrainHooks {
  let inner: TrainHooks | null = null;
  const get = (m: Transformer<Float32Array>) => {
    inner ??= qatHooks(
      new FakeQuant(selectQuantTargets(m.layout.specs, { embeddings: spec.embeddings }), format),
    );
    return inner;
  };
  return {
    beforeForward: (m) => get(m).beforeForward!(m),
    afterBackward: (m) => get(m).afterBackward!(m),
  };
}
