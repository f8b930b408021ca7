// Tokenized corpora as binary token files, so a second run does not re-tokenize: a versioned
// header, the ids (uint16 when the vocab fits, else int32), and document offsets, written
// atomically and verified on read. Recovery (documented): tokenizeCached rebuilds a corrupt or
// stale file with a warning. Does not batch or mask.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { writeFileAtomic } from '../engine/atomic.ts';
import { CorruptError, SetupError } from '../engine/errors.ts';
import { sha256Bytes } from './fetch/cache.ts';
import type { TextDoc } from './types.ts';

/** Documents as one id array plus offsets: doc d is ids[offsets[d], offsets[d + 1]). */
export interface TokenizedDocs {
  ids: Uint16Array | Int32Array;
  /** nDocs + 1 entries, offsets[0] = 0, offsets[nDocs] = ids.length */
  offsets: Float64Array;
}

export interface TokenFile extends TokenizedDocs {
  vocabSize: number;
  /** sha256 hex of the tokenizer (Tokenizer.hash) */
  tokenizerHash: string;
  /** sha256 hex of the source documents (sourceHash) */
  sourceHash: string;
}

/** What tokenizeCached needs from a tokenizer. */
export interface TokenEncoder {
  readonly vocabSize: number;
  readonly hash: string;
  encode(text: string): Int32Array;
}

export const TOKEN_FILE_MAGIC = 'TLCTOKEN';
export const TOKEN_FILE_VERSION = 1;
/**
 * Layout (little-endian): magic[8] version:u32 bytesPerId:u32 nTokens:u64 nDocs:u64 vocabSize:u32
 * reserved:u32 tokenizerSha[32] sourceSha[32] bodySha[32] | ids (padded to 8 bytes) | offsets u64[nDocs+1].
 * bodySha covers everything after the header.
 */
const HEADER = 136;

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;

function checkEndian(): void {
  if (os.endianness() !== 'LE') {
    throw new SetupError(
      'token files are little-endian and this machine is big-endian',
      'run tlc on a little-endian machine (x86-64, arm64)',
    );
  }
}

/** sha256 of the documents' ids and texts, in order (a cache key for their token file). */
export function sourceHash(docs: ReadonlyArray<TextDoc | string>): string {
  const parts: string[] = [];
  for (const d of docs) {
    if (typeof d === 'string') parts.push('', d);
    else parts.push(d.id, d.text);
  }
  return sha256Bytes(JSON.stringify(parts));
}

/** Encode every document. */
export function tokenizeDocs(docs: ReadonlyArray<TextDoc | string>, tok: TokenEncoder): TokenizedDocs {
  const parts: Int32Array[] = [];
  const offsets = new Float64Array(docs.length + 1);
  let total = 0;
  docs.forEach((d, i) => {
    const ids = tok.encode(typeof d === 'string' ? d : d.text);
    parts.push(ids);
    total += ids.length;
    offsets[i + 1] = total;
  });
  const ids = tok.vocabSize <= 65536 ? new Uint16Array(total) : new Int32Array(total);
  let o = 0;
  for (const p of parts) {
    ids.set(p, o);
    o += p.length;
  }
  return { ids, offsets };
}

/** Write a token file atomically (tmp + fsync + rename). */
export function writeTokenFile(file: string, tf: TokenFile): void {
  checkEndian();
  const n = tf.ids.length;
  const nDocs = tf.offsets.length - 1;
  const bpi = tf.vocabSize <= 65536 ? 2 : 4;
  const idBytes = pad8(n * bpi);
  const buf = Buffer.alloc(HEADER + idBytes + 8 * (nDocs + 1));
  buf.write(TOKEN_FILE_MAGIC, 0, 'latin1');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint32(8, TOKEN_FILE_VERSION, true);
  dv.setUint32(12, bpi, true);
  dv.setBigUint64(16, BigInt(n), true);
  dv.setBigUint64(24, BigInt(nDocs), true);
  dv.setUint32(32, tf.vocabSize, true);
  Buffer.from(tf.tokenizerHash, 'hex').copy(buf, 40);
  Buffer.from(tf.sourceHash, 'hex').copy(buf, 72);
  const ids =
    bpi === 2
      ? new Uint16Array(buf.buffer, buf.byteOffset + HEADER, n)
      : new Int32Array(buf.buffer, buf.byteOffset + HEADER, n);
  ids.set(tf.ids);
  const offBase = HEADER + idBytes;
  for (let d = 0; d <= nDocs; d++) dv.setBigUint64(offBase + 8 * d, BigInt(tf.offsets[d]!), true);
  Buffer.from(sha256Bytes(buf.subarray(HEADER)), 'hex').copy(buf, 104);
  writeFileAtomic(file, buf);
}

const REBUILD_HINT = 'delete the file so it is rebuilt (tokenizeCached does this by itself)';

function corrupt(file: string, what: string): CorruptError {
  return new CorruptError(`token file ${file}: ${what}`, REBUILD_HINT);
}

/** Parse and check the header; returns the fields needed to read the body. */
function readHeader(file: string, buf: Buffer): { bpi: number; n: number; nDocs: number; vocabSize: number } {
  if (buf.length < HEADER)
    throw corrupt(file, `is ${buf.length} bytes, shorter than the ${HEADER}-byte header (truncated)`);
  const magic = buf.toString('latin1', 0, 8);
  if (magic !== TOKEN_FILE_MAGIC)
    throw corrupt(
      file,
      `expected magic ${JSON.stringify(TOKEN_FILE_MAGIC)}, found ${JSON.stringify(magic)} (not a tlc token file)`,
    );
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== TOKEN_FILE_VERSION)
    throw corrupt(file, `format version ${version}, this tlc reads version ${TOKEN_FILE_VERSION}`);
  const bpi = dv.getUint32(12, true);
  if (bpi !== 2 && bpi !== 4) throw corrupt(file, `bytes per id must be 2 or 4, found ${bpi}`);
  const n = Number(dv.getBigUint64(16, true));
  const nDocs = Number(dv.getBigUint64(24, true));
  const vocabSize = dv.getUint32(32, true);
  const expected = HEADER + pad8(n * bpi) + 8 * (nDocs + 1);
  if (buf.length !== expected) {
    const how = buf.length < expected ? 'truncated' : 'has trailing bytes';
    throw corrupt(
      file,
      `${how}: ${buf.length} bytes, but its header (${n} tokens, ${nDocs} docs, ${bpi}-byte ids) needs ${expected}`,
    );
  }
  return { bpi, n, nDocs, vocabSize };
}

/** Read and verify a token file. Any damage → CorruptError naming the file and what was expected. */
export function readTokenFile(file: string): TokenFile {
  checkEndian();
  const raw = fs.readFileSync(file);
  // typed-array views need aligned offsets: copy when the Buffer is not 8-byte aligned
  const buf = raw.byteOffset % 8 === 0 ? raw : Buffer.from(Uint8Array.from(raw).buffer);
  const { bpi, n, nDocs, vocabSize } = readHeader(file, buf);
  const stored = buf.toString('hex', 104, 136);
  const actual = sha256Bytes(buf.subarray(HEADER));
  if (stored !== actual)
    throw corrupt(
      file,
      `body sha256 is ${actual.slice(0, 16)}…, header says ${stored.slice(0, 16)}… (damaged)`,
    );
  const ids =
    bpi === 2
      ? new Uint16Array(buf.buffer, buf.byteOffset + HEADER, n)
      : new Int32Array(buf.buffer, buf.byteOffset + HEADER, n);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const offBase = HEADER + pad8(n * bpi);
  const offsets = new Float64Array(nDocs + 1);
  for (let d = 0; d <= nDocs; d++) {
    offsets[d] = Number(dv.getBigUint64(offBase + 8 * d, true));
    if ((d === 0 && offsets[d] !== 0) || (d > 0 && offsets[d]! < offsets[d - 1]!))
      throw corrupt(file, `document offsets must rise from 0, offset ${d} is ${offsets[d]}`);
  }
  if (offsets[nDocs] !== n)
    throw corrupt(file, `last document offset is ${offsets[nDocs]}, expected the token count ${n}`);
  for (let i = 0; i < n; i++)
    if (ids[i]! < 0 || ids[i]! >= vocabSize)
      throw corrupt(file, `token ${i} is id ${ids[i]}, outside the vocabulary [0, ${vocabSize})`);
  return {
    ids,
    offsets,
    vocabSize,
    tokenizerHash: buf.toString('hex', 40, 72),
    sourceHash: buf.toString('hex', 72, 104),
  };
}

export interface TokenizeCachedOptions {
  /** where rebuild warnings go (default: stderr) */
  warn?: (message: string) => void;
}

/**
 * Token ids of `docs`, from `cacheFile` when it matches this tokenizer and these documents.
 * Documented recovery: a missing file is built; a corrupt file (truncated, damaged, old format)
 * or a stale one (other tokenizer or documents) is rebuilt, with a warning. `cache` says which.
 */
export function tokenizeCached(
  docs: ReadonlyArray<TextDoc | string>,
  tok: TokenEncoder,
  cacheFile: string,
  opts: TokenizeCachedOptions = {},
): TokenFile & { cache: 'hit' | 'built' | 'rebuilt' } {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`tlc: warning: ${m}\n`));
  const srcHash = sourceHash(docs);
  let status: 'built' | 'rebuilt' = 'built';
  if (fs.existsSync(cacheFile)) {
    status = 'rebuilt';
    try {
      const tf = readTokenFile(cacheFile);
      if (tf.tokenizerHash === tok.hash && tf.sourceHash === srcHash && tf.vocabSize === tok.vocabSize)
        return { ...tf, cache: 'hit' };
      warn(`token file ${cacheFile} was made by another tokenizer or from other documents; re-tokenizing`);
    } catch (e) {
      if (!(e instanceof CorruptError)) throw e;
      warn(`${e.message}; re-tokenizing`);
    }
  }
  const docsIds = tokenizeDocs(docs, tok);
  const tf: TokenFile = {
    ...docsIds,
    vocabSize: tok.vocabSize,
    tokenizerHash: tok.hash,
    sourceHash: srcHash,
  };
  writeTokenFile(cacheFile, tf);
  return { ...tf, cache: status };
}
