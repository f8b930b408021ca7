// Token file tests: write/read round trip (uint16 and int32 ids), truncated or damaged files give
// CorruptError naming the file, and tokenizeCached reuses, builds and rebuilds (with a warning).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Tokenizer, trainBpe } from '../../src/data/tokenizer/index.ts';
import {
  readTokenFile,
  type TokenEncoder,
  type TokenFile,
  tokenizeCached,
  tokenizeDocs,
  writeTokenFile,
} from '../../src/data/tokens.ts';
import { CorruptError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

const DOCS = [
  { id: 'a', text: 'The quick brown fox jumps over the lazy dog.' },
  { id: 'b', text: '' },
  { id: 'c', text: 'Pack my box with five dozen liquor jugs! ünïcödé 😀' },
  { id: 'd', text: 'How vexingly quick daft zebras jump.\nSphinx of black quartz, judge my vow.' },
];

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-tokens-'));
}

function tokenizer(): Tokenizer {
  return new Tokenizer(
    trainBpe(
      DOCS.map((d) => d.text),
      { vocabSize: 300 },
    ),
  );
}

/** A fake encoder with a vocab above 65536, to exercise int32 ids. */
function bigEncoder(): TokenEncoder {
  return {
    vocabSize: 70_000,
    hash: 'ab'.repeat(32),
    encode: (text) => Int32Array.from([...text].map((ch) => (ch.codePointAt(0)! * 7) % 70_000)),
  };
}

function fileOf(docs: typeof DOCS, tok: TokenEncoder): TokenFile {
  return {
    ...tokenizeDocs(docs, tok),
    vocabSize: tok.vocabSize,
    tokenizerHash: tok.hash,
    sourceHash: 'cd'.repeat(32),
  };
}

test('write then read gives the same ids, offsets and hashes (uint16 and int32)', () => {
  const dir = tmpDir();
  for (const tok of [tokenizer(), bigEncoder()]) {
    const tf = fileOf(DOCS, tok);
    assert.equal(tf.ids instanceof Uint16Array, tok.vocabSize <= 65536);
    const file = path.join(dir, `t${tok.vocabSize}.tok`);
    writeTokenFile(file, tf);
    const back = readTokenFile(file);
    assert.deepEqual(Array.from(back.ids), Array.from(tf.ids));
    assert.deepEqual(Array.from(back.offsets), Array.from(tf.offsets));
    assert.equal(back.tokenizerHash, tok.hash);
    assert.equal(back.sourceHash, 'cd'.repeat(32));
    assert.equal(back.vocabSize, tok.vocabSize);
    DOCS.forEach((d, i) => {
      const ids = back.ids.subarray(back.offsets[i]!, back.offsets[i + 1]!);
      assert.deepEqual(Array.from(ids), Array.from(tok.encode(d.text)));
    });
  }
  const tok = tokenizer();
  const back = readTokenFile(path.join(dir, `t${tok.vocabSize}.tok`));
  assert.equal(tok.decode(back.ids.subarray(back.offsets[2]!, back.offsets[3]!)), DOCS[2]!.text);
});

test('a truncated token file throws CorruptError naming the file, at every cut', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'x.tok');
  writeTokenFile(file, fileOf(DOCS, tokenizer()));
  const full = fs.readFileSync(file);
  const rng = new Rng(1);
  const cuts = [
    0,
    5,
    100,
    135,
    136,
    full.length - 1,
    full.length - 8,
    ...Array.from({ length: 10 }, () => rng.int(full.length)),
  ];
  for (const cut of cuts) {
    fs.writeFileSync(file, full.subarray(0, cut));
    assert.throws(
      () => readTokenFile(file),
      (e) =>
        e instanceof CorruptError &&
        e.message.includes(file) &&
        /truncated|shorter|magic/.test(e.message) &&
        !!e.hint,
      `cut at ${cut}`,
    );
  }
});

test('damaged token files throw CorruptError (flipped byte, bad magic, future version)', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'x.tok');
  writeTokenFile(file, fileOf(DOCS, tokenizer()));
  const full = fs.readFileSync(file);
  const flip = (at: number): Buffer => {
    const b = Buffer.from(full);
    b[at]! ^= 0x40;
    return b;
  };
  const cases: Array<[Buffer, RegExp]> = [
    [flip(150), /sha256/],
    [flip(full.length - 3), /sha256/],
    [flip(0), /magic/],
    [flip(9), /version/],
    [Buffer.concat([full, Buffer.alloc(8)]), /trailing/],
  ];
  for (const [bytes, re] of cases) {
    fs.writeFileSync(file, bytes);
    assert.throws(
      () => readTokenFile(file),
      (e) => e instanceof CorruptError && re.test(e.message) && e.message.includes(file),
    );
  }
});

test('tokenizeCached: builds, then reuses, then rebuilds a truncated or stale file with a warning', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'sub', 'corpus.tok');
  const tok = tokenizer();
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
  };
  const first = tokenizeCached(DOCS, tok, file, { warn });
  assert.equal(first.cache, 'built');
  const second = tokenizeCached(DOCS, tok, file, { warn });
  assert.equal(second.cache, 'hit');
  assert.deepEqual(Array.from(second.ids), Array.from(first.ids));
  assert.equal(warnings.length, 0);

  const full = fs.readFileSync(file);
  fs.writeFileSync(file, full.subarray(0, full.length - 10));
  const third = tokenizeCached(DOCS, tok, file, { warn });
  assert.equal(third.cache, 'rebuilt');
  assert.deepEqual(Array.from(third.ids), Array.from(first.ids));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /truncated.*re-tokenizing/);
  assert.equal(readTokenFile(file).ids.length, first.ids.length, 'the rebuilt file is whole again');

  const changed = [...DOCS.slice(0, 3), { id: 'd', text: 'something else entirely' }];
  const fourth = tokenizeCached(changed, tok, file, { warn });
  assert.equal(fourth.cache, 'rebuilt');
  assert.equal(warnings.length, 2);
  assert.match(warnings[1]!, /other documents/);
  assert.deepEqual(
    Array.from(fourth.ids.subarray(fourth.offsets[3]!)),
    Array.from(tok.encode('something else entirely')),
  );
});
