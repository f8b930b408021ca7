// Bibles from Debian's SWORD modules (sword-text-kjv, sword-text-web): a zText reader (zlib blocks
// + .bzs/.bzv index files) and an OSIS/ThML tag stripper. One document per book; no versification tables.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { CorruptError, SetupError } from '../../engine/errors.ts';
import { fetchDebianPackage } from '../fetch/debian.ts';
import { decodeEntities } from '../markup.ts';
import type { Provenance, TextDoc, TextSource } from '../types.ts';

/** Elements whose content is not running text (footnotes, cross-references, headings, Strong's tags). */
const DROP_CONTENT = new Set(['note', 'scripref', 'rdg', 'title', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/** Elements that sit inside a word or phrase: removing them must not insert a space. */
const INLINE = new Set([
  'w',
  'transchange',
  'divinename',
  'foreign',
  'hi',
  'seg',
  'q',
  'name',
  'abbr',
  'catchword',
  'sync',
  'font',
  'i',
  'b',
  'u',
  'em',
  'strong',
  'span',
  'sup',
  'sub',
  'small',
  'added',
  'a',
  'index',
]);

/** Decodes numeric references and common named entities; others stay as written. */
export const decodeXmlEntities = decodeEntities;

/**
 * Strips OSIS or ThML markup to plain text: notes, cross-references and non-canonical titles are
 * dropped with their content; inline tags vanish; block tags (verse, p, l, div, br, milestone) become
 * a space, so words on either side never run together. Whitespace is collapsed.
 */
export function stripOsis(markup: string): string {
  let out = '';
  let drop = 0; // depth inside dropped elements
  const re = /<(\/?)([A-Za-z][\w:.-]*)([^>]*?)(\/?)>/g;
  let last = 0;
  for (let m = re.exec(markup); m; m = re.exec(markup)) {
    if (drop === 0) out += markup.slice(last, m.index);
    last = re.lastIndex;
    const closing = m[1] === '/';
    const name = (m[2] ?? '').toLowerCase();
    const attrs = m[3] ?? '';
    const selfClosing = m[4] === '/' || /\b(sID|eID)=/.test(attrs);
    if (DROP_CONTENT.has(name) && !selfClosing && !(name === 'title' && /canonical="true"/.test(attrs))) {
      if (closing) drop = Math.max(0, drop - 1);
      else drop++;
      // a dropped element still separates the words around it
      if (drop === 0 || (drop === 1 && !closing)) out += ' ';
      continue;
    }
    if (drop === 0 && !INLINE.has(name)) out += ' ';
  }
  if (drop === 0) out += markup.slice(last);
  // ¶ marks paragraph starts in some modules (KJV); it is typography, not text
  return decodeXmlEntities(out).replace(/¶/g, ' ').replace(/\s+/g, ' ').trim();
}

// ---- zText ----

interface ZTextIndex {
  blocks: { offset: number; size: number }[];
  verses: { block: number; offset: number; size: number }[];
}

function readIndex(dir: string, testament: 'ot' | 'nt'): ZTextIndex | null {
  const bzs = path.join(dir, `${testament}.bzs`);
  if (!fs.existsSync(bzs)) return null;
  const s = fs.readFileSync(bzs);
  const v = fs.readFileSync(path.join(dir, `${testament}.bzv`));
  if (s.length % 12 !== 0 || v.length % 10 !== 0) {
    throw new CorruptError(
      `SWORD index files in ${dir} have sizes ${s.length} (.bzs, expected a multiple of 12) and ${v.length} (.bzv, a multiple of 10)`,
      'delete the cached package folder and retry',
    );
  }
  const blocks = [];
  for (let i = 0; i < s.length; i += 12)
    blocks.push({ offset: s.readUInt32LE(i), size: s.readUInt32LE(i + 4) });
  const verses = [];
  for (let i = 0; i < v.length; i += 10)
    verses.push({ block: v.readUInt32LE(i), offset: v.readUInt32LE(i + 4), size: v.readUInt16LE(i + 8) });
  return { blocks, verses };
}

/** All entries of one testament, in index order (module header, testament header, book and chapter intros, verses). */
export function readZTextEntries(dir: string, testament: 'ot' | 'nt'): string[] {
  const idx = readIndex(dir, testament);
  if (!idx) return [];
  const data = fs.readFileSync(path.join(dir, `${testament}.bzz`));
  const cache = new Map<number, Buffer>();
  const block = (b: number): Buffer => {
    let buf = cache.get(b);
    if (!buf) {
      const at = idx.blocks[b];
      if (!at || at.offset + at.size > data.length) {
        throw new CorruptError(
          `SWORD block ${b} in ${dir}/${testament}.bzz is missing or truncated`,
          'delete the cached package folder and retry',
        );
      }
      buf = inflateSync(data.subarray(at.offset, at.offset + at.size));
      cache.set(b, buf);
    }
    return buf;
  };
  return idx.verses.map((e) =>
    e.size === 0 ? '' : block(e.block).toString('utf8', e.offset, e.offset + e.size),
  );
}

export interface BibleBook {
  osisId: string;
  verses: string[];
}

const CHAPTER_START = /<chapter\b[^>]*\bsID="([^".]+)\.\d+"/;
const BOOK_START = /<div\b(?=[^>]*\btype="book")(?=[^>]*\bsID=)[^>]*>/;
const FRONT_START = /<div\b(?=[^>]*\btype="(?:front|introduction|colophon)")[^>]*>/;

/**
 * Groups a module's verse entries by book. Book and chapter intro entries (which carry the
 * `<div type="book">` and `<chapter sID>` milestones) are skipped; the book is the one named by the
 * last chapter milestone, so no versification table is needed.
 */
export function groupBooks(entries: string[]): BibleBook[] {
  const books = new Map<string, BibleBook>(); // in order of first appearance
  let current: BibleBook | undefined;
  for (let i = 2; i < entries.length; i++) {
    const raw = entries[i] ?? '';
    if (raw === '') continue;
    const ch = CHAPTER_START.exec(raw);
    if (ch) {
      const id = ch[1] ?? '?';
      current = books.get(id) ?? { osisId: id, verses: [] };
      books.set(id, current);
      continue;
    }
    if (BOOK_START.test(raw) || FRONT_START.test(raw) || !current) continue;
    const text = stripOsis(raw);
    if (text) current.verses.push(text);
  }
  return [...books.values()].filter((b) => b.verses.length > 0);
}

function readConf(pkgRoot: string, pkg: string): { dataDir: string } {
  const modsDir = path.join(pkgRoot, 'usr/share/sword/mods.d');
  const conf = fs.existsSync(modsDir) ? fs.readdirSync(modsDir).find((f) => f.endsWith('.conf')) : undefined;
  if (!conf)
    throw new SetupError(
      `Debian package ${pkg} has no SWORD module config in usr/share/sword/mods.d`,
      'check the package name; it must be a sword-text-* package',
    );
  const text = fs.readFileSync(path.join(modsDir, conf), 'utf8');
  const get = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1]?.trim();
  const drv = get('ModDrv')?.toLowerCase();
  if (drv !== 'ztext' || get('CipherKey') !== undefined || (get('CompressType') ?? 'ZIP') !== 'ZIP') {
    throw new SetupError(
      `SWORD module ${conf} in ${pkg} uses ModDrv=${drv}, CompressType=${get('CompressType')}; this reader handles unencrypted zText with ZIP`,
      'use a sword-text package stored as zText (e.g. sword-text-kjv)',
    );
  }
  const dataPath = (get('DataPath') ?? '').replace(/^\.\//, '');
  return { dataDir: path.join(pkgRoot, 'usr/share/sword', dataPath) };
}

export interface SwordSpec {
  name: string;
  pkg: string;
  version: string;
  sha256: string;
}

/** Reads an extracted sword-text package (both testaments) into books of verse texts. */
export function readBooks(pkgRoot: string, pkg: string): BibleBook[] {
  const { dataDir } = readConf(pkgRoot, pkg);
  return [...groupBooks(readZTextEntries(dataDir, 'ot')), ...groupBooks(readZTextEntries(dataDir, 'nt'))];
}

function booksToDocs(name: string, books: BibleBook[]): TextDoc[] {
  return books.map((b) => ({ id: `${name}/${b.osisId}`, text: b.verses.join(' ') }));
}

export function swordSource(spec: SwordSpec): TextSource {
  return {
    name: spec.name,
    kind: 'text',
    load(root: string): { docs: TextDoc[]; provenance: Provenance[] } {
      const deb = fetchDebianPackage(spec.pkg, spec.version, spec.sha256, root);
      const books = readBooks(deb.root, spec.pkg);
      return { docs: booksToDocs(spec.name, books), provenance: [deb.provenance] };
    },
  };
}

export const swordKjv: TextSource = swordSource({
  name: 'sword-kjv',
  pkg: 'sword-text-kjv',
  version: '14.3-1',
  sha256: '9f463f28ce665f6f528fc723179722bced880a4c5485f7a41bf742838315de57',
});

export const swordWeb: TextSource = swordSource({
  name: 'sword-web',
  pkg: 'sword-text-web',
  version: '426.0-1',
  sha256: '930b23670b352f0829a306501de4bebb5e654a2df02cde2cbe86b802177868e1',
});
