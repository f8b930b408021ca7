// Tests of the R serialization and lazy-load DB reader on XDR streams built here byte by byte
// (character vectors, named lists, factors, data frames, back-references, zlib and xz chunks).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  decompressRChunk,
  openLazyLoadDb,
  parseRSerialized,
  R_NA_INT,
  rAttr,
  rColumns,
  rStrings,
} from '../../src/data/sources/rdata.ts';
import { CorruptError } from '../../src/engine/errors.ts';

/** A minimal XDR writer for R's serialization format. */
class XdrWriter {
  private readonly chunks: Buffer[] = [];
  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.chunks.push(b);
    return this;
  }
  double(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    this.chunks.push(b);
    return this;
  }
  raw(b: Buffer): this {
    this.chunks.push(b);
    return this;
  }
  header(version = 3): this {
    this.raw(Buffer.from('X\n')).int(version).int(0x040201).int(0x030500);
    if (version === 3) this.int(5).raw(Buffer.from('UTF-8'));
    return this;
  }
  flags(type: number, o: { attr?: boolean; tag?: boolean; obj?: boolean; levels?: number } = {}): this {
    return this.int(
      type | (o.obj ? 1 << 8 : 0) | (o.attr ? 1 << 9 : 0) | (o.tag ? 1 << 10 : 0) | ((o.levels ?? 0) << 12),
    );
  }
  chars(s: string | null): this {
    if (s === null) return this.flags(9).int(-1);
    const b = Buffer.from(s, 'utf8');
    return this.flags(9, { levels: b.length === s.length ? 64 : 8 })
      .int(b.length)
      .raw(b);
  }
  strsxp(xs: (string | null)[], attr = false): this {
    this.flags(16, { attr }).int(xs.length);
    for (const x of xs) this.chars(x);
    return this;
  }
  sym(name: string): this {
    return this.flags(1).chars(name);
  }
  ref(index: number): this {
    return this.int((index << 8) | 255);
  }
  nil(): this {
    return this.int(254);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

test('a character vector of two strings, one UTF-8 and one NA', () => {
  const obj = parseRSerialized(new XdrWriter().header().strsxp(['café', null]).bytes());
  assert.equal(obj.kind, 'character');
  assert.deepEqual(rStrings(obj, 'x'), ['café', null]);
});

test('a list with a names attribute, serialization version 2', () => {
  const w = new XdrWriter().header(2).flags(19, { attr: true }).int(2);
  w.flags(14).int(2).double(1.5).double(-2);
  w.strsxp(['x']);
  w.flags(2, { tag: true }).sym('names').strsxp(['a', 'b']).nil();
  const obj = parseRSerialized(w.bytes());
  const cols = rColumns(obj, 'list');
  assert.deepEqual([...cols.keys()], ['a', 'b']);
  const a = cols.get('a');
  assert.ok(a?.kind === 'double');
  assert.deepEqual(Array.from(a.data), [1.5, -2]);
  assert.deepEqual(rStrings(cols.get('b'), 'b'), ['x']);
});

/** data.frame(score = factor(c("great","other","great"))), with `class` read back through a REFSXP. */
function dataFrameBytes(): Buffer {
  const w = new XdrWriter().header().flags(19, { attr: true, obj: true }).int(1);
  w.flags(13, { attr: true, obj: true }).int(3).int(1).int(2).int(1);
  w.flags(2, { tag: true }).sym('levels').strsxp(['great', 'other']); // symbol ref 1
  w.flags(2, { tag: true }).sym('class').strsxp(['factor']).nil(); // symbol ref 2
  w.flags(2, { tag: true }).sym('names').strsxp(['score']); // symbol ref 3
  w.flags(2, { tag: true }).ref(2).strsxp(['data.frame']);
  w.flags(2, { tag: true }).sym('row.names').flags(13).int(2).int(R_NA_INT).int(-3).nil();
  return w.bytes();
}

test('a data frame with a factor column; attribute names shared through back-references', () => {
  const df = parseRSerialized(dataFrameBytes());
  assert.deepEqual(rStrings(rAttr(df, 'class'), 'class'), ['data.frame']);
  const score = rColumns(df, 'df').get('score');
  assert.deepEqual(rStrings(rAttr(score!, 'class'), 'class'), ['factor']);
  assert.deepEqual(rStrings(score, 'score'), ['great', 'other', 'great']);
  const rn = rAttr(df, 'row.names');
  assert.ok(rn?.kind === 'integer');
  assert.deepEqual(Array.from(rn.data), [R_NA_INT, -3]);
});

test('bad and truncated streams are CorruptErrors', () => {
  assert.throws(() => parseRSerialized(Buffer.from('A\n1\n')), CorruptError);
  const good = new XdrWriter().header().strsxp(['abc', 'def']).bytes();
  assert.throws(() => parseRSerialized(good.subarray(0, good.length - 2)), CorruptError);
  assert.throws(() => parseRSerialized(new XdrWriter().header().ref(7).bytes()), CorruptError);
  assert.throws(() => parseRSerialized(new XdrWriter().header(4).nil().bytes()), CorruptError);
});

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Writes `<dir>/Rdata.rdx` + `.rdb` holding one object `df` in a chunk with the given compression. */
function writeDb(dir: string, chunk: Buffer, compressed: number): void {
  fs.writeFileSync(path.join(dir, 'Rdata.rdb'), chunk);
  const w = new XdrWriter().header().flags(19, { attr: true }).int(3);
  w.flags(19, { attr: true }).int(1).flags(13).int(2).int(0).int(chunk.length);
  w.flags(2, { tag: true }).sym('names').strsxp(['df']).nil();
  w.flags(19).int(0); // references
  w.flags(compressed === 1 ? 10 : 13)
    .int(1)
    .int(compressed);
  w.flags(2, { tag: true }).ref(1).strsxp(['variables', 'references', 'compressed']).nil();
  fs.writeFileSync(path.join(dir, 'Rdata.rdx'), gzipSync(w.bytes()));
}

test('a lazy-load database with a zlib chunk (R_compress1)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-rdata-'));
  try {
    const ser = dataFrameBytes();
    writeDb(dir, Buffer.concat([lengthPrefix(ser.length), deflateSync(ser)]), 1);
    const db = openLazyLoadDb(dir);
    assert.deepEqual(db.names, ['df']);
    assert.deepEqual(rStrings(rColumns(db.get('df'), 'df').get('score'), 'score'), [
      'great',
      'other',
      'great',
    ]);
    assert.throws(() => db.get('nope'), CorruptError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function hasXz(): boolean {
  try {
    execFileSync('xz', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test(
  'a lazy-load database with a raw LZMA2 chunk (R_compress3, type byte Z)',
  { skip: !hasXz() && 'xz not installed' },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-rdata-'));
    try {
      const ser = dataFrameBytes();
      const body = execFileSync('xz', ['-c', '--format=raw', '--lzma2=preset=6'], { input: ser });
      writeDb(dir, Buffer.concat([lengthPrefix(ser.length), Buffer.from('Z'), body]), 3);
      const df = openLazyLoadDb(dir).get('df');
      assert.deepEqual(rStrings(rColumns(df, 'df').get('score'), 'score'), ['great', 'other', 'great']);
      // the same payload in the .xz container format is recognized by its magic bytes
      const xz = execFileSync('xz', ['-c', '--format=xz'], { input: ser });
      const out = decompressRChunk(Buffer.concat([lengthPrefix(ser.length), Buffer.from('Z'), xz]), 3);
      assert.deepEqual(Buffer.from(out), ser);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('chunk types: stored (0), zlib (1), a wrong length and an unknown type byte', () => {
  const ser = new XdrWriter().header().strsxp(['a']).bytes();
  assert.deepEqual(
    Buffer.from(decompressRChunk(Buffer.concat([lengthPrefix(ser.length), Buffer.from('0'), ser]), 3)),
    ser,
  );
  assert.deepEqual(
    Buffer.from(
      decompressRChunk(Buffer.concat([lengthPrefix(ser.length), Buffer.from('1'), deflateSync(ser)]), 3),
    ),
    ser,
  );
  assert.throws(
    () => decompressRChunk(Buffer.concat([lengthPrefix(ser.length + 1), deflateSync(ser)]), 1),
    CorruptError,
  );
  assert.throws(
    () => decompressRChunk(Buffer.concat([lengthPrefix(ser.length), Buffer.from('Q'), ser]), 3),
    CorruptError,
  );
});
