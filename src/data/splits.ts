// Deterministic document-level train/valid/test splits. Valid and test membership depends only on
// the corpus name and each item's id (so every run evaluates on the same items); the seed only
// shuffles the training order. Does not tokenize or batch.
import { createHash } from 'node:crypto';
import { InputError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';
import type { Corpus } from './types.ts';

export interface SplitFractions {
  /** fraction of items held out for validation, in [0, 1) */
  validFraction: number;
  /** fraction of items held out for the final test, in [0, 1) */
  testFraction: number;
}

export interface SplitOptions extends SplitFractions {
  /** shuffles the training order only; valid/test membership never depends on it */
  seed: number;
}

export interface Splits {
  train: Corpus;
  valid: Corpus;
  test: Corpus;
}

/** 5% + 5%: enough held-out text for a stable perplexity on the smallest recipe, little lost to training. */
export const DEFAULT_SPLIT: SplitFractions = { validFraction: 0.05, testFraction: 0.05 };

/** The ids of a corpus's items (documents, pairs or examples), in corpus order. */
export function itemIds(corpus: Corpus): string[] {
  switch (corpus.kind) {
    case 'text':
      return corpus.docs.map((d) => d.id);
    case 'pairs':
      return corpus.pairs.map((p) => p.id);
    case 'labels':
      return corpus.examples.map((e) => e.id);
  }
}

/** The same corpus restricted to the items at `idx` (in that order). */
export function subsetCorpus(corpus: Corpus, idx: number[]): Corpus {
  switch (corpus.kind) {
    case 'text':
      return { ...corpus, docs: idx.map((i) => corpus.docs[i]!) };
    case 'pairs':
      return { ...corpus, pairs: idx.map((i) => corpus.pairs[i]!) };
    case 'labels':
      return { ...corpus, examples: idx.map((i) => corpus.examples[i]!) };
  }
}

/** A 48-bit key from sha256(name \n id): fixed for a corpus name and item id on every machine. */
export function splitKey(name: string, id: string): number {
  return Number.parseInt(createHash('sha256').update(`${name}\n${id}`).digest('hex').slice(0, 12), 16);
}

function heldOutCount(n: number, fraction: number): number {
  return fraction > 0 ? Math.max(1, Math.round(n * fraction)) : 0;
}

function checkFractions(corpus: Corpus, n: number, opts: SplitFractions): { nValid: number; nTest: number } {
  for (const [key, f] of [
    ['validFraction', opts.validFraction],
    ['testFraction', opts.testFraction],
  ] as const) {
    if (!(Number.isFinite(f) && f >= 0 && f < 1)) {
      throw new InputError(`${key} must be a number in [0, 1), got ${f}`, 'use e.g. 0.05 for 5%');
    }
  }
  if (opts.validFraction + opts.testFraction >= 1) {
    throw new InputError(
      `validFraction + testFraction must be below 1, got ${opts.validFraction} + ${opts.testFraction}`,
      'leave most of the corpus for training, e.g. 0.05 + 0.05',
    );
  }
  const nValid = heldOutCount(n, opts.validFraction);
  const nTest = heldOutCount(n, opts.testFraction);
  if (n - nValid - nTest < 1) {
    throw new InputError(
      `corpus ${corpus.name} has ${n} item(s): too few for a training split plus ${nValid} validation and ${nTest} test item(s)`,
      'a split needs at least one item per non-empty part (3 items for train/valid/test); add documents, or set the valid/test fractions to 0',
    );
  }
  return { nValid, nTest };
}

/**
 * Split at item level (a document, pair or example is never cut). Items are ranked by
 * splitKey(corpus name, id); the first round(n·test) are the test set, the next round(n·valid)
 * the validation set (each at least 1 when its fraction is above 0), the rest train. Valid and
 * test keep corpus order; train is shuffled with `seed`. Duplicate ids are an error.
 * Tiny corpora: with both fractions above 0 a corpus needs 3 items (one per split); fewer →
 * InputError.
 */
export function splitCorpus(corpus: Corpus, opts: SplitOptions): Splits {
  const ids = itemIds(corpus);
  const n = ids.length;
  if (n === 0)
    throw new InputError(`corpus ${corpus.name} is empty: nothing to split`, 'check the data source');
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) {
      throw new InputError(
        `corpus ${corpus.name} has the id "${id}" twice; splits need unique ids`,
        'give every item its own id',
      );
    }
    seen.add(id);
  }
  const { nValid, nTest } = checkFractions(corpus, n, opts);
  const keys = ids.map((id) => splitKey(corpus.name, id));
  const order = ids.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || (ids[a]! < ids[b]! ? -1 : 1));
  const test = order.slice(0, nTest).sort((a, b) => a - b);
  const valid = order.slice(nTest, nTest + nValid).sort((a, b) => a - b);
  const train = order.slice(nTest + nValid).sort((a, b) => a - b);
  new Rng(opts.seed).shuffle(train);
  return {
    train: subsetCorpus(corpus, train),
    valid: subsetCorpus(corpus, valid),
    test: subsetCorpus(corpus, test),
  };
}
