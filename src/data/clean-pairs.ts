// Cleaning shared by the translation sources (DDTP, LibreOffice help, gettext catalogs): markup,
// entities, accelerators, placeholders, whitespace, length filters, dedupe. No I/O, no fetching.

import { sha256Bytes } from './fetch/cache.ts';
import { decodeEntities } from './markup.ts';

export { decodeEntities };

import type { Pair } from './types.ts';

export interface CleanOptions {
  /** strip tags such as `<b>`, `<span class="x">` and decode entities (`&amp;`, `&#233;`) */
  markup: boolean;
  /** strip keyboard accelerators: `_File`, `&Open`, `~Save` (UI catalogs only) */
  accelerators: boolean;
  /** drop a pair when longer than this many words on either side */
  maxWords: number;
  /** keep a pair only if (len(tgt)+k)/(len(src)+k) lies within [1/maxRatio, maxRatio], k = 10 chars */
  maxRatio: number;
}

/** Defaults: 200 words drops whole usage screens and licence texts; ratio 2.5 allows EN→FR growth. */
export const DEFAULT_CLEAN: CleanOptions = { markup: true, accelerators: true, maxWords: 200, maxRatio: 2.5 };

/** What a cleaning pass dropped, by reason (for logs and for tuning the filters). */
export interface CleanStats {
  input: number;
  kept: number;
  empty: number;
  identical: number;
  placeholders: number;
  tooLong: number;
  ratio: number;
  duplicate: number;
}

const INLINE_TAGS = new Set([
  'a',
  'b',
  'i',
  'u',
  's',
  'em',
  'strong',
  'span',
  'big',
  'small',
  'tt',
  'sub',
  'sup',
  'code',
  'kbd',
  'var',
  'font',
  'nobr',
  'center',
  'abbr',
  'cite',
  'q',
  'mark',
  'emph',
  'link',
  'ulink',
  'literal',
  'command',
  'filename',
  'img',
  'bookmark_value',
]);
const BLOCK_TAGS = new Set([
  'br',
  'p',
  'li',
  'div',
  'td',
  'th',
  'tr',
  'table',
  'ul',
  'ol',
  'dl',
  'dt',
  'dd',
  'pre',
  'blockquote',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'para',
  'item',
  'section',
  'header',
  'footer',
  'nav',
  'html',
  'body',
  'head',
  'title',
]);

/**
 * Removes HTML/Pango/DocBook tags (a fixed list of names, so `<file>` in a usage line stays) and
 * decodes entities. Inline tags vanish; block tags become a space so words stay apart.
 */
export function stripMarkup(s: string): string {
  const noTags = s.replace(/<\/?([A-Za-z][\w:.-]*)(\s[^<>]*)?\/?>/g, (m, tag: string) => {
    const name = tag.toLowerCase();
    return INLINE_TAGS.has(name) ? '' : BLOCK_TAGS.has(name) ? ' ' : m;
  });
  return decodeEntities(noTags);
}

/** The one `_` of a string that has exactly one, when a letter or digit follows it. */
function soleUnderscore(s: string): number {
  const i = s.indexOf('_');
  return i >= 0 && i === s.lastIndexOf('_') && /[\p{L}\p{N}]/u.test(s[i + 1] ?? '') ? i : -1;
}

/**
 * Whether a string's sole `_` is a GTK accelerator by itself: at a word start (`_File`, `Save _As`)
 * or inside a capitalized word (`E_xit`), not inside an identifier (`file_name`, `LC_ALL`).
 */
export function hasUnderscoreAccelerator(s: string): boolean {
  const i = soleUnderscore(s);
  if (i < 0) return false;
  if (i === 0 || !/[\p{L}\p{N}]/u.test(s[i - 1]!)) return true;
  return /(^|[^\p{L}\p{N}])\p{Lu}\p{Ll}*_\p{Ll}/u.test(s);
}

/**
 * Removes accelerator marks: `_` (GTK; only when `underscore` says the pair uses one, since the
 * translation may put it mid-word: `Te_xt` / `te_xte`), `&` (Qt, wx; `&&` is a literal `&`) and
 * `~` (LibreOffice). `&` between capitals (`R&D`) or before a space, and `~/`, are left alone.
 */
export function stripAccelerators(s: string, underscore = hasUnderscoreAccelerator(s)): string {
  let out = s;
  const u = underscore ? soleUnderscore(out) : -1;
  if (u >= 0) out = out.slice(0, u) + out.slice(u + 1);
  out = out.replace(/&&|&(?=[\p{L}\p{N}])/gu, (m, off: number) => {
    if (m === '&&') return '&';
    const prev = out[off - 1] ?? '';
    const next = out[off + 1] ?? '';
    return /\p{Lu}/u.test(prev) && /\p{Lu}/u.test(next) ? '&' : '';
  });
  return out.replace(/(^|[\s\p{L}(["'])~(?=[\p{L}\p{N}])/gu, '$1');
}

/**
 * Placeholders of printf (`%s`, `%-10lu`, `%1$s`, gcc's `%qs`), Qt/LibreOffice (`%1`, `%NAME%`),
 * Python/ICU/.NET (`{0}`, `{name}`, `%(name)s`) and shells (`$VAR`, `${VAR}`, `$(cmd)`).
 */
const PLACEHOLDER = new RegExp(
  [
    '%%', // a literal percent sign (skipped below)
    '%\\(\\w+\\)[a-zA-Z]', // Python %(name)s
    '%[A-Z][A-Z0-9_]{2,}%?', // LibreOffice %PRODUCTNAME, Windows %VAR%
    '%\\d+\\$[-+#0]*\\d*(?:\\.\\d+)?(?:hh|h|ll|l|L|q|j|z|t)?[a-zA-Z]', // positional printf %1$s
    '%[-+#0]*\\d*(?:\\.\\d+)?(?:hh|h|ll|l|L|q|j|z|t|I64|w)?[diouxXeEfFgGaAcspnqm]', // printf %-10lu
    '%[a-zA-Z<>]', // strftime %Y, gcc quotes %< %>
    '%[1-9]\\d?', // Qt / LibreOffice %1
    '\\{\\d+(?:,[^{}]*)?\\}', // .NET / ICU {0}
    '\\{[A-Za-z_][\\w.]*\\}', // Python / Rust {name}
    '\\$\\{\\w+\\}|\\$\\(\\w+\\)|\\$[A-Z_][A-Z0-9_]*|\\$\\d', // shell ${VAR} $(cmd) $VAR $1
  ].join('|'),
  'g',
);

/** Placeholders in a string, normalized (positional indices and flags removed) and sorted. */
export function placeholders(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(PLACEHOLDER)) {
    const p = m[0];
    if (p === '%%') continue;
    const printf = p.startsWith('%') && /[a-zA-Z<>]$/.test(p) && !/^%[A-Z][A-Z0-9_]{2,}/.test(p);
    out.push(printf ? `%${p.slice(-1) === 'i' ? 'd' : p.slice(-1)}` : p);
  }
  return out.sort();
}

/** Whether a string has a letter outside its placeholders (`%s: %s` has none). */
export function hasWords(s: string): boolean {
  return /\p{L}/u.test(s.replace(PLACEHOLDER, ''));
}

export function normalizeSpace(s: string): string {
  return s.replace(/[\s\u00a0\u202f\u2007\u200b\ufeff]+/g, ' ').trim();
}

export function wordCount(s: string): number {
  return s === '' ? 0 : s.split(' ').length;
}

/** Id of a pair that depends only on its text, so it is stable across runs and orderings. */
export function pairId(source: string, src: string, tgt: string): string {
  return `${source}:${sha256Bytes(`${src}\t${tgt}`).slice(0, 16)}`;
}

function emptyStats(input: number): CleanStats {
  return { input, kept: 0, empty: 0, identical: 0, placeholders: 0, tooLong: 0, ratio: 0, duplicate: 0 };
}

/** A list-item mark at the start of a unit (`* `, `- `, `• `): layout, not text. */
const BULLET = /^[*•·+-] +/;

type Verdict = Exclude<keyof CleanStats, 'input' | 'kept' | 'duplicate'> | null;

/** Cleans both sides of one pair and says why the pair must be dropped (null: keep it). */
export function cleanOne(
  src: string,
  tgt: string,
  o: CleanOptions,
): { src: string; tgt: string; drop: Verdict } {
  let s = o.markup ? stripMarkup(src) : src;
  let t = o.markup ? stripMarkup(tgt) : tgt;
  if (o.accelerators) {
    // one side's clear accelerator vouches for the other's sole underscore
    const underscore = hasUnderscoreAccelerator(s) || hasUnderscoreAccelerator(t);
    s = stripAccelerators(s, underscore);
    t = stripAccelerators(t, underscore);
  }
  s = normalizeSpace(s).replace(BULLET, '');
  t = normalizeSpace(t).replace(BULLET, '');
  const res = (drop: Verdict) => ({ src: s, tgt: t, drop });
  if (!hasWords(s) || !hasWords(t)) return res('empty');
  if (s === t || s.toLowerCase() === t.toLowerCase()) return res('identical');
  if (placeholders(s).join('\u0001') !== placeholders(t).join('\u0001')) return res('placeholders');
  if (wordCount(s) > o.maxWords || wordCount(t) > o.maxWords) return res('tooLong');
  const r = (t.length + 10) / (s.length + 10);
  if (r > o.maxRatio || r < 1 / o.maxRatio) return res('ratio');
  return res(null);
}

/**
 * Cleans raw pairs and drops empty, untranslated (src == tgt), placeholder-mismatched, too long and
 * implausibly sized ones; dedupes on (src, tgt), keeping the first. Placeholders that agree stay in
 * the text as they are (`%s`, `{0}`): a model learns to copy them. Ids are `<source>:<hash>`.
 */
export function cleanPairs(
  source: string,
  raw: Iterable<{ src: string; tgt: string }>,
  options: Partial<CleanOptions> = {},
): { pairs: Pair[]; stats: CleanStats } {
  const o = { ...DEFAULT_CLEAN, ...options };
  const seen = new Set<string>();
  const pairs: Pair[] = [];
  const stats = emptyStats(0);
  for (const r of raw) {
    stats.input++;
    const c = cleanOne(r.src, r.tgt, o);
    if (c.drop) {
      stats[c.drop]++;
      continue;
    }
    const key = `${c.src}\t${c.tgt}`;
    if (seen.has(key)) {
      stats.duplicate++;
      continue;
    }
    seen.add(key);
    pairs.push({ id: pairId(source, c.src, c.tgt), src: c.src, tgt: c.tgt });
  }
  stats.kept = pairs.length;
  return { pairs, stats };
}

/**
 * Splits a multi-line text into units: blocks separated by blank lines, and inside a block one unit
 * per option or bullet line (`-x, --all ...`, `* item`) with its indented continuation lines.
 * Wrapped lines of running text are joined, since two languages wrap at different words.
 */
export function textUnits(text: string): string[] {
  const units: string[] = [];
  let cur: string[] = [];
  const flush = () => {
    if (cur.length > 0) units.push(cur.join(' '));
    cur = [];
  };
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') flush();
    else {
      if (/^([-*•+]|--?\w)/.test(t)) flush();
      cur.push(t);
    }
  }
  flush();
  return units;
}

/** The first word of an option unit (`-a,`, `--all`), which translators leave as it is. */
function optionKey(unit: string): string | null {
  return unit.startsWith('-') ? (unit.split(' ')[0] ?? null) : null;
}

/**
 * Aligns two texts unit by unit (see textUnits) when both have the same number of units and
 * every option unit starts with the same option on both sides; otherwise keeps them whole.
 */
export function alignUnits(src: string, tgt: string): Array<{ src: string; tgt: string }> {
  const s = textUnits(src);
  const t = textUnits(tgt);
  if (s.length > 1 && s.length === t.length && s.every((u, i) => optionKey(u) === optionKey(t[i]!))) {
    return s.map((u, i) => ({ src: u, tgt: t[i]! }));
  }
  return [{ src, tgt }];
}
