// The compression grid of the translation study, scored in BLEU: every size's final model through
// the grid (per-channel round-to-nearest weight quantization; global one-shot magnitude pruning),
// each compressed model's exact container bytes, non-zero parameters, validation loss and greedy
// translations of the fixed sample. Results and outputs are cached per setting on disk.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type CompressSpec, compressModel } from '../../compress/compress.ts';
import { writeContainer } from '../../compress/container.ts';
import { Tokenizer } from '../../data/tokenizer/index.ts';
import type { Backend } from '../../engine/backend.ts';
import { Transformer as Model } from '../../model/transformer.ts';
import { loadTrainedRun } from '../../train/load.ts';
import { readJson, writeJson } from '../../train/rundir.ts';
import { evaluate } from '../../train/task.ts';
import { gridSettings } from '../compress-grid.ts';
import { cachedOutputs, GREEDY, scoreOutputs, translateSample } from './decode.ts';
import type { MtPreset } from './presets.ts';
import type { BleuSample } from './sample.ts';
import type { BleuPoint, MtCompressionPoint } from './types.ts';

interface SettingResult {
  spec: CompressSpec | null;
  step: number;
  bytes: number;
  nonzero: number;
  total: number;
  sparsity: number | null;
  loss: number;
}

/** The MT grid: the preset's bit widths (RTN, embeddings too) and sparsities (one-shot). */
export function mtGridSettings(p: MtPreset) {
  return gridSettings({ quantBits: p.quantBits, gptqBits: [], sparsities: p.sparsities, gradual: false });
}

function containerBytes(
  model: Model<Float32Array>,
  stored: Parameters<typeof writeContainer>[2],
  meta: { model: unknown; spec: unknown },
  file: string,
): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return writeContainer(file, model.layout, stored, { ...meta, source: '' });
}

type TrainedRun = ReturnType<typeof loadTrainedRun>;
type GridSetting = ReturnType<typeof mtGridSettings>[number];

/** A compressed model, built once per setting and shared by its scoring and its translations. */
interface CompressedModel {
  m: Model<Float32Array>;
  nonzero: number;
  total: number;
  sparsity: number | null;
  bytes: number;
  step: number;
  valid: TrainedRun['data']['valid'];
}

/** What every grid setting of one run needs. */
interface GridContext {
  r: { id: string; sizeId: string; runDir: string };
  base: string;
  dense: BleuPoint;
  sample: BleuSample;
  tok: Tokenizer;
  outDir: string;
  be: Backend<Float32Array>;
  log: (m: string) => void;
  load: () => TrainedRun;
}

/** The setting's result.json under `dir` if it was made for `spec`, else `make()` written there. */
function cachedSetting(dir: string, spec: CompressSpec | null, make: () => SettingResult): SettingResult {
  const f = path.join(dir, 'result.json');
  if (fs.existsSync(f)) {
    const x = readJson<SettingResult>(f, 'compression result');
    if (JSON.stringify(x.spec) === JSON.stringify(spec)) return x;
  }
  const x = make();
  writeJson(f, x);
  return x;
}

/** The uncompressed model's container bytes (written to a temporary file) and validation loss. */
function denseSetting(run: TrainedRun): SettingResult {
  const stored = new Map(
    run.model.layout.specs.map((s) => [
      s.name,
      { kind: 'dense' as const, values: Float32Array.from(run.model.p.get(s.name)) },
    ]),
  );
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-mt-dense-')), 'model.safetensors');
  const bytes = containerBytes(run.model, stored, { model: run.saved.model, spec: null }, tmp);
  fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  const total = run.model.layout.total;
  return {
    spec: null,
    step: run.step,
    bytes,
    nonzero: total,
    total,
    sparsity: null,
    loss: evaluate(run.model, run.data.valid).loss,
  };
}

/** The dense point of the grid: its stored result and its greedy BLEU at the budget. */
function densePoint(r: GridContext['r'], d: SettingResult, dense: BleuPoint): MtCompressionPoint {
  return {
    run_id: r.id,
    size_id: r.sizeId,
    method: 'dense',
    setting: 'fp32',
    bits: null,
    sparsity: null,
    bytes: d.bytes,
    nonzero_params: d.nonzero,
    loss: d.loss,
    bleu: dense.bleu,
    chrf: dense.chrf,
    file: dense.file,
  };
}

/** The setting's compressed model, made (and its container written to `dir`) on first call only. */
function lazyCompressed(c: GridContext, g: GridSetting, dir: string): () => CompressedModel {
  let made: CompressedModel | null = null;
  return () => {
    if (made) return made;
    const run = c.load();
    const k = compressModel(run.model, g.spec, null);
    const bytes = containerBytes(
      run.model,
      k.stored,
      { model: run.saved.model, spec: g.spec },
      path.join(dir, 'model.safetensors'),
    );
    const m = new Model(c.be, run.saved.model, 0);
    m.params.set(k.params);
    made = {
      m,
      nonzero: k.nonzero,
      total: k.total,
      sparsity: k.plan ? k.plan.achieved : null,
      bytes,
      step: run.step,
      valid: run.data.valid,
    };
    return made;
  };
}

/** One grid setting: its (cached) result and greedy translations, scored in BLEU. */
function gridPoint(c: GridContext, g: GridSetting): MtCompressionPoint {
  const { r } = c;
  const dir = path.join(c.base, g.tag);
  const compressed = lazyCompressed(c, g, dir);
  const res = cachedSetting(dir, g.spec, () => {
    c.log(`  compress ${r.id}: ${g.tag}`);
    const x = compressed();
    return {
      spec: g.spec,
      step: x.step,
      bytes: x.bytes,
      nonzero: x.nonzero,
      total: x.total,
      sparsity: x.sparsity,
      loss: evaluate(x.m, x.valid).loss,
    };
  });
  const rel = path.join('compress', r.id, g.tag, 'outputs.json');
  const o = cachedOutputs(path.join(c.outDir, rel), () => ({
    run_id: r.id,
    step: res.step,
    wall_s: c.dense.wall_s,
    decoding: 'greedy',
    beam: 1,
    len_penalty: 0,
    hyps: translateSample(compressed().m, c.tok, c.sample, GREEDY),
  }));
  const s = scoreOutputs(o.hyps, c.sample);
  return {
    run_id: r.id,
    size_id: r.sizeId,
    method: g.method,
    setting: g.spec.quant ?? g.spec.prune ?? '',
    bits: g.bits,
    sparsity: res.sparsity,
    bytes: res.bytes,
    nonzero_params: res.nonzero,
    loss: res.loss,
    bleu: s.bleu,
    chrf: s.chrf,
    file: rel,
  };
}

/** Compress one run's final model over the grid; `dense` is its greedy BLEU point at the budget. */
export function mtCompressGrid(
  r: { id: string; sizeId: string; runDir: string },
  dense: BleuPoint,
  preset: MtPreset,
  sample: BleuSample,
  outDir: string,
  be: Backend<Float32Array>,
  log: (m: string) => void,
): MtCompressionPoint[] {
  const base = path.join(outDir, 'compress', r.id);
  let loaded: TrainedRun | null = null;
  const load = () => {
    loaded ??= loadTrainedRun(r.runDir, be, log);
    return loaded;
  };
  const tok = Tokenizer.load(path.join(r.runDir, 'tokenizer.json'));
  const d = cachedSetting(path.join(base, 'dense'), null, () => denseSetting(load()));
  const points: MtCompressionPoint[] = [densePoint(r, d, dense)];
  const c: GridContext = { r, base, dense, sample, tok, outDir, be, log, load };
  for (const g of mtGridSettings(preset)) points.push(gridPoint(c, g));
  return points;
}
