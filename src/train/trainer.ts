// The training loop: budgets, LR schedule, gradient accumulation and clipping, evaluation
// cadence, metrics, checkpoints and exact resume. It trains what it is given; it does not choose
// sizes (that is the study's job) nor read corpora (the TrainData does).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { TlcError } from '../engine/errors.ts';
import { AdamW, gradClipScale } from '../engine/optim.ts';
import { hash32 } from '../engine/rng.ts';
import { type ModelConfig, modelStats } from '../model/config.ts';
import { Transformer } from '../model/transformer.ts';
import { budgetFraction, budgetReached, type Spent, zeroSpent } from './budget.ts';
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { Progress } from './progress.ts';
import { type MetricRecord, MetricsLog, truncateMetrics, writeJson } from './rundir.ts';
import { learningRate } from './schedule.ts';
import { batchTokens, type EvalResult, evaluate, forwardAny, type TrainData } from './task.ts';

export class NonFiniteError extends TlcError {}

/** Points where compression-aware training (pruning masks, fake quantization) steps in. */
export interface TrainHooks {
  /** before each micro-batch's forward (e.g. swap in fake-quantized weights) */
  beforeForward?(m: Transformer<Float32Array>): void;
  /** after each micro-batch's backward (e.g. restore fp32 masters, mask gradients) */
  afterBackward?(m: Transformer<Float32Array>): void;
  /** after each optimizer step (e.g. recompute or re-apply a pruning mask) */
  afterStep?(m: Transformer<Float32Array>, step: number): void;
  /** before evaluations and the final checkpoint (e.g. fake-quantize for eval) */
  beforeEval?(m: Transformer<Float32Array>): void;
  afterEval?(m: Transformer<Float32Array>): void;
}

export interface TrainOptions {
  cfg: TrainConfig;
  model: ModelConfig;
  data: TrainData;
  be: Backend<Float32Array>;
  runDir: string;
  /** continue from the last good checkpoint in runDir */
  resume: boolean;
  /** initial parameters by name (fine-tuning); names not present keep their init */
  init?: Map<string, Float32Array>;
  progress?: Progress;
  /** seconds, monotonic (injectable for tests) */
  now?: () => number;
  hooks?: TrainHooks;
}

export interface TrainResult {
  status: 'done';
  stopped_by: string;
  spent: Spent;
  elapsed_s: number;
  final_valid: EvalResult;
  test?: EvalResult;
  params: number;
  flops_per_token: number;
  skipped_steps: number;
}

interface LoopState {
  spent: Spent;
  optT: number;
  data: unknown;
  nextEvalStep: number;
  nextEvalWall: number;
  skipped: number;
}

function checkpointTensors(m: Transformer<Float32Array>, opt: AdamW<Float32Array>) {
  const t = m.layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: m.p.get(s.name) }));
  t.push(
    { name: 'optimizer.m', shape: [opt.n], data: opt.m },
    { name: 'optimizer.v', shape: [opt.n], data: opt.v },
  );
  return t;
}

function restoreTensors(
  m: Transformer<Float32Array>,
  opt: AdamW<Float32Array> | null,
  tensors: Map<string, Float32Array>,
  strict: boolean,
): void {
  for (const s of m.layout.specs) {
    const src = tensors.get(s.name);
    if (!src) {
      if (strict)
        throw new TlcError(
          `checkpoint lacks parameter ${s.name}`,
          'the checkpoint belongs to another model config',
        );
      continue;
    }
    if (src.length !== s.size)
      throw new TlcError(`checkpoint tensor ${s.name} has ${src.length} values, the model expects ${s.size}`);
    m.p.get(s.name).set(src);
  }
  if (opt) {
    opt.m.set(tensors.get('optimizer.m')!);
    opt.v.set(tensors.get('optimizer.v')!);
  }
}

export function train(o: TrainOptions): TrainResult {
  const { cfg, data, be, runDir } = o;
  const now = o.now ?? (() => performance.now() / 1000);
  const progress = o.progress ?? new Progress();
  const t00 = now();
  const m = new Transformer(be, o.model, cfg.seed);
  const opt = new AdamW(be, m.layout.total, m.layout.specs, {
    beta1: cfg.optim.beta1,
    beta2: cfg.optim.beta2,
    eps: cfg.optim.eps,
    weightDecay: cfg.optim.weight_decay,
  });
  const stats = modelStats(o.model, data.maxLen, data.predictFraction);
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  let st: LoopState = {
    spent: zeroSpent(),
    optT: 0,
    data: null,
    nextEvalStep: 0,
    nextEvalWall: 0,
    skipped: 0,
  };
  let elapsedBase = 0;
  let restored = false;
  if (o.resume) {
    const ck = loadLatestCheckpoint(runDir, (msg) => progress.message(`warning: ${msg}`));
    if (ck) {
      restoreTensors(m, opt, ck.tensors, true);
      st = ck.state as LoopState;
      opt.t = st.optT;
      data.restore(st.data);
      elapsedBase = (ck.state as { elapsed_s?: number }).elapsed_s ?? 0;
      truncateMetrics(metricsFile, st.spent.step);
      restored = true;
      progress.message(
        `resuming at step ${st.spent.step} (${st.spent.wall_s.toFixed(1)} s of training spent)`,
      );
    } else {
      fs.rmSync(metricsFile, { force: true });
    }
  }
  if (!restored && o.init) restoreTensors(m, null, o.init, false);
  const log = new MetricsLog(metricsFile);
  const elapsed = () => elapsedBase + now() - t00;
  const rec = (split: MetricRecord['split'], name: string, value: number): void =>
    log.write({
      step: st.spent.step,
      wall_s: +st.spent.wall_s.toFixed(4),
      tokens: st.spent.tokens,
      flops: st.spent.flops,
      split,
      name,
      value,
      elapsed_s: +elapsed().toFixed(3),
    });
  const smoothing = data.kind === 'seq2seq' ? cfg.optim.label_smoothing : 0;
  const hooks = o.hooks ?? {};
  const runEval = (): EvalResult => {
    hooks.beforeEval?.(m);
    const r = evaluate(m, data.valid); // no label smoothing: perplexity stays comparable
    hooks.afterEval?.(m);
    rec('valid', 'loss', r.loss);
    if (data.kind !== 'cls') rec('valid', 'ppl', Math.exp(r.loss));
    if (r.accuracy !== undefined) rec('valid', 'accuracy', r.accuracy);
    st.nextEvalStep = cfg.eval.every_steps ? st.spent.step + cfg.eval.every_steps : Number.MAX_VALUE;
    st.nextEvalWall = cfg.eval.every_seconds ? st.spent.wall_s + cfg.eval.every_seconds : Number.MAX_VALUE;
    return r;
  };
  const checkpoint = (): void => {
    st.optT = opt.t;
    st.data = data.state();
    saveCheckpoint(
      runDir,
      { step: st.spent.step, tensors: checkpointTensors(m, opt), state: { ...st, elapsed_s: elapsed() } },
      cfg.checkpoint.keep,
    );
  };
  if (st.spent.step === 0) runEval();
  let lastCk = now();
  let lastLoss = Number.NaN;
  let stoppedBy: string | null = null;
  try {
    for (;;) {
      stoppedBy = budgetReached(cfg.budget, st.spent);
      if (stoppedBy) break;
      const t0 = now();
      const step = st.spent.step + 1;
      m.zeroGrad();
      let loss = 0;
      let tokens = 0;
      const accum = cfg.optim.grad_accum;
      for (let k = 0; k < accum; k++) {
        const x = data.next();
        hooks.beforeForward?.(m);
        const tape = forwardAny(m, x, {
          train: true,
          grad: true,
          seed: hash32(cfg.seed, step * accum + k),
          labelSmoothing: smoothing,
        });
        m.backward(tape, 1 / accum);
        hooks.afterBackward?.(m);
        loss += tape.loss / accum;
        tokens += batchTokens(x);
      }
      const clip = gradClipScale(be, m.grads, m.layout.total, cfg.optim.clip);
      const gnorm = clip.norm;
      const finite = Number.isFinite(loss) && Number.isFinite(gnorm);
      const lr = learningRate(
        {
          lr: cfg.optim.lr,
          warmupSteps: cfg.optim.warmup_steps,
          schedule: cfg.optim.schedule,
          minLrRatio: cfg.optim.min_lr_ratio,
        },
        step,
        budgetFraction(cfg.budget, st.spent),
      );
      if (finite) {
        opt.step(m.params, m.grads, lr, clip.scale);
        hooks.afterStep?.(m, step);
      }
      const dt = now() - t0;
      st.spent = {
        step,
        wall_s: st.spent.wall_s + dt,
        tokens: st.spent.tokens + tokens,
        flops: st.spent.flops + tokens * stats.trainFlopsPerToken,
      };
      if (!finite) {
        if (cfg.on_nonfinite === 'stop') {
          throw new NonFiniteError(
            `non-finite ${Number.isFinite(loss) ? 'gradient norm' : 'loss'} at step ${step} (loss ${loss}, grad norm ${gnorm}); the run stopped and its last good checkpoint is intact`,
            'lower optim.lr, raise optim.warmup_steps, or set on_nonfinite: skip',
          );
        }
        st.skipped++;
        rec('train', 'skipped', 1);
        continue;
      }
      lastLoss = loss;
      rec('train', 'loss', loss);
      rec('train', 'lr', lr);
      rec('train', 'grad_norm', gnorm);
      progress.update({
        step,
        loss,
        tokens: st.spent.tokens,
        fraction: budgetFraction(cfg.budget, st.spent),
        wallS: st.spent.wall_s,
      });
      if (st.spent.step >= st.nextEvalStep || st.spent.wall_s >= st.nextEvalWall) runEval();
      if (now() - lastCk >= cfg.checkpoint.every_seconds) {
        checkpoint();
        lastCk = now();
      }
    }
    const finalValid = runEval();
    checkpoint();
    const result: TrainResult = {
      status: 'done',
      stopped_by: stoppedBy,
      spent: st.spent,
      elapsed_s: elapsed(),
      final_valid: finalValid,
      params: stats.params,
      flops_per_token: stats.trainFlopsPerToken,
      skipped_steps: st.skipped,
    };
    if (data.test.length > 0) {
      result.test = evaluate(m, data.test);
      if (result.test.accuracy !== undefined) rec('test', 'accuracy', result.test.accuracy);
    }
    writeJson(path.join(runDir, 'result.json'), { ...result, last_train_loss: lastLoss });
    progress.update(
      {
        step: st.spent.step,
        loss: lastLoss,
        tokens: st.spent.tokens,
        fraction: 1,
        wallS: st.spent.wall_s,
        final: true,
      },
      true,
    );
    progress.done();
    return result;
  } catch (e) {
    if (e instanceof NonFiniteError) {
      writeJson(path.join(runDir, 'result.json'), {
        status: 'failed',
        reason: e.message,
        spent: st.spent,
        elapsed_s: elapsed(),
      });
    }
    throw e;
  } finally {
    log.close();
  }
}
