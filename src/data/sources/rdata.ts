// Reader for R's serialization format (XDR, versions 2 and 3) and R lazy-load databases
// (.rdx index + .rdb chunks, zlib / bzip2 / xz). Reads data, not code: byte-code is refused.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { CorruptError, SetupError } from '../../engine/errors.ts';

/** R's NA for integers and logicals. */
export const R_NA_INT = -2147483648;

export type RAttrs = Map<string, RObject>;
export type RObject =
  | { kind: 'null' }
  | { kind: 'symbol'; name: string }
  | { kind: 'special'; name: string }
  | { kind: 'character'; data: (string | null)[]; attrs: RAttrs }
  | { kind: 'logical' | 'integer'; data: Int32Array; attrs: RAttrs }
  | { kind: 'double'; data: Float64Array; attrs: RAttrs }
  | { kind: 'complex'; data: Float64Array; attrs: RAttrs }
  | { kind: 'raw'; data: Uint8Array; attrs: RAttrs }
  | { kind: 'list'; items: RObject[]; attrs: RAttrs }
  | { kind: 'pairlist'; items: { tag: string | null; value: RObject }[]; attrs: RAttrs }
  | { kind: 'env'; attrs: RAttrs }
  | { kind: 'persist'; names: (string | null)[] };

const NULL: RObject = { kind: 'null' };
const SPECIAL_MARKERS: Record<number, string> = {
  253: 'globalenv',
  252: 'unbound',
  251: 'missingarg',
  250: 'basenamespace',
  242: 'emptyenv',
  241: 'baseenv',
};
const PAIRLIST_TYPES = new Set([2, 6, 17, 239, 240]); // LISTSXP LANGSXP DOTSXP ATTRLANGSXP ATTRLISTSXP

function corrupt(what: string, found: string): CorruptError {
  return new CorruptError(
    `R serialization: expected ${what}, found ${found}`,
    'delete the cached package folder (under $TLC_CACHE/debian) and retry; if it persists, report the package version',
  );
}

/** Big-endian (XDR) cursor over a byte buffer. */
class Xdr {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw corrupt(`${n} more bytes at offset ${this.pos}`, 'end of data');
  }
  int(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, false);
    this.pos += 4;
    return v;
  }
  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  length(): number {
    const n = this.int();
    if (n >= 0) return n;
    if (n !== -1) throw corrupt('a vector length', String(n));
    const hi = this.int();
    const lo = this.int();
    return hi * 2 ** 32 + (lo >>> 0);
  }
}

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/** Parses one serialized R object (the bytes of an .rds after decompression, or an .rdb chunk). */
export function parseRSerialized(bytes: Uint8Array): RObject {
  const r = new Xdr(bytes);
  const fmt = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  if (fmt !== 'X\n') throw corrupt('XDR format marker "X\\n"', JSON.stringify(fmt));
  r.pos = 2;
  const version = r.int();
  r.int(); // writer R version
  r.int(); // minimal reader R version
  // version 3 names the writer's native encoding; strings carry their own encoding flags anyway
  if (version === 3) r.bytes(r.int());
  else if (version !== 2) throw corrupt('serialization version 2 or 3', String(version));
  return new RDeserializer(r).item();
}

class RDeserializer {
  private readonly refs: RObject[] = [];
  constructor(private readonly r: Xdr) {}

  item(): RObject {
    const flags = this.r.int();
    const type = flags & 0xff;
    const hasAttr = (flags & (1 << 9)) !== 0;
    const hasTag = (flags & (1 << 10)) !== 0;
    if (type === 254) return NULL;
    const marker = SPECIAL_MARKERS[type];
    if (marker) return { kind: 'special', name: marker };
    if (type === 3 || type === 5) return this.closure(hasAttr, hasTag);
    if (PAIRLIST_TYPES.has(type)) return this.pairlist(hasAttr, hasTag);
    if (type === 255) {
      const idx = flags >> 8 || this.r.int();
      const ref = this.refs[idx - 1];
      if (!ref) throw corrupt(`a back-reference within 1..${this.refs.length}`, String(idx));
      return ref;
    }
    if (type === 1) {
      const pname = this.item();
      const name = pname.kind === 'character' ? (pname.data[0] ?? '') : '';
      return this.remember({ kind: 'symbol', name });
    }
    if (type === 4) return this.env();
    if (type === 238) return this.altrep();
    if (type === 9) {
      const s = this.charsxp(flags);
      if (hasAttr) this.item(); // attributes of CHARSXPs are unused
      return { kind: 'character', data: [s], attrs: new Map() };
    }
    const odd = this.oddity(type);
    const obj = odd ?? this.vector(type);
    if (hasAttr) {
      const attrs = this.item();
      if ('attrs' in obj) readAttrsInto(obj.attrs, attrs);
    }
    return obj;
  }

  private remember(obj: RObject): RObject {
    this.refs.push(obj);
    return obj;
  }

  /** Types a data set rarely holds: kept as markers, read only to stay in step with the stream. */
  private oddity(type: number): RObject | null {
    switch (type) {
      case 247: // PERSISTSXP (a reference the writer's hook resolved, e.g. an environment)
        return this.remember({ kind: 'persist', names: this.stringVec() });
      case 248: // PACKAGESXP
      case 249: // NAMESPACESXP
        return this.remember({ kind: 'special', name: this.stringVec().join('::') });
      case 7: // SPECIALSXP
      case 8: // BUILTINSXP
        return { kind: 'special', name: utf8.decode(this.r.bytes(this.r.int())) };
      case 22: {
        // EXTPTRSXP: no data survives serialization
        const obj = this.remember({ kind: 'special', name: 'externalptr' });
        this.item();
        this.item();
        return obj;
      }
      case 23: // WEAKREFSXP
        return this.remember({ kind: 'special', name: 'weakref' });
      default:
        return null;
    }
  }

  private stringVec(): (string | null)[] {
    if (this.r.int() !== 0) throw corrupt('0 before a persistent string vector', 'non-zero');
    const n = this.r.length();
    const out: (string | null)[] = [];
    for (let i = 0; i < n; i++) out.push(this.charsxp(this.r.int()));
    return out;
  }

  private charsxp(flags: number): string | null {
    if ((flags & 0xff) !== 9) throw corrupt('a CHARSXP (type 9)', `type ${flags & 0xff}`);
    const n = this.r.int();
    if (n === -1) return null;
    const b = this.r.bytes(n);
    const levels = flags >> 12;
    return (levels & 4) !== 0 ? latin1.decode(b) : utf8.decode(b);
  }

  /** Closures and promises: read (to stay in sync) and keep only a marker; data sets need no code. */
  private closure(hasAttr: boolean, hasTag: boolean): RObject {
    if (hasAttr) this.item();
    if (hasTag) this.item();
    this.item();
    this.item();
    return { kind: 'special', name: 'closure' };
  }

  private pairlist(hasAttr: boolean, hasTag: boolean): RObject {
    const out: RObject = { kind: 'pairlist', items: [], attrs: new Map() };
    let attr = hasAttr;
    let tagged = hasTag;
    // Walk the cdr chain iteratively: long pairlists must not grow the JS stack.
    for (;;) {
      if (attr) readAttrsInto(out.attrs, this.item());
      const tag = tagged ? this.item() : null;
      const value = this.item();
      out.items.push({ tag: tag && tag.kind === 'symbol' ? tag.name : null, value });
      const next = this.r.int();
      const nt = next & 0xff;
      if (nt === 254) return out;
      if (!PAIRLIST_TYPES.has(nt)) {
        this.r.pos -= 4;
        this.item(); // an improper tail: read and drop
        return out;
      }
      attr = (next & (1 << 9)) !== 0;
      tagged = (next & (1 << 10)) !== 0;
    }
  }

  private env(): RObject {
    const obj: RObject = { kind: 'env', attrs: new Map() };
    this.refs.push(obj);
    this.r.int(); // locked
    this.item(); // enclosure
    this.item(); // frame
    this.item(); // hash table
    readAttrsInto(obj.attrs, this.item());
    return obj;
  }

  /** ALTREP objects: expand the compact forms data sets use; refuse the rest. */
  private altrep(): RObject {
    const info = this.item();
    const state = this.item();
    const attr = this.item();
    const cls =
      info.kind === 'pairlist' && info.items[0]?.value.kind === 'symbol' ? info.items[0].value.name : '?';
    let obj: RObject;
    if ((cls === 'compact_intseq' || cls === 'compact_realseq') && state.kind === 'double') {
      const [n = 0, start = 0, step = 1] = state.data;
      const data = cls === 'compact_intseq' ? new Int32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = start + i * step;
      obj =
        data instanceof Int32Array
          ? { kind: 'integer', data, attrs: new Map() }
          : { kind: 'double', data, attrs: new Map() };
    } else if (cls.startsWith('wrap_') && state.kind === 'list' && state.items[0]) {
      obj = state.items[0];
    } else if (cls === 'deferred_string' && state.kind === 'pairlist' && state.items[0]) {
      const v = state.items[0].value; // the numbers the strings will be made from
      const data = v.kind === 'integer' || v.kind === 'double' ? Array.from(v.data, String) : [];
      obj = { kind: 'character', data, attrs: new Map() };
    } else {
      throw corrupt(
        'a supported ALTREP class (compact_intseq, compact_realseq, wrap_*, deferred_string)',
        cls,
      );
    }
    if ('attrs' in obj) readAttrsInto(obj.attrs, attr);
    return obj;
  }

  private vector(type: number): RObject {
    const r = this.r;
    if (type === 0) return NULL;
    if (type === 25) return { kind: 'list', items: [], attrs: new Map() }; // S4 object: attributes only
    const n = r.length();
    switch (type) {
      case 10:
      case 13: {
        const data = new Int32Array(n);
        for (let i = 0; i < n; i++) data[i] = r.int();
        return { kind: type === 10 ? 'logical' : 'integer', data, attrs: new Map() };
      }
      case 14:
      case 15: {
        const m = type === 15 ? 2 * n : n;
        const data = new Float64Array(m);
        for (let i = 0; i < m; i++) data[i] = r.double();
        return { kind: type === 14 ? 'double' : 'complex', data, attrs: new Map() };
      }
      case 16: {
        const data: (string | null)[] = new Array(n);
        for (let i = 0; i < n; i++) data[i] = this.charsxp(r.int());
        return { kind: 'character', data, attrs: new Map() };
      }
      case 19:
      case 20: {
        const items: RObject[] = new Array(n);
        for (let i = 0; i < n; i++) items[i] = this.item();
        return { kind: 'list', items, attrs: new Map() };
      }
      case 24:
        return { kind: 'raw', data: r.bytes(n).slice(), attrs: new Map() };
      default:
        throw corrupt(
          'a data type (vector, list, pairlist, environment)',
          `R type ${type} (code or an unknown type)`,
        );
    }
  }
}

function readAttrsInto(attrs: RAttrs, list: RObject): void {
  if (list.kind !== 'pairlist') return;
  for (const { tag, value } of list.items) if (tag !== null) attrs.set(tag, value);
}

// ---- helpers for data sets ----

export function rAttr(obj: RObject, name: string): RObject | undefined {
  return 'attrs' in obj ? obj.attrs.get(name) : undefined;
}

/** The strings of a character vector, or of a factor (codes mapped through its levels). */
export function rStrings(obj: RObject | undefined, what: string): (string | null)[] {
  if (obj?.kind === 'character') return obj.data;
  if (obj?.kind === 'integer') {
    const levels = rAttr(obj, 'levels');
    if (levels?.kind === 'character')
      return Array.from(obj.data, (c) => (c === R_NA_INT ? null : (levels.data[c - 1] ?? null)));
  }
  throw corrupt(`${what} as a character vector or factor`, obj ? obj.kind : 'nothing');
}

/** The columns of a data frame (or any named list) by name. */
export function rColumns(obj: RObject, what: string): Map<string, RObject> {
  if (obj.kind !== 'list') throw corrupt(`${what} as a data frame`, obj.kind);
  const names = rStrings(rAttr(obj, 'names'), `${what} column names`);
  const out = new Map<string, RObject>();
  obj.items.forEach((col, i) => {
    out.set(names[i] ?? `V${i + 1}`, col);
  });
  return out;
}

// ---- lazy-load databases ----

/** Runs an external decompressor over `input`; a missing command is a SetupError naming the package. */
export function runDecompressor(
  cmd: string,
  args: string[],
  input: Uint8Array,
  outLen: number,
  pkg: string,
): Uint8Array {
  try {
    return execFileSync(cmd, args, { input, maxBuffer: outLen + (1 << 20), stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new SetupError(
        `the \`${cmd}\` command is needed to decompress R data but was not found`,
        `install Debian package ${pkg} (apt-get install ${pkg})`,
      );
    }
    throw corrupt(
      `data that \`${cmd} ${args.join(' ')}\` can decompress`,
      err.stderr?.toString().trim() || String(e),
    );
  }
}

/** Decompresses one .rdb chunk as R's lazy-load code writes it (R_compress1/2/3). */
export function decompressRChunk(chunk: Uint8Array, compressed: number): Uint8Array {
  if (chunk.length < 4) throw corrupt('a chunk with a 4-byte length header', `${chunk.length} bytes`);
  const outLen = new DataView(chunk.buffer, chunk.byteOffset, 4).getUint32(0, false);
  let out: Uint8Array;
  if (compressed === 1) {
    out = inflateSync(chunk.subarray(4));
  } else {
    const type = String.fromCharCode(chunk[4] ?? 0);
    const body = chunk.subarray(5);
    if (type === '0') out = body;
    else if (type === '1') out = inflateSync(body);
    else if (type === '2') out = runDecompressor('bzip2', ['-dc'], body, outLen, 'bzip2');
    else if (type === 'Z') {
      const isXz = body[0] === 0xfd && body[1] === 0x37 && body[2] === 0x7a && body[3] === 0x58;
      const fmt = isXz ? ['--format=xz'] : ['--format=raw', '--lzma2=dict=64MiB'];
      out = runDecompressor('xz', ['-dc', ...fmt], body, outLen, 'xz-utils');
    } else throw corrupt("a chunk type byte '0', '1', '2' or 'Z'", JSON.stringify(type));
  }
  if (out.length !== outLen) throw corrupt(`${outLen} decompressed bytes`, `${out.length}`);
  return out;
}

export interface LazyLoadDb {
  names: string[];
  get(name: string): RObject;
}

/** Opens `<dir>/<base>.rdx` + `.rdb` (e.g. an R package's data/Rdata). */
export function openLazyLoadDb(dir: string, base = 'Rdata'): LazyLoadDb {
  const rdxFile = path.join(dir, `${base}.rdx`);
  const rdbFile = path.join(dir, `${base}.rdb`);
  for (const f of [rdxFile, rdbFile]) {
    if (!fs.existsSync(f))
      throw new SetupError(
        `R lazy-load database file ${f} is missing`,
        'delete the cached package folder and retry',
      );
  }
  const rdxRaw = fs.readFileSync(rdxFile);
  const index = parseRSerialized(rdxRaw[0] === 0x1f && rdxRaw[1] === 0x8b ? gunzipSync(rdxRaw) : rdxRaw);
  const cols = rColumns(index, `${base}.rdx index`);
  const vars = cols.get('variables');
  const comp = cols.get('compressed');
  if (!vars || vars.kind !== 'list')
    throw corrupt(`a "variables" list in ${rdxFile}`, vars?.kind ?? 'nothing');
  const numeric = comp?.kind === 'logical' || comp?.kind === 'integer' || comp?.kind === 'double';
  const compressed = numeric ? Number(comp.data[0]) : 1;
  const table = rColumns(vars, `${base}.rdx variables`);
  const rdb = fs.readFileSync(rdbFile);
  return {
    names: [...table.keys()],
    get(name) {
      const at = table.get(name);
      if (!at || (at.kind !== 'integer' && at.kind !== 'double') || at.data.length < 2) {
        throw new CorruptError(
          `R lazy-load database ${rdxFile} has no object "${name}"`,
          `it has: ${[...table.keys()].join(', ')}`,
        );
      }
      const off = Number(at.data[0]);
      const len = Number(at.data[1]);
      if (off + len > rdb.length)
        throw corrupt(`a chunk inside ${rdbFile} (${rdb.length} bytes)`, `offset ${off} + ${len}`);
      return parseRSerialized(decompressRChunk(rdb.subarray(off, off + len), compressed));
    },
  };
}
