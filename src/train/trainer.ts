// The training loop: budgets, LR schedule, gradient accumulation and clipping, evaluation
// cadence, metrics, checkpoints (and weight snapshots, and branch points for cool-downs) and exact
// resume. It trains what it is given; it does not choose sizes (that is the study's job) nor read
// corpora (the TrainData does).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { TlcError } from '../engine/errors.ts';
import { AdamW, gradClipScale } from '../engine/optim.ts';
import { hash32 } from '../engine/rng.ts';
import { type ModelConfig, type ModelStats, modelStats } from '../model/config.ts';
import { Transformer } from '../model/transformer.ts';
import { budgetFraction, budgetReached, type Spent, zeroSpent } from './budget.ts';
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { Progress } from './progress.ts';
import {
  branchDir,
  EVALS_FILE,
  type EvalRecord,
  type MetricRecord,
  MetricsLog,
  SNAPSHOTS_DIR,
  truncateMetrics,
  writeJson,
} from './rundir.ts';
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
  final_valid: Omit<EvalResult, 'windowSums' | 'windowCounts'>;
  test?: Omit<EvalResult, 'windowSums' | 'windowCounts'>;
  params: number;
  flops_per_token: number;
  skipped_steps: number;
}

/** What a checkpoint stores besides tensors: everything needed to continue bit for bit. */
interface LoopState {
  spent: Spent;
  optT: number;
  data: unknown;
  nextEvalStep: number;
  nextEvalWall: number;
  skipped: number;
  /** branch points (checkpoint.branch_at_seconds) already saved */
  branchesDone?: number;
}

/** One run of the loop: the model, optimizer, state and logs, shared by the phases below. */
interface Loop {
  o: TrainOptions;
  m: Transformer<Float32Array>;
  opt: AdamW<Float32Array>;
  stats: ModelStats;
  st: LoopState;
  log: MetricsLog;
  evals: MetricsLog;
  hooks: TrainHooks;
  progress: Progress;
  now: () => number;
  elapsed: () => number;
  /** the last finite training loss (NaN before the first step of this process) */
  lastLoss: number;
}

function checkpointTensors(m: Transformer<Float32Array>, opt: AdamW<Float32Array> | null) {
  const t = m.layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: m.p.get(s.name) }));
  if (opt)
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

/** Model, optimizer and state: fresh, or restored from the run's last good checkpoint. */
function setup(o: TrainOptions): Loop {
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
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  const evalsFile = path.join(runDir, EVALS_FILE);
  let st: LoopState = {
    spent: zeroSpent(),
    optT: 0,
    data: null,
    nextEvalStep: 0,
    nextEvalWall: 0,
    skipped: 0,
    branchesDone: 0,
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
      if (fs.existsSync(evalsFile)) truncateMetrics(evalsFile, st.spent.step);
      restored = true;
      progress.message(
        `resuming at step ${st.spent.step} (${st.spent.wall_s.toFixed(1)} s of training spent)`,
      );
    } else {
      fs.rmSync(metricsFile, { force: true });
      fs.rmSync(evalsFile, { force: true });
    }
  }
  if (!restored && o.init) restoreTensors(m, null, o.init, false);
  return {
    o,
    m,
    opt,
    stats: modelStats(o.model, data.maxLen, data.predictFraction),
    st,
    log: new MetricsLog(metricsFile),
    evals: new MetricsLog(evalsFile),
    hooks: o.hooks ?? {},
    progress,
    now,
    elapsed: () => elapsedBase + now() - t00,
    lastLoss: Number.NaN,
  };
}

function rec(L: Loop, split: MetricRecord['split'], name: string, value: number): void {
  const s = L.st.spent;
  L.log.write({
    step: s.step,
    wall_s: +s.wall_s.toFixed(4),
    tokens: s.tokens,
    flops: s.flops,
    split,
    name,
    value,
    elapsed_s: +L.elapsed().toFixed(3),
  });
}

/**
 * Validation: the loss (and its token count) into metrics.jsonl, each window's summed loss into
 * evals.jsonl (paired comparisons need them), a weight snapshot when asked; schedules the next.
 */
function runEval(L: Loop): EvalResult {
  const { cfg, data, runDir } = L.o;
  L.hooks.beforeEval?.(L.m);
  const r = evaluate(L.m, data.valid); // no label smoothing: perplexity stays comparable
  L.hooks.afterEval?.(L.m);
  rec(L, 'valid', 'loss', r.loss);
  if (data.kind !== 'cls') rec(L, 'valid', 'ppl', Math.exp(r.loss));
  rec(L, 'valid', 'tokens_scored', r.count);
  if (r.accuracy !== undefined) rec(L, 'valid', 'accuracy', r.accuracy);
  const s = L.st.spent;
  const line: EvalRecord = {
    step: s.step,
    wall_s: +s.wall_s.toFixed(4),
    tokens: s.tokens,
    loss: r.loss,
    count: r.count,
    sums: Array.from(r.windowSums, (x) => Math.round(x * 1e4) / 1e4),
  };
  L.evals.writeLine(line);
  if (cfg.checkpoint.snapshot_at_eval) {
    saveCheckpoint(
      path.join(runDir, SNAPSHOTS_DIR),
      { step: s.step, tensors: checkpointTensors(L.m, null), state: { ...s, loss: r.loss } },
      Number.MAX_SAFE_INTEGER,
    );
  }
  L.st.nextEvalStep = cfg.eval.every_steps ? s.step + cfg.eval.every_steps : Number.MAX_VALUE;
  L.st.nextEvalWall = cfg.eval.every_seconds ? s.wall_s + cfg.eval.every_seconds : Number.MAX_VALUE;
  return r;
}

/** A full checkpoint (weights, optimizer, data position, RNG) into `dir` (a run directory). */
function checkpointInto(L: Loop, dir: string, keep: number): void {
  L.st.optT = L.opt.t;
  L.st.data = L.o.data.state();
  saveCheckpoint(
    dir,
    {
      step: L.st.spent.step,
      tensors: checkpointTensors(L.m, L.opt),
      state: { ...L.st, elapsed_s: L.elapsed() },
    },
    keep,
  );
}

/** Branch points: a full checkpoint at the first step past each branch time, for cool-down runs. */
function saveBranches(L: Loop): void {
  const at = L.o.cfg.checkpoint.branch_at_seconds;
  let done = L.st.branchesDone ?? 0;
  while (done < at.length && L.st.spent.wall_s >= at[done]!) {
    L.st.branchesDone = ++done;
    checkpointInto(L, branchDir(L.o.runDir, at[done - 1]!), 1);
  }
}

/** One optimizer step (with accumulation); false when it was skipped as non-finite. */
function trainStep(L: Loop): boolean {
  const { cfg, data, be } = L.o;
  const { m, st } = L;
  const t0 = L.now();
  const step = st.spent.step + 1;
  m.zeroGrad();
  let loss = 0;
  let tokens = 0;
  const accum = cfg.optim.grad_accum;
  const smoothing = data.kind === 'seq2seq' ? cfg.optim.label_smoothing : 0;
  for (let k = 0; k < accum; k++) {
    const x = data.next();
    L.hooks.beforeForward?.(m);
    const tape = forwardAny(m, x, {
      train: true,
      grad: true,
      seed: hash32(cfg.seed, step * accum + k),
      labelSmoothing: smoothing,
    });
    m.backward(tape, 1 / accum);
    L.hooks.afterBackward?.(m);
    loss += tape.loss / accum;
    tokens += batchTokens(x);
  }
  const clip = gradClipScale(be, m.grads, m.layout.total, cfg.optim.clip);
  const finite = Number.isFinite(loss) && Number.isFinite(clip.norm);
  const lr = learningRate(
    {
      lr: cfg.optim.lr,
      warmupSteps: cfg.optim.warmup_steps,
      schedule: cfg.optim.schedule,
      minLrRatio: cfg.optim.min_lr_ratio,
      decayFraction: cfg.optim.decay_fraction,
    },
    step,
    budgetFraction(cfg.budget, st.spent),
  );
  if (finite) {
    L.opt.step(m.params, m.grads, lr, clip.scale);
    L.hooks.afterStep?.(m, step);
  }
  st.spent = {
    step,
    wall_s: st.spent.wall_s + (L.now() - t0),
    tokens: st.spent.tokens + tokens,
    flops: st.spent.flops + tokens * L.stats.trainFlopsPerToken,
  };
  if (!finite) {
    if (cfg.on_nonfinite === 'stop') {
      throw new NonFiniteError(
        `non-finite ${Number.isFinite(loss) ? 'gradient norm' : 'loss'} at step ${step} (loss ${loss}, grad norm ${clip.norm}); the run stopped and its last good checkpoint is intact`,
        'lower optim.lr, raise optim.warmup_steps, or set on_nonfinite: skip',
      );
    }
    st.skipped++;
    rec(L, 'train', 'skipped', 1);
    return false;
  }
  rec(L, 'train', 'loss', loss);
  rec(L, 'train', 'lr', lr);
  rec(L, 'train', 'grad_norm', clip.norm);
  L.lastLoss = loss;
  L.progress.update({
    step,
    loss,
    tokens: st.spent.tokens,
    fraction: budgetFraction(cfg.budget, st.spent),
    wallS: st.spent.wall_s,
  });
  return true;
}

/** The final evaluation, checkpoint, test evaluation and result.json. */
function finish(L: Loop, stoppedBy: string): TrainResult {
  const { data, runDir } = L.o;
  const { windowSums: _s, windowCounts: _c, ...finalValid } = runEval(L);
  checkpointInto(L, runDir, L.o.cfg.checkpoint.keep);
  const result: TrainResult = {
    status: 'done',
    stopped_by: stoppedBy,
    spent: L.st.spent,
    elapsed_s: L.elapsed(),
    final_valid: finalValid,
    params: L.stats.params,
    flops_per_token: L.stats.trainFlopsPerToken,
    skipped_steps: L.st.skipped,
  };
  if (data.test.length > 0) {
    const { windowSums: _ts, windowCounts: _tc, ...test } = evaluate(L.m, data.test);
    result.test = test;
    if (test.accuracy !== undefined) rec(L, 'test', 'accuracy', test.accuracy);
  }
  writeJson(path.join(runDir, 'result.json'), { ...result, last_train_loss: L.lastLoss });
  const s = L.st.spent;
  L.progress.update(
    { step: s.step, loss: L.lastLoss, tokens: s.tokens, fraction: 1, wallS: s.wall_s, final: true },
    true,
  );
  L.progress.done();
  return result;
}

export function train(o: TrainOptions): TrainResult {
  const L = setup(o);
  const { cfg } = o;
  if (L.st.spent.step === 0) runEval(L);
  let lastCk = L.now();
  try {
    for (;;) {
      const stoppedBy = budgetReached(cfg.budget, L.st.spent);
      if (stoppedBy) return finish(L, stoppedBy);
      if (!trainStep(L)) continue;
      if (L.st.spent.step >= L.st.nextEvalStep || L.st.spent.wall_s >= L.st.nextEvalWall) runEval(L);
      saveBranches(L);
      if (L.now() - lastCk >= cfg.checkpoint.every_seconds) {
        checkpointInto(L, o.runDir, cfg.checkpoint.keep);
        lastCk = L.now();
      }
    }
  } catch (e) {
    if (e instanceof NonFiniteError) {
      writeJson(path.join(o.runDir, 'result.json'), {
        status: 'failed',
        reason: e.message,
        spent: L.st.spent,
        elapsed_s: L.elapsed(),
      });
    }
    throw e;
  } finally {
    L.log.close();
    L.evals.close();
  }
}
