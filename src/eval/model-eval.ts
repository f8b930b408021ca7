// The compression job with its scores (compressRun: compress/run.ts writes the compressed model,
// this scores it against the dense one with the protocol), and the evaluation of any model
// directory (a training run or a compressed model). Results carry their protocol with them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CompressSpec } from '../compress/compress.ts';
import { CONTAINER_FILE, readContainer } from '../compress/container.ts';
import { compressedModel, denseContainerBytes, writeCompressedDir } from '../compress/run.ts';
import { Tokenizer } from '../data/tokenizer/index.ts';
import type { Backend } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { buildLayout } from '../model/params.ts';
import type { Transformer } from '../model/transformer.ts';
import { type LoadedRun, loadTrainedRun, readRunConfig, runData } from '../train/load.ts';
import { writeJson } from '../train/rundir.ts';
import type { AnyBatch, TrainData } from '../train/task.ts';
import {
  accuracy,
  compareModels,
  type EvalProtocol,
  evalProtocol,
  perplexityWithError,
  type Scored,
  type Scorer,
  transformerScorer,
} from './metrics.ts';
import { type TranslationScores, translationScores } from './translate.ts';

/** Re-exported for the runtime's loader (src/infer/load.ts); defined in compress/container.ts. */

export interface ModelScores {
  loss: number;
  ppl: number;
  ppl_low: number;
  ppl_high: number;
  stderr_loss: number;
  tokens: number;
  /** vs the dense source model, when there is one */
  kl: number | null;
  top1: number | null;
  accuracy: number | null;
  test_accuracy: number | null;
  /** encoder-decoder models: greedy translations of the validation batches, BLEU and chrF */
  translation: TranslationScores | null;
  /** each validation window's summed NLL (paired comparisons between models on these windows) */
  window_nll: number[];
  /** classifiers: each validation example, 1 if correct */
  correct_each: number[] | null;
}

export interface CompressResult {
  source: string;
  step: number;
  spec: CompressSpec;
  /** exact size of the container file */
  bytes: number;
  /** sha256 of the container file, checked whenever it is loaded (compress/container.ts) */
  sha256: string;
  /** size of the same model stored uncompressed in the same container format */
  dense_bytes: number;
  nonzero: number;
  total: number;
  sparsity_achieved: number | null;
  dense: ModelScores;
  compressed: ModelScores;
  protocol: EvalProtocol;
}

/** Dense models score the same fixed batches again and again in a grid: remember their logits. */
const denseMemo = new WeakMap<Transformer<Float32Array>, Scorer>();

function memoScorer(m: Transformer<Float32Array>): Scorer {
  let s = denseMemo.get(m);
  if (!s) {
    const inner = transformerScorer(m);
    const cache = new Map<AnyBatch, Scored>();
    s = {
      score(x) {
        let r = cache.get(x);
        if (!r) {
          const t = inner.score(x);
          r = {
            V: t.V,
            logits: Float32Array.from(t.logits),
            idx: Int32Array.from(t.idx),
            targets: Int32Array.from(t.targets),
          };
          cache.set(x, r);
        }
        return r;
      },
    };
    denseMemo.set(m, s);
  }
  return s;
}

/** A dense model's own scores on one data set, computed once per grid (every setting reports them). */
const denseScoresMemo = new WeakMap<Transformer<Float32Array>, WeakMap<TrainData, ModelScores>>();

function denseScores(model: Transformer<Float32Array>, data: TrainData): ModelScores {
  let byData = denseScoresMemo.get(model);
  if (!byData) {
    byData = new WeakMap();
    denseScoresMemo.set(model, byData);
  }
  let s = byData.get(data);
  if (!s) {
    s = scores(model, null, data);
    byData.set(data, s);
  }
  return s;
}

function scores(
  model: Transformer<Float32Array>,
  dense: Transformer<Float32Array> | null,
  data: TrainData,
): ModelScores {
  const batches: AnyBatch[] = data.valid;
  const cls = data.kind === 'cls';
  const cmp = dense ? compareModels(memoScorer(dense), model, batches) : null;
  const ppl = cmp ? cmp.compressed : perplexityWithError(memoScorer(model), batches);
  const acc = cls ? accuracy(model, batches) : null;
  return {
    loss: ppl.loss,
    ppl: ppl.ppl,
    ppl_low: ppl.ppl_low,
    ppl_high: ppl.ppl_high,
    stderr_loss: ppl.stderr_loss,
    tokens: ppl.tokens,
    kl: cmp ? cmp.kl_dense_compressed : null,
    top1: cmp ? cmp.top1_agreement : null,
    accuracy: acc ? acc.accuracy : null,
    correct_each: acc ? acc.correct_each : null,
    window_nll: ppl.window_nll.map((x) => Math.round(x * 1e4) / 1e4),
    test_accuracy: cls && data.test.length ? accuracy(model, data.test).accuracy : null,
    translation: data.kind === 'seq2seq' ? translate(model, data) : null,
  };
}

function translate(model: Transformer<Float32Array>, data: TrainData): TranslationScores {
  const batches = data.valid.flatMap((x) => (x.kind === 'seq2seq' ? [x.b] : []));
  return translationScores(model, batches, Tokenizer.load(data.tokenizerFile));
}

export interface CompressRunOptions {
  /** training batches used as GPTQ calibration data */
  calibBatches: number;
  log?: (m: string) => void;
  /** reuse an already loaded run (the study compresses one run many times) */
  loaded?: LoadedRun;
  /** the dense model to compare against when `runDir` is a compression fine-tune of it */
  reference?: LoadedRun;
}

/** Compress `runDir` with `spec` into `outDir` (container, config, tokenizer, result.json). */
export function compressRun(
  runDir: string,
  spec: CompressSpec,
  outDir: string,
  be: Backend<Float32Array>,
  o: CompressRunOptions,
): CompressResult {
  const run = o.loaded ?? loadTrainedRun(runDir, be, o.log);
  const ref = o.reference ?? run;
  const source = path.resolve(ref.dir);
  const { c, bytes, sha256 } = writeCompressedDir(run, runDir, spec, outDir, {
    calibBatches: o.calibBatches,
    source,
  });
  const comp = compressedModel(be, run.saved.model, c.params, spec.act8 === true);
  const result: CompressResult = {
    source,
    step: run.step,
    spec,
    bytes,
    sha256,
    dense_bytes: denseContainerBytes(run),
    nonzero: c.nonzero,
    total: c.total,
    sparsity_achieved: c.plan ? c.plan.achieved : null,
    dense: denseScores(ref.model, run.data),
    compressed: scores(comp, ref.model, run.data),
    protocol: evalProtocol(run.data.valid, { split: run.saved.config.seed, eval_batches: 20200224 }),
  };
  writeJson(path.join(outDir, 'result.json'), result);
  return result;
}

/** Evaluate a training run or a compressed model directory, optionally on other data. */
export function evaluateModelDir(
  dir: string,
  be: Backend<Float32Array>,
  o: { data?: string; log?: (m: string) => void } = {},
) {
  const saved = readRunConfig(dir);
  const cfg = o.data ? { ...saved.config, data: { ...saved.config.data, name: o.data } } : saved.config;
  const data = runData({ ...saved, config: cfg }, dir, o.log);
  const container = path.join(dir, CONTAINER_FILE);
  let model: Transformer<Float32Array>;
  let dense: Transformer<Float32Array> | null = null;
  let bytes: number;
  if (fs.existsSync(container)) {
    const c = readContainer(container, (m) => buildLayout(m as ModelConfig));
    model = compressedModel(be, saved.model, c.params, (c.spec as CompressSpec | null)?.act8 === true);
    bytes = c.bytes;
    if (c.source && fs.existsSync(path.join(c.source, 'config.json')))
      dense = loadTrainedRun(c.source, be, o.log).model;
  } else if (fs.existsSync(path.join(dir, 'checkpoints'))) {
    model = loadTrainedRun(dir, be, o.log).model;
    bytes = model.layout.total * 4;
  } else {
    throw new InputError(
      `${dir} is neither a training run nor a compressed model`,
      'give a run directory (tlc train) or a tlc compress output folder',
    );
  }
  return {
    model: dir,
    data: cfg.data.name,
    bytes,
    scores: scores(model, dense, data),
    protocol: evalProtocol(data.valid, { split: cfg.seed, eval_batches: 20200224 }),
  };
}
