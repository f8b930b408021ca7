// `tlc export --format onnx`: a training run or a compressed model folder -> a folder that
// onnxruntime and @huggingface/transformers load (onnx/model.onnx, onnx/model_quantized.onnx with
// int8, config.json, tokenizer files). Model files are written atomically (tmp + fsync + rename).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeAtomicWith, writeFileAtomic } from '../../engine/atomic.ts';
import { InputError } from '../../engine/errors.ts';
import { TLC_VERSION } from '../../engine/version.ts';
import type { ModelConfig } from '../../model/config.ts';
import { openModelDir } from '../model-dir.ts';
import { hfFiles, type TlcSection } from './hf.ts';
import type { Int8Scheme } from './linear.ts';
import type { Pb } from './proto.ts';
import { buildGraph, type GraphKind, type Weights } from './transformer.ts';

/** the int8 spelling exports use (see linear.ts and docs/export.md for the measurement behind it) */
export const DEFAULT_INT8_SCHEME: Int8Scheme = 'qdq';
/** protobuf's hard limit for one message; larger models would need ONNX external data */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export const FP32_FILE = path.join('onnx', 'model.onnx');
export const INT8_FILE = path.join('onnx', 'model_quantized.onnx');

export interface ExportOptions {
  out: string;
  /** also write the int8 model */
  int8: boolean;
  int8Scheme?: Int8Scheme;
  log?: (m: string) => void;
}

export interface ExportResult {
  out: string;
  kind: GraphKind;
  source: string;
  model: ModelConfig;
  /** files written, relative to `out`, with their sizes */
  files: Array<{ file: string; bytes: number }>;
}

export function graphKind(cfg: ModelConfig): GraphKind {
  if (cfg.family === 'decoder') return 'causal';
  if (cfg.family === 'encoder') return cfg.n_classes > 0 ? 'cls' : 'mlm';
  throw new InputError(
    'ONNX export covers encoder (MLM or fine-tuned classifier) and decoder models; this is an encdec translation model',
    'export an encoder or decoder run',
  );
}

/** Stream an encoded model to `file` atomically; returns its size. */
function writeModel(file: string, m: Pb): number {
  if (m.length > PROTOBUF_LIMIT) {
    throw new InputError(
      `the ONNX model would be ${m.length} bytes, above protobuf's 2 GiB limit for one file`,
      'export a smaller model (ONNX external data is not written by tlc)',
    );
  }
  writeAtomicWith(file, (fd) => {
    for (const c of m.chunks()) writeAll(fd, c);
  });
  return m.length;
}

/**
 * Write one ONNX file of a model given by its config and weights (tlc parameter names), without a
 * model folder: for benchmarks of random-weight models. Returns the file's size.
 */
export function writeOnnxFile(
  file: string,
  cfg: ModelConfig,
  weights: Weights,
  o: { int8: Int8Scheme | null; kind?: GraphKind },
): number {
  const kind = o.kind ?? graphKind(cfg);
  const meta = { 'tlc.kind': kind, 'tlc.model': JSON.stringify(cfg) };
  return writeModel(
    file,
    buildGraph(cfg, weights, kind, { int8: o.int8 }).model(`tlc-${kind}`, TLC_VERSION, meta),
  );
}

export function exportOnnx(modelDir: string, o: ExportOptions): ExportResult {
  const log = o.log ?? (() => {});
  if (path.resolve(o.out) === path.resolve(modelDir))
    throw new InputError(`--out ${o.out} is the model folder itself`, 'export into another folder');
  // warnings (a damaged checkpoint skipped) are told once the model has loaded: when none loads,
  // the error lists every problem itself
  const warnings: string[] = [];
  const md = openModelDir(modelDir, (m) => warnings.push(m), graphKind);
  for (const m of warnings) log(`warning: ${m}`);
  const kind = graphKind(md.cfg);
  const scheme = o.int8Scheme ?? DEFAULT_INT8_SCHEME;
  const w = (name: string) => md.params.get(name);
  const source = path.resolve(modelDir);
  const meta = { 'tlc.source': source, 'tlc.kind': kind, 'tlc.model': JSON.stringify(md.cfg) };
  const files: ExportResult['files'] = [];
  const variants: Array<[string, Int8Scheme | null]> = [[FP32_FILE, null]];
  if (o.int8) variants.push([INT8_FILE, scheme]);
  else fs.rmSync(path.join(o.out, INT8_FILE), { force: true }); // an earlier export's, now stale
  for (const [file, int8] of variants) {
    log(`writing ${path.join(o.out, file)}${int8 ? ` (int8, ${int8})` : ''}`);
    const g = buildGraph(md.cfg, w, kind, { int8 });
    const bytes = writeModel(path.join(o.out, file), g.model(`tlc-${kind}`, TLC_VERSION, meta));
    files.push({ file, bytes });
  }
  const tlc: TlcSection = {
    model: md.cfg,
    kind,
    source,
    step: md.step,
    compression: md.spec,
    int8_scheme: o.int8 ? scheme : null,
    tlc_version: TLC_VERSION,
  };
  for (const [file, json] of Object.entries(hfFiles(md.tokenizer, tlc))) {
    const text = `${JSON.stringify(json, null, 2)}\n`;
    writeFileAtomic(path.join(o.out, file), text);
    files.push({ file, bytes: Buffer.byteLength(text) });
  }
  return { out: o.out, kind, source, model: md.cfg, files };
}
