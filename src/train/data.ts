// Turns a data spec into the trainer's TrainData: load the corpus (recipe or user files), split it,
// train or load the BPE tokenizer (cached), tokenize (cached), and build the seeded batchers and
// the fixed evaluation batches. No model math here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evalWindows, sourceOfId, unigramBaseline, unigramCounts } from '../data/batch/eval-windows.ts';
import {
  type Batcher,
  CausalBatcher,
  ClassBatcher,
  MlmBatcher,
  Seq2SeqBatcher,
} from '../data/batch/index.ts';
import { cacheRoot, sha256Bytes } from '../data/fetch/cache.ts';
import { loadData, splitFractionsFor } from '../data/load.ts';
import { type Splits, splitCorpus } from '../data/splits.ts';
import { Tokenizer } from '../data/tokenizer/tokenizer.ts';
import { trainBpe } from '../data/tokenizer/train.ts';
import { type TokenizedDocs, tokenizeCached } from '../data/tokens.ts';
import type { Corpus } from '../data/types.ts';
import { InputError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';
import type { TrainConfig } from './config.ts';
import type { AnyBatch, TrainData, WindowMeta } from './task.ts';

/** Seed of the evaluation batches' masks: fixed, so every run evaluates on identical inputs. */
const EVAL_SEED = 20200224;

export interface PrepareOptions {
  /** which task the model trains on */
  task: AnyBatch['kind'];
  /** use this tokenizer instead of training one (fine-tuning a pretrained model) */
  tokenizerFile?: string;
  root?: string;
  log?: (msg: string) => void;
}

function corpusTexts(c: Corpus): string[] {
  if (c.kind === 'text') return c.docs.map((d) => d.text);
  if (c.kind === 'pairs') return c.pairs.flatMap((p) => [p.src, p.tgt]);
  return c.examples.map((e) => e.text);
}

function contentHash(texts: string[]): string {
  const h = sha256Bytes(texts.join('\u0000'));
  return h.slice(0, 16);
}

function getTokenizer(
  train: Corpus,
  cfg: TrainConfig,
  o: PrepareOptions,
  root: string,
): { tok: Tokenizer; file: string } {
  if (o.tokenizerFile) return { tok: Tokenizer.load(o.tokenizerFile), file: o.tokenizerFile };
  const texts = corpusTexts(train);
  const file = path.join(
    root,
    'tokenizers',
    `${train.name.replace(/[^\w.-]/g, '_')}-${contentHash(texts)}-v${cfg.data.vocab_size}.json`,
  );
  if (fs.existsSync(file)) {
    try {
      return { tok: Tokenizer.load(file), file };
    } catch (e) {
      o.log?.(
        `warning: cached tokenizer ${file} is unreadable (${(e as Error).message}); training a new one`,
      );
    }
  }
  o.log?.(`training a ${cfg.data.vocab_size}-token BPE vocabulary on ${train.name} (train split)`);
  const tok = new Tokenizer(trainBpe(texts, { vocabSize: cfg.data.vocab_size }));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  tok.save(file);
  return { tok, file };
}

/** The first `max` batches of a non-shuffled batcher, stopping at the end of its first epoch. */
function takeEpoch<B>(b: Batcher<B, { epoch: number }>, max: number, wrap: (x: B) => AnyBatch): AnyBatch[] {
  const out: AnyBatch[] = [];
  while (out.length < max) {
    if (b.state().epoch > 0) break;
    out.push(wrap(b.next()));
  }
  return out;
}

/** What the task-specific half of prepareTrainData builds. */
interface TaskParts {
  train: Batcher<AnyBatch['b'], unknown>;
  wrap: (b: AnyBatch['b']) => AnyBatch;
  valid: AnyBatch[];
  test: AnyBatch[];
  windows: WindowMeta | null;
  predictFraction: number;
  nClasses: number;
}

/** The corpus split and tokenized once; each task's builder below reads from it. */
interface Prepared {
  cfg: TrainConfig;
  split: Splits;
  tok: Tokenizer;
  rng: Rng;
  describe: Record<string, unknown>;
  /** a part of a split tokenized (cached on disk by tokenizer and content) */
  cached: (c: Corpus, part: string, texts: string[]) => TokenizedDocs;
}

/** Masked or causal LM: the training stream, and the evaluation windows with their unigram baseline. */
function lmParts(p: Prepared): TaskParts {
  const { cfg, split, tok, cached } = p;
  const d = cfg.data;
  if (split.train.kind !== 'text' || split.valid.kind !== 'text')
    throw new InputError('expected running text');
  const tr = cached(
    split.train,
    'train',
    split.train.docs.map((x) => x.text),
  );
  const va = cached(
    split.valid,
    'valid',
    split.valid.docs.map((x) => x.text),
  );
  const wrap = (b: AnyBatch['b']) => ({ kind: 'lm', b }) as AnyBatch;
  // training-split tokens (documents and their </s>): what one epoch of the stream holds
  p.describe['train_tokens'] = tr.ids.length + split.train.docs.length;
  const isMlm = cfg.model.family === 'encoder';
  const V = tok.vocabSize;
  const w = evalWindows(
    va,
    split.valid.docs.map((x) => sourceOfId(x.id)),
    {
      kind: isMlm ? 'mlm' : 'causal',
      batchSize: d.batch_size,
      seqLen: d.seq_len,
      targetTokens: d.valid_tokens,
      vocabSize: V,
      maskProb: d.mlm_prob,
      wordStart: d.whole_word ? tok.wordStartTable() : undefined,
      seed: EVAL_SEED,
    },
  );
  const { batches: _b, ...meta } = w;
  const windows = {
    target_tokens: d.valid_tokens,
    ...meta,
    unigram: unigramBaseline(unigramCounts(tr.ids, V), w, isMlm ? 'mlm' : 'causal'),
  };
  const train = isMlm
    ? new MlmBatcher(tr, p.rng, {
        batchSize: d.batch_size,
        seqLen: d.seq_len,
        vocabSize: V,
        maskProb: d.mlm_prob,
        wholeWord: d.whole_word,
        wordStart: tok.wordStartTable(),
      })
    : new CausalBatcher(tr, p.rng, { batchSize: d.batch_size, seqLen: d.seq_len });
  return {
    train: train as Batcher<AnyBatch['b'], unknown>,
    wrap,
    valid: w.batches.map(wrap),
    test: [],
    windows,
    predictFraction: isMlm ? d.mlm_prob : 1,
    nClasses: 0,
  };
}

/** Translation: token-budget batches of pairs, and the first valid_batches of the validation split. */
function seq2seqParts(p: Prepared): TaskParts {
  const { cfg, split, cached } = p;
  const d = cfg.data;
  if (split.train.kind !== 'pairs' || split.valid.kind !== 'pairs')
    throw new InputError('expected translation pairs');
  const ids = (c: Corpus & { kind: 'pairs' }, part: string) => {
    const s = cached(
      c,
      `${part}-src`,
      c.pairs.map((x) => x.src),
    );
    const t = cached(
      c,
      `${part}-tgt`,
      c.pairs.map((x) => x.tgt),
    );
    return c.pairs.map((_, i) => ({
      src: s.ids.subarray(s.offsets[i]!, s.offsets[i + 1]!),
      tgt: t.ids.subarray(t.offsets[i]!, t.offsets[i + 1]!),
    }));
  };
  const so = { maxTokens: d.max_tokens, maxSrcLen: d.seq_len, maxTgtLen: d.seq_len };
  const wrap = (b: AnyBatch['b']) => ({ kind: 'seq2seq', b }) as AnyBatch;
  const train = new Seq2SeqBatcher(ids(split.train, 'train'), p.rng, so) as Batcher<AnyBatch['b'], unknown>;
  const valid = takeEpoch(
    new Seq2SeqBatcher(ids(split.valid, 'valid'), new Rng(EVAL_SEED), { ...so, shuffle: false }),
    d.valid_batches,
    wrap,
  );
  return { train, wrap, valid, test: [], windows: null, predictFraction: 1, nClasses: 0 };
}

/** Classification: padded batches of labelled examples; the whole validation and test splits. */
function clsParts(p: Prepared): TaskParts {
  const { cfg, split, tok } = p;
  if (split.train.kind !== 'labels' || split.valid.kind !== 'labels' || split.test.kind !== 'labels')
    throw new InputError('expected labelled examples');
  const ex = (c: Corpus & { kind: 'labels' }) =>
    c.examples.map((e) => ({ ids: tok.encode(e.text), label: e.label }));
  const co = { batchSize: cfg.data.batch_size, maxLen: cfg.data.seq_len };
  const wrap = (b: AnyBatch['b']) => ({ kind: 'cls', b }) as AnyBatch;
  const fixed = (c: Corpus & { kind: 'labels' }) =>
    takeEpoch(new ClassBatcher(ex(c), new Rng(EVAL_SEED), { ...co, shuffle: false }), 1e9, wrap);
  return {
    train: new ClassBatcher(ex(split.train), p.rng, co) as Batcher<AnyBatch['b'], unknown>,
    wrap,
    valid: fixed(split.valid),
    test: fixed(split.test),
    windows: null,
    predictFraction: 1,
    nClasses: split.train.labels.length,
  };
}

export function prepareTrainData(cfg: TrainConfig, o: PrepareOptions): TrainData {
  const root = o.root ?? cacheRoot();
  const kind = o.task === 'lm' ? 'text' : o.task === 'seq2seq' ? 'pairs' : 'labels';
  const corpus = loadData(cfg.data.name, { kind, root, log: o.log });
  const split = splitCorpus(corpus, { ...splitFractionsFor(cfg.data.name), seed: cfg.seed });
  const { tok, file } = getTokenizer(split.train, cfg, o, root);
  const tokDir = path.join(root, 'tokens');
  const p: Prepared = {
    cfg,
    split,
    tok,
    rng: new Rng(cfg.seed),
    describe: {
      data: cfg.data.name,
      corpus: corpus.name,
      provenance: corpus.provenance,
      vocab_size: tok.vocabSize,
      tokenizer: path.basename(file),
    },
    cached: (c, part, texts) =>
      tokenizeCached(
        texts,
        tok,
        path.join(tokDir, `${c.name.replace(/[^\w.-]/g, '_')}-${part}-${tok.hash.slice(0, 12)}.bin`),
        { warn: (m) => o.log?.(`warning: ${m}`) },
      ),
  };
  const t = o.task === 'lm' ? lmParts(p) : o.task === 'seq2seq' ? seq2seqParts(p) : clsParts(p);
  if (t.valid.length === 0)
    throw new InputError(`the validation split of ${cfg.data.name} is empty`, 'use a larger corpus');
  return {
    kind: o.task,
    vocabSize: tok.vocabSize,
    nClasses: t.nClasses,
    maxLen: cfg.data.seq_len,
    predictFraction: t.predictFraction,
    next: () => t.wrap(t.train.next()),
    state: () => t.train.state(),
    restore: (s) => t.train.restore(s),
    valid: t.valid,
    test: t.test,
    windows: t.windows,
    describe: p.describe,
    tokenizerFile: file,
  };
}
