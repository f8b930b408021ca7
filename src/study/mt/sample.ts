// The fixed BLEU sample of the translation study: validation pairs spread evenly over the whole
// validation split (in its stored order), keeping only pairs that fit the models' length limit
// untruncated (source ≤ seq_len − 2 tokens, target ≤ seq_len − 1 tokens with the study's shared
// tokenizer), so a reference is never longer than what a model could produce. The same sentences
// serve every size, grid time, decoding and compressed model; references are the raw target text.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadData, splitFractionsFor } from '../../data/load.ts';
import { splitCorpus } from '../../data/splits.ts';
import type { Tokenizer } from '../../data/tokenizer/index.ts';
import { InputError } from '../../engine/errors.ts';
import { readJson, writeJson } from '../../train/rundir.ts';

export interface BleuSample {
  how: string;
  train_pairs: number;
  valid_pairs: number;
  provenance: unknown[];
  pairs: Array<{ id: string; src: string; tgt: string }>;
}

export const SAMPLE_FILE = 'bleu-sample.json';

/** Every `M/N`-th eligible validation pair (centred strides), at most n. */
export function strided<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.floor(((i + 0.5) * xs.length) / n)]!);
}

/** Draw the sample (or read it back from the study folder, where it is written once). */
export function bleuSample(
  outDir: string,
  data: string,
  seed: number,
  n: number,
  seqLen: number,
  tok: Tokenizer,
  log?: (m: string) => void,
): BleuSample {
  const file = path.join(outDir, SAMPLE_FILE);
  if (fs.existsSync(file)) return readJson<BleuSample>(file, 'BLEU sample');
  const corpus = loadData(data, { kind: 'pairs', log });
  const split = splitCorpus(corpus, { ...splitFractionsFor(data), seed });
  if (split.valid.kind !== 'pairs' || split.train.kind !== 'pairs')
    throw new InputError(
      `${data} holds no translation pairs`,
      'give a TSV (src⇥tgt) or JSONL ({"src","tgt"}) file',
    );
  const eligible = split.valid.pairs.filter(
    (p) =>
      tok.encode(p.src).length <= seqLen - 2 && tok.encode(p.tgt).length <= seqLen - 1 && p.tgt.trim() !== '',
  );
  if (eligible.length === 0)
    throw new InputError(
      `no validation pair of ${data} fits ${seqLen} tokens`,
      'raise data.seq_len or use shorter sentences',
    );
  const pairs = strided(eligible, n).map((p) => ({ id: p.id, src: p.src, tgt: p.tgt }));
  const s: BleuSample = {
    how: `${pairs.length} of the ${split.valid.pairs.length} validation pairs, evenly strided over the ${eligible.length} whose source fits ${seqLen - 2} tokens and target ${seqLen - 1} tokens (untruncated)`,
    train_pairs: split.train.pairs.length,
    valid_pairs: split.valid.pairs.length,
    provenance: corpus.provenance ?? [],
    pairs,
  };
  writeJson(file, s);
  return s;
}
