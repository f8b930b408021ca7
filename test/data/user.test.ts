// Tests of reading the user's own data: text files and folders, JSONL, TSV, and every bad input
// (non-UTF-8, bad records, empty, missing or unreadable files, a 100 MB single line).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { notTextReason } from '../../src/data/sniff.ts';
import type { Corpus } from '../../src/data/types.ts';
import { firstInvalidUtf8, labelOrder, loadUserData } from '../../src/data/user.ts';
import { InputError } from '../../src/engine/errors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-user-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(rel: string, data: string | Uint8Array): string {
  const f = path.join(dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, data);
  return f;
}

const quiet = { log: () => {} };

/** Assert an InputError whose message matches every pattern. */
function rejects(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    assert.ok(e.hint && e.hint.length > 0, 'an InputError needs a hint');
    return true;
  });
}

test('a plain text file is one document; CRLF becomes LF', () => {
  const f = write('one/story.txt', 'Call me Ishmael.\r\nSome years ago.\r\n');
  const c = loadUserData(f, quiet);
  assert.equal(c.kind, 'text');
  assert.deepEqual(c.kind === 'text' && c.docs, [
    { id: 'story.txt', text: 'Call me Ishmael.\nSome years ago.\n' },
  ]);
  assert.equal(c.provenance[0]?.source, 'user');
  assert.match(c.provenance[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
});

test('a folder: recursive, sorted, one document per file; hidden and other types skipped with a warning', () => {
  write('tree/b.md', '# B\nbody');
  write('tree/a.txt', 'alpha');
  write('tree/sub/README', 'no extension');
  write('tree/.hidden.txt', 'secret');
  write('tree/data.csv', 'x,y');
  write('tree/empty.txt', '  \n');
  const warnings: string[] = [];
  const c = loadUserData(path.join(dir, 'tree'), { log: (m) => warnings.push(m) });
  assert.equal(c.kind, 'text');
  assert.deepEqual(c.kind === 'text' && c.docs.map((d) => d.id), ['a.txt', 'b.md', 'sub/README']);
  assert.ok(warnings.some((w) => w.includes('data.csv')));
  assert.ok(warnings.some((w) => w.includes('empty.txt')));
  assert.ok(!warnings.some((w) => w.includes('hidden')));
});

test('JSONL text, pairs and labels: kind inferred from the first record, ids kept or made', () => {
  const t = loadUserData(write('t.jsonl', '{"text":"a b c"}\n\n{"text":"d e","id":"x"}\n'), quiet);
  assert.deepEqual(t.kind === 'text' && t.docs, [
    { id: 't.jsonl:1', text: 'a b c' },
    { id: 'x', text: 'd e' },
  ]);
  const p = loadUserData(write('p.jsonl', '{"src":"hello","tgt":"bonjour"}\n{"src":"cat","tgt":"chat"}'), {
    ...quiet,
    srcLang: 'en',
    tgtLang: 'fr',
  });
  assert.equal(p.kind, 'pairs');
  assert.equal(p.kind === 'pairs' && p.pairs[1]?.tgt, 'chat');
  assert.equal(p.kind === 'pairs' && p.tgtLang, 'fr');
  const l = loadUserData(
    write(
      'l.jsonl',
      '{"text":"great","label":"pos"}\n{"text":"bad","label":"neg"}\n{"text":"ok","label":"pos"}\n',
    ),
    quiet,
  );
  assert.equal(l.kind, 'labels');
  if (l.kind !== 'labels') return;
  assert.deepEqual(l.labels, ['neg', 'pos']);
  assert.deepEqual(
    l.examples.map((e) => e.label),
    [1, 0, 1],
  );
});

test('labels map to ids in sorted order; numeric labels sort as numbers', () => {
  assert.deepEqual(labelOrder(['b', 'a', 'c', 'a']), ['a', 'b', 'c']);
  assert.deepEqual(labelOrder(['10', '9', '2']), ['2', '9', '10']);
  const l = loadUserData(write('n.jsonl', '{"text":"x","label":10}\n{"text":"y","label":2}\n'), quiet);
  assert.deepEqual(l.kind === 'labels' && l.examples.map((e) => l.labels[e.label]), ['10', '2']);
});

test('bad JSONL records name file:line and the field expected/found', () => {
  const bad = write('bad1.jsonl', '{"text":"ok"}\n{"text":"fine"}\n{"text": oops}\n');
  rejects(() => loadUserData(bad, quiet), /bad1\.jsonl:3/, /invalid JSON/);
  const missing = write('bad2.jsonl', '{"src":"a","tgt":"b"}\n{"src":"c","target":"d"}\n');
  rejects(() => loadUserData(missing, quiet), /bad2\.jsonl:2/, /field "tgt"/, /found keys: src, target/);
  const wrongType = write('bad3.jsonl', '{"text":"a"}\n{"text":42}\n');
  rejects(
    () => loadUserData(wrongType, quiet),
    /bad3\.jsonl:2/,
    /"text" must be a non-empty string/,
    /found a number/,
  );
  const notObject = write('bad4.jsonl', '["text"]\n');
  rejects(() => loadUserData(notObject, quiet), /bad4\.jsonl:1/, /found an array/);
  const unknown = write('bad5.jsonl', '{"body":"x"}\n');
  rejects(() => loadUserData(unknown, quiet), /bad5\.jsonl:1/, /cannot tell the record kind/);
  const forced = write('bad6.jsonl', '{"text":"x"}\n');
  rejects(() => loadUserData(forced, { ...quiet, kind: 'labels' }), /bad6\.jsonl:1/, /field "label"/);
  const dup = write('bad7.jsonl', '{"text":"x","id":"a"}\n{"text":"y","id":"a"}\n');
  rejects(() => loadUserData(dup, quiet), /id "a" occurs twice/);
});

test('TSV: 1 column is text; 2 columns need a header row or --kind', () => {
  const one = loadUserData(write('one.tsv', 'first line\nsecond line\n'), quiet);
  assert.deepEqual(one.kind === 'text' && one.docs.map((d) => d.text), ['first line', 'second line']);
  const pairs = loadUserData(write('pairs.tsv', 'src\ttgt\nhello\tbonjour\r\n'), quiet);
  assert.deepEqual(pairs.kind === 'pairs' && pairs.pairs, [
    { id: 'pairs.tsv:2', src: 'hello', tgt: 'bonjour' },
  ]);
  const labels = loadUserData(write('labels.tsv', 'Text\tLabel\ngood\tpos\nbad\tneg\n'), quiet);
  assert.deepEqual(labels.kind === 'labels' && labels.labels, ['neg', 'pos']);
  const bare = write('bare.tsv', 'good\tpos\nbad\tneg\n');
  rejects(() => loadUserData(bare, quiet), /bare\.tsv:1/, /no header row/);
  const forced = loadUserData(bare, { ...quiet, kind: 'labels' });
  assert.equal(forced.kind === 'labels' && forced.examples.length, 2);
  const ragged = write('ragged.tsv', 'src\ttgt\na\tb\nc\td\te\n');
  rejects(
    () => loadUserData(ragged, quiet),
    /ragged\.tsv:3/,
    /expected 2 tab-separated column\(s\)/,
    /found 3/,
  );
  rejects(
    () => loadUserData(write('clash.tsv', 'src\ttgt\na\tb\n'), { ...quiet, kind: 'labels' }),
    /header row says pairs/,
  );
});

test('non-UTF-8 bytes: InputError with the file and byte offset', () => {
  assert.equal(firstInvalidUtf8(Buffer.from('héllo', 'utf8')), -1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x82])), 1); // truncated sequence
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80])), 1); // surrogate
  assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0xaf])), 0); // overlong
  const latin1 = write(
    'latin1.txt',
    Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait')]),
  );
  rejects(() => loadUserData(latin1, quiet), /latin1\.txt/, /invalid UTF-8 at byte offset 3/);
  const jsonl = write(
    'latin1.jsonl',
    Buffer.concat([
      Buffer.from('{"text":"ok"}\n{"text":"na'),
      Buffer.from([0xef, 0xbb]),
      Buffer.from('ve"}\n'),
    ]),
  );
  rejects(() => loadUserData(jsonl, quiet), /latin1\.jsonl/, /byte offset 25/);
});

test('empty input: empty file, blank JSONL, empty folder are InputErrors', () => {
  rejects(() => loadUserData(write('empty.txt', ''), quiet), /empty corpus/);
  rejects(() => loadUserData(write('blank.jsonl', '\n\n  \n'), quiet), /empty corpus/);
  fs.mkdirSync(path.join(dir, 'nothing'), { recursive: true });
  rejects(() => loadUserData(path.join(dir, 'nothing'), quiet), /empty corpus/);
});

test('missing, unsupported, unreadable and mixed inputs are InputErrors naming the path', () => {
  const gone = path.join(dir, 'does-not-exist.txt');
  rejects(() => loadUserData(gone, quiet), /no such file or folder/, /does-not-exist\.txt/);
  rejects(() => loadUserData(write('x.csv', 'a,b'), quiet), /unsupported file type "\.csv"/);
  write('dangling/ok.txt', 'fine');
  fs.symlinkSync(path.join(dir, 'nowhere.txt'), path.join(dir, 'dangling', 'broken.txt'));
  rejects(() => loadUserData(path.join(dir, 'dangling'), quiet), /no such file/, /broken\.txt/);
  write('mixed/a.txt', 'text');
  write('mixed/b.jsonl', '{"src":"a","tgt":"b"}\n');
  rejects(
    () => loadUserData(path.join(dir, 'mixed'), quiet),
    /b\.jsonl holds pairs data but a\.txt holds text/,
  );
});

test('an unreadable file is an InputError (skipped when running as root, who can read anything)', (t) => {
  if (process.getuid?.() === 0) {
    t.skip('root ignores file permissions');
    return;
  }
  const f = write('locked.txt', 'secret');
  fs.chmodSync(f, 0o000);
  try {
    rejects(() => loadUserData(f, quiet), /permission denied/, /locked\.txt/);
  } finally {
    fs.chmodSync(f, 0o644);
  }
});

/** Write `bytes` of 'a' as one line (no newline) between a prefix and a suffix, in 8 MiB chunks. */
function writeLongLine(rel: string, bytes: number, prefix = '', suffix = ''): string {
  const f = path.join(dir, rel);
  const fd = fs.openSync(f, 'w');
  const chunk = Buffer.alloc(8 << 20, 'a');
  fs.writeSync(fd, prefix);
  for (let left = bytes; left > 0; left -= chunk.length)
    fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  fs.writeSync(fd, suffix);
  fs.closeSync(fd);
  return f;
}

test('a 100 MB single line loads without crashing (text and JSONL)', () => {
  const n = 100 * 1024 * 1024;
  const txt = writeLongLine('long.txt', n);
  try {
    const c: Corpus = loadUserData(txt, quiet);
    assert.equal(c.kind === 'text' && c.docs[0]?.text.length, n);
  } finally {
    fs.rmSync(txt);
  }
  const jl = writeLongLine('long.jsonl', n, '{"text":"', '"}\n{"text":"short"}\n');
  try {
    const c = loadUserData(jl, quiet);
    assert.deepEqual(c.kind === 'text' && c.docs.map((d) => d.text.length), [n, 5]);
  } finally {
    fs.rmSync(jl);
  }
});

test('files without a known extension are read when their content is text (licence files), skipped when not', () => {
  const licence =
    'Licensed under the Apache License, Version 2.0 (the "License");\nyou may not use this file\n';
  write('licences/Apache-2.0', licence);
  write('licences/GFDL-1.3', `GNU Free Documentation License\n\f\nVersion 1.3, 3 November 2008\n`);
  write('licences/GPL-3', 'GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n');
  write('licences/notes.1', 'A man page in plain text, é and ü included.\n');
  write('licences/blob.0', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]));
  write('licences/latin.2', Buffer.from('caf\xe9 cr\xe8me\n', 'latin1'));
  write('licences/term.log', `${'\x1b[31m\x07'.repeat(20)}red\n`);
  const warnings: string[] = [];
  const c = loadUserData(path.join(dir, 'licences'), { log: (m) => warnings.push(m) });
  assert.deepEqual(c.kind === 'text' && c.docs.map((d) => d.id), [
    'Apache-2.0',
    'GFDL-1.3',
    'GPL-3',
    'notes.1',
  ]);
  assert.equal(c.kind === 'text' && c.docs[0]?.text, licence);
  const skipped = (name: string, why: RegExp) =>
    assert.ok(
      warnings.some((w) => w.includes(name) && why.test(w)),
      `no warning for ${name}: ${warnings.join('\n')}`,
    );
  skipped('blob.0', /not text \(it holds NUL bytes/);
  skipped('latin.2', /not text \(invalid UTF-8 at byte offset 3\)/);
  skipped('term.log', /not text \(.*control characters\)/);
  // one such file given directly: read when text, a clear refusal when not
  const one = loadUserData(path.join(dir, 'licences', 'GFDL-1.3'), quiet);
  assert.equal(one.kind === 'text' && one.docs[0]?.id, 'GFDL-1.3');
  rejects(() => loadUserData(path.join(dir, 'licences', 'blob.0'), quiet), /blob\.0: not a text file/);
});

test('the licence folder every Debian system carries reads as text, one document per licence', (t) => {
  const licences = '/usr/share/common-licenses';
  if (!fs.existsSync(path.join(licences, 'Apache-2.0'))) {
    t.skip(`${licences} is not on this system`);
    return;
  }
  const warnings: string[] = [];
  const c = loadUserData(licences, { log: (m) => warnings.push(m) });
  const ids = c.kind === 'text' ? c.docs.map((d) => d.id) : [];
  for (const name of ['Apache-2.0', 'GFDL-1.3', 'GPL-3', 'MPL-2.0'])
    assert.ok(ids.includes(name), `${name} not read`);
  assert.deepEqual(warnings, []);
});

test('the text sniff: UTF-8 cut at the end of a sample is fine, NUL and control-heavy bytes are not', () => {
  const e = Buffer.from('é', 'utf8');
  assert.equal(notTextReason(Buffer.concat([Buffer.from('abc'), e.subarray(0, 1)]), true), null);
  assert.match(
    notTextReason(Buffer.concat([Buffer.from('abc'), e.subarray(0, 1)]), false) ?? '',
    /invalid UTF-8/,
  );
  assert.equal(notTextReason(Buffer.from('page one\fpage two\r\n\ttabbed')), null);
  assert.match(notTextReason(Buffer.from('a\0b')) ?? '', /NUL/);
  assert.equal(notTextReason(Buffer.from(`${'x'.repeat(199)}\x1b`)), null, '0.5% control characters is text');
  assert.match(notTextReason(Buffer.from(`${'x'.repeat(97)}\x1b\x1b\x1b`)) ?? '', /control characters/);
});
