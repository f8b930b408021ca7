// BLEU of the translation study's models: the weights a run saved at its evaluations (snapshots)
// decoded greedily at the BLEU grid times, and the final model by beam search, all on the fixed
// sample. Each decoding's outputs are written once under <study>/bleu/<run>/ and re-read on a
// re-run; every score is computed from those files (sacreBLEU-compatible corpus BLEU and chrF).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../../data/tokenizer/index.ts';
import type { Backend } from '../../engine/backend.ts';
import { type BleuStats, bleuSentenceStats, corpusBleu, corpusChrf } from '../../eval/bleu.ts';
import { translateSentences } from '../../eval/translate.ts';
import { Transformer } from '../../model/transformer.ts';
import { loadLatestCheckpoint } from '../../train/checkpoint.ts';
import type { SavedRunConfig } from '../../train/run.ts';
import { readJson, readMetrics, SNAPSHOTS_DIR, writeJson } from '../../train/rundir.ts';
import type { BleuSample } from './sample.ts';
import type { BleuPoint, MtCurvePoint } from './types.ts';

/** What an outputs file holds. */
export interface OutputsFile {
  run_id: string;
  step: number;
  wall_s: number;
  decoding: 'greedy' | 'beam';
  beam: number;
  len_penalty: number;
  hyps: string[];
}

export interface Decoding {
  decoding: 'greedy' | 'beam';
  beam: number;
  lenPenalty: number;
}

export const GREEDY: Decoding = { decoding: 'greedy', beam: 1, lenPenalty: 0 };

/** The run's validation curve (metrics.jsonl: valid loss at every evaluation). */
export function readCurve(runDir: string): MtCurvePoint[] {
  return readMetrics(path.join(runDir, 'metrics.jsonl'))
    .filter((r) => r.split === 'valid' && r.name === 'loss')
    .map((r) => ({ step: r.step, wall_s: r.wall_s, tokens: r.tokens, loss: r.value }));
}

/** The evaluation that stands for grid time t: the one nearest to it after step 0. */
export function evalAt(curve: MtCurvePoint[], t: number): MtCurvePoint | null {
  let best: MtCurvePoint | null = null;
  for (const p of curve) {
    if (p.step === 0) continue;
    if (!best || Math.abs(p.wall_s - t) < Math.abs(best.wall_s - t)) best = p;
  }
  return best;
}

/** A run's model with the weights of its snapshot at `step`. */
export function modelAtStep(
  runDir: string,
  step: number,
  be: Backend<Float32Array>,
): Transformer<Float32Array> {
  const saved = readJson<SavedRunConfig>(path.join(runDir, 'config.json'), `config of ${runDir}`);
  const ck = loadLatestCheckpoint(path.join(runDir, SNAPSHOTS_DIR), () => {}, step);
  if (!ck || ck.step !== step) throw new Error(`run ${runDir} has no weight snapshot at step ${step}`);
  const m = new Transformer(be, saved.model, 0);
  for (const s of m.layout.specs) {
    const t = ck.tensors.get(s.name);
    if (!t || t.length !== s.size)
      throw new Error(`snapshot of ${runDir} does not match its config at ${s.name}`);
    m.p.get(s.name).set(t);
  }
  return m;
}

/** Translate the sample with a model and decoding (sentences grouped by length, 64 at a time). */
export function translateSample(
  model: Transformer<Float32Array>,
  tok: Tokenizer,
  sample: BleuSample,
  d: Decoding,
): string[] {
  return translateSentences(
    model,
    tok,
    sample.pairs.map((p) => p.src),
    { beam: d.beam, lenPenalty: d.lenPenalty, batch: 64 },
  ).map((t) => t.hyp);
}

/** The sample's references, as one stream. */
export function refsOf(sample: BleuSample): string[] {
  return sample.pairs.map((p) => p.tgt);
}

/** BLEU, chrF and the per-sentence statistics of a set of outputs against the sample. */
export function scoreOutputs(
  hyps: string[],
  sample: BleuSample,
): { bleu: number; chrf: number; stats: BleuStats[] } {
  const refs = [refsOf(sample)];
  return {
    bleu: corpusBleu(hyps, refs).score,
    chrf: corpusChrf(hyps, refs).score,
    stats: bleuSentenceStats(hyps, refs),
  };
}

export function readJsonOutputs(file: string): OutputsFile {
  return readJson<OutputsFile>(file, 'translations');
}

/** Outputs of one decoding, made once: read back if the file exists. */
export function cachedOutputs(file: string, make: () => OutputsFile): OutputsFile {
  if (fs.existsSync(file)) {
    try {
      return readJson<OutputsFile>(file, 'translations');
    } catch {
      // a torn file from an interrupted study: decode again
    }
  }
  const o = make();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJson(file, o);
  return o;
}

export interface RunBleu {
  curve: MtCurvePoint[];
  bleu: BleuPoint[];
  final: BleuPoint;
}

/** Greedy BLEU at each of `times` (from the nearest evaluation's snapshot) and the final model by beam search. */
export function runBleu(
  r: { id: string; runDir: string },
  times: number[],
  budgetS: number,
  beam: Decoding,
  sample: BleuSample,
  outDir: string,
  be: Backend<Float32Array>,
  log: (m: string) => void,
): RunBleu {
  const curve = readCurve(r.runDir);
  const tok = Tokenizer.load(path.join(r.runDir, 'tokenizer.json'));
  const last = curve[curve.length - 1];
  if (!last) throw new Error(`run ${r.runDir} has no evaluations`);
  const one = (t: number, at: MtCurvePoint, d: Decoding): BleuPoint => {
    const rel = path.join('bleu', r.id, `${d.decoding}-step${at.step}.json`);
    const o = cachedOutputs(path.join(outDir, rel), () => {
      log(
        `  translate ${r.id} at ${at.wall_s.toFixed(1)} s (step ${at.step}): ${d.decoding}${d.beam > 1 ? ` ${d.beam}` : ''}`,
      );
      const hyps = translateSample(modelAtStep(r.runDir, at.step, be), tok, sample, d);
      return {
        run_id: r.id,
        step: at.step,
        wall_s: at.wall_s,
        decoding: d.decoding,
        beam: d.beam,
        len_penalty: d.lenPenalty,
        hyps,
      };
    });
    const s = scoreOutputs(o.hyps, sample);
    return {
      t,
      step: at.step,
      wall_s: at.wall_s,
      decoding: d.decoding,
      bleu: s.bleu,
      chrf: s.chrf,
      file: rel,
    };
  };
  const bleu: BleuPoint[] = [];
  for (const t of times) {
    const at = t >= budgetS ? last : evalAt(curve, t);
    if (at) bleu.push(one(t, at, GREEDY));
  }
  return { curve, bleu, final: one(budgetS, last, beam) };
}
