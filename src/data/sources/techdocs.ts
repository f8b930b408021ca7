// Technical prose from Debian doc packages (linux-doc-6.1 reST, python3.11-doc reST sources,
// perl-doc POD): markup stripped to paragraphs, one doc per file. Reasonable, not a full reST/POD parser.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CorruptError, SetupError } from '../../engine/errors.ts';
import { debianCandidate, fetchDebianPackage } from '../fetch/debian.ts';
import type { Provenance, TextDoc, TextSource } from '../types.ts';
import { decodeXmlEntities } from './sword.ts';

// ---- reStructuredText ----

/** Directives whose body is code, tables, images or structure: dropped with their body. */
const RST_SKIP = new Set(
  (
    'code-block code sourcecode literalinclude include toctree highlight highlightlang image figure kernel-doc ' +
    'kernel-abi kernel-feat kernel-include kernel-cmd table list-table csv-table flat-table raw math graphviz ' +
    'productionlist testcode testsetup testcleanup testoutput doctest index autosummary parsed-literal contents ' +
    'sectnum tabularcolumns cssclass c:namespace c:namespace-push c:namespace-pop program-output only ifconfig ' +
    'moduleauthor sectionauthor codeauthor currentmodule default-domain default-role role'
  ).split(' '),
);
/** Admonitions: the text after `::` on the directive line is prose (for other directives it is a signature). */
const RST_ADMONITION = new Set(
  'note warning tip hint important attention caution danger error seealso admonition topic rubric sidebar'.split(
    ' ',
  ),
);
const ADORNMENT = /^([=\-~^"'`#*+<>_:.!$%&,;?@\\/|])\1{2,}\s*$/;
const SIMPLE_TABLE_BORDER = /^=+( +=+)+\s*$/;
const GRID_TABLE = /^(\+[-=+]+\+|\|.*\|)\s*$/;
const BULLET = /^([-*+•]|#\.|\d+[.)]|\(?[a-z]\)|\(\d+\))\s+/;

/** Inline reST: roles, literals, links, emphasis, footnote references, substitutions, escapes. */
export function rstInline(s: string): string {
  return s
    .replace(/:[\w:+.-]+:`([^`]*)`/g, (_m, c: string) => c.replace(/\s*<[^>]*>$/, '').replace(/^[~!]/, ''))
    .replace(/``([^`]+)``/g, '$1')
    .replace(/`([^`<]*?)\s*<[^>]*>`__?/g, '$1')
    .replace(/`([^`]+)`(__?)?/g, '$1')
    .replace(/\s*\[(#[\w-]*|\d+|\*|[A-Za-z][\w.-]*)\]_/g, '')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1$2')
    .replace(/\|([^|\s][^|]*)\|_{0,2}/g, '$1')
    .replace(/\\(.)/g, '$1');
}

function indentOf(line: string): number {
  let n = 0;
  for (const c of line) {
    if (c === ' ') n++;
    else if (c === '\t') n = (Math.floor(n / 8) + 1) * 8;
    else break;
  }
  return n;
}

interface RstState {
  /** skip lines indented deeper than this (literal block, code directive, comment) */
  skipAbove: number | null;
  /** directive options (`:maxdepth: 2`) right after a kept directive */
  optionsAbove: number | null;
  /** a doctest runs to the next blank line */
  skipToBlank: boolean;
  /** a kept directive's signature continued with a trailing backslash */
  signature: boolean;
}

/** True when a non-blank line belongs to something being skipped; updates the skip state. */
function rstSkipped(st: RstState, t: string, indent: number): boolean {
  if (st.skipToBlank) return true;
  if (st.signature) {
    st.signature = t.endsWith('\\');
    return true;
  }
  if (st.skipAbove !== null) {
    if (indent > st.skipAbove) return true;
    st.skipAbove = null;
  }
  if (st.optionsAbove !== null && indent > st.optionsAbove && /^:[\w -]+:/.test(t)) return true;
  st.optionsAbove = null;
  return false;
}

/** A `..` line: a directive (kept, or skipped with its body), a comment or a target. Returns prose, if any. */
function rstDirective(st: RstState, t: string, indent: number): string {
  const m = /^\.\.\s+([\w:.-]+)::\s*(.*)$/.exec(t);
  const name = m?.[1]?.toLowerCase();
  if (!m || !name || RST_SKIP.has(name)) {
    st.skipAbove = indent;
    return '';
  }
  st.optionsAbove = indent;
  st.signature = t.endsWith('\\');
  return RST_ADMONITION.has(name) ? (m[2] ?? '') : '';
}

/** reST source → prose paragraphs separated by blank lines (literal blocks, tables, code directives go). */
export function stripRst(src: string): string {
  const paras: string[] = [];
  let cur: string[] = [];
  const flush = (): void => {
    if (cur.length > 0) paras.push(rstInline(cur.join(' ')).replace(/\s+/g, ' ').trim());
    cur = [];
  };
  const st: RstState = { skipAbove: null, optionsAbove: null, skipToBlank: false, signature: false };
  for (const line of src.replace(/\r\n?/g, '\n').split('\n')) {
    const t = line.trim();
    const indent = indentOf(line);
    if (t === '') {
      flush();
      st.skipToBlank = false;
      st.optionsAbove = null;
      continue;
    }
    if (rstSkipped(st, t, indent)) continue;
    if (
      t.startsWith('..') ||
      t.startsWith('>>>') ||
      ADORNMENT.test(t) ||
      SIMPLE_TABLE_BORDER.test(t) ||
      GRID_TABLE.test(t)
    ) {
      flush();
      if (t.startsWith('..')) cur.push(rstDirective(st, t, indent));
      else if (t.startsWith('>>>')) st.skipToBlank = true;
      continue;
    }
    const literal = t.endsWith('::');
    if (BULLET.test(t)) flush();
    cur.push(t.replace(BULLET, '').replace(/\s*::$/, literal && !/\s::$/.test(t) ? ':' : ''));
    if (literal) {
      flush();
      st.skipAbove = indent;
    }
  }
  flush();
  return paras.filter((p) => p.length > 0).join('\n\n');
}

// ---- POD ----

const POD_ENTITIES: Record<string, string> = { lt: '<', gt: '>', verbar: '|', sol: '/' };

function podCode(code: string, inner: string): string {
  switch (code) {
    case 'X':
    case 'Z':
      return '';
    case 'E': {
      if (/^\d+$/.test(inner)) return String.fromCodePoint(Number(inner));
      if (/^0x[0-9a-f]+$/i.test(inner)) return String.fromCodePoint(Number.parseInt(inner.slice(2), 16));
      return POD_ENTITIES[inner] ?? decodeXmlEntities(`&${inner};`).replace(/^&.*;$/, '');
    }
    case 'L': {
      const bar = inner.indexOf('|');
      if (bar >= 0) return inner.slice(0, bar);
      if (/^\w+:\/\//.test(inner)) return inner;
      const m = /^([^/]*)\/"?([^"]*)"?$/.exec(inner);
      if (!m) return inner;
      return m[1] ? `${m[2]} in ${m[1]}` : (m[2] ?? '');
    }
    default:
      return inner;
  }
}

/** Parses POD formatting codes from `i` up to the closing delimiter `stop` (none at top level). */
function podScan(s: string, i: number, stop: string | null): [string, number] {
  let out = '';
  while (i < s.length) {
    if (stop !== null && s.startsWith(stop, i)) return [out, i + stop.length];
    const c = s[i] ?? '';
    if (c >= 'A' && c <= 'Z' && s[i + 1] === '<') {
      let j = i + 1;
      while (s[j] === '<') j++;
      const n = j - i - 1;
      let inner: [string, number];
      if (n > 1 && /\s/.test(s[j] ?? '')) inner = podScan(s, j + 1, ` ${'>'.repeat(n)}`);
      else inner = podScan(s, i + 2, '>');
      out += podCode(c, inner[0].trim());
      i = inner[1];
      continue;
    }
    out += c;
    i++;
  }
  return [out, i];
}

export function podInline(s: string): string {
  return /[A-Z]</.test(s) ? podScan(s, 0, null)[0] : s;
}

/** POD source → prose paragraphs: headings and items kept as text, verbatim (code) paragraphs dropped. */
export function stripPod(src: string): string {
  const out: string[] = [];
  let inPod = true; // .pod files start in POD; `=cut` leaves it until the next command
  let skipBlock: string | null = null; // inside =begin FORMAT ... =end FORMAT
  for (const para of src.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)) {
    if (para.trim() === '') continue;
    const cmd = /^=(\w+)\s*([\s\S]*)$/.exec(para.replace(/^\n+/, ''));
    if (cmd) {
      const [, name = '', rest = ''] = cmd;
      inPod = name !== 'cut';
      if (skipBlock !== null) {
        if (name === 'end') skipBlock = null;
        continue;
      }
      if (name === 'begin') skipBlock = rest.trim();
      else if (/^head\d$/.test(name) || name === 'item') {
        const text = rest.replace(/^(\*|\d+\.?)(\s+|$)/, '');
        if (text.trim()) out.push(podInline(text.replace(/\s+/g, ' ').trim()));
      }
      continue;
    }
    if (!inPod || skipBlock !== null || /^[ \t]/.test(para.replace(/^\n+/, ''))) continue;
    out.push(podInline(para.replace(/\s+/g, ' ').trim()));
  }
  return out.filter((p) => p.length > 0).join('\n\n');
}

// ---- the packages ----

function countWords(s: string): number {
  const m = s.match(/\S+/g);
  return m ? m.length : 0;
}

/** A file is kept when its prose has enough words and is a fair share of its source (not code or tables). */
export function isProse(source: string, prose: string, minWords = 40, minShare = 0.3): boolean {
  const src = source.replace(/\s+/g, '').length;
  return countWords(prose) >= minWords && src > 0 && prose.replace(/\s+/g, '').length >= minShare * src;
}

interface DocPackage {
  key: string;
  pkg: string;
  /** version and sha256 measured when pinned; a newer archive version is used (with its own sha) */
  version: string;
  sha256: string;
  /** relative paths (under the extracted root) of the files to read */
  files(root: string): string[];
  strip(src: string): string;
}

function walk(dir: string, keep: (rel: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter(keep).sort();
}

const LINUX_DIR = 'usr/share/doc/linux-doc-6.1/Documentation';
const PYTHON_DIR = 'usr/share/doc/python3.11/html/_sources';

export const DOC_PACKAGES: DocPackage[] = [
  {
    key: 'linux',
    pkg: 'linux-doc-6.1',
    version: '6.1.192-2',
    sha256: 'd1d1b5a602f0d439ecc39e713e044bf2df30d839fb4bf8a7b859ba3273c47993',
    // translations/ is not English; the rest of Documentation/ is reST
    files: (root) =>
      walk(path.join(root, LINUX_DIR), (f) => f.endsWith('.rst.gz') && !f.startsWith('translations/')).map(
        (f) => path.join(LINUX_DIR, f),
      ),
    strip: stripRst,
  },
  {
    key: 'python',
    pkg: 'python3.11-doc',
    version: '3.11.2-6+deb12u9',
    sha256: '5b3594189d6ef9a6963ce0347fd307a1cc67620ad697e144db366070e2e146be',
    files: (root) =>
      walk(path.join(root, PYTHON_DIR), (f) => f.endsWith('.rst.txt')).map((f) => path.join(PYTHON_DIR, f)),
    strip: stripRst,
  },
  {
    key: 'perl',
    pkg: 'perl-doc',
    version: '5.36.0-7+deb12u4',
    sha256: 'f4269cff4576d6f02a6756df842988e58451c7e945b08517dd235531b24e48f8',
    files: (root) => {
      const base = path.join(root, 'usr/share/perl');
      const vers = fs.existsSync(base) ? fs.readdirSync(base) : [];
      return vers.flatMap((v) =>
        walk(path.join(base, v, 'pod'), (f) => /\.pod(\.gz)?$/.test(f)).map((f) =>
          path.join('usr/share/perl', v, 'pod', f),
        ),
      );
    },
    strip: stripPod,
  },
];

function readText(file: string): string {
  const raw = fs.readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Parses one extracted doc package into docs (ids: tech-docs/<key>/<path>). */
export function readDocPackage(spec: DocPackage, root: string): TextDoc[] {
  const files = spec.files(root);
  if (files.length === 0) {
    throw new CorruptError(
      `Debian package ${spec.pkg} has no documentation files where expected under ${root}`,
      'the package layout changed: update DOC_PACKAGES in src/data/sources/techdocs.ts',
    );
  }
  const docs: TextDoc[] = [];
  for (const rel of files) {
    const src = readText(path.join(root, rel));
    const text = spec.strip(src);
    if (!isProse(src, text)) continue;
    const name = rel
      .replace(/^.*?(Documentation|_sources|pod)\//, '')
      .replace(/\.(rst\.gz|rst\.txt|pod|pod\.gz)$/, '');
    docs.push({ id: `tech-docs/${spec.key}/${name}`, text });
  }
  return docs;
}

/**
 * The pinned version (sha256 checked) while the archive or the cache still has it; these packages get
 * point-release updates that replace the old version, so after that the archive's current one is used.
 */
function fetchDoc(spec: DocPackage, root: string): { root: string; provenance: Provenance } {
  try {
    return fetchDebianPackage(spec.pkg, spec.version, spec.sha256, root);
  } catch (e) {
    const now = debianCandidate(spec.pkg);
    if (!(e instanceof SetupError) || now === null || now === spec.version) throw e;
    return fetchDebianPackage(spec.pkg, now, undefined, root);
  }
}

export const techDocs: TextSource = {
  name: 'tech-docs',
  kind: 'text',
  load(root) {
    const docs: TextDoc[] = [];
    const provenance: Provenance[] = [];
    for (const spec of DOC_PACKAGES) {
      const deb = fetchDoc(spec, root);
      docs.push(...readDocPackage(spec, deb.root));
      provenance.push(deb.provenance);
    }
    return { docs, provenance };
  },
};
