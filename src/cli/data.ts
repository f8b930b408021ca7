// `tlc data list | fetch NAME | stats NAME|PATH`: parse flags, call src/data, print. Results go to
// stdout (`--json` for machines), progress to stderr. Holds no data logic of its own; src/data
// loads when a command runs (see commands.ts).
import type { Command } from 'commander';
import type { CorpusStats } from '../data/load.ts';
import type { CorpusKind, Provenance } from '../data/types.ts';
import { arg, num } from './flags.ts';

/** The src/data functions the commands call, loaded on first use. */
async function dataLib() {
  const [cache, fetch, load, recipes, splits] = await Promise.all([
    import('../data/corpus-cache.ts'),
    import('../data/fetch/cache.ts'),
    import('../data/load.ts'),
    import('../data/recipes.ts'),
    import('../data/splits.ts'),
  ]);
  return { ...cache, ...fetch, ...load, ...recipes, ...splits };
}

const KINDS: CorpusKind[] = ['text', 'pairs', 'labels'];
const log = (msg: string) => void process.stderr.write(`${msg}\n`);
const out = (s: string) => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

/** A split fraction flag; absent: the recipe's own (or the default). */
function fraction(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  return num(flag, v, { min: 0, lt: 1, what: 'a fraction in [0, 1)', example: '0.05' });
}

function fmtProvenance(p: Provenance[]): string[] {
  return p.map(
    (x) => `  ${x.source} ${x.package}${x.source === 'user' ? '' : `@${x.version}`}  sha256 ${x.sha256}`,
  );
}

async function listAction(opts: { json?: boolean }): Promise<void> {
  const { cacheRoot, cachedManifest, listRecipes, recipeExpected } = await dataLib();
  const root = cacheRoot();
  const rows = listRecipes().map((r) => ({
    name: r.name,
    kind: r.kind,
    version: r.version,
    description: r.description,
    sources: r.sources.map((s) => s.name),
    expected: recipeExpected(r),
    split: r.split,
    cached: cachedManifest(r, root) !== null,
  }));
  if (opts.json) {
    out(JSON.stringify({ cacheRoot: root, recipes: rows }, null, 2));
    return;
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const e = r.expected
      ? `${r.expected.items} items, ${(r.expected.words / 1e6).toFixed(2)} M words`
      : 'counts not pinned';
    out(
      `${r.name.padEnd(w)}  ${r.kind.padEnd(6)}  ${r.cached ? 'cached ' : '       '}  ${e}\n${' '.repeat(w + 2)}${r.description}`,
    );
  }
  out(`cache: ${root}`);
}

async function fetchAction(name: string, opts: { json?: boolean }): Promise<void> {
  const { cacheRoot, cachedManifest, corpusStats, fetchRecipe, getRecipe, recipeCacheDir } = await dataLib();
  const root = cacheRoot();
  const r = getRecipe(name);
  const corpus = fetchRecipe(r.name, { root, log });
  const m = cachedManifest(r, root);
  const s = corpusStats(corpus);
  const res = {
    name: r.name,
    kind: corpus.kind,
    dir: recipeCacheDir(r.name, root),
    items: s.items,
    words: s.words,
    bytes: s.bytes,
    manifest: m,
  };
  if (opts.json) {
    out(JSON.stringify(res, null, 2));
    return;
  }
  out(`${r.name}: ${s.items} items, ${s.words} words, ${s.bytes} bytes (${corpus.kind})`);
  out(`cached in ${res.dir}`);
  out(['provenance:', ...fmtProvenance(corpus.provenance)].join('\n'));
}

interface StatsOpts {
  json?: boolean;
  kind?: CorpusKind;
  valid?: string;
  test?: string;
  seed: number;
}

async function statsAction(spec: string, opts: StatsOpts): Promise<void> {
  const { cacheRoot, corpusStats, loadData, splitCorpus, splitFractionsFor } = await dataLib();
  const dflt = splitFractionsFor(spec);
  const validFraction = fraction('--valid', opts.valid, dflt.validFraction);
  const testFraction = fraction('--test', opts.test, dflt.testFraction);
  const seed = opts.seed;
  const corpus = loadData(spec, { root: cacheRoot(), kind: opts.kind, log });
  const total = corpusStats(corpus);
  const sp = splitCorpus(corpus, { validFraction, testFraction, seed });
  const split = (c: typeof corpus) => {
    const s = corpusStats(c);
    return { items: s.items, words: s.words, bytes: s.bytes };
  };
  const splits = { train: split(sp.train), valid: split(sp.valid), test: split(sp.test) };
  const res = {
    name: corpus.name,
    spec,
    ...total,
    ...(corpus.kind === 'labels' ? { labels: corpus.labels } : {}),
    split: { validFraction, testFraction },
    splits,
    provenance: corpus.provenance,
  };
  if (opts.json) {
    out(JSON.stringify(res, null, 2));
    return;
  }
  out(statsText(corpus.name, total, splits, corpus.provenance));
}

function statsText(
  name: string,
  s: CorpusStats,
  splits: Record<string, { items: number; words: number }>,
  prov: Provenance[],
): string {
  const lines = [
    `${name} (${s.kind}): ${s.items} items, ${s.words} words, ${s.chars} chars, ${s.bytes} bytes`,
  ];
  if (s.srcWords !== undefined) lines.push(`  source words ${s.srcWords}, target words ${s.tgtWords}`);
  if (s.perLabel)
    lines.push(
      `  per label: ${Object.entries(s.perLabel)
        .map(([l, n]) => `${l}=${n}`)
        .join(', ')}`,
    );
  for (const [k, v] of Object.entries(splits))
    lines.push(`  ${k.padEnd(5)} ${v.items} items, ${v.words} words`);
  lines.push('provenance:', ...fmtProvenance(prov));
  return lines.join('\n');
}

export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description(
      'corpora: list the recipes, fetch one into the cache, show counts of a recipe or your own files',
    );
  data
    .command('list')
    .description('list the data recipes')
    .option('--json', 'machine-readable output on stdout')
    .action(listAction);
  data
    .command('fetch')
    .description('fetch a recipe into the cache ($TLC_CACHE, default ~/.cache/tlc) and verify its counts')
    .argument('<name>', 'recipe name (see `tlc data list`)')
    .option('--json', 'machine-readable output on stdout')
    .action(fetchAction);
  data
    .command('stats')
    .description(
      'counts of a recipe or of your own files (.txt/.md/.jsonl/.tsv, or a folder), with per-split counts and provenance',
    )
    .argument('<data>', 'recipe name or path')
    .option('--json', 'machine-readable output on stdout')
    .option(
      '--kind <kind>',
      'text | pairs | labels (needed for a 2-column TSV without a header row)',
      arg.oneOf('--kind', KINDS),
    )
    .option('--valid <fraction>', "validation fraction (default: the recipe's, else 0.05)")
    .option('--test <fraction>', "test fraction (default: the recipe's, else 0.05)")
    .option(
      '--seed <n>',
      'training-order seed (does not change valid/test)',
      arg.int('--seed', { min: 0 }),
      0,
    )
    .action(statsAction);
}
