// The data shapes every recipe and reader produces. No I/O here.

/** Where a piece of a corpus came from; recorded in every manifest and report. */
export interface Provenance {
  source: 'npm' | 'debian' | 'user';
  /** package name (npm or Debian) or the user's path */
  package: string;
  version: string;
  /** sha256 of the downloaded archive (.tgz / .deb) or of the user's file */
  sha256: string;
}

/** A document of running text (LM corpora). Splits are made at document level. */
export interface TextDoc {
  id: string;
  text: string;
}

/** A translation pair. */
export interface Pair {
  id: string;
  src: string;
  tgt: string;
}

/** A labelled example (classification). */
export interface LabelledExample {
  id: string;
  text: string;
  label: number;
}

export type Corpus =
  | { kind: 'text'; name: string; docs: TextDoc[]; provenance: Provenance[] }
  | { kind: 'pairs'; name: string; srcLang: string; tgtLang: string; pairs: Pair[]; provenance: Provenance[] }
  | { kind: 'labels'; name: string; labels: string[]; examples: LabelledExample[]; provenance: Provenance[] };

export type CorpusKind = Corpus['kind'];

/**
 * A source fetches one public package (or a few) and parses it into documents, pairs or
 * labelled examples. `root` is the cache root (see fetch/cache.ts). Recipes combine sources.
 */
export interface TextSource {
  name: string;
  kind: 'text';
  load(root: string): { docs: TextDoc[]; provenance: Provenance[] };
}
export interface PairSource {
  name: string;
  kind: 'pairs';
  load(root: string): { pairs: Pair[]; provenance: Provenance[] };
}
export interface LabelSource {
  name: string;
  kind: 'labels';
  load(root: string): { labels: string[]; examples: LabelledExample[]; provenance: Provenance[] };
}
export type Source = TextSource | PairSource | LabelSource;
