// The `mt-en-fr` pair source: DDTP descriptions, LibreOffice help and gettext catalogs, each
// already cleaned, joined and deduplicated across sources. Holds no parsing of its own.
import { CorruptError } from '../../engine/errors.ts';
import type { Pair, PairSource, Provenance } from '../types.ts';
import { ddtpEnFr } from './ddtp.ts';
import { gettextEnFr } from './gettext.ts';
import { libreofficeHelpEnFr } from './libreoffice-help.ts';

/** The parts, in the order that decides which source keeps a pair found in two of them. */
export const MT_EN_FR_PARTS: readonly PairSource[] = [ddtpEnFr, libreofficeHelpEnFr, gettextEnFr];

/**
 * Joins pair sources, keeping the first occurrence of each (src, tgt). Ids stay those of the
 * source that keeps the pair (`ddtp:…`, `lohelp:…`, `gettext:…`), so they are stable.
 */
export function joinPairs(parts: Array<{ pairs: Pair[] }>): Pair[] {
  const seen = new Set<string>();
  const ids = new Set<string>();
  const out: Pair[] = [];
  for (const part of parts) {
    for (const p of part.pairs) {
      const key = `${p.src}\t${p.tgt}`;
      if (seen.has(key)) continue;
      if (ids.has(p.id)) {
        throw new CorruptError(
          `two different pairs share the id ${p.id}`,
          'a source emits clashing ids: give each its own prefix',
        );
      }
      seen.add(key);
      ids.add(p.id);
      out.push(p);
    }
  }
  return out;
}

export const mtEnFr: PairSource = {
  name: 'mt-en-fr',
  kind: 'pairs',
  load(root: string): { pairs: Pair[]; provenance: Provenance[] } {
    const loaded = MT_EN_FR_PARTS.map((s) => s.load(root));
    return { pairs: joinPairs(loaded), provenance: loaded.flatMap((l) => l.provenance) };
  },
};
