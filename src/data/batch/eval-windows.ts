// The fixed evaluation windows of a language-modelling run: a sample of rows spread over the whole
// validation split, stratified by source (every source represented, strided within each), masked
// once with a fixed seed, identical for every size and seed. Also the unigram baseline on them.
// It does not run models; the trainer and the evaluator score these windows.
import { InputError } from '../../engine/errors.ts';
import { Rng } from '../../engine/rng.ts';
import { BOS_ID, N_SPECIAL, PAD_ID } from '../tokenizer/bytelevel.ts';
import type { TokenizedDocs } from '../tokens.ts';
import { maskRow } from './mlm.ts';
import { packStream } from './pack.ts';
import type { LmBatch } from './types.ts';

/** The source of a document: its id up to the first '/' or ':' (`sotu/1790-...` → `sotu`). */
export function sourceOfId(id: string): string {
  const m = /^[^/:]+/.exec(id);
  return m ? m[0] : id;
}

export interface WindowOptions {
  kind: 'mlm' | 'causal';
  batchSize: number;
  /** row length T (MLM: <s> + T-1 stream tokens; causal: T inputs, T targets) */
  seqLen: number;
  /** predicted tokens wanted per evaluation (MLM: about maskProb of each window's tokens) */
  targetTokens: number;
  vocabSize: number;
  /** MLM masking rate */
  maskProb: number;
  wordStart?: Uint8Array | undefined;
  /** seed of the masks (fixed: every run evaluates the same positions) */
  seed: number;
  /** at least this many windows from every source (or all of its rows) */
  minPerSource?: number;
}

export interface EvalWindows {
  batches: LmBatch[];
  /** source names, in corpus order of first appearance */
  sources: string[];
  /** per window (batch-major: batch b row r is window b*batchSize + r): index into sources */
  source: Int32Array;
  /** per window: predicted tokens */
  count: Int32Array;
  /** rows available per source in the split, and how many were taken */
  available: number[];
  taken: number[];
}

/** Docs of one source as their own TokenizedDocs (a view: ids copied per doc range). */
function subsetDocs(data: TokenizedDocs, docs: number[]): TokenizedDocs {
  let n = 0;
  for (const d of docs) n += data.offsets[d + 1]! - data.offsets[d]!;
  const ids = new Int32Array(n);
  const offsets = new Float64Array(docs.length + 1);
  let o = 0;
  docs.forEach((d, i) => {
    const s = data.offsets[d]!;
    const e = data.offsets[d + 1]!;
    ids.set(data.ids.subarray(s, e), o);
    o += e - s;
    offsets[i + 1] = o;
  });
  return { ids, offsets };
}

/**
 * Windows per source: proportional to the source's rows, at least `minPerSource` (or all its rows),
 * strided evenly over the source's stream so the whole split is covered, not only its start.
 */
export function allocate(available: number[], want: number, minPerSource: number): number[] {
  const total = available.reduce((a, b) => a + b, 0);
  if (total <= want) return [...available];
  return available.map((r) =>
    Math.min(r, Math.max(Math.min(r, minPerSource), Math.round((want * r) / total))),
  );
}

/** Evenly spaced row indices: k of n, the i-th at floor((i + 0.5) n / k). */
export function strided(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * n) / k));
}

export function evalWindows(data: TokenizedDocs, docSources: string[], o: WindowOptions): EvalWindows {
  const nDocs = data.offsets.length - 1;
  if (docSources.length !== nDocs)
    throw new Error(`evalWindows: ${docSources.length} sources for ${nDocs} documents`);
  const sources: string[] = [];
  const docsOf = new Map<string, number[]>();
  docSources.forEach((s, d) => {
    if (!docsOf.has(s)) {
      docsOf.set(s, []);
      sources.push(s);
    }
    docsOf.get(s)!.push(d);
  });
  const T = o.seqLen;
  // MLM rows hold <s> + T-1 stream tokens; causal windows hold T+1 (inputs and shifted targets)
  const span = o.kind === 'mlm' ? T - 1 : T + 1;
  const step = o.kind === 'mlm' ? T - 1 : T;
  const streams = sources.map((s) => packStream(subsetDocs(data, docsOf.get(s)!)));
  const available = streams.map((st) => (st.length >= span ? Math.floor((st.length - span) / step) + 1 : 0));
  const perWindow = o.kind === 'mlm' ? o.maskProb * (T - 1) : T;
  const want = Math.ceil(o.targetTokens / perWindow);
  const taken = allocate(available, want, o.minPerSource ?? 16);
  if (taken.every((k) => k === 0))
    throw new InputError(
      `the validation split has no full window of ${span} tokens`,
      'use a shorter seq_len or a larger corpus',
    );
  const rows: Array<{ src: number; toks: Int32Array }> = [];
  streams.forEach((st, si) => {
    for (const r of strided(available[si]!, taken[si]!))
      rows.push({ src: si, toks: st.subarray(r * step, r * step + span) });
  });
  const rng = new Rng(o.seed);
  const batches: LmBatch[] = [];
  const source = new Int32Array(rows.length);
  const count = new Int32Array(rows.length);
  for (let b0 = 0; b0 < rows.length; b0 += o.batchSize) {
    const part = rows.slice(b0, b0 + o.batchSize);
    const B = part.length;
    const tokens = new Int32Array(B * T).fill(PAD_ID);
    const targets = new Int32Array(B * T).fill(-1);
    part.forEach((w, r) => {
      source[b0 + r] = w.src;
      const row = tokens.subarray(r * T, (r + 1) * T);
      const tg = targets.subarray(r * T, (r + 1) * T);
      if (o.kind === 'mlm') {
        row[0] = BOS_ID;
        row.set(w.toks, 1);
        maskRow(row, tg, rng, { maskProb: o.maskProb, vocabSize: o.vocabSize, wordStart: o.wordStart });
      } else {
        row.set(w.toks.subarray(0, T));
        tg.set(w.toks.subarray(1, T + 1));
      }
      let c = 0;
      for (let t = 0; t < T; t++) if (tg[t]! >= 0) c++;
      count[b0 + r] = c;
    });
    batches.push({ B, T, tokens, keyMask: null, targets });
  }
  return { batches, sources, source, count, available, taken };
}

/** Token counts of a stream of ids (special tokens included; they are never MLM targets). */
export function unigramCounts(ids: ArrayLike<number>, V: number): Float64Array {
  const c = new Float64Array(V);
  for (let i = 0; i < ids.length; i++) c[ids[i]!]!++;
  return c;
}

export interface UnigramBaseline {
  /** perplexity of the windows' targets under add-one-smoothed training-split unigram counts */
  ppl: number;
  /** per window: summed negative log-likelihood (nats) */
  windowNll: Float64Array;
}

/**
 * The unigram baseline: p(v) = (count_v + 1) / (N + V') over the V' ids that can be targets
 * (MLM: non-special ids; causal: every id), counts from the training split.
 */
export function unigramBaseline(
  counts: Float64Array,
  w: EvalWindows,
  kind: 'mlm' | 'causal',
): UnigramBaseline {
  const lo = kind === 'mlm' ? N_SPECIAL : 0;
  let n = 0;
  for (let v = lo; v < counts.length; v++) n += counts[v]!;
  const denom = n + (counts.length - lo);
  const windowNll = new Float64Array(w.source.length);
  let sum = 0;
  let tokens = 0;
  w.batches.forEach((b, bi) => {
    for (let i = 0; i < b.B * b.T; i++) {
      const tg = b.targets[i]!;
      if (tg < 0) continue;
      const nll = -Math.log(((counts[tg] ?? 0) + 1) / denom);
      windowNll[bi * w.batches[0]!.B + Math.floor(i / b.T)]! += nll;
      sum += nll;
      tokens++;
    }
  });
  return { ppl: Math.exp(sum / tokens), windowNll };
}
