// Debian's package-description translations (DDTP `Translation-xx` indexes): a private `apt-get
// update` into the cache, `apt-helper cat-file` to read them, and a deb822 reader. Never touches the
// system's apt lists; does not pair descriptions (sources/ddtp.ts does).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { CorruptError, SetupError } from '../../engine/errors.ts';
import type { Provenance } from '../types.ts';
import { cacheRoot, sha256Bytes } from './cache.ts';

const APT_HELPER = '/usr/lib/apt/apt-helper';

export interface ReleaseInfo {
  /** e.g. `bookworm` */
  codename: string;
  /** e.g. `oldstable` */
  suite: string;
  /** e.g. `12.15` */
  version: string;
  /** the Release file's Date field */
  date: string;
}

export interface TranslationLists {
  /** the private lists folder */
  dir: string;
  release: ReleaseInfo;
  /** language → the index file in `dir` (as apt stores it, possibly compressed) */
  files: Record<string, string>;
  /** one per language: package `Translation-xx`, version `<codename> <version> (<date>)` */
  provenance: Provenance[];
}

export interface AptListsOptions {
  languages?: string[];
  /** the distribution codename to read; default: this machine's (/etc/os-release) */
  codename?: string;
  /** run `apt-get update` even if the cache already holds the lists */
  refresh?: boolean;
}

/** This machine's Debian codename from /etc/os-release, or null when it has none. */
export function osCodename(file = '/etc/os-release'): string | null {
  if (!fs.existsSync(file)) return null;
  const m = /^VERSION_CODENAME=["']?([\w-]+)/m.exec(fs.readFileSync(file, 'utf8'));
  return m?.[1] ?? null;
}

// ---- deb822 ----

/** One deb822 stanza: field name → value (continuation lines kept, joined with `\n`). */
export type Deb822Record = Record<string, string>;

/**
 * Parses deb822 text (Packages, Translation-xx, Release): stanzas separated by blank lines,
 * `Field: value` lines, continuation lines starting with a space or tab (kept verbatim, leading
 * space included, so ` .` paragraph separators survive). `#` comment lines are skipped.
 */
export function parseDeb822(text: string): Deb822Record[] {
  const out: Deb822Record[] = [];
  let rec: Deb822Record = {};
  let field: string | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (/^[ \t]*$/.test(line)) {
      if (Object.keys(rec).length > 0) out.push(rec);
      rec = {};
      field = null;
    } else if (line[0] === ' ' || line[0] === '\t') {
      if (field === null)
        throw new CorruptError(
          `deb822 line ${i + 1} continues no field: "${line.slice(0, 60)}"`,
          'refetch the index',
        );
      rec[field] += `\n${line}`;
    } else if (line[0] !== '#') {
      const colon = line.indexOf(':');
      if (colon <= 0)
        throw new CorruptError(
          `deb822 line ${i + 1} is not "Field: value": "${line.slice(0, 60)}"`,
          'refetch the index',
        );
      field = line.slice(0, colon);
      rec[field] = line.slice(colon + 1).trim();
    }
  }
  if (Object.keys(rec).length > 0) out.push(rec);
  return out;
}

/** A package description: the synopsis (first line) and the long description's paragraphs. */
export interface Description {
  synopsis: string;
  /** each paragraph as its lines, one leading space removed (two-space lines stay indented) */
  paragraphs: string[][];
}

/**
 * Splits a `Description(-xx)` value into synopsis and paragraphs. A ` .` line separates paragraphs;
 * so does a line of only (non-breaking) spaces, a slip some translations make.
 */
export function parseDescription(value: string): Description {
  const [synopsis = '', ...rest] = value.split('\n');
  const paragraphs: string[][] = [];
  let cur: string[] = [];
  for (const raw of rest) {
    const line = raw.replace(/^[ \t]/, '');
    if (line.trim() === '.' || line.trim() === '') {
      if (cur.length > 0) paragraphs.push(cur);
      cur = [];
    } else cur.push(line);
  }
  if (cur.length > 0) paragraphs.push(cur);
  return { synopsis: synopsis.trim(), paragraphs };
}

// ---- fetching ----

const OFFLINE_HINT =
  'this needs a Debian machine online with its archive (check that `apt-get update` works)';

/**
 * Runs the private `apt-get update`. apt only warns when one index fails (another suite's mirror
 * may be down while ours is fine), so its warnings are returned for the caller's error messages.
 */
function aptUpdate(listsDir: string, languages: string[]): string {
  fs.mkdirSync(path.join(listsDir, 'partial'), { recursive: true });
  const opts = [
    `Dir::State::Lists=${listsDir}`, // private lists: the system's are never read or written
    `Acquire::Languages=${languages.join(',')}`,
    'Acquire::IndexTargets::deb::Packages::DefaultEnabled=false', // only the Translation-xx indexes
    'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false',
    'Acquire::IndexTargets::deb-src::Sources::DefaultEnabled=false',
    'Dir::Cache::pkgcache=', // no binary caches written to /var/cache/apt
    'Dir::Cache::srcpkgcache=',
    'Acquire::Retries=2',
    'Acquire::http::Timeout=30',
  ];
  const r = spawnSync('apt-get', ['-q', 'update', ...opts.flatMap((o) => ['-o', o])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    timeout: 600_000,
  });
  const warnings = `${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => /^[WE]:/.test(l) && !/unsandboxed/.test(l))
    .join(' ');
  if (r.error || r.status !== 0) {
    const why =
      (r.error as { code?: string } | undefined)?.code === 'ENOENT' ? 'apt-get is not installed' : warnings;
    throw new SetupError(
      `could not fetch Debian's Translation-{${languages.join(',')}} indexes with a private apt-get update: ${why || r.error || `exit ${r.status}`}`,
      OFFLINE_HINT,
    );
  }
  return warnings;
}

/** The signed text of an OpenPGP clear-signed file (InRelease); other text is returned as it is. */
export function unsign(text: string): string {
  if (!text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return text;
  const start = text.indexOf('\n\n');
  const end = text.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  return text.slice(start + 2, end < 0 ? undefined : end).replace(/^- /gm, '');
}

/** Release info from the InRelease (or Release) file of `<prefix>_dists_<codename>`. */
function readRelease(
  dir: string,
  codename: string,
  warnings: string,
): { info: ReleaseInfo; sha256: Map<string, string> } {
  const rel = fs
    .readdirSync(dir)
    .find((f) => f.endsWith(`_dists_${codename}_InRelease`) || f.endsWith(`_dists_${codename}_Release`));
  if (!rel) {
    throw new SetupError(
      `the private apt lists in ${dir} hold no Release file for "${codename}"${warnings ? ` (apt said: ${warnings})` : ''}`,
      `${OFFLINE_HINT}, and that its sources (/etc/apt/sources.list*) include Debian ${codename}`,
    );
  }
  const stanza = parseDeb822(unsign(fs.readFileSync(path.join(dir, rel), 'utf8'))).at(0) ?? {};
  const sha256 = new Map<string, string>();
  for (const line of (stanza['SHA256'] ?? '').split('\n')) {
    const [hash, , name] = line.trim().split(/\s+/);
    if (hash && name) sha256.set(name, hash);
  }
  const info = {
    codename: stanza['Codename'] ?? codename,
    suite: stanza['Suite'] ?? '',
    version: stanza['Version'] ?? '',
    date: stanza['Date'] ?? '',
  };
  return { info, sha256 };
}

/** The uncompressed bytes of an index file apt stored (any of its compressions), via apt-helper. */
export function catIndexBytes(file: string): Buffer {
  if (!fs.existsSync(APT_HELPER)) {
    throw new SetupError(`${APT_HELPER} is missing`, "install Debian's `apt` package (it ships apt-helper)");
  }
  return execFileSync(APT_HELPER, ['cat-file', file], {
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function catIndex(file: string): string {
  return catIndexBytes(file).toString('utf8');
}

function findIndex(dir: string, codename: string, lang: string): string | null {
  const re = new RegExp(`_dists_${codename}_main_i18n_Translation-${lang}(\\.(lz4|gz|xz|bz2|zst|lzma))?$`);
  const f = fs.readdirSync(dir).find((x) => re.test(x));
  return f ? path.join(dir, f) : null;
}

/**
 * Fetches (once) and locates `main/i18n/Translation-xx` of one Debian release, checking each
 * against the sha256 its Release file lists. The cache is `<root>/apt-lists/`; later calls reuse it.
 */
export function fetchTranslationLists(root = cacheRoot(), opts: AptListsOptions = {}): TranslationLists {
  const languages = opts.languages ?? ['en', 'fr', 'de'];
  const codename = opts.codename ?? osCodename();
  if (!codename) {
    throw new SetupError(
      'this machine does not say which Debian release it runs (/etc/os-release)',
      'run on Debian, or pass a codename',
    );
  }
  const base = path.join(root, 'apt-lists');
  const dir = path.join(base, 'lists');
  const manifest = path.join(base, 'fetched.json');
  // the manifest names files relative to `dir`, so a copied or moved cache stays valid
  const cached = fs.existsSync(manifest)
    ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as TranslationLists)
    : null;
  const resolve = (l: TranslationLists): TranslationLists => ({
    ...l,
    dir,
    files: Object.fromEntries(Object.entries(l.files).map(([k, f]) => [k, path.join(dir, f)])),
  });
  if (cached && !opts.refresh && cached.release.codename === codename) {
    const r = resolve(cached);
    if (languages.every((l) => r.files[l] && fs.existsSync(r.files[l]))) return r;
  }
  const langs = [...new Set([...languages, ...(cached ? Object.keys(cached.files) : [])])];
  const warnings = aptUpdate(dir, langs);
  const { info, sha256 } = readRelease(dir, codename, warnings);
  const files: Record<string, string> = {};
  const provenance: Provenance[] = [];
  for (const lang of langs) {
    const file = findIndex(dir, codename, lang);
    if (!file) {
      throw new SetupError(
        `apt fetched no Translation-${lang} for Debian ${codename} main into ${dir}${warnings ? ` (apt said: ${warnings})` : ''}`,
        `${OFFLINE_HINT}; Debian ships Translation-en, -fr and -de for every release`,
      );
    }
    const got = sha256Bytes(catIndexBytes(file));
    const want = sha256.get(`main/i18n/Translation-${lang}`);
    if (want && want !== got) {
      throw new CorruptError(
        `Translation-${lang} of Debian ${codename} has sha256 ${got}, but its Release file lists ${want}`,
        `delete ${base} and retry`,
      );
    }
    files[lang] = path.basename(file);
    const version = `${info.codename} ${info.version} (${info.date})`;
    provenance.push({ source: 'debian', package: `Translation-${lang}`, version, sha256: got });
  }
  const lists: TranslationLists = { dir: path.relative(base, dir), release: info, files, provenance };
  writeFileAtomic(manifest, JSON.stringify(lists, null, 2));
  return resolve(lists);
}
