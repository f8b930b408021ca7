// One entry point for "a data set" as every command takes it: a recipe name or a path to the
// user's own files; plus the split fractions to use and the descriptive counts `tlc data stats` shows.
import * as fs from 'node:fs';
import { InputError } from '../engine/errors.ts';
import { countWords, fetchRecipe, getRecipe, listRecipes } from './recipes.ts';
import { DEFAULT_SPLIT, type SplitFractions, splitCorpus } from './splits.ts';
import type { Corpus, CorpusKind } from './types.ts';
import { loadUserData } from './user.ts';

export interface LoadOptions {
  /** cache root for recipes; default $TLC_CACHE or ~/.cache/tlc */
  root?: string;
  /** the kind the caller needs; a recipe or file of another kind is an InputError */
  kind?: CorpusKind;
  /** progress and warnings (default: stderr) */
  log?: (msg: string) => void;
}

/**
 * Recipe names win over paths: `prose-en` is the recipe even if a file of that name exists;
 * write `./prose-en` to mean the file. A spec with a path separator is always a path.
 */
export function isRecipeName(spec: string): boolean {
  return !spec.includes('/') && !spec.includes('\\') && listRecipes().some((r) => r.name === spec);
}

/** A recipe name (fetched and cached) or a path to user data (file or folder). */
export function loadData(spec: string, opts: LoadOptions = {}): Corpus {
  if (spec.trim() === '')
    throw new InputError('no data set given', 'give a recipe name (`tlc data list`) or a path to your files');
  let corpus: Corpus;
  if (isRecipeName(spec)) {
    corpus = fetchRecipe(spec, { root: opts.root, log: opts.log });
  } else if (fs.existsSync(spec) || spec.includes('/') || spec.includes('\\') || spec.includes('.')) {
    corpus = loadUserData(spec, { kind: opts.kind, log: opts.log });
  } else {
    throw new InputError(
      `"${spec}" is neither a data recipe nor an existing file or folder; recipes: ${listRecipes()
        .map((r) => r.name)
        .join(', ')}`,
      'run `tlc data list`, or give a path to your .txt/.md/.jsonl/.tsv files',
    );
  }
  if (opts.kind && corpus.kind !== opts.kind) {
    throw new InputError(
      `data set ${spec} holds ${corpus.kind} data, but this command needs ${opts.kind}`,
      'pick a data set of the right kind (`tlc data list` shows each kind)',
    );
  }
  return corpus;
}

/** The validation/test fractions for a data set: the recipe's own (fixed per recipe), else the default. */
export function splitFractionsFor(spec: string): SplitFractions {
  return isRecipeName(spec) ? getRecipe(spec).split : DEFAULT_SPLIT;
}

/**
 * Check a data spec before a long job starts (a study runs many jobs on it): a recipe must be of
 * the `kind` asked for (it is not fetched here); user files must load as that kind and be large
 * enough to split (splitCorpus refuses too few items). Throws the InputError a job would have
 * thrown, once; returns the corpus of user data (null for a recipe).
 */
export function checkDataSpec(spec: string, kind: CorpusKind, opts: LoadOptions = {}): Corpus | null {
  if (!isRecipeName(spec)) {
    const corpus = loadData(spec, { ...opts, kind });
    splitCorpus(corpus, { ...splitFractionsFor(spec), seed: 0 });
    return corpus;
  }
  const r = getRecipe(spec);
  if (r.kind !== kind)
    throw new InputError(
      `data set ${spec} holds ${r.kind} data, but this command needs ${kind}`,
      `recipes of kind ${kind}: ${listRecipes()
        .filter((x) => x.kind === kind)
        .map((x) => x.name)
        .join(', ')}`,
    );
  return null;
}

export interface CorpusStats {
  kind: CorpusKind;
  /** documents, pairs or examples */
  items: number;
  /** whitespace-separated words (for pairs: both sides) */
  words: number;
  /** UTF-16 code units, as JavaScript counts string length */
  chars: number;
  /** UTF-8 bytes of the text (for pairs: both sides) */
  bytes: number;
  srcWords?: number;
  tgtWords?: number;
  /** examples per label (labels kind) */
  perLabel?: Record<string, number>;
}

/** Descriptive counts of a corpus (no tokenization). */
export function corpusStats(c: Corpus): CorpusStats {
  const texts: string[] =
    c.kind === 'text'
      ? c.docs.map((d) => d.text)
      : c.kind === 'pairs'
        ? c.pairs.flatMap((p) => [p.src, p.tgt])
        : c.examples.map((e) => e.text);
  const s: CorpusStats = {
    kind: c.kind,
    items: c.kind === 'text' ? c.docs.length : c.kind === 'pairs' ? c.pairs.length : c.examples.length,
    words: 0,
    chars: 0,
    bytes: 0,
  };
  for (const t of texts) {
    s.words += countWords(t);
    s.chars += t.length;
    s.bytes += Buffer.byteLength(t, 'utf8');
  }
  if (c.kind === 'pairs') {
    s.srcWords = c.pairs.reduce((a, p) => a + countWords(p.src), 0);
    s.tgtWords = c.pairs.reduce((a, p) => a + countWords(p.tgt), 0);
  }
  if (c.kind === 'labels') {
    s.perLabel = Object.fromEntries(c.labels.map((l) => [l, 0]));
    for (const e of c.examples) {
      const l = c.labels[e.label] ?? String(e.label);
      s.perLabel[l] = (s.perLabel[l] ?? 0) + 1;
    }
  }
  return s;
}
