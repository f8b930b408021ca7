// Pang & Lee sentence polarity (4000 movie-review sentences, 2000 per class) from the test corpora of
// Debian python3-pattern. Personal use only per its README: fetched at run time, never committed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { fetchDebianPackage } from '../fetch/debian.ts';
import type { LabelledExample, LabelSource } from '../types.ts';

export const PATTERN_PACKAGE = 'python3-pattern';
export const PATTERN_VERSION = '2.6+git20180818-4';
const SHA256 = '9bdb8e36c780db9c701fa9519425c0217fbab2bc1af28eb127caaa6bde7fc4b1';
export const POLARITY_LABELS = ['negative', 'positive'];
const CORPORA_DIR = 'usr/share/doc/python3-pattern/test/corpora';
/** The package holds two Pang & Lee files (its README swaps their names): the sentence set has ~4000 rows. */
const FILE_PATTERN = /^polarity-en-pang&lee\d*\.csv$/;
const SENTENCES = 4000;

/**
 * RFC-4180 CSV: quoted fields may hold commas, newlines and doubled quotes; a leading BOM is
 * skipped. Returns rows of fields. A quote left open at the end of the text is an error.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted)
    throw new CorruptError(
      'CSV text ends inside a quoted field',
      'the file is truncated: delete it and fetch it again',
    );
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** Rows `"1"|"-1", "sentence"` → examples (label 1 = positive, 0 = negative). */
export function polarityExamples(rows: string[][], source: string): LabelledExample[] {
  return rows.map((row, i) => {
    const [score, text] = row;
    if (row.length !== 2 || (score !== '1' && score !== '-1')) {
      throw new CorruptError(
        `${source} row ${i + 1}: expected two fields "1"|"-1","text", found ${JSON.stringify(row).slice(0, 80)}`,
        'the corpus file changed or is damaged: delete the cached package folder and retry',
      );
    }
    return {
      id: `pattern-polarity/${String(i + 1).padStart(4, '0')}`,
      text: (text ?? '').replace(/\s+/g, ' ').trim(),
      label: score === '1' ? 1 : 0,
    };
  });
}

export const patternPolarity: LabelSource = {
  name: 'pattern-polarity',
  kind: 'labels',
  load(root) {
    const deb = fetchDebianPackage(PATTERN_PACKAGE, PATTERN_VERSION, SHA256, root);
    const dir = path.join(deb.root, CORPORA_DIR);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => FILE_PATTERN.test(f)) : [];
    const parsed = files.map((f) => ({ f, rows: parseCsv(fs.readFileSync(path.join(dir, f), 'utf8')) }));
    const best = parsed.sort(
      (a, b) => Math.abs(a.rows.length - SENTENCES) - Math.abs(b.rows.length - SENTENCES),
    )[0];
    if (!best || Math.abs(best.rows.length - SENTENCES) > SENTENCES * 0.1) {
      throw new CorruptError(
        `Debian package ${PATTERN_PACKAGE}=${deb.provenance.version} has no Pang & Lee sentence file of ~${SENTENCES} rows in ${CORPORA_DIR} ` +
          `(found: ${parsed.map((p) => `${p.f} with ${p.rows.length} rows`).join(', ') || 'none'})`,
        'the package layout changed: update src/data/sources/pattern-polarity.ts',
      );
    }
    const examples = polarityExamples(best.rows, `${PATTERN_PACKAGE}/${best.f}`).filter((x) => x.text !== '');
    return { labels: [...POLARITY_LABELS], examples, provenance: [deb.provenance] };
  },
};
