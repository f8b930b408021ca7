// Reading the user's own data: plain text files or folders, JSONL and TSV, into a Corpus, with
// strict checks (UTF-8, record shapes, empty input) that name the file, line or byte offset.
// Does not fetch packages (recipes.ts) or split (splits.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../engine/errors.ts';
import { sha256Bytes } from './fetch/cache.ts';
import { firstInvalidUtf8, sniffFile } from './sniff.ts';
import type { Corpus, CorpusKind, Pair, Provenance, TextDoc } from './types.ts';

export interface UserDataOptions {
  /** force the kind (needed for 2-column TSV without a header row); default: inferred */
  kind?: CorpusKind;
  srcLang?: string;
  tgtLang?: string;
  /** warnings about skipped files (default: stderr) */
  log?: (msg: string) => void;
}

/** Plain text by name: read as one document each (invalid UTF-8 is an error naming the byte). */
const TEXT_EXT = new Set(['.txt', '.md', '.text', '.markdown']);
const JSONL_EXT = new Set(['.jsonl', '.ndjson']);
const TSV_EXT = new Set(['.tsv']);
/** Structured formats that are text but not prose: never read as documents (records go in .jsonl/.tsv). */
const OTHER_EXT = new Set(['.csv', '.json', '.xml', '.html', '.htm', '.yaml', '.yml']);
/** V8 strings top out near 2^29 characters; one plain-text document must stay below that. */
export const MAX_DOC_BYTES = 500 * 1024 * 1024;

/** 'sniff': no extension or an unknown one (`GPL-3`, `Apache-2.0`, `notes.1`): text if its content is. */
type Format = 'text' | 'jsonl' | 'tsv' | 'sniff';

export { firstInvalidUtf8, notTextReason } from './sniff.ts';

type RawExample = { id: string; text: string; label: string };
type Part =
  | { kind: 'text'; docs: TextDoc[] }
  | { kind: 'pairs'; pairs: Pair[] }
  | { kind: 'labels'; examples: RawExample[] };

function formatOf(file: string): Format | null {
  const ext = path.extname(file).toLowerCase();
  if (TEXT_EXT.has(ext)) return 'text';
  if (JSONL_EXT.has(ext)) return 'jsonl';
  if (TSV_EXT.has(ext)) return 'tsv';
  if (OTHER_EXT.has(ext)) return null;
  return 'sniff';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decode bytes[start, end) strictly; invalid UTF-8 → InputError naming the file and byte offset. */
function decodeUtf8(buf: Buffer, start: number, end: number, file: string): string {
  const bytes = buf.subarray(start, end);
  try {
    return decoder.decode(bytes);
  } catch {
    const off = start + Math.max(0, firstInvalidUtf8(bytes));
    throw new InputError(
      `${file}: invalid UTF-8 at byte offset ${off} (byte 0x${buf[off]?.toString(16).padStart(2, '0')})`,
      'tlc reads UTF-8 only: re-encode the file, e.g. `iconv -f latin1 -t utf-8 IN > OUT`',
    );
  }
}

function readBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`no such file: ${file}`, 'check the path');
    if (code === 'EACCES' || code === 'EPERM')
      throw new InputError(`cannot read ${file}: permission denied`, 'check the file permissions');
    if (code === 'ERR_FS_FILE_TOO_LARGE')
      throw new InputError(
        `${file} is too large to read in one piece (over 2 GiB)`,
        'split it into several files in one folder',
      );
    throw new InputError(
      `cannot read ${file}: ${(e as Error).message}`,
      'check that the path is a readable file',
    );
  }
}

/** Byte ranges of the lines of a buffer (\n or \r\n endings), found without regexes. */
function* lineRanges(buf: Buffer): Generator<{ start: number; end: number; line: number }> {
  let line = 1;
  for (let pos = 0; pos < buf.length; line++) {
    const nl = buf.indexOf(10, pos);
    const stop = nl < 0 ? buf.length : nl;
    const end = stop > pos && buf[stop - 1] === 13 ? stop - 1 : stop;
    yield { start: pos, end, line };
    pos = stop + 1;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.trim() === '' ? 'an empty string' : 'a string';
  return `${typeof v === 'object' ? 'an' : 'a'} ${typeof v} (${JSON.stringify(v)?.slice(0, 40)})`;
}

function inferJsonKind(rec: Record<string, unknown>): CorpusKind | null {
  if ('src' in rec || 'tgt' in rec) return 'pairs';
  if ('label' in rec) return 'labels';
  if ('text' in rec) return 'text';
  return null;
}

const SHAPES: Record<CorpusKind, string> = {
  text: '{"text": …}',
  pairs: '{"src": …, "tgt": …}',
  labels: '{"text": …, "label": …}',
};

/** A required non-empty string field of a record; anything else names file:line and what was found. */
function field(rec: Record<string, unknown>, key: string, kind: CorpusKind, where: string): string {
  const v = rec[key];
  if (v === undefined) {
    throw new InputError(
      `${where}: expected field "${key}" (records here are ${SHAPES[kind]}), found keys: ${Object.keys(rec).join(', ') || 'none'}`,
      'every record of a file must have the same shape',
    );
  }
  if (key === 'label' && typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.trim() === '') {
    throw new InputError(
      `${where}: field "${key}" must be a non-empty string${key === 'label' ? ' or a number' : ''}, found ${describe(v)}`,
      'fix or remove that record',
    );
  }
  return v;
}

function recordId(rec: Record<string, unknown>, fallback: string): string {
  const id = rec['id'];
  return typeof id === 'string' || typeof id === 'number' ? String(id) : fallback;
}

function parseJsonl(buf: Buffer, file: string, rel: string, want?: CorpusKind): Part {
  let kind: CorpusKind | undefined = want;
  const docs: TextDoc[] = [];
  const pairs: Pair[] = [];
  const examples: RawExample[] = [];
  for (const { start, end, line } of lineRanges(buf)) {
    const s = decodeUtf8(buf, start, end, file);
    if (s.trim() === '') continue;
    const where = `${file}:${line}`;
    let rec: unknown;
    try {
      rec = JSON.parse(s);
    } catch (e) {
      throw new InputError(
        `${where}: invalid JSON (${(e as Error).message})`,
        'each line must be one JSON object; blank lines are skipped',
      );
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      throw new InputError(
        `${where}: expected a JSON object like ${SHAPES[kind ?? 'text']}, found ${describe(rec)}`,
        'each line must be one JSON object',
      );
    }
    const r = rec as Record<string, unknown>;
    if (!kind) {
      kind = inferJsonKind(r) ?? undefined;
      if (!kind)
        throw new InputError(
          `${where}: cannot tell the record kind: expected ${Object.values(SHAPES).join(' or ')}, found keys: ${Object.keys(r).join(', ') || 'none'}`,
          'use the field names text, src/tgt or text/label',
        );
    }
    const id = recordId(r, `${rel}:${line}`);
    if (kind === 'text') docs.push({ id, text: field(r, 'text', kind, where) });
    else if (kind === 'pairs')
      pairs.push({ id, src: field(r, 'src', kind, where), tgt: field(r, 'tgt', kind, where) });
    else examples.push({ id, text: field(r, 'text', kind, where), label: field(r, 'label', kind, where) });
  }
  return kind === 'pairs' ? { kind, pairs } : kind === 'labels' ? { kind, examples } : { kind: 'text', docs };
}

const TSV_HEADERS: Array<{ cols: string[]; kind: CorpusKind }> = [
  { cols: ['text'], kind: 'text' },
  { cols: ['src', 'tgt'], kind: 'pairs' },
  { cols: ['text', 'label'], kind: 'labels' },
];

/**
 * TSV: one record per line, fields separated by tabs (no quoting; fields cannot hold tabs or
 * newlines). 1 column = text. 2 columns are ambiguous: a header row `src<TAB>tgt` or
 * `text<TAB>label` (skipped), or the `kind` option, says which; without either it is an error.
 */
function parseTsv(buf: Buffer, file: string, rel: string, want?: CorpusKind): Part {
  let kind: CorpusKind | undefined = want;
  let ncols = 0;
  const docs: TextDoc[] = [];
  const pairs: Pair[] = [];
  const examples: RawExample[] = [];
  for (const { start, end, line } of lineRanges(buf)) {
    const s = decodeUtf8(buf, start, end, file);
    if (s.trim() === '') continue;
    const cols = s.split('\t');
    const where = `${file}:${line}`;
    if (ncols === 0) {
      const header = TSV_HEADERS.find(
        (h) => h.cols.join('\t') === cols.map((c) => c.trim().toLowerCase()).join('\t'),
      );
      if (header && kind && header.kind !== kind)
        throw new InputError(
          `${where}: the header row says ${header.kind}, but the kind asked for is ${kind}`,
          'drop the --kind option or fix the header',
        );
      kind = header?.kind ?? kind ?? (cols.length === 1 ? 'text' : undefined);
      if (!kind)
        throw new InputError(
          `${where}: ${cols.length} tab-separated columns and no header row: cannot tell src/tgt pairs from text/label examples`,
          'add a header row "src<TAB>tgt" or "text<TAB>label", or pass --kind pairs|labels',
        );
      ncols = kind === 'text' ? 1 : 2;
      if (header) continue;
    }
    if (cols.length !== ncols)
      throw new InputError(
        `${where}: expected ${ncols} tab-separated column(s) (${kind}), found ${cols.length}`,
        'TSV fields cannot contain tabs; use JSONL for such text',
      );
    const id = `${rel}:${line}`;
    const [a = '', b = ''] = cols;
    if (a.trim() === '' || (ncols === 2 && b.trim() === ''))
      throw new InputError(`${where}: empty field`, 'fix or remove that line');
    if (kind === 'text') docs.push({ id, text: a });
    else if (kind === 'pairs') pairs.push({ id, src: a, tgt: b });
    else examples.push({ id, text: a, label: b.trim() });
  }
  return kind === 'pairs' ? { kind, pairs } : kind === 'labels' ? { kind, examples } : { kind: 'text', docs };
}

/**
 * Files under a folder (recursive, sorted, hidden entries skipped). Known extensions decide the
 * format; any other file is read when its content is text (licence files, READMEs, `notes.1`);
 * what is skipped is logged with the reason.
 */
function listFiles(dir: string, log: (msg: string) => void): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new InputError(
      `cannot read folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'check the folder permissions',
    );
  }
  for (const ent of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (ent.name.startsWith('.')) continue;
    const full = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      out.push(...listFiles(full, log));
      continue;
    }
    const fmt = formatOf(full);
    const notText = fmt === 'sniff' ? sniffFile(full) : null;
    if (fmt === null)
      log(`tlc: skipping ${full}: ${path.extname(full)} is not read (records go in .jsonl/.tsv)`);
    else if (notText) log(`tlc: skipping ${full}: not text (${notText})`);
    else out.push(full);
  }
  return out;
}

function readPart(
  file: string,
  rel: string,
  opts: UserDataOptions,
  log: (msg: string) => void,
): { part: Part | null; prov: Provenance } {
  const buf = readBytes(file);
  const prov: Provenance = {
    source: 'user',
    package: file,
    version: fs.statSync(file).mtime.toISOString(),
    sha256: sha256Bytes(buf),
  };
  const fmt = formatOf(file);
  if (fmt === 'jsonl') return { part: parseJsonl(buf, file, rel, opts.kind), prov };
  if (fmt === 'tsv') return { part: parseTsv(buf, file, rel, opts.kind), prov };
  if (opts.kind && opts.kind !== 'text') {
    throw new InputError(
      `${file} is plain text, but the kind asked for is ${opts.kind}`,
      'pairs and labels come from .jsonl or .tsv files',
    );
  }
  if (buf.length > MAX_DOC_BYTES) {
    throw new InputError(
      `${file} has ${buf.length} bytes: one plain-text document may hold at most ${MAX_DOC_BYTES}`,
      'split it into several files in one folder (each file is one document)',
    );
  }
  let text = decodeUtf8(buf, 0, buf.length, file);
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  if (text.trim() === '') {
    log(`tlc: skipping ${file}: empty`);
    return { part: null, prov };
  }
  return { part: { kind: 'text', docs: [{ id: rel, text }] }, prov };
}

/** Label strings → ids in sorted order (numerically when every label is a number, else by string). */
export function labelOrder(labels: Iterable<string>): string[] {
  const uniq = [...new Set(labels)];
  const numeric = uniq.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return numeric
    ? uniq.sort((a, b) => Number(a) - Number(b))
    : uniq.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function combine(
  name: string,
  parts: Array<{ part: Part; rel: string }>,
  provenance: Provenance[],
  opts: UserDataOptions,
): Corpus {
  const first = parts[0]!;
  for (const p of parts) {
    if (p.part.kind !== first.part.kind) {
      throw new InputError(
        `${p.rel} holds ${p.part.kind} data but ${first.rel} holds ${first.part.kind}; one data set has one kind`,
        'keep text, pairs and labelled files in separate folders',
      );
    }
  }
  if (first.part.kind === 'text')
    return {
      kind: 'text',
      name,
      docs: parts.flatMap((p) => (p.part.kind === 'text' ? p.part.docs : [])),
      provenance,
    };
  if (first.part.kind === 'pairs') {
    const pairs = parts.flatMap((p) => (p.part.kind === 'pairs' ? p.part.pairs : []));
    return {
      kind: 'pairs',
      name,
      srcLang: opts.srcLang ?? 'src',
      tgtLang: opts.tgtLang ?? 'tgt',
      pairs,
      provenance,
    };
  }
  const raw = parts.flatMap((p) => (p.part.kind === 'labels' ? p.part.examples : []));
  const labels = labelOrder(raw.map((x) => x.label));
  const ids = new Map(labels.map((l, i) => [l, i]));
  return {
    kind: 'labels',
    name,
    labels,
    examples: raw.map((x) => ({ id: x.id, text: x.text, label: ids.get(x.label)! })),
    provenance,
  };
}

function itemCount(c: Corpus): number {
  return c.kind === 'text' ? c.docs.length : c.kind === 'pairs' ? c.pairs.length : c.examples.length;
}

/** A file given by itself: a format tlc reads, and text when its name does not say. */
function checkFileType(p: string, abs: string): void {
  const fmt = formatOf(abs);
  if (fmt === null)
    throw new InputError(
      `${p}: unsupported file type "${path.extname(abs)}"`,
      'use .txt/.md (one document per file), .jsonl or .tsv',
    );
  const notText = fmt === 'sniff' ? sniffFile(abs) : null;
  if (notText)
    throw new InputError(
      `${p}: not a text file (${notText})`,
      'tlc reads UTF-8 text files (one document each), .jsonl and .tsv',
    );
}

/**
 * Load a user's data set from a file or folder. A folder is read recursively (sorted; hidden,
 * unsupported and non-text files skipped with a warning); every file must give the same kind.
 * - .txt/.md, and any file without a known extension whose content is text (UTF-8, no NUL, few
 *   control characters): the whole file is one text document (id = relative path); empty files
 *   are skipped with a warning; .csv/.json/.xml/.html/.yaml are never documents;
 * - .jsonl: {"text"} | {"src","tgt"} | {"text","label"} per line, kind from the first record (or `kind`), optional "id";
 * - .tsv: see parseTsv.
 * Errors (InputError): missing/unreadable path, invalid UTF-8 (file + byte offset), a bad record
 * (file:line + field), mixed kinds, duplicate ids, no items at all.
 */
export function loadUserData(p: string, opts: UserDataOptions = {}): Corpus {
  const log = opts.log ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const abs = path.resolve(p);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT'
        ? `no such file or folder: ${p}`
        : `cannot access ${p}: ${code ?? (e as Error).message}`,
      'check the path (or give a recipe name: `tlc data list`)',
    );
  }
  const files = st.isDirectory()
    ? listFiles(abs, log).map((f) => ({ file: f, rel: path.relative(abs, f) }))
    : [{ file: abs, rel: path.basename(abs) }];
  if (!st.isDirectory()) checkFileType(p, abs);
  const parts: Array<{ part: Part; rel: string }> = [];
  const provenance: Provenance[] = [];
  for (const { file, rel } of files) {
    const { part, prov } = readPart(file, rel, opts, log);
    provenance.push(prov);
    if (part) parts.push({ part, rel });
  }
  const corpus = parts.length > 0 ? combine(path.basename(abs), parts, provenance, opts) : null;
  if (!corpus || itemCount(corpus) === 0) {
    throw new InputError(
      `${p}: empty corpus (${files.length} file(s) read, no documents, pairs or examples in them)`,
      'point at files with text in them (.txt/.md/.jsonl/.tsv)',
    );
  }
  const seen = new Set<string>();
  for (const { id } of corpus.kind === 'text'
    ? corpus.docs
    : corpus.kind === 'pairs'
      ? corpus.pairs
      : corpus.examples) {
    if (seen.has(id))
      throw new InputError(
        `${p}: the id "${id}" occurs twice`,
        'give every record its own "id" (or drop the id field)',
      );
    seen.add(id);
  }
  return corpus;
}
