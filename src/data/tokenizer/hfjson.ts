// Hugging Face tokenizer.json for our byte-level BPE: build the object (model "BPE" with vocab and
// merges, ByteLevel pre-tokenizer and decoder, the specials as added_tokens) and parse/validate it
// back into a BpeModel. No file I/O and no encoding here.
import { InputError } from '../../engine/errors.ts';
import { BYTE_TO_CHAR, SPECIALS } from './bytelevel.ts';
import type { BpeModel } from './train.ts';

/** The subset of the tokenizer.json schema we write (field order follows HF's own output). */
export interface HfTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: Array<{
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }>;
  normalizer: null;
  pre_tokenizer: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  post_processor: null;
  decoder: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/** Build the tokenizer.json object. Merges are written as "left right" strings (readable by every HF version). */
export function toHfJson(model: BpeModel): HfTokenizerJson {
  const vocab: Record<string, number> = {};
  model.vocab.forEach((t, i) => {
    vocab[t] = i;
  });
  const byteLevel = {
    type: 'ByteLevel' as const,
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: { ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: model.merges.map(([a, b]) => `${model.vocab[a]} ${model.vocab[b]}`),
    },
  };
}

const HINT =
  'use a tokenizer.json written by tlc (or any HF byte-level BPE with <pad> <s> </s> <unk> <mask> at ids 0-4)';

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(where: string, expected: string, found: unknown): never {
  const f =
    typeof found === 'string' ? JSON.stringify(found) : Array.isArray(found) ? 'an array' : String(found);
  throw new InputError(`${where}: expected ${expected}, found ${f.slice(0, 80)}`, HINT);
}

/** vocab object -> token strings by id (ids must be exactly 0..n-1). */
function parseVocab(v: unknown, where: string): string[] {
  if (!isObj(v)) fail(`${where}: model.vocab`, 'an object of token -> id', v);
  const entries = Object.entries(v);
  const out = new Array<string>(entries.length);
  for (const [tok, id] of entries) {
    if (
      !Number.isInteger(id) ||
      (id as number) < 0 ||
      (id as number) >= entries.length ||
      out[id as number] !== undefined
    ) {
      fail(
        `${where}: model.vocab[${JSON.stringify(tok)}]`,
        `a unique integer id in [0, ${entries.length})`,
        id,
      );
    }
    out[id as number] = tok;
  }
  SPECIALS.forEach((s, i) => {
    if (out[i] !== s) fail(`${where}: model.vocab id ${i}`, `the special token ${s}`, out[i]);
  });
  const ids = new Map(out.map((t, i) => [t, i]));
  BYTE_TO_CHAR.forEach((c, b) => {
    if (!ids.has(c))
      fail(`${where}: model.vocab`, `a token for every byte (byte ${b} as ${JSON.stringify(c)})`, 'none');
  });
  return out;
}

function parseMerges(m: unknown, vocab: string[], where: string): Array<[number, number]> {
  if (!Array.isArray(m)) fail(`${where}: model.merges`, 'an array', m);
  const ids = new Map(vocab.map((t, i) => [t, i]));
  return m.map((x, r): [number, number] => {
    let parts: unknown[];
    if (typeof x === 'string') parts = x.split(' ');
    else if (Array.isArray(x)) parts = x;
    else fail(`${where}: model.merges[${r}]`, '"left right" or ["left", "right"]', x);
    const [l, rt] = parts;
    const a = typeof l === 'string' ? ids.get(l) : undefined;
    const b = typeof rt === 'string' ? ids.get(rt) : undefined;
    if (parts.length !== 2 || a === undefined || b === undefined || !ids.has(`${l}${rt}`)) {
      fail(`${where}: model.merges[${r}]`, 'two vocab tokens whose concatenation is also in the vocab', x);
    }
    return [a, b];
  });
}

/** Validate a parsed tokenizer.json and return the model. `where` names the file in errors. */
export function fromHfJson(obj: unknown, where = 'tokenizer.json'): BpeModel {
  if (!isObj(obj)) fail(where, 'a JSON object', obj);
  const model = obj['model'];
  if (!isObj(model)) fail(`${where}: model`, 'an object', model);
  if (model['type'] !== 'BPE') fail(`${where}: model.type`, '"BPE"', model['type']);
  const pre = obj['pre_tokenizer'];
  if (!isObj(pre) || pre['type'] !== 'ByteLevel')
    fail(`${where}: pre_tokenizer.type`, '"ByteLevel"', isObj(pre) ? pre['type'] : pre);
  if (pre['add_prefix_space'] === true) fail(`${where}: pre_tokenizer.add_prefix_space`, 'false', true);
  if (pre['use_regex'] === false) fail(`${where}: pre_tokenizer.use_regex`, 'true', false);
  if (obj['normalizer'] !== null && obj['normalizer'] !== undefined)
    fail(`${where}: normalizer`, 'null', 'a normalizer');
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[k] !== null && model[k] !== undefined && model[k] !== '')
      fail(`${where}: model.${k}`, 'null', model[k]);
  }
  const vocab = parseVocab(model['vocab'], where);
  const merges = parseMerges(model['merges'], vocab, where);
  return { vocab, merges };
}
