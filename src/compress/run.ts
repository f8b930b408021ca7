// The compression job's own work on a trained run: compress its model with a spec and write the
// compressed model folder (container, config.json, tokenizer.json), and rebuild a runnable model
// from compressed weights. Scoring the result against the dense model is evaluation: compressRun
// in eval/model-eval.ts calls this, then scores (eval comes after compress in the pipeline).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256File } from '../data/fetch/cache.ts';
import type { Backend } from '../engine/backend.ts';
import type { ModelConfig } from '../model/config.ts';
import { Transformer } from '../model/transformer.ts';
import type { LoadedRun } from '../train/load.ts';
import { act8Backend } from './act8.ts';
import { type Compressed, type CompressSpec, compressModel } from './compress.ts';
import { CONTAINER_FILE, writeContainer } from './container.ts';

/** A model holding compressed weights, optionally computing with 8-bit per-token activations. */
export function compressedModel(
  be: Backend<Float32Array>,
  cfg: ModelConfig,
  params: Float32Array,
  act8: boolean,
): Transformer<Float32Array> {
  let m: Transformer<Float32Array> | null = null;
  m = new Transformer(act8 ? act8Backend(be, () => m?.params ?? null) : be, cfg, 0);
  m.params.set(params);
  return m;
}

const denseBytesMemo = new WeakMap<LoadedRun, number>();

/** Bytes of the run's model stored dense in the container format (written once per loaded run). */
export function denseContainerBytes(run: LoadedRun): number {
  const known = denseBytesMemo.get(run);
  if (known !== undefined) return known;
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-dense-')), CONTAINER_FILE);
  const stored = new Map(
    run.model.layout.specs.map((s) => [
      s.name,
      { kind: 'dense' as const, values: Float32Array.from(run.model.p.get(s.name)) },
    ]),
  );
  const bytes = writeContainer(tmp, run.model.layout, stored, {
    model: run.saved.model,
    spec: null,
    source: '',
  });
  fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  denseBytesMemo.set(run, bytes);
  return bytes;
}

export interface CompressedDir {
  /** the compression's stored tensors, exact weights and achieved sparsity */
  c: Compressed;
  /** exact size of the container file */
  bytes: number;
  /** sha256 of the container file */
  sha256: string;
}

/**
 * Compress `run` (loaded from `runDir`) with `spec` into `outDir`: the container (recording
 * `source`, the dense model it stands for), the run's config.json and tokenizer.json.
 * GPTQ takes `calibBatches` training batches as calibration data.
 */
export function writeCompressedDir(
  run: LoadedRun,
  runDir: string,
  spec: CompressSpec,
  outDir: string,
  o: { calibBatches: number; source: string },
): CompressedDir {
  const calib =
    spec.method === 'gptq' && spec.quant
      ? Array.from({ length: o.calibBatches }, () => run.data.next())
      : null;
  const c = compressModel(run.model, spec, calib);
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, CONTAINER_FILE);
  const bytes = writeContainer(file, run.model.layout, c.stored, {
    model: run.saved.model,
    spec,
    source: o.source,
  });
  fs.copyFileSync(path.join(runDir, 'config.json'), path.join(outDir, 'config.json'));
  fs.copyFileSync(path.join(runDir, 'tokenizer.json'), path.join(outDir, 'tokenizer.json'));
  return { c, bytes, sha256: sha256File(file) };
}
