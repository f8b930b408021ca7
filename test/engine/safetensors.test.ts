// Tests of the safetensors reader/writer: round trips of every dtype, the exact bytes the spec
// prescribes (hand-built here, byte by byte), alignment, atomic replacement, and every corruption case.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { CorruptError, InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import {
  asFloat32,
  asInt32,
  type Dtype,
  readSafetensors,
  type TensorIn,
  writeSafetensors,
} from '../../src/engine/safetensors.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-safetensors-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
/** A fresh file path in its own folder (so tmp leftovers can be checked per test). */
function freshFile(): string {
  const dir = path.join(root, `t${counter++}`);
  fs.mkdirSync(dir);
  return path.join(dir, 'x.safetensors');
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A file per the spec: u64 LE header length, the header JSON exactly as given (no padding), the data. */
function handBuilt(header: string, data: number[]): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  new DataView(len.buffer, len.byteOffset, 8).setBigUint64(0, BigInt(h.length), true);
  return Buffer.concat([len, h, Buffer.from(data)]);
}

function sampleTensors(rng: Rng): TensorIn[] {
  const f32 = new Float32Array(6).map(() => rng.normal());
  const f64 = new Float64Array(3).map(() => rng.normal());
  const i64 = new BigInt64Array([-5n, 1n << 40n]);
  const i32 = new Int32Array([-7, 0, 2147483647, -2147483648]);
  const u16 = new Uint16Array(5).map(() => rng.int(65536));
  const bf16 = new Uint16Array(2).map(() => rng.int(65536));
  const i16 = new Int16Array([-32768, 3, 32767]);
  const i8 = new Int8Array([-128, 0, 127]);
  const u8 = new Uint8Array([1, 2, 3]);
  const u32 = new Uint32Array([0xffffffff, 7]);
  const bool = new Uint8Array([1, 0, 1, 1]);
  // a view into the middle of a larger buffer: the writer must honour byteOffset
  const big = new Float32Array(10).map(() => rng.normal());
  return [
    { name: 'u8', dtype: 'U8', shape: [3], data: u8 },
    { name: 'w', dtype: 'F32', shape: [2, 3], data: f32 },
    { name: 'd', dtype: 'F64', shape: [3], data: f64 },
    { name: 'l', dtype: 'I64', shape: [2, 1], data: i64 },
    { name: 'i', dtype: 'I32', shape: [4], data: i32 },
    { name: 'h', dtype: 'F16', shape: [5], data: u16 },
    { name: 'bf', dtype: 'BF16', shape: [1, 2], data: bf16 },
    { name: 's', dtype: 'I16', shape: [3], data: i16 },
    { name: 'c', dtype: 'I8', shape: [3], data: i8 },
    { name: 'u', dtype: 'U32', shape: [2], data: u32 },
    { name: 'mask', dtype: 'BOOL', shape: [2, 2], data: bool },
    { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    { name: 'scalar', dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) },
    { name: 'view', dtype: 'F32', shape: [4], data: big.subarray(3, 7) },
  ];
}

describe('round trip', () => {
  test('every dtype, a 0-size tensor, a scalar, a sub-view and metadata survive a write and read', () => {
    const file = freshFile();
    const tensors = sampleTensors(new Rng(1));
    const metadata = { format: 'pt', note: 'héllo ✓', empty: '' };
    const { bytes, sha256 } = writeSafetensors(file, tensors, metadata);
    const raw = fs.readFileSync(file);
    assert.equal(bytes, raw.length);
    assert.equal(sha256, createHash('sha256').update(raw).digest('hex'));

    const back = readSafetensors(file);
    assert.deepEqual(back.metadata, metadata);
    assert.deepEqual([...back.tensors.keys()].sort(), tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      const e = back.tensors.get(t.name);
      assert.ok(e, t.name);
      assert.equal(e.dtype, t.dtype, t.name);
      assert.deepEqual(e.shape, t.shape, t.name);
      assert.deepEqual(Buffer.from(e.data), Buffer.from(bytesOf(t.data)), t.name);
    }
    assert.deepEqual(asFloat32(back.tensors.get('w')!), tensors[1]!.data);
    assert.deepEqual(asFloat32(back.tensors.get('view')!), tensors[13]!.data);
    assert.deepEqual(asInt32(back.tensors.get('i')!), tensors[4]!.data);
    assert.equal(asFloat32(back.tensors.get('empty')!).length, 0);
  });

  test('no metadata reads back as an empty record; an empty file of tensors is valid', () => {
    const file = freshFile();
    writeSafetensors(file, []);
    const back = readSafetensors(file);
    assert.equal(back.tensors.size, 0);
    assert.deepEqual(back.metadata, {});
  });

  test('asFloat32 returns an aligned copy, not a view, and refuses other dtypes', () => {
    const file = freshFile();
    // U8 first with an odd size puts the F32 tensor at an unaligned offset in a hand-built file
    const f = new Float32Array([1.25, -3]);
    const hdr =
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}';
    fs.writeFileSync(file, handBuilt(hdr, [9, ...bytesOf(f)]));
    const back = readSafetensors(file);
    const entry = back.tensors.get('f')!;
    const copy = asFloat32(entry);
    assert.deepEqual(copy, f);
    copy[0] = 100;
    assert.deepEqual(asFloat32(entry), f);
    assert.throws(
      () => asFloat32(back.tensors.get('a')!),
      (e: unknown) => e instanceof InputError && /F32.*U8/.test(e.message),
    );
    assert.throws(
      () => asInt32(entry),
      (e: unknown) => e instanceof InputError && /I32.*F32/.test(e.message),
    );
  });
});

describe('layout per the spec', () => {
  test('the writer produces exactly the bytes the spec prescribes, header space-padded to 8', () => {
    const file = freshFile();
    const x = new Float32Array([1.5, -2]);
    const y = new Int16Array([-3]);
    writeSafetensors(
      file,
      [
        { name: 'x', dtype: 'F32', shape: [2], data: x },
        { name: 'y', dtype: 'I16', shape: [1, 1], data: y },
      ],
      { a: 'b' },
    );
    const json =
      '{"__metadata__":{"a":"b"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"y":{"dtype":"I16","shape":[1,1],"data_offsets":[8,10]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    // 1.5f = 0x3fc00000, -2f = 0xc0000000, -3 (i16) = 0xfffd, all little-endian
    const expected = handBuilt(padded, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0xfd, 0xff]);
    assert.deepEqual(fs.readFileSync(file), expected);
  });

  test('header length is a multiple of 8 and every tensor is aligned to its element size', () => {
    const file = freshFile();
    writeSafetensors(file, sampleTensors(new Rng(2)), { k: 'v' });
    const raw = fs.readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8')) as Record<
      string,
      { dtype: Dtype; data_offsets: number[] }
    >;
    const sizes: Record<string, number> = {
      F64: 8,
      I64: 8,
      F32: 4,
      I32: 4,
      U32: 4,
      F16: 2,
      BF16: 2,
      I16: 2,
      I8: 1,
      U8: 1,
      BOOL: 1,
    };
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      assert.equal(
        (8 + n + e.data_offsets[0]!) % sizes[e.dtype]!,
        0,
        `${name} (${e.dtype}) at ${e.data_offsets[0]}`,
      );
    }
  });

  test('reads a hand-built file: unpadded header, entries not in offset order, metadata', () => {
    const file = freshFile();
    const hdr =
      '{"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},' +
      '"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"__metadata__":{"who":"hand"}}';
    // a = [1.5, -2] as F32 LE; b = [-1] as I32 LE
    fs.writeFileSync(file, handBuilt(hdr, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0xff, 0xff, 0xff, 0xff]));
    const back = readSafetensors(file);
    assert.deepEqual(back.metadata, { who: 'hand' });
    assert.deepEqual(back.tensors.get('a')!.shape, [2, 1]);
    assert.deepEqual([...asFloat32(back.tensors.get('a')!)], [1.5, -2]);
    assert.deepEqual([...asInt32(back.tensors.get('b')!)], [-1]);
  });
});

describe('atomic writes and input checks', () => {
  test('a write that fails midway leaves the old file intact and no tmp file', () => {
    const file = freshFile();
    writeSafetensors(file, [{ name: 'a', dtype: 'U8', shape: [2], data: new Uint8Array([4, 5]) }]);
    const before = fs.readFileSync(file);
    const exploding = {
      byteLength: 4,
      byteOffset: 0,
      get buffer(): ArrayBuffer {
        throw new Error('disk on fire');
      },
    } as unknown as ArrayBufferView;
    const tensors: TensorIn[] = [
      { name: 'ok', dtype: 'F32', shape: [2], data: new Float32Array(2) },
      { name: 'bad', dtype: 'F32', shape: [1], data: exploding },
    ];
    assert.throws(() => writeSafetensors(file, tensors), /disk on fire/);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.safetensors']);
  });

  test('a successful write replaces the old file and leaves no tmp file', () => {
    const file = freshFile();
    writeSafetensors(file, [{ name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]);
    writeSafetensors(file, [{ name: 'b', dtype: 'U8', shape: [1], data: new Uint8Array([2]) }]);
    assert.deepEqual([...readSafetensors(file).tensors.keys()], ['b']);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.safetensors']);
  });

  const bad: Array<[string, TensorIn[], RegExp]> = [
    [
      'duplicate names',
      [
        { name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) },
        { name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) },
      ],
      /"a" appears twice/,
    ],
    [
      'byte length vs shape',
      [{ name: 'a', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }],
      /needs 16 bytes, the data has 12/,
    ],
    [
      'element size vs dtype',
      [{ name: 'a', dtype: 'F32', shape: [2], data: new Float64Array(1) }],
      /Float64Array/,
    ],
    [
      'negative dimension',
      [{ name: 'a', dtype: 'U8', shape: [-1], data: new Uint8Array(0) }],
      /shape \[-1\]/,
    ],
    [
      'reserved name',
      [{ name: '__metadata__', dtype: 'U8', shape: [0], data: new Uint8Array(0) }],
      /reserved/,
    ],
    [
      'unknown dtype',
      [{ name: 'a', dtype: 'F8' as Dtype, shape: [1], data: new Uint8Array(1) }],
      /unknown dtype "F8"/,
    ],
  ];
  for (const [what, tensors, re] of bad) {
    test(`rejects ${what} with an InputError and writes nothing`, () => {
      const file = freshFile();
      assert.throws(
        () => writeSafetensors(file, tensors),
        (e: unknown) => e instanceof InputError && re.test(e.message) && e.message.includes(file),
      );
      assert.deepEqual(fs.readdirSync(path.dirname(file)), []);
    });
  }

  test('a missing file is an InputError naming the path', () => {
    const file = path.join(root, 'nope.safetensors');
    assert.throws(
      () => readSafetensors(file),
      (e: unknown) => e instanceof InputError && e.message.includes(file),
    );
  });
});

describe('corruption is detected with a CorruptError naming the file and the problem', () => {
  /** A valid two-tensor file's bytes. */
  function good(): Buffer {
    const file = freshFile();
    writeSafetensors(
      file,
      [
        { name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
        { name: 'b', dtype: 'F32', shape: [2], data: new Float32Array([5, 6]) },
      ],
      { k: 'v' },
    );
    return fs.readFileSync(file);
  }
  function withLength(buf: Buffer, n: bigint): Buffer {
    const out = Buffer.from(buf);
    out.writeBigUInt64LE(n, 0);
    return out;
  }
  const t = (name: string, off: [number, number], dtype = 'F32', shape = '[2]'): string =>
    `"${name}":{"dtype":"${dtype}","shape":${shape},"data_offsets":[${off[0]},${off[1]}]}`;
  const zeros = (n: number): number[] => new Array<number>(n).fill(0);

  const cases: Array<[string, () => Buffer, RegExp]> = [
    ['file shorter than 8 bytes', () => Buffer.from([1, 2, 3, 4, 5]), /5 bytes, shorter than the 8-byte/],
    ['empty file', () => Buffer.alloc(0), /0 bytes, shorter than the 8-byte/],
    [
      'header length beyond the file',
      () => withLength(good(), 1n << 40n),
      /header length \d+ exceeds .* truncated/,
    ],
    [
      'truncated inside the header',
      () => good().subarray(0, 20),
      /exceeds the 12 bytes after the length field/,
    ],
    [
      'truncated data',
      () => good().subarray(0, good().length - 4),
      /ends at byte 24 of the data section, which is only 20 bytes \(the file is truncated\)/,
    ],
    [
      'truncated to the header only',
      () => {
        const g = good();
        return g.subarray(0, 8 + Number(g.readBigUInt64LE(0)));
      },
      /only 0 bytes \(the file is truncated\)/,
    ],
    [
      'trailing data',
      () => Buffer.concat([good(), Buffer.from([1, 2, 3])]),
      /data section is 27 bytes but the tensors cover only 24 \(trailing data\)/,
    ],
    ['bad JSON', () => handBuilt('{"w": {"dtype": ', zeros(4)), /not valid JSON/],
    ['header not an object', () => handBuilt('[1, 2, 3]', []), /starting with "\{"/],
    [
      'invalid UTF-8 header',
      () => Buffer.concat([withLength(Buffer.alloc(8), 2n), Buffer.from([0xff, 0xfe])]),
      /not valid UTF-8/,
    ],
    [
      'unknown dtype',
      () => handBuilt(`{${t('w', [0, 2], 'F8', '[2]')}}`, zeros(2)),
      /tensor "w" has unknown dtype "F8"/,
    ],
    [
      'bad shape',
      () => handBuilt(`{${t('w', [0, 4], 'F32', '[1.5]')}}`, zeros(4)),
      /tensor "w" has invalid shape \[1.5\]/,
    ],
    [
      'offsets reversed',
      () => handBuilt(`{${t('w', [8, 0])}}`, zeros(8)),
      /tensor "w" has invalid data_offsets \[8,0\]/,
    ],
    [
      'offsets not matching shape x dtype',
      () => handBuilt(`{${t('w', [0, 4])}}`, zeros(4)),
      /hold 4 bytes, but shape \[2\] of F32 needs 8/,
    ],
    [
      'overlapping tensors',
      () => handBuilt(`{${t('a', [0, 8])},${t('b', [4, 12])}}`, zeros(12)),
      /tensors "a" and "b" overlap/,
    ],
    [
      'a hole between tensors',
      () => handBuilt(`{${t('a', [0, 8])},${t('b', [12, 20])}}`, zeros(20)),
      /bytes 8\.\.12 of the data section belong to no tensor/,
    ],
    [
      'offsets beyond the data',
      () => handBuilt(`{${t('a', [0, 8])}}`, zeros(6)),
      /ends at byte 8 .* only 6 bytes/,
    ],
    [
      'metadata value not a string',
      () => handBuilt('{"__metadata__":{"k":3}}', []),
      /__metadata__ "k" is a number/,
    ],
    ['entry not an object', () => handBuilt('{"w":7}', []), /tensor "w": header entry is not an object/],
  ];
  for (const [what, make, re] of cases) {
    test(what, () => {
      const file = freshFile();
      fs.writeFileSync(file, make());
      assert.throws(
        () => readSafetensors(file),
        (e: unknown) => {
          assert.ok(e instanceof CorruptError, `expected CorruptError, got ${String(e)}`);
          assert.match(e.message, re);
          assert.ok(e.message.startsWith(`${file}: `), e.message);
          assert.ok(e.hint && e.hint.length > 0);
          return true;
        },
      );
    });
  }

  test('the unmodified file of the corruption cases is valid (the cases are not vacuous)', () => {
    const file = freshFile();
    fs.writeFileSync(file, good());
    assert.deepEqual([...asFloat32(readSafetensors(file).tensors.get('w')!)], [1, 2, 3, 4]);
  });
});
