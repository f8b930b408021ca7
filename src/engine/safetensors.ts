// The safetensors file format (Hugging Face spec): atomic streaming writer and validating reader.
// It stores named little-endian tensors plus string metadata; it knows nothing of models or checkpoints.
//
// Layout: u64 LE header length N | N bytes of UTF-8 JSON header (space-padded to a multiple of 8) |
// data section, each tensor a row-major byte range [begin, end) relative to the data section start.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { writeAll, writeAtomicWith } from './atomic.ts';
import { CorruptError, InputError, SetupError } from './errors.ts';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U32' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U32: 4,
  BOOL: 1,
};

export interface TensorIn {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: ArrayBufferView;
}

export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  /** The tensor's raw little-endian bytes (a view into the file's data section). */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** The reference implementation refuses headers above 100 MB; so do we (a guard against garbage lengths). */
const MAX_HEADER_BYTES = 100_000_000;
/** Write in chunks well below the 2 GiB limit of one write call. */
const WRITE_CHUNK = 64 << 20;
const CORRUPT_HINT =
  'The file is damaged or was not written completely. Re-create it from its source, or use an earlier copy.';

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZE, s);
}

function requireLittleEndianHost(): void {
  if (os.endianness() !== 'LE') {
    throw new SetupError(
      'safetensors data is little-endian, but this machine is big-endian',
      'Run tlc on a little-endian machine (x86-64, arm64).',
    );
  }
}

/** Number of elements of a shape, or null if a dimension is not a non-negative safe integer. */
function numel(shape: unknown): number | null {
  if (!Array.isArray(shape)) return null;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return null;
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

function checkTensorsIn(file: string, tensors: TensorIn[]): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    const what = `writing ${file}: tensor "${t.name}"`;
    if (t.name === '' || t.name === METADATA_KEY) {
      throw new InputError(`${what}: the name is empty or reserved`, 'Give every tensor a non-empty name.');
    }
    if (seen.has(t.name)) {
      throw new InputError(`${what} appears twice`, 'Tensor names in one safetensors file must be unique.');
    }
    seen.add(t.name);
    if (!isDtype(t.dtype)) {
      throw new InputError(
        `${what} has unknown dtype "${String(t.dtype)}"`,
        `Use one of ${Object.keys(DTYPE_SIZE).join(', ')}.`,
      );
    }
    const n = numel(t.shape);
    if (n === null) {
      throw new InputError(
        `${what} has shape ${JSON.stringify(t.shape)}`,
        'Dimensions must be non-negative integers.',
      );
    }
    const size = DTYPE_SIZE[t.dtype];
    const elem = (t.data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
    if (elem !== 1 && elem !== size) {
      throw new InputError(
        `${what} is ${t.dtype} (${size} bytes per element) but its data is a ${t.data.constructor.name}`,
        'Pass a typed array of the matching element size, or a Uint8Array of the raw bytes.',
      );
    }
    if (t.data.byteLength !== n * size) {
      throw new InputError(
        `${what}: shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${n * size} bytes, the data has ${t.data.byteLength}`,
        'Check the shape against the data buffer.',
      );
    }
  }
}

/** The header bytes (space-padded to a multiple of 8) for tensors laid out in the given order. */
function buildHeader(tensors: TensorIn[], metadata: Record<string, string> | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new InputError(
          `safetensors metadata "${k}" is a ${typeof v}, expected a string`,
          'Encode it with JSON.stringify.',
        );
      }
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(padded, 0x20);
  json.copy(out);
  return out;
}

/** Write `bytes` in chunks of at most WRITE_CHUNK, hashing them on the way. */
function writeHashed(fd: number, bytes: Uint8Array, hash: ReturnType<typeof createHash>): void {
  for (let pos = 0; pos < bytes.length; pos += WRITE_CHUNK) {
    const chunk = bytes.subarray(pos, Math.min(bytes.length, pos + WRITE_CHUNK));
    writeAll(fd, chunk);
    hash.update(chunk);
  }
}

/**
 * Write tensors (and optional string metadata) to `file` atomically (atomic.ts: tmp file, fsync,
 * rename, fsync of the folder). Tensors are laid out by descending element size
 * (as the reference writer does) so every tensor is aligned to its element size.
 */
export function writeSafetensors(
  file: string,
  tensors: TensorIn[],
  metadata?: Record<string, string>,
): { bytes: number; sha256: string } {
  requireLittleEndianHost();
  checkTensorsIn(file, tensors);
  const ordered = tensors
    .map((t, i) => ({ t, i }))
    .sort((a, b) => DTYPE_SIZE[b.t.dtype] - DTYPE_SIZE[a.t.dtype] || a.i - b.i)
    .map((x) => x.t);
  const header = buildHeader(ordered, metadata);
  const lenField = Buffer.alloc(8);
  lenField.writeBigUInt64LE(BigInt(header.length));

  const hash = createHash('sha256');
  let bytes = 0;
  writeAtomicWith(file, (fd) => {
    for (const part of [lenField, header]) writeHashed(fd, part, hash);
    bytes = 8 + header.length;
    for (const t of ordered) {
      writeHashed(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), hash);
      bytes += t.data.byteLength;
    }
  });
  return { bytes, sha256: hash.digest('hex') };
}

function corrupt(file: string, what: string): CorruptError {
  return new CorruptError(`${file}: ${what}`, CORRUPT_HINT);
}

function readExactly(fd: number, file: string, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0)
      throw corrupt(file, `expected ${length} bytes at offset ${position}, the file ended after ${done}`);
    done += n;
  }
  return buf;
}

interface RawEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parse and check the header JSON: dtypes, shapes, offsets sized per shape. Offsets vs file come later. */
function parseHeader(file: string, bytes: Buffer): { entries: RawEntry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw corrupt(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{'))
    throw corrupt(
      file,
      `header should be a JSON object starting with "{", found ${JSON.stringify(text.slice(0, 16))}`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw corrupt(file, 'header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw corrupt(file, '__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string')
          throw corrupt(file, `__metadata__ "${k}" is a ${typeof s}, expected a string`);
        metadata[k] = s;
      }
      continue;
    }
    entries.push(parseEntry(file, name, v));
  }
  return { entries, metadata };
}

function parseEntry(file: string, name: string, v: unknown): RawEntry {
  const what = `tensor "${name}"`;
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw corrupt(file, `${what}: header entry is not an object`);
  const { dtype, shape, data_offsets: offs } = v as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw corrupt(
      file,
      `${what} has unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPE_SIZE).join(', ')}`,
    );
  }
  const n = numel(shape);
  if (n === null) throw corrupt(file, `${what} has invalid shape ${JSON.stringify(shape)}`);
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(offs) || offs.length !== 2 || !ok(offs[0]) || !ok(offs[1]) || offs[1] < offs[0]) {
    throw corrupt(
      file,
      `${what} has invalid data_offsets ${JSON.stringify(offs)}; expected [begin, end] with 0 <= begin <= end`,
    );
  }
  const [begin, end] = offs as [number, number];
  const need = n * DTYPE_SIZE[dtype];
  if (end - begin !== need) {
    throw corrupt(
      file,
      `${what}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ${JSON.stringify(shape)} of ${dtype} needs ${need}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** The tensors must tile the data section exactly: no byte outside it, no overlap, no hole, nothing after. */
function checkLayout(file: string, entries: RawEntry[], dataLen: number): void {
  for (const e of entries) {
    if (e.end > dataLen) {
      throw corrupt(
        file,
        `tensor "${e.name}" ends at byte ${e.end} of the data section, which is only ${dataLen} bytes (the file is truncated)`,
      );
    }
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let prev = '';
  for (const e of sorted) {
    if (e.begin < covered)
      throw corrupt(file, `tensors "${prev}" and "${e.name}" overlap at bytes ${e.begin}..${covered}`);
    if (e.begin > covered)
      throw corrupt(file, `bytes ${covered}..${e.begin} of the data section belong to no tensor`);
    covered = e.end;
    prev = e.name;
  }
  if (covered !== dataLen) {
    throw corrupt(
      file,
      `data section is ${dataLen} bytes but the tensors cover only ${covered} (trailing data)`,
    );
  }
}

/** Read and fully validate a safetensors file. Tensor data are views into one buffer holding the data section. */
/** The validated header of an open file: its entries (offsets into the data section) and metadata. */
function openChecked(file: string): {
  fd: number;
  entries: RawEntry[];
  metadata: Record<string, string>;
  dataStart: number;
} {
  requireLittleEndianHost();
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new InputError(`safetensors file ${file} does not exist`, 'Check the path.');
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw corrupt(file, `file is ${size} bytes, shorter than the 8-byte header length field`);
    const n64 = readExactly(fd, file, 8, 0).readBigUInt64LE(0);
    if (n64 > BigInt(size - 8)) {
      throw corrupt(
        file,
        `header length ${n64} exceeds the ${size - 8} bytes after the length field (the file is truncated)`,
      );
    }
    if (n64 > BigInt(MAX_HEADER_BYTES))
      throw corrupt(file, `header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    const headerLen = Number(n64);
    const { entries, metadata } = parseHeader(file, readExactly(fd, file, headerLen, 8));
    checkLayout(file, entries, size - 8 - headerLen);
    return { fd, entries, metadata, dataStart: 8 + headerLen };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Read and fully validate a safetensors file. Tensor data are views into one buffer holding the data section. */
export function readSafetensors(file: string): SafetensorsFile {
  const { fd, entries, metadata, dataStart } = openChecked(file);
  try {
    const dataLen = fs.fstatSync(fd).size - dataStart;
    const data = readExactly(fd, file, dataLen, dataStart);
    const tensors = new Map<string, TensorEntry>();
    for (const e of entries) {
      tensors.set(e.name, {
        dtype: e.dtype,
        shape: e.shape,
        data: new Uint8Array(data.buffer, data.byteOffset + e.begin, e.end - e.begin),
      });
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** A validated safetensors file whose tensors are read from disk one at a time, when asked for. */
export interface SafetensorsReader {
  metadata: Record<string, string>;
  has(name: string): boolean;
  /** one tensor's bytes, read now into a buffer of its own (4-byte aligned), or undefined: no such tensor */
  read(name: string): TensorEntry | undefined;
  close(): void;
}

/**
 * Open a safetensors file and validate its header and layout, reading no tensor yet: a loader that
 * converts tensor by tensor holds one tensor's bytes at a time, never the whole file.
 */
export function openSafetensors(file: string): SafetensorsReader {
  const { fd, entries, metadata, dataStart } = openChecked(file);
  const byName = new Map(entries.map((e) => [e.name, e]));
  let open = true;
  return {
    metadata,
    has: (name) => byName.has(name),
    read(name) {
      const e = byName.get(name);
      if (!e) return undefined;
      if (!open) throw new Error(`safetensors reader of ${file} is closed`);
      const data = new Uint8Array(e.end - e.begin);
      let done = 0;
      while (done < data.length) {
        const n = fs.readSync(fd, data, done, data.length - done, dataStart + e.begin + done);
        if (n === 0) throw corrupt(file, `tensor "${name}" ends past the end of the file (it was truncated)`);
        done += n;
      }
      return { dtype: e.dtype, shape: e.shape, data };
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

function copyAs<T extends Float32Array | Int32Array>(
  entry: TensorEntry,
  dtype: Dtype,
  make: (n: number) => T,
): T {
  if (entry.dtype !== dtype) {
    throw new InputError(
      `expected a ${dtype} tensor, found ${entry.dtype} with shape ${JSON.stringify(entry.shape)}`,
      `Convert the tensor to ${dtype} before loading it here.`,
    );
  }
  const out = make(entry.data.byteLength / DTYPE_SIZE[dtype]);
  new Uint8Array(out.buffer).set(entry.data);
  return out;
}

/** Copy an F32 tensor into a fresh (aligned) Float32Array. */
export function asFloat32(entry: TensorEntry): Float32Array {
  return copyAs(entry, 'F32', (n) => new Float32Array(n));
}

/** Copy an I32 tensor into a fresh (aligned) Int32Array. */
export function asInt32(entry: TensorEntry): Int32Array {
  return copyAs(entry, 'I32', (n) => new Int32Array(n));
}
