// The on-disk cache of a built corpus: corpora/<name>/corpus.jsonl (one record per line) and
// manifest.json (provenance, counts, size and sha256 of the corpus file). Writing and verifying
// only; what goes into a corpus is decided in recipes.ts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeAtomicWith, writeFileAtomic } from '../engine/atomic.ts';
import { CorruptError } from '../engine/errors.ts';
import { cacheRoot } from './fetch/cache.ts';
import type { Corpus, CorpusKind, LabelledExample, Pair, Provenance, TextDoc } from './types.ts';

/** Version of the cached corpus layout; a cache written by another version is rebuilt. */
export const CORPUS_FORMAT_VERSION = 1;

export interface Counts {
  /** documents, pairs or examples */
  items: number;
  /** whitespace-separated words (source side for pairs) */
  words: number;
}

/** Which recipe build a cache belongs to. */
export interface CacheIdentity {
  name: string;
  version: number;
}

export function corpusRecords(c: Corpus): Array<{ id: string }> {
  return c.kind === 'text' ? c.docs : c.kind === 'pairs' ? c.pairs : c.examples;
}

export interface Manifest {
  format: 'tlc-corpus';
  formatVersion: number;
  recipe: string;
  recipeVersion: number;
  kind: CorpusKind;
  labels?: string[];
  srcLang?: string;
  tgtLang?: string;
  sources: Array<{ name: string } & Counts>;
  provenance: Provenance[];
  items: number;
  words: number;
  corpusFile: string;
  corpusBytes: number;
  corpusSha256: string;
  builtAt: string;
}

export function recipeCacheDir(name: string, root: string = cacheRoot()): string {
  return path.join(root, 'corpora', name);
}

/** Write corpus.jsonl (streamed, fsynced, renamed) and then the manifest that vouches for it. */
export function writeCorpusCache(
  r: CacheIdentity,
  corpus: Corpus,
  counts: Record<string, Counts>,
  dir: string,
): Manifest {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'corpus.jsonl');
  const hash = createHash('sha256');
  let bytes = 0;
  writeAtomicWith(file, (fd) => {
    let chunk = '';
    const flush = () => {
      const b = Buffer.from(chunk);
      writeAll(fd, b);
      hash.update(b);
      bytes += b.length;
      chunk = '';
    };
    for (const rec of corpusRecords(corpus)) {
      chunk += `${JSON.stringify(rec)}\n`;
      if (chunk.length > 1 << 20) flush();
    }
    flush();
  });
  const totals = Object.values(counts).reduce(
    (a, c) => ({ items: a.items + c.items, words: a.words + c.words }),
    { items: 0, words: 0 },
  );
  const manifest: Manifest = {
    format: 'tlc-corpus',
    formatVersion: CORPUS_FORMAT_VERSION,
    recipe: r.name,
    recipeVersion: r.version,
    kind: corpus.kind,
    ...(corpus.kind === 'labels' ? { labels: corpus.labels } : {}),
    ...(corpus.kind === 'pairs' ? { srcLang: corpus.srcLang, tgtLang: corpus.tgtLang } : {}),
    sources: Object.entries(counts).map(([name, c]) => ({ name, ...c })),
    provenance: corpus.provenance,
    ...totals,
    corpusFile: 'corpus.jsonl',
    corpusBytes: bytes,
    corpusSha256: hash.digest('hex'),
    builtAt: new Date().toISOString(),
  };
  writeFileAtomic(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The cached manifest if it parses and belongs to this recipe version; else null (→ rebuild). */
export function readManifest(r: CacheIdentity, dir: string): Manifest | null {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return null;
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new CorruptError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  if (
    m === null ||
    typeof m !== 'object' ||
    m.format !== 'tlc-corpus' ||
    typeof m.corpusSha256 !== 'string'
  ) {
    throw new CorruptError(`${file} is not a tlc corpus manifest`);
  }
  if (m.formatVersion !== CORPUS_FORMAT_VERSION || m.recipe !== r.name || m.recipeVersion !== r.version)
    return null;
  return m;
}

/** The manifest of a cached build of this recipe version, or null (none, stale or unreadable). */
export function cachedManifest(r: CacheIdentity, root: string = cacheRoot()): Manifest | null {
  try {
    return readManifest(r, recipeCacheDir(r.name, root));
  } catch {
    return null;
  }
}

type Rec = Record<string, unknown>;
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Read and verify the cached corpus against its manifest; any mismatch is a CorruptError. */
export function readCorpusCache(m: Manifest, dir: string): Corpus {
  const file = path.join(dir, m.corpusFile);
  if (!fs.existsSync(file)) throw new CorruptError(`${file} is missing`);
  const buf = fs.readFileSync(file);
  if (buf.length !== m.corpusBytes)
    throw new CorruptError(
      `${file} has ${buf.length} bytes, the manifest says ${m.corpusBytes} (truncated?)`,
    );
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== m.corpusSha256)
    throw new CorruptError(`${file} has sha256 ${sha}, the manifest says ${m.corpusSha256}`);
  const text = buf.toString('utf8');
  const recs: Rec[] = [];
  for (let pos = 0, line = 1; pos < text.length; line++) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    const r = JSON.parse(text.slice(pos, end)) as Rec;
    const ok =
      isStr(r.id) &&
      (m.kind === 'pairs'
        ? isStr(r.src) && isStr(r.tgt)
        : isStr(r.text) && (m.kind === 'text' || typeof r.label === 'number'));
    if (!ok) throw new CorruptError(`${file}:${line} is not a ${m.kind} record`);
    recs.push(r);
    pos = end + 1;
  }
  if (recs.length !== m.items)
    throw new CorruptError(`${file} has ${recs.length} records, the manifest says ${m.items}`);
  const base = { name: m.recipe, provenance: m.provenance };
  if (m.kind === 'text') return { kind: 'text', ...base, docs: recs as unknown as TextDoc[] };
  if (m.kind === 'pairs')
    return {
      kind: 'pairs',
      ...base,
      srcLang: m.srcLang ?? 'src',
      tgtLang: m.tgtLang ?? 'tgt',
      pairs: recs as unknown as Pair[],
    };
  return { kind: 'labels', ...base, labels: m.labels ?? [], examples: recs as unknown as LabelledExample[] };
}
