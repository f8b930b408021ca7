// Tokenizer tests: exact round trip on random Unicode (emoji, combining marks, NUL, a 1 MB line),
// merges checked by hand and against a brute-force trainer, the scanner against GPT-2's regex,
// encoding against a naive reference, tokenizer.json round trip and malformed files, specials.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { BYTE_TO_CHAR, pretokenize } from '../../src/data/tokenizer/bytelevel.ts';
import { type BpeModel, Tokenizer, trainBpe } from '../../src/data/tokenizer/index.ts';
import { scanPieces } from '../../src/data/tokenizer/scan.ts';
import { CorruptError, InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

const ENGLISH = `It is a truth universally acknowledged, that a single man in possession of a good fortune,
must be in want of a wife. However little known the feelings or views of such a man may be on his
first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families,
that he is considered the rightful property of some one or other of their daughters. "My dear Mr.
Bennet," said his lady to him one day, "have you heard that Netherfield Park is let at last?" Mr.
Bennet replied that he had not. "But it is," returned she; "for Mrs. Long has just been here, and
she told me all about it." Mr. Bennet made no answer. "Do you not want to know who has taken it?"
cried his wife impatiently. "You want to tell me, and I have no objection to hearing it." 1813, 2024.`;

/** Code point pools for random strings: ASCII incl. NUL and controls, Latin-1, combining marks,
 * Greek/Cyrillic, CJK, emoji + skin tones + ZWJ + variation selectors, astral letters, odd spaces. */
const POOLS: Array<[number, number]> = [
  [0x00, 0x7f],
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0xa0, 0xff],
  [0x300, 0x36f],
  [0x391, 0x3c9],
  [0x410, 0x44f],
  [0x4e00, 0x4e80],
  [0x1f300, 0x1f64f],
  [0x1f3fb, 0x1f3ff],
  [0x200d, 0x200d],
  [0xfe0f, 0xfe0f],
  [0x20000, 0x20100],
  [0x2000, 0x200a],
  [0x3000, 0x3000],
  [0x2028, 0x2029],
  [0xe000, 0xe010],
  [0xfff0, 0xffff],
];

function randomString(rng: Rng, maxLen: number): string {
  const n = rng.int(maxLen + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = POOLS[rng.int(POOLS.length)]!;
    const cp = lo + rng.int(hi - lo + 1);
    s += String.fromCodePoint(cp); // pools contain no surrogates, so s is valid UTF-16/UTF-8
  }
  return s;
}

function trainedOn(texts: string[], vocabSize: number, minFrequency = 2): Tokenizer {
  return new Tokenizer(trainBpe(texts, { vocabSize, minFrequency }));
}

test('encode then decode gives back random Unicode exactly', () => {
  const rng = new Rng(7);
  const corpus = [ENGLISH, ...Array.from({ length: 200 }, () => randomString(rng, 40))];
  const tok = trainedOn(corpus, 700);
  assert.ok(tok.merges.length > 100, `expected a few hundred merges, got ${tok.merges.length}`);
  for (let k = 0; k < 500; k++) {
    const s = randomString(rng, 200);
    const ids = tok.encode(s);
    assert.equal(tok.decode(ids), s, `round trip failed for ${JSON.stringify(s)}`);
  }
  for (const s of [
    '',
    '\u0000',
    '\u0000\u0000 a\u0000b',
    'e\u0301\u0301',
    '👩🏽‍💻 ok',
    '  \n\n  \t',
    "it's 'll 've",
  ]) {
    assert.equal(tok.decode(tok.encode(s)), s);
  }
});

test('a 1 MB line round-trips, both as many words and as one huge pre-token', () => {
  const tok = trainedOn([ENGLISH], 500);
  const rng = new Rng(3);
  const words = ENGLISH.replace(/\s+/g, ' ').split(' ');
  let line = '';
  while (line.length < 1_000_000) line += `${words[rng.int(words.length)]} `;
  assert.equal(tok.decode(tok.encode(line)), line);
  const oneWord = 'thethe'.repeat(180_000); // ~1 MB with no break: the O(n log n) merge path
  const tok2 = trainedOn([ENGLISH, 'thethe,thethe;thethe.thethe'], 500);
  const ids = tok2.encode(oneWord);
  assert.ok(ids.length < oneWord.length / 2, 'merges should apply inside the huge piece');
  assert.equal(tok2.decode(ids), oneWord);
  const prefix = tok2.encode(oneWord.slice(0, 36));
  assert.deepEqual(ids.subarray(0, prefix.length), prefix, 'a long piece merges as its short prefix does');
  const emoji = '😀'.repeat(250_000);
  assert.equal(tok.decode(tok.encode(emoji)), emoji);
});

test('merges on a tiny text are what one works out by hand', () => {
  // Wikipedia's example: aaabdaaabac -> aa (4x), then ab and (aa,a) tie at 2: the smaller left id wins (a < aa)
  const m1 = trainBpe(['aaabdaaabac'], { vocabSize: 300, minFrequency: 2 });
  assert.deepEqual(
    m1.merges.map(([a, b]) => `${m1.vocab[a]} ${m1.vocab[b]}`),
    ['a a', 'a b', 'aa ab'],
  );
  assert.deepEqual(m1.vocab.slice(261), ['aa', 'ab', 'aaab']);
  // "hello hello hello world": the letters pairs tie at 3; smaller ids first; Ġhello (2x) last
  const m2 = trainBpe(['hello hello hello world'], { vocabSize: 300, minFrequency: 2 });
  assert.deepEqual(
    m2.merges.map(([a, b]) => `${m2.vocab[a]} ${m2.vocab[b]}`),
    ['e l', 'h el', 'l o', 'hel lo', 'Ġ hello'],
  );
  // vocabSize caps the number of merges
  assert.equal(trainBpe(['hello hello hello world'], { vocabSize: 263 }).vocab.length, 263);
});

/** Brute-force trainer: recount every pair after every merge; same tie-break as trainBpe. */
function bruteForceMerges(texts: string[], vocabSize: number, minFreq: number): string[] {
  const freq = new Map<string, number>();
  for (const t of texts)
    for (const p of pretokenize(t)) if (Buffer.byteLength(p) >= 2) freq.set(p, (freq.get(p) ?? 0) + 1);
  const vocab = ['<pad>', '<s>', '</s>', '<unk>', '<mask>', ...BYTE_TO_CHAR];
  const idOf = new Map(vocab.map((t, i) => [t, i]));
  const words = [...freq].map(([w, f]) => ({ syms: [...Buffer.from(w)].map((b) => 5 + b), f }));
  const out: string[] = [];
  while (vocab.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const { syms, f } of words)
      for (let i = 0; i + 1 < syms.length; i++)
        counts.set(`${syms[i]},${syms[i + 1]}`, (counts.get(`${syms[i]},${syms[i + 1]}`) ?? 0) + f);
    let best: [number, number, number] | null = null;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (!best || c > best[0] || (c === best[0] && (a < best[1] || (a === best[1] && b < best[2]))))
        best = [c, a, b];
    }
    if (!best || best[0] < minFreq) break;
    const [, a, b] = best;
    const str = vocab[a]! + vocab[b]!;
    let c = idOf.get(str);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(str);
      idOf.set(str, c);
    }
    out.push(`${vocab[a]} ${vocab[b]}`);
    for (const w of words) {
      const s: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          s.push(c);
          i++;
        } else s.push(w.syms[i]!);
      }
      w.syms = s;
    }
  }
  return out;
}

test('incremental training equals a brute-force trainer on random corpora', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 4; trial++) {
    const alphabet = ['a', 'b', 'c', ' ', 'ab', 'é', '😀', '1', '\n'];
    const texts = Array.from({ length: 30 }, () =>
      Array.from({ length: 40 }, () => alphabet[rng.int(alphabet.length)]!).join(''),
    );
    const m = trainBpe(texts, { vocabSize: 330, minFrequency: 2 });
    const got = m.merges.map(([a, b]) => `${m.vocab[a]} ${m.vocab[b]}`);
    assert.deepEqual(got, bruteForceMerges(texts, 330, 2), `trial ${trial}`);
  }
});

test('the byte scanner splits exactly like the GPT-2 regex', () => {
  const rng = new Rng(5);
  const cases = [
    ENGLISH,
    '  leading, trailing  \n\n',
    'x  \ty',
    "'s'S 're'll 'd'm't '",
    'a\u3000\u3000b \u00a0c',
    '١٢٣ ⅷ ²',
  ];
  for (let k = 0; k < 300; k++) cases.push(randomString(rng, 60));
  for (const s of cases) {
    const bytes = Buffer.from(s, 'utf8');
    const got = scanPieces(bytes).map(([a, b]) => bytes.subarray(a, b).toString('utf8'));
    assert.deepEqual(got, pretokenize(s), `split differs for ${JSON.stringify(s)}`);
  }
});

/** Reference encoder: merge the lowest-rank adjacent pair (leftmost on ties) until none applies. */
function naiveEncode(model: BpeModel, text: string): number[] {
  const rank = new Map(model.merges.map(([a, b], r) => [`${a},${b}`, r]));
  const idOf = new Map(model.vocab.map((t, i) => [t, i]));
  const out: number[] = [];
  for (const piece of pretokenize(text)) {
    const syms = [...Buffer.from(piece)].map((b) => idOf.get(BYTE_TO_CHAR[b]!)!);
    for (;;) {
      let best = -1;
      let at = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(`${syms[i]},${syms[i + 1]}`);
        if (r !== undefined && (best < 0 || r < best)) [best, at] = [r, i];
      }
      if (best < 0) break;
      const [a, b] = model.merges[best]!;
      syms.splice(at, 2, idOf.get(model.vocab[a]! + model.vocab[b]!)!);
    }
    out.push(...syms);
  }
  return out;
}

test('encode agrees with a naive reference encoder', () => {
  const rng = new Rng(9);
  const model = trainBpe([ENGLISH, ENGLISH.toUpperCase(), 'aaaa aaaaaaa aaa'], { vocabSize: 600 });
  const tok = new Tokenizer(model);
  const cases = [
    ENGLISH,
    'aaaaaaaaaaaaaaaaaaaaaaa',
    'the theth ethe',
    ...Array.from({ length: 100 }, () => randomString(rng, 50)),
  ];
  for (const s of cases)
    assert.deepEqual(Array.from(tok.encode(s)), naiveEncode(model, s), JSON.stringify(s));
  // the cache must not change results: encode twice
  assert.deepEqual(Array.from(tok.encode(ENGLISH)), naiveEncode(model, ENGLISH));
});

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-tok-'));
}

test('tokenizer.json: HF format, save/load round trip', () => {
  const tok = trainedOn([ENGLISH], 600);
  const json = tok.toJSON();
  assert.equal(json.model.type, 'BPE');
  assert.equal(json.pre_tokenizer.type, 'ByteLevel');
  assert.equal(json.decoder.type, 'ByteLevel');
  assert.deepEqual(
    json.added_tokens.map((t) => [t.id, t.content, t.special]),
    [
      [0, '<pad>', true],
      [1, '<s>', true],
      [2, '</s>', true],
      [3, '<unk>', true],
      [4, '<mask>', true],
    ],
  );
  assert.equal(Object.keys(json.model.vocab).length, tok.vocabSize);
  assert.equal(json.model.merges.length, tok.merges.length);
  assert.match(json.model.merges[0]!, /^\S+ \S+$/);
  const file = path.join(tmpDir(), 'tokenizer.json');
  tok.save(file);
  const back = Tokenizer.load(file);
  assert.deepEqual(back.vocab, tok.vocab);
  assert.deepEqual(back.merges, tok.merges);
  assert.equal(back.hash, tok.hash);
  assert.deepEqual(back.encode(ENGLISH), tok.encode(ENGLISH));
  // newer HF files write merges as [left, right] arrays: accepted too
  const arr = { ...json, model: { ...json.model, merges: json.model.merges.map((m) => m.split(' ')) } };
  assert.deepEqual(Tokenizer.fromJSON(arr).merges, tok.merges);
});

test('malformed tokenizer files give typed errors that name the file', () => {
  const tok = trainedOn([ENGLISH], 400);
  const dir = tmpDir();
  const file = path.join(dir, 'tokenizer.json');
  tok.save(file);
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(0, text.length / 2));
  assert.throws(
    () => Tokenizer.load(file),
    (e) => e instanceof CorruptError && e.message.includes(file) && !!e.hint,
  );
  assert.throws(() => Tokenizer.load(path.join(dir, 'missing.json')), InputError);
  const json = tok.toJSON();
  const bad = (obj: unknown, re: RegExp): void => {
    assert.throws(
      () => Tokenizer.fromJSON(obj, 'x.json'),
      (e) => e instanceof InputError && re.test(e.message),
    );
  };
  bad({ ...json, model: { ...json.model, type: 'WordPiece' } }, /model\.type: expected "BPE"/);
  const noByte = { ...json.model.vocab };
  delete noByte[BYTE_TO_CHAR[65]!];
  bad({ ...json, model: { ...json.model, vocab: noByte } }, /model\.vocab/);
  const swapped = { ...json.model.vocab, '<pad>': 1, '<s>': 0 };
  bad({ ...json, model: { ...json.model, vocab: swapped } }, /special token <pad>/);
  bad({ ...json, model: { ...json.model, merges: ['Ġ zzzz'] } }, /merges\[0\]/);
  bad({ ...json, pre_tokenizer: { type: 'Whitespace' } }, /pre_tokenizer/);
  bad([], /JSON object/);
});

test('specials: fixed ids, never produced by encode, decoded literally or skipped', () => {
  const tok = trainedOn([ENGLISH], 400);
  assert.deepEqual(tok.vocab.slice(0, 5), ['<pad>', '<s>', '</s>', '<unk>', '<mask>']);
  assert.deepEqual(
    [Tokenizer.PAD, Tokenizer.BOS, Tokenizer.EOS, Tokenizer.UNK, Tokenizer.MASK],
    [0, 1, 2, 3, 4],
  );
  assert.equal(tok.vocab[5], BYTE_TO_CHAR[0]);
  const ids = tok.encode('<s> hi </s><mask>');
  assert.ok(
    ids.every((id) => id >= 5),
    'text is data: no special ids from encode',
  );
  assert.equal(tok.decode(ids), '<s> hi </s><mask>');
  const hi = Array.from(tok.encode('hi'));
  assert.equal(tok.decode([1, ...hi, 2]), '<s>hi</s>');
  assert.equal(tok.decode([1, ...hi, 2, 0, 0], { skipSpecial: true }), 'hi');
  assert.throws(() => tok.decode([tok.vocabSize]), InputError);
  const ws = tok.wordStartTable();
  const [first] = tok.encode(' truth');
  assert.equal(ws[first!], 1);
  assert.equal(ws[tok.encode('truth')[0]!], 0);
  assert.throws(() => trainBpe([ENGLISH], { vocabSize: 100 }), InputError);
});
