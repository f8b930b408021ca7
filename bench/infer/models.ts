// The infer benchmark's models, prepared once and cached in the work dir: the trained tiny encoder
// and decoder (tlc train, every RUNTIME_FORMS container by tlc compress, tlc export --int8) and the
// random-weight large decoder (its containers and ONNX files written by the same code tlc uses).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compressModel } from '../../src/compress/compress.ts';
import { writeContainer } from '../../src/compress/container.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { RUNTIME_FORMS } from '../../src/infer/runtime.ts';
import { DEFAULT_INT8_SCHEME, FP32_FILE, INT8_FILE, writeOnnxFile } from '../../src/io/onnx/export.ts';
import type { LmBatch } from '../../src/model/batch.ts';
import { resolveModelConfig } from '../../src/model/config.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadTrainedRun } from '../../src/train/load.ts';
import { type EvalBatch, type ModelEntry, randomTokens } from './common.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export const log = (m: string) => process.stderr.write(`bench infer: ${m}\n`);

function tlc(args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tlc.mjs'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`tlc ${args.join(' ')} failed:\n${r.stderr}`);
}

function evalBatches(b: LmBatch[], file: string): void {
  const rows: EvalBatch[] = b.map((x) => ({
    B: x.B,
    T: x.T,
    tokens: Array.from(x.tokens),
    keyMask: x.keyMask ? Array.from(x.keyMask) : null,
    targets: Array.from(x.targets),
  }));
  fs.writeFileSync(file, JSON.stringify(rows));
}

/** A trained tiny model: train, compress into every runtime form, export to ONNX (each once, cached). */
export function trained(
  work: string,
  name: string,
  preset: string,
  steps: number,
  nEval: number,
): ModelEntry {
  const run = path.join(work, `${name}-${steps}`);
  if (!fs.existsSync(path.join(run, 'result.json'))) {
    log(`training ${preset} for ${steps} steps into ${run}`);
    fs.rmSync(run, { recursive: true, force: true });
    tlc([
      'train',
      '--config',
      preset,
      '--set',
      `budget.steps=${steps}`,
      '--set',
      'budget.seconds=3600',
      '--run-dir',
      run,
    ]);
  }
  const containers: Record<string, string> = {};
  for (const f of RUNTIME_FORMS) {
    const dir = `${run}-${f.name}`;
    if (!fs.existsSync(path.join(dir, 'result.json'))) tlc(['compress', run, ...f.flags, '--out', dir]);
    containers[f.name] = path.join(dir, 'model.safetensors');
  }
  const onnx = `${run}-onnx`;
  if (!fs.existsSync(path.join(onnx, INT8_FILE))) tlc(['export', run, '--int8', '--out', onnx]);
  const evalFile = path.join(work, `${name}-${steps}-eval.json`);
  const loaded = loadTrainedRun(run, createTsBackend('f32'));
  if (!fs.existsSync(evalFile))
    evalBatches(
      loaded.data.valid.slice(0, nEval).map((x) => (x as { b: LmBatch }).b),
      evalFile,
    );
  return {
    name,
    cfg: loaded.model.cfg,
    dense: { run },
    containers,
    onnx: { fp32: path.join(onnx, FP32_FILE), int8: path.join(onnx, INT8_FILE) },
    evalFile,
  };
}

/** The random-weight large decoder: its containers and ONNX files written once (the weights: a seed). */
export function large(
  work: string,
  d: number,
  L: number,
  V: number,
  maxLen: number,
  nEval: number,
): ModelEntry {
  const cfg = resolveModelConfig({
    family: 'decoder',
    vocab: V,
    d_model: d,
    n_layers: L,
    n_heads: d / 64,
    d_ff: 4 * d,
    max_len: maxLen,
  });
  const dir = path.join(work, `large-d${d}-L${L}-V${V}-T${maxLen}`);
  const seed = 1;
  const containers: Record<string, string> = Object.fromEntries(
    RUNTIME_FORMS.map((f) => [f.name, path.join(dir, f.name, 'model.safetensors')]),
  );
  const onnx = { fp32: path.join(dir, FP32_FILE), int8: path.join(dir, INT8_FILE) };
  const evalFile = path.join(dir, 'eval.json');
  const fresh = !fs.existsSync(evalFile);
  // every form's container, once; a cached model from before a form was added gains only the missing ones
  const missing = RUNTIME_FORMS.filter((f) => fresh || !fs.existsSync(containers[f.name]!));
  if (missing.length === 0)
    return { name: `large-decoder-d${d}-L${L}`, cfg, dense: { seed }, containers, onnx, evalFile };
  const m = new Transformer(createTsBackend('f32'), cfg, seed);
  for (const f of missing) {
    fs.mkdirSync(path.dirname(containers[f.name]!), { recursive: true });
    const c = compressModel(m, f.spec, null);
    writeContainer(containers[f.name]!, m.layout, c.stored, {
      model: cfg,
      spec: f.spec,
      source: 'random init',
    });
  }
  if (fresh) {
    log(`writing the random-weight decoder d${d} L${L} V${V} into ${dir}`);
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    writeOnnxFile(onnx.fp32, cfg, (n) => m.p.get(n), { int8: null, kind: 'causal' });
    writeOnnxFile(onnx.int8, cfg, (n) => m.p.get(n), { int8: DEFAULT_INT8_SCHEME, kind: 'causal' });
    const T = Math.min(64, maxLen);
    const b = Array.from({ length: nEval }, (_, k) => {
      const tokens = randomTokens(4 * (T + 1), V, 11 + k);
      const x = new Int32Array(4 * T);
      const targets = new Int32Array(4 * T);
      for (let r = 0; r < 4; r++)
        for (let t = 0; t < T; t++) {
          x[r * T + t] = tokens[r * (T + 1) + t]!;
          targets[r * T + t] = tokens[r * (T + 1) + t + 1]!;
        }
      return { B: 4, T, tokens: x, keyMask: null, targets };
    });
    evalBatches(b, evalFile);
  }
  return { name: `large-decoder-d${d}-L${L}`, cfg, dense: { seed }, containers, onnx, evalFile };
}
