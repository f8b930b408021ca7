// Jane Austen's six novels from Debian r-cran-janeaustenr (an R lazy-load database of one character
// vector per novel, one element per printed line): one document per chapter. Front matter is dropped.
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { fetchDebianPackage } from '../fetch/debian.ts';
import type { TextDoc, TextSource } from '../types.ts';
import { openLazyLoadDb, rStrings } from './rdata.ts';

export const JANEAUSTEN_PACKAGE = 'r-cran-janeaustenr';
export const JANEAUSTEN_VERSION = '1.0.0-1';
const SHA256 = 'df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95';
const NOVELS = [
  'sensesensibility',
  'prideprejudice',
  'mansfieldpark',
  'emma',
  'northangerabbey',
  'persuasion',
];

/** The heading rule janeaustenr's own docs use: a line starting "chapter" and a numeral. */
const CHAPTER = /^\s*chapter\s+[\divxlc]+\b/i;
const VOLUME = /^\s*volume\s+[\divxlc]+\s*$/i;

/**
 * Splits a novel's lines into chapters. Lines before the first heading (title page, front matter) are
 * dropped, as are volume headings; a chapter's lines are joined into paragraphs (blank line = break).
 */
export function splitChapters(lines: readonly (string | null)[]): string[] {
  const chapters: string[] = [];
  let paras: string[] | null = null;
  let para: string[] = [];
  const endPara = (): void => {
    if (paras && para.length > 0) paras.push(para.join(' '));
    para = [];
  };
  const endChapter = (): void => {
    endPara();
    if (paras && paras.length > 0) chapters.push(paras.join('\n\n'));
  };
  for (const raw of lines) {
    const line = (raw ?? '').trim();
    if (CHAPTER.test(line)) {
      endChapter();
      paras = [];
      continue;
    }
    if (line === '' || VOLUME.test(line)) endPara();
    else para.push(line);
  }
  endChapter();
  return chapters;
}

export const janeAusten: TextSource = {
  name: 'jane-austen',
  kind: 'text',
  load(root) {
    const deb = fetchDebianPackage(JANEAUSTEN_PACKAGE, JANEAUSTEN_VERSION, SHA256, root);
    const db = openLazyLoadDb(path.join(deb.root, 'usr/lib/R/site-library/janeaustenr/data'));
    const docs: TextDoc[] = [];
    for (const novel of NOVELS) {
      if (!db.names.includes(novel)) {
        throw new CorruptError(
          `Debian package ${JANEAUSTEN_PACKAGE}=${deb.provenance.version} has no novel "${novel}" (it has: ${db.names.join(', ')})`,
          'the package layout changed: update NOVELS in src/data/sources/janeausten.ts',
        );
      }
      const chapters = splitChapters(rStrings(db.get(novel), novel));
      chapters.forEach((text, i) => {
        docs.push({ id: `jane-austen/${novel}/${String(i + 1).padStart(2, '0')}`, text });
      });
    }
    return { docs, provenance: [deb.provenance] };
  },
};
