// The compressed-model container: one safetensors file holding, per parameter, dense fp32 values,
// a sparse form (bit mask + kept values), or a quantized form (packed k-bit codes of the kept
// weights + scales + zero points, + a bit mask when also pruned). Its size in bytes is the file's
// size, and loading it gives exactly the weights that were evaluated. Loading checks the file
// against the sha256 its result.json recorded, and every piece of metadata before using it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../data/fetch/cache.ts';
import { CorruptError, TlcError } from '../engine/errors.ts';
import { type Dtype, openSafetensors, writeSafetensors } from '../engine/safetensors.ts';
import { type ModelConfig, modelConfigSchema } from '../model/config.ts';
import type { Layout } from '../model/params.ts';
import { getFormat, packCodes, type QuantTensor, unpackCodes } from './quant/formats.ts';

export type StoredTensor =
  | { kind: 'dense'; values: Float32Array }
  | { kind: 'sparse'; mask: Uint8Array; values: Float32Array }
  | { kind: 'quant'; q: QuantTensor; mask: Uint8Array | null };

export const CONTAINER_FORMAT = 'tlc-compressed';
export const CONTAINER_VERSION = '1';

/** 1 bit per element, LSB first. */
export function packMask(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(mask.length / 8));
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

export function unpackMask(bits: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bits[i >> 3]! >> (i & 7)) & 1;
  return out;
}

/** Weights a stored tensor stands for (what is evaluated and what loading returns). */
export function materialize(t: StoredTensor, n: number): Float32Array {
  if (t.kind === 'dense') return t.values;
  if (t.kind === 'sparse') {
    const out = new Float32Array(n);
    let j = 0;
    for (let i = 0; i < n; i++) if (t.mask[i]) out[i] = t.values[j++]!;
    return out;
  }
  const w = getFormat(t.q.format).dequantize(t.q);
  if (t.mask) for (let i = 0; i < n; i++) if (!t.mask[i]) w[i] = 0;
  return w;
}

/** Keep only the codes of kept elements (pruned ones are implied by the mask). */
function dropMaskedCodes(q: QuantTensor, mask: Uint8Array): Uint8Array {
  const bits = getFormat(q.format).bits;
  const all = unpackCodes(q.codes, bits, q.rows * q.cols);
  const kept: number[] = [];
  for (let i = 0; i < all.length; i++) if (mask[i]) kept.push(all[i]!);
  return packCodes(kept, bits);
}

function restoreMaskedCodes(packed: Uint8Array, q: Omit<QuantTensor, 'codes'>, mask: Uint8Array): Uint8Array {
  const f = getFormat(q.format);
  const n = q.rows * q.cols;
  let kept = 0;
  for (let i = 0; i < n; i++) kept += mask[i]!;
  const codes = unpackCodes(packed, f.bits, kept);
  const full = new Uint8Array(n); // a pruned element's code never matters: it is re-zeroed after dequantizing
  let j = 0;
  for (let i = 0; i < n; i++) if (mask[i]) full[i] = codes[j++]!;
  return packCodes(full, f.bits);
}

export interface ContainerMeta {
  /** JSON-serializable descriptions saved beside the tensors */
  model: unknown;
  spec: unknown;
  source: string;
}

/** Write the container; returns its exact size in bytes (the file size). */
export function writeContainer(
  file: string,
  layout: Layout,
  stored: Map<string, StoredTensor>,
  meta: ContainerMeta,
): number {
  const tensors: Array<{ name: string; dtype: Dtype; shape: number[]; data: ArrayBufferView }> = [];
  const info: Record<string, unknown> = {};
  for (const s of layout.specs) {
    const t = stored.get(s.name);
    if (!t) throw new Error(`container: no stored tensor for ${s.name}`);
    if (t.kind === 'dense') {
      tensors.push({ name: s.name, dtype: 'F32', shape: s.shape, data: t.values });
      info[s.name] = { kind: 'dense' };
    } else if (t.kind === 'sparse') {
      const m = packMask(t.mask);
      tensors.push({ name: `${s.name}.mask`, dtype: 'U8', shape: [m.length], data: m });
      tensors.push({ name: `${s.name}.values`, dtype: 'F32', shape: [t.values.length], data: t.values });
      info[s.name] = { kind: 'sparse' };
    } else {
      const codes = t.mask ? dropMaskedCodes(t.q, t.mask) : t.q.codes;
      tensors.push({ name: `${s.name}.codes`, dtype: 'U8', shape: [codes.length], data: codes });
      tensors.push({ name: `${s.name}.scales`, dtype: 'F32', shape: [t.q.scales.length], data: t.q.scales });
      if (t.q.zeros)
        tensors.push({ name: `${s.name}.zeros`, dtype: 'U8', shape: [t.q.zeros.length], data: t.q.zeros });
      if (t.mask) {
        const m = packMask(t.mask);
        tensors.push({ name: `${s.name}.mask`, dtype: 'U8', shape: [m.length], data: m });
      }
      info[s.name] = {
        kind: 'quant',
        format: t.q.format,
        rows: t.q.rows,
        cols: t.q.cols,
        masked: Boolean(t.mask),
      };
    }
  }
  writeSafetensors(file, tensors, {
    'tlc.format': CONTAINER_FORMAT,
    'tlc.version': CONTAINER_VERSION,
    'tlc.tensors': JSON.stringify(info),
    'tlc.model': JSON.stringify(meta.model),
    'tlc.spec': JSON.stringify(meta.spec),
    'tlc.source': meta.source,
  });
  return fs.statSync(file).size;
}

export interface LoadedContainer {
  /** the weights, in the layout's flat order */
  params: Float32Array;
  model: unknown;
  spec: unknown;
  source: string;
  bytes: number;
}

/** The container file of a compressed model folder (tlc compress writes it, with config.json and tokenizer.json). */
export const CONTAINER_FILE = 'model.safetensors';

/** The file beside a container that records its sha256 (written by the compression job). */
export const RESULT_FILE = 'result.json';
const RECREATE = 'recreate it with tlc compress (the same flags), or restore a good copy';

/** The sha256 the container's result.json recorded when it was written (null: none recorded). */
export function recordedSha256(file: string): { sha256: string; where: string } | null {
  const where = path.join(path.dirname(file), RESULT_FILE);
  try {
    const r = JSON.parse(fs.readFileSync(where, 'utf8')) as { sha256?: unknown } | null;
    return typeof r?.sha256 === 'string' ? { sha256: r.sha256, where } : null;
  } catch {
    return null; // no result (yet), or an older one without the field: nothing to check against
  }
}

/** A changed byte anywhere in the file is caught here, before any of it is parsed. */
function checkSha256(file: string, want: { sha256: string; where: string }): void {
  const got = sha256File(file);
  if (got !== want.sha256)
    throw new CorruptError(
      `${file}: sha256 ${got} differs from ${want.sha256} recorded in ${want.where} when it was written: the file has changed since (a flipped byte, a copy cut short), or that result belongs to another compression`,
      RECREATE,
    );
}

type TensorInfo = { kind: string; format?: string; rows?: number; cols?: number; masked?: boolean };

/** The JSON metadata of a container, checked: a malformed entry is a CorruptError naming it. */
function parseMeta(file: string, metadata: Record<string, string>) {
  const bad = (what: string) => new CorruptError(`${file}: ${what}`, RECREATE);
  if (metadata['tlc.format'] !== CONTAINER_FORMAT)
    throw bad(`not a tlc compressed model (format '${metadata['tlc.format']}')`);
  if (metadata['tlc.version'] !== CONTAINER_VERSION)
    throw bad(`container version ${metadata['tlc.version']}, this tlc reads ${CONTAINER_VERSION}`);
  const json = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) throw bad(`metadata ${key} is missing`);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw bad(`metadata ${key} is not valid JSON (${(e as Error).message})`);
    }
  };
  const m = modelConfigSchema.safeParse(json('tlc.model'));
  if (!m.success)
    throw bad(
      `metadata tlc.model does not describe a model: ${m.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`,
    );
  const info = json('tlc.tensors');
  if (info === null || typeof info !== 'object' || Array.isArray(info))
    throw bad('metadata tlc.tensors is not an object of per-parameter entries');
  for (const [name, i] of Object.entries(info as Record<string, TensorInfo | null>)) {
    const ok =
      i !== null &&
      typeof i === 'object' &&
      (i.kind === 'dense' ||
        i.kind === 'sparse' ||
        (i.kind === 'quant' &&
          typeof i.format === 'string' &&
          Number.isInteger(i.rows) &&
          Number.isInteger(i.cols)));
    if (!ok)
      throw bad(`metadata tlc.tensors: entry ${name} is malformed (${JSON.stringify(i)?.slice(0, 80)})`);
  }
  return {
    model: m.data,
    info: info as Record<string, TensorInfo>,
    spec: metadata['tlc.spec'] === undefined ? null : json('tlc.spec'),
    source: metadata['tlc.source'] ?? '',
  };
}

/** The stored form of one parameter from its metadata entry and tensors. */
function storedTensor(
  s: { name: string; size: number },
  i: TensorInfo,
  f32: (name: string) => Float32Array,
  u8: (name: string) => Uint8Array,
  has: (name: string) => boolean,
): StoredTensor {
  if (i.kind === 'dense') return { kind: 'dense', values: f32(s.name) };
  if (i.kind === 'sparse')
    return {
      kind: 'sparse',
      mask: unpackMask(u8(`${s.name}.mask`), s.size),
      values: f32(`${s.name}.values`),
    };
  const mask = i.masked ? unpackMask(u8(`${s.name}.mask`), s.size) : null;
  const base = {
    format: i.format!,
    rows: i.rows!,
    cols: i.cols!,
    scales: f32(`${s.name}.scales`),
    zeros: has(`${s.name}.zeros`) ? u8(`${s.name}.zeros`) : null,
  };
  const codes = mask ? restoreMaskedCodes(u8(`${s.name}.codes`), base, mask) : u8(`${s.name}.codes`);
  return { kind: 'quant', q: { ...base, codes }, mask };
}

export interface StoredContainer {
  /** each parameter's stored form, by name (quantized tensors are not dequantized) */
  stored: Map<string, StoredTensor>;
  layout: Layout;
  model: ModelConfig;
  spec: unknown;
  source: string;
  bytes: number;
}

/** Stored tensors by parameter name: a Map, or an open container that reads each when asked. */
export interface StoredSource {
  get(name: string): StoredTensor | undefined;
  has(name: string): boolean;
  /** each `get` returns buffers of its own, which the caller may convert in place (a streamed read) */
  fresh?: boolean;
}

export interface OpenContainer extends Omit<StoredContainer, 'stored'> {
  /** each `get` reads that parameter's tensors from the file now (nothing is cached) */
  stored: StoredSource;
  close(): void;
}

/**
 * Open a container for a loader that converts parameter by parameter: the sha256, the metadata
 * and the file's layout are checked now; each parameter's tensors are read (and checked) when it
 * is asked for, so the loader's peak memory holds one parameter of the file, not all of it.
 */
export function openStoredContainer(
  file: string,
  layoutFor: (model: ModelConfig) => Layout,
  o: { sha256?: string } = {},
): OpenContainer {
  const want = o.sha256 ? { sha256: o.sha256, where: 'the caller' } : recordedSha256(file);
  if (want) checkSha256(file, want);
  const r = openSafetensors(file);
  try {
    const bad = (what: string) => new CorruptError(`${file}: ${what}`, RECREATE);
    const { model, info, spec, source } = parseMeta(file, r.metadata);
    const layout = layoutFor(model);
    for (const s of layout.specs) if (!info[s.name]) throw bad(`no entry for parameter ${s.name}`);
    const entry = (name: string) => {
      const e = r.read(name);
      if (!e) throw bad(`missing tensor ${name}`);
      return e.data;
    };
    // buffers read by the reader are their own and aligned: a Float32Array view copies nothing
    const f32 = (name: string) => {
      const d = entry(name);
      return new Float32Array(d.buffer, d.byteOffset, d.byteLength / 4);
    };
    const specs = new Map(layout.specs.map((s) => [s.name, s]));
    let closed = false;
    const stored: StoredSource = {
      fresh: true,
      has: (name) => specs.has(name),
      get(name) {
        const s = specs.get(name);
        if (!s) return undefined;
        if (closed) throw new Error(`${file}: read of ${name} after the container was closed`);
        try {
          return storedTensor(s, info[s.name]!, f32, entry, (n) => r.has(n));
        } catch (e) {
          if (e instanceof CorruptError) throw e;
          throw bad(
            `parameter ${s.name} cannot be read back: ${e instanceof TlcError ? e.message : String(e)}`,
          );
        }
      },
    };
    const close = () => {
      closed = true;
      r.close();
    };
    return { stored, layout, model, spec, source, bytes: fs.statSync(file).size, close };
  } catch (e) {
    r.close();
    throw e;
  }
}

/**
 * Read a container's tensors in their stored form (for a runtime that keeps them so). The file is
 * first checked against `o.sha256`, else against the sha256 its result.json recorded (when there is one).
 */
export function readStoredContainer(
  file: string,
  layoutFor: (model: ModelConfig) => Layout,
  o: { sha256?: string } = {},
): StoredContainer {
  const c = openStoredContainer(file, layoutFor, o);
  try {
    const stored = new Map<string, StoredTensor>();
    for (const s of c.layout.specs) stored.set(s.name, c.stored.get(s.name)!);
    return { stored, layout: c.layout, model: c.model, spec: c.spec, source: c.source, bytes: c.bytes };
  } finally {
    c.close();
  }
}

/**
 * Read a container back into a flat parameter buffer of `layout`. The file is first checked
 * against `o.sha256`, else against the sha256 its result.json recorded (when there is one).
 */
export function readContainer(
  file: string,
  layoutFor: (model: ModelConfig) => Layout,
  o: { sha256?: string } = {},
): LoadedContainer {
  const c = readStoredContainer(file, layoutFor, o);
  const bad = (what: string) => new CorruptError(`${file}: ${what}`, RECREATE);
  const params = new Float32Array(c.layout.total);
  for (const s of c.layout.specs) {
    let w: Float32Array;
    try {
      w = materialize(c.stored.get(s.name)!, s.size);
    } catch (e) {
      if (e instanceof CorruptError) throw e;
      // an unknown format or sizes that do not fit: the metadata does not match the tensors
      throw bad(`parameter ${s.name} cannot be read back: ${e instanceof TlcError ? e.message : String(e)}`);
    }
    if (w.length !== s.size) throw bad(`${s.name} holds ${w.length} values, expected ${s.size}`);
    params.set(w, s.offset);
  }
  return { params, model: c.model, spec: c.spec, source: c.source, bytes: c.bytes };
}
