// The corpus recipes: which public packages make each named corpus, the counts they must produce,
// and building the normalized corpus once into the cache (corpora/<name>/corpus.jsonl + manifest).
// Parsing of each package's format lives in sources/; reading users' own files lives in user.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError, InputError, TlcError } from '../engine/errors.ts';
import {
  type Counts,
  corpusRecords,
  readCorpusCache,
  readManifest,
  recipeCacheDir,
  writeCorpusCache,
} from './corpus-cache.ts';
import { cacheRoot } from './fetch/cache.ts';
import { brown } from './sources/brown.ts';
import { ddtpEnglish } from './sources/ddtp.ts';
import { fineFoods } from './sources/fine-foods.ts';
import { gettextEnFrSmall } from './sources/gettext.ts';
import { janeAusten } from './sources/janeausten.ts';
import { mobyDick } from './sources/moby-dick.ts';
import { mtEnFr } from './sources/mt-en-fr.ts';
import { patternPolarity } from './sources/pattern-polarity.ts';
import { sotu } from './sources/sotu.ts';
import { swordKjv, swordWeb } from './sources/sword.ts';
import { techDocs } from './sources/techdocs.ts';
import { DEFAULT_SPLIT, type SplitFractions } from './splits.ts';
import type { Corpus, CorpusKind, LabelledExample, Pair, Provenance, Source, TextDoc } from './types.ts';

/** A source whose item or word count is off by more than this fraction is an error. */
export const COUNT_TOLERANCE = 0.1;

/** Pinned counts of a source: documents/pairs/examples and words (source side for pairs). */
export type Expected = Counts;

export interface Recipe {
  name: string;
  description: string;
  kind: CorpusKind;
  /** bump when what the recipe produces changes: caches of older versions are rebuilt */
  version: number;
  sources: Source[];
  split: SplitFractions;
  srcLang?: string;
  tgtLang?: string;
}

/** Counts each source produced when the recipe was pinned (measured, not estimated). */
export const EXPECTED: Record<string, Expected> = {
  'moby-dick': { items: 138, words: 212_007 },
  sotu: { items: 233, words: 1_794_884 },
  brown: { items: 500, words: 1_017_403 },
  'sword-kjv': { items: 66, words: 790_740 },
  'sword-web': { items: 80, words: 905_638 },
  'jane-austen': { items: 269, words: 716_823 },
  'tech-docs': { items: 3005, words: 4_474_865 },
  'pattern-polarity': { items: 4000, words: 83_452 },
  'fine-foods': { items: 5000, words: 364_808 },
  // Debian's current package descriptions (not a pinned package): expect drift between point releases
  'ddtp-en': { items: 61_466, words: 3_814_964 },
  'mt-en-fr': { items: 194_653, words: 2_099_841 },
  'gettext-en-fr-small': { items: 8931, words: 49_898 },
};

const PROSE = [sotu, mobyDick, brown];
/** 10% + 10%: classification sets are small (4-5 k), so held-out sets need a larger share to be stable. */
/** 2% + 2%: tens of thousands of pairs, so a few thousand held out give a stable BLEU. */
const MT_SPLIT: SplitFractions = { validFraction: 0.02, testFraction: 0.02 };
/**
 * 2% + 2% of the documents for the default study's corpus: still ~1.2 k validation documents with
 * every source represented (ddtp-en 1,226, tech-docs 60, brown 15, sword-kjv 5, sotu 3, sword-web 3,
 * jane-austen 2, moby-dick 1), and 81.6 M training characters instead of 76.5 M at 5% + 5% (the
 * Bibles' books are long), so the fastest default size stays under one epoch in 120 s.
 */
const LARGE_SPLIT: SplitFractions = { validFraction: 0.02, testFraction: 0.02 };
const CLASSIFY_SPLIT: SplitFractions = { validFraction: 0.1, testFraction: 0.1 };

const RECIPES: Recipe[] = [
  {
    name: 'prose-en',
    description: 'English prose: State of the Union 1790-2021, Moby Dick, the Brown corpus (npm)',
    kind: 'text',
    version: 1,
    sources: PROSE,
    split: DEFAULT_SPLIT,
  },
  {
    name: 'prose-en-small',
    description: 'Moby Dick only, one document per chapter (npm, 1.2 MB): for tests and quick runs',
    kind: 'text',
    version: 1,
    sources: [mobyDick],
    split: DEFAULT_SPLIT,
  },
  {
    name: 'prose-en-large',
    description:
      'prose-en plus Debian text: KJV and WEB Bibles, Jane Austen, package descriptions, technical docs (Linux, Python, Perl)',
    kind: 'text',
    version: 1,
    sources: [...PROSE, swordKjv, swordWeb, janeAusten, ddtpEnglish, techDocs],
    split: LARGE_SPLIT,
  },
  {
    name: 'mt-en-fr',
    description:
      'English-French pairs: Debian package-description translations (DDTP), LibreOffice help, gettext catalogs; cleaned, deduplicated',
    kind: 'pairs',
    version: 1,
    sources: [mtEnFr],
    split: MT_SPLIT,
    srcLang: 'en',
    tgtLang: 'fr',
  },
  {
    name: 'mt-en-fr-small',
    description:
      'English-French UI strings from four small gettext catalogs (mc, gnupg, util-linux, aptitude): for tests and quick runs',
    kind: 'pairs',
    version: 1,
    sources: [gettextEnFrSmall],
    split: MT_SPLIT,
    srcLang: 'en',
    tgtLang: 'fr',
  },
  {
    name: 'sentiment-en',
    description:
      'movie-review sentence polarity (Pang & Lee), Debian python3-pattern; personal use only: fetched, never committed',
    kind: 'labels',
    version: 1,
    sources: [patternPolarity],
    split: CLASSIFY_SPLIT,
  },
  {
    name: 'reviews-en',
    description: 'Amazon fine-food reviews, great/other (Debian r-cran-modeldata small_fine_foods, MIT)',
    kind: 'labels',
    version: 1,
    sources: [fineFoods],
    split: CLASSIFY_SPLIT,
  },
];

export function listRecipes(): readonly Recipe[] {
  return RECIPES;
}

export function getRecipe(name: string): Recipe {
  const r = RECIPES.find((x) => x.name === name);
  if (!r) {
    throw new InputError(
      `unknown data recipe "${name}"; known recipes: ${RECIPES.map((x) => x.name).join(', ')}`,
      'run `tlc data list` to see them, or give a path to your own .txt/.md/.jsonl/.tsv files',
    );
  }
  return r;
}

/** Expected totals of a recipe (sum over its sources), or null if a source has no pinned counts. */
export function recipeExpected(r: Recipe): Expected | null {
  let items = 0;
  let words = 0;
  for (const s of r.sources) {
    const e = EXPECTED[s.name];
    if (!e) return null;
    items += e.items;
    words += e.words;
  }
  return { items, words };
}

function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Number of maximal runs of non-whitespace characters (no regex, so any length of text is fine). */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const sp = isSpace(text.charCodeAt(i));
    if (!sp && !inWord) n++;
    inWord = !sp;
  }
  return n;
}

/** The folder the fetch layer caches a package in (mirrors fetch/npm.ts and fetch/debian.ts). */
export function packageCacheDir(root: string, p: Provenance): string {
  return p.source === 'npm'
    ? path.join(root, 'npm', `${p.package.replace('/', '__')}@${p.version}`)
    : path.join(root, 'debian', `${p.package}_${p.version.replace(/[:]/g, '%')}`);
}

type Loaded =
  | { kind: 'text'; docs: TextDoc[]; provenance: Provenance[] }
  | { kind: 'pairs'; pairs: Pair[]; provenance: Provenance[] }
  | { kind: 'labels'; labels: string[]; examples: LabelledExample[]; provenance: Provenance[] };

function loadSource(s: Source, root: string): Loaded {
  try {
    if (s.kind === 'text') return { kind: 'text', ...s.load(root) };
    if (s.kind === 'pairs') return { kind: 'pairs', ...s.load(root) };
    return { kind: 'labels', ...s.load(root) };
  } catch (e) {
    if (e instanceof TlcError) throw e;
    throw new CorruptError(
      `data source ${s.name} failed while reading its package files: ${(e as Error).message ?? String(e)}`,
      `the cached package may be damaged: delete its folder under ${path.join(root, 'npm')} or ${path.join(root, 'debian')} and retry`,
    );
  }
}

function countLoaded(l: Loaded): Expected {
  if (l.kind === 'text')
    return { items: l.docs.length, words: l.docs.reduce((a, d) => a + countWords(d.text), 0) };
  if (l.kind === 'pairs')
    return { items: l.pairs.length, words: l.pairs.reduce((a, p) => a + countWords(p.src), 0) };
  return { items: l.examples.length, words: l.examples.reduce((a, x) => a + countWords(x.text), 0) };
}

/** A count far from the pinned one means a changed package or a broken parser: refuse it. */
export function checkCounts(source: string, got: Expected, provenance: Provenance[], root: string): void {
  const want = EXPECTED[source];
  if (!want) return;
  const pkgs = provenance.map((p) => `${p.source} ${p.package}@${p.version}`).join(', ') || '(no package)';
  const dirs = provenance.map((p) => packageCacheDir(root, p)).filter((d) => fs.existsSync(d));
  for (const key of ['items', 'words'] as const) {
    const off = Math.abs(got[key] - want[key]) / Math.max(1, want[key]);
    if (off > COUNT_TOLERANCE) {
      throw new CorruptError(
        `data source ${source} (${pkgs}) produced ${got[key]} ${key}, expected ${want[key]} ` +
          `(±${COUNT_TOLERANCE * 100}%); the package changed or its cached files are damaged`,
        `delete ${dirs.join(' and ') || `the files of ${pkgs} under ${root}`} and retry; ` +
          'if the count is still off, the archive ships a different version: update the pin in src/data/recipes.ts',
      );
    }
  }
}

function assemble(r: Recipe, parts: Loaded[]): Corpus {
  const provenance = parts.flatMap((p) => p.provenance);
  if (r.kind === 'text') {
    return {
      kind: 'text',
      name: r.name,
      docs: parts.flatMap((p) => (p.kind === 'text' ? p.docs : [])),
      provenance,
    };
  }
  if (r.kind === 'pairs') {
    const pairs = parts.flatMap((p) => (p.kind === 'pairs' ? p.pairs : []));
    return {
      kind: 'pairs',
      name: r.name,
      srcLang: r.srcLang ?? 'src',
      tgtLang: r.tgtLang ?? 'tgt',
      pairs,
      provenance,
    };
  }
  const lp = parts.filter((p) => p.kind === 'labels');
  const labels = lp[0]?.labels ?? [];
  for (const p of lp) {
    if (p.labels.join('\n') !== labels.join('\n')) {
      throw new CorruptError(
        `recipe ${r.name} combines sources with different label sets`,
        'fix the recipe in src/data/recipes.ts',
      );
    }
  }
  return { kind: 'labels', name: r.name, labels, examples: lp.flatMap((p) => p.examples), provenance };
}

/** Load every source of a recipe, check its counts, and join them (no caching). */
export function buildRecipe(
  r: Recipe,
  root: string,
  log: (msg: string) => void,
): { corpus: Corpus; counts: Record<string, Expected> } {
  const parts: Loaded[] = [];
  const counts: Record<string, Expected> = {};
  for (const s of r.sources) {
    if (s.kind !== r.kind)
      throw new CorruptError(
        `recipe ${r.name} (${r.kind}) lists ${s.kind} source ${s.name}`,
        'fix the recipe',
      );
    log(`${r.name}: loading ${s.name}`);
    const l = loadSource(s, root);
    const got = countLoaded(l);
    checkCounts(s.name, got, l.provenance, root);
    if (!EXPECTED[s.name])
      log(`tlc: warning: no pinned counts for source ${s.name}: its size is not checked`);
    log(`${r.name}: ${s.name}: ${got.items} items, ${got.words} words`);
    counts[s.name] = got;
    parts.push(l);
  }
  const corpus = assemble(r, parts);
  const seen = new Set<string>();
  for (const rec of corpusRecords(corpus)) {
    if (seen.has(rec.id))
      throw new CorruptError(
        `recipe ${r.name} produced the id "${rec.id}" twice`,
        'fix the source that emits it',
      );
    seen.add(rec.id);
  }
  return { corpus, counts };
}

export interface FetchOptions {
  /** cache root; default $TLC_CACHE or ~/.cache/tlc */
  root?: string;
  /** progress and warnings (default: stderr) */
  log?: (msg: string) => void;
}

const stderrLog = (msg: string) => {
  process.stderr.write(`${msg}\n`);
};

/**
 * The corpus of a recipe: read from the cache when a valid one exists, else built from the
 * packages and cached. Recovery: a corrupted cache (bad JSON, sha256 or size mismatch, missing
 * or malformed records) is reported through `log` and rebuilt from the packages.
 */
export function fetchRecipe(name: string, opts: FetchOptions = {}): Corpus {
  const r = getRecipe(name);
  const root = opts.root ?? cacheRoot();
  const log = opts.log ?? stderrLog;
  const dir = recipeCacheDir(r.name, root);
  try {
    const m = readManifest(r, dir);
    if (m) return readCorpusCache(m, dir);
  } catch (e) {
    if (!(e instanceof CorruptError || e instanceof SyntaxError)) throw e;
    log(
      `tlc: the cached corpus ${r.name} in ${dir} is corrupt (${e.message}); rebuilding it from the packages`,
    );
  }
  const { corpus, counts } = buildRecipe(r, root, log);
  writeCorpusCache(r, corpus, counts, dir);
  log(`${r.name}: cached in ${dir}`);
  return corpus;
}
