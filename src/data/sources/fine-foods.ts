// Amazon fine-food reviews (`small_fine_foods` from Debian r-cran-modeldata, MIT): review text and
// score class great/other, training and testing parts together (~5000). Splitting is the recipe's job.
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { fetchDebianPackage } from '../fetch/debian.ts';
import type { LabelledExample, LabelSource } from '../types.ts';
import { openLazyLoadDb, type RObject, rColumns, rStrings } from './rdata.ts';
import { decodeXmlEntities } from './sword.ts';

export const FINE_FOODS_PACKAGE = 'r-cran-modeldata';
export const FINE_FOODS_VERSION = '1.1.0-1';
const SHA256 = '66c2e08bb4bf695d972b1e72ea44d5af9ada3c42841793d3871017f7b896bf95';
export const FINE_FOODS_LABELS = ['great', 'other'];
/** The two objects the package's data/small_fine_foods.rda held, now in data/Rdata.rdb. */
const PARTS = [
  ['training_data', 'train'],
  ['testing_data', 'test'],
] as const;

/** Reviews carry scraped HTML: <br>, <p> and <div> become line breaks, other tags go, entities are decoded. */
export function cleanReview(html: string): string {
  const text = html.replace(/<br\s*\/?>|<\/?(p|div)\b[^>]*>/gi, '\n').replace(/<\/?[a-z][^>]*>/gi, '');
  return decodeXmlEntities(text)
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function partExamples(columns: Map<string, RObject>, part: string, ver: string): LabelledExample[] {
  const missing = ['review', 'score'].filter((c) => !columns.has(c));
  if (missing.length > 0) {
    throw new CorruptError(
      `Debian package ${FINE_FOODS_PACKAGE}=${ver}: small_fine_foods ${part} part lacks column(s) ${missing.join(', ')} (has ${[...columns.keys()].join(', ')})`,
      'the package layout changed: update src/data/sources/fine-foods.ts',
    );
  }
  const reviews = rStrings(columns.get('review'), 'review');
  const scores = rStrings(columns.get('score'), 'score');
  const out: LabelledExample[] = [];
  reviews.forEach((review, i) => {
    const label = FINE_FOODS_LABELS.indexOf(scores[i] ?? '');
    if (label < 0) {
      throw new CorruptError(
        `Debian package ${FINE_FOODS_PACKAGE}=${ver}: review ${i + 1} of the ${part} part has score "${scores[i]}", expected great or other`,
        'the package changed its classes: update FINE_FOODS_LABELS in src/data/sources/fine-foods.ts',
      );
    }
    const text = cleanReview(review ?? '');
    if (text) out.push({ id: `fine-foods/${part}/${String(i + 1).padStart(4, '0')}`, text, label });
  });
  return out;
}

export const fineFoods: LabelSource = {
  name: 'fine-foods',
  kind: 'labels',
  load(root) {
    const deb = fetchDebianPackage(FINE_FOODS_PACKAGE, FINE_FOODS_VERSION, SHA256, root);
    const db = openLazyLoadDb(path.join(deb.root, 'usr/lib/R/site-library/modeldata/data'));
    const examples: LabelledExample[] = [];
    for (const [object, part] of PARTS) {
      if (!db.names.includes(object)) {
        throw new CorruptError(
          `Debian package ${FINE_FOODS_PACKAGE}=${deb.provenance.version} has no R object "${object}" (small_fine_foods)`,
          'the package layout changed: update PARTS in src/data/sources/fine-foods.ts',
        );
      }
      examples.push(...partExamples(rColumns(db.get(object), object), part, deb.provenance.version));
    }
    return { labels: [...FINE_FOODS_LABELS], examples, provenance: [deb.provenance] };
  },
};
