// Debian package descriptions (DDTP): English long descriptions as documents (`ddtp-en`), and
// English–French paragraph pairs joined on Description-md5 (`ddtp-en-fr`). Fetching is fetch/apt-lists.ts.
import { createHash } from 'node:crypto';
import { CorruptError } from '../../engine/errors.ts';
import { alignUnits, cleanPairs, textUnits } from '../clean-pairs.ts';
import {
  catIndex,
  type Description,
  fetchTranslationLists,
  parseDeb822,
  parseDescription,
} from '../fetch/apt-lists.ts';
import type { Pair, PairSource, Provenance, TextDoc, TextSource } from '../types.ts';

export interface DdtpEntry {
  /** the first package (in index order) carrying this description */
  package: string;
  md5: string;
  description: Description;
}

/** Above this fraction of English records whose text does not hash to their md5, the index is broken. */
const MAX_MD5_MISMATCH = 0.01;

/**
 * Descriptions of one Translation-xx index keyed by Description-md5 (first record wins). For English,
 * the md5 of each description is checked: it is how Debian names the text, so most must match.
 */
export function readDescriptions(text: string, lang: string): Map<string, DdtpEntry> {
  const out = new Map<string, DdtpEntry>();
  let checked = 0;
  let mismatched = 0;
  for (const r of parseDeb822(text)) {
    const value = r[`Description-${lang}`];
    const md5 = r['Description-md5'];
    const pkg = r['Package'];
    if (value === undefined || !md5 || !pkg) continue;
    if (lang === 'en') {
      checked++;
      if (createHash('md5').update(`${value}\n`).digest('hex') !== md5) mismatched++;
    }
    if (!out.has(md5)) out.set(md5, { package: pkg, md5, description: parseDescription(value) });
  }
  if (out.size === 0 || mismatched > MAX_MD5_MISMATCH * checked) {
    throw new CorruptError(
      `Translation-${lang} holds ${out.size} descriptions, ${mismatched} of ${checked} English ones not matching their md5`,
      'the index or its parser is broken: delete the apt-lists folder in the cache and retry',
    );
  }
  return out;
}

/** A paragraph's lines as text: wrapped lines joined, one line per bullet or option item. */
export function paragraphText(lines: string[]): string {
  return textUnits(lines.join('\n')).join('\n');
}

/** One document per description: the synopsis, a blank line, then its paragraphs. */
export function descriptionText(d: Description): string {
  return [d.synopsis, ...d.paragraphs.map(paragraphText)].join('\n\n');
}

function loadLang(root: string, lang: string): { map: Map<string, DdtpEntry>; provenance: Provenance[] } {
  const lists = fetchTranslationLists(root);
  const file = lists.files[lang]!;
  const prov = lists.provenance.filter((p) => p.package === `Translation-${lang}`);
  return { map: readDescriptions(catIndex(file), lang), provenance: prov };
}

export const ddtpEnglish: TextSource = {
  name: 'ddtp-en',
  kind: 'text',
  load(root: string): { docs: TextDoc[]; provenance: Provenance[] } {
    const { map, provenance } = loadLang(root, 'en');
    const seen = new Set<string>();
    const docs: TextDoc[] = [];
    for (const e of map.values()) {
      const text = descriptionText(e.description);
      if (seen.has(text)) continue;
      seen.add(text);
      docs.push({ id: `ddtp-en:${e.package}:${e.md5.slice(0, 8)}`, text });
    }
    return { docs, provenance };
  },
};

/**
 * Raw English–French pairs: the synopses, then paragraph by paragraph when both descriptions have
 * the same number of paragraphs (else the description is skipped: its paragraphs may not align).
 */
export function ddtpRawPairs(
  en: Map<string, DdtpEntry>,
  fr: Map<string, DdtpEntry>,
): Array<{ src: string; tgt: string }> {
  const raw: Array<{ src: string; tgt: string }> = [];
  for (const [md5, f] of fr) {
    const e = en.get(md5);
    if (!e || e.description.paragraphs.length !== f.description.paragraphs.length) continue;
    raw.push({ src: e.description.synopsis, tgt: f.description.synopsis });
    e.description.paragraphs.forEach((p, i) => {
      raw.push(...alignUnits(p.join('\n'), f.description.paragraphs[i]!.join('\n')));
    });
  }
  return raw;
}

export const ddtpEnFr: PairSource = {
  name: 'ddtp-en-fr',
  kind: 'pairs',
  load(root: string): { pairs: Pair[]; provenance: Provenance[] } {
    const en = loadLang(root, 'en');
    const fr = loadLang(root, 'fr');
    const { pairs } = cleanPairs('ddtp', ddtpRawPairs(en.map, fr.map), { accelerators: false });
    return { pairs, provenance: [...en.provenance, ...fr.provenance] };
  },
};
