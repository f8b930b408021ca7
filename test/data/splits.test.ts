// Tests of document-level splits: disjoint, complete, deterministic, fixed valid/test across
// seeds and input order, right sizes, and clear errors for tiny corpora and bad fractions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { itemIds, splitCorpus } from '../../src/data/splits.ts';
import type { Corpus } from '../../src/data/types.ts';
import { InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

function textCorpus(n: number, name = 'synthetic'): Corpus {
  const docs = Array.from({ length: n }, (_, i) => ({ id: `doc-${i}`, text: `document number ${i}` }));
  return { kind: 'text', name, docs, provenance: [] };
}

const sorted = (xs: string[]) => [...xs].sort();

test('no id is in two splits and every id is in one', () => {
  const c = textCorpus(1000);
  const s = splitCorpus(c, { validFraction: 0.1, testFraction: 0.05, seed: 1 });
  const tr = itemIds(s.train);
  const va = itemIds(s.valid);
  const te = itemIds(s.test);
  const all = [...tr, ...va, ...te];
  assert.equal(new Set(all).size, all.length, 'an id occurs in two splits');
  assert.deepEqual(sorted(all), sorted(itemIds(c)));
  assert.equal(va.length, 100);
  assert.equal(te.length, 50);
  assert.equal(tr.length, 850);
});

test('the same inputs give the same splits', () => {
  const c = textCorpus(500);
  const a = splitCorpus(c, { validFraction: 0.05, testFraction: 0.05, seed: 7 });
  const b = splitCorpus(c, { validFraction: 0.05, testFraction: 0.05, seed: 7 });
  assert.deepEqual(itemIds(a.train), itemIds(b.train));
  assert.deepEqual(itemIds(a.valid), itemIds(b.valid));
  assert.deepEqual(itemIds(a.test), itemIds(b.test));
});

test('the seed changes only the training order; valid/test ignore seed and input order', () => {
  const c = textCorpus(400);
  const a = splitCorpus(c, { validFraction: 0.1, testFraction: 0.1, seed: 1 });
  const b = splitCorpus(c, { validFraction: 0.1, testFraction: 0.1, seed: 2 });
  assert.deepEqual(itemIds(a.valid), itemIds(b.valid));
  assert.deepEqual(itemIds(a.test), itemIds(b.test));
  assert.deepEqual(sorted(itemIds(a.train)), sorted(itemIds(b.train)));
  assert.notDeepEqual(itemIds(a.train), itemIds(b.train));
  // shuffle the corpus itself: held-out sets are the same items
  const docs = c.kind === 'text' ? [...c.docs] : [];
  new Rng(99).shuffle(docs);
  const d = splitCorpus({ ...c, docs } as Corpus, { validFraction: 0.1, testFraction: 0.1, seed: 1 });
  assert.deepEqual(sorted(itemIds(d.valid)), sorted(itemIds(a.valid)));
  assert.deepEqual(sorted(itemIds(d.test)), sorted(itemIds(a.test)));
});

test('held-out sets depend on the corpus name (each recipe has its own)', () => {
  const a = splitCorpus(textCorpus(300, 'one'), { validFraction: 0.1, testFraction: 0.1, seed: 0 });
  const b = splitCorpus(textCorpus(300, 'two'), { validFraction: 0.1, testFraction: 0.1, seed: 0 });
  assert.notDeepEqual(itemIds(a.test), itemIds(b.test));
});

test('held-out items are spread over the corpus, not taken from one end', () => {
  const s = splitCorpus(textCorpus(1000), { validFraction: 0.1, testFraction: 0.1, seed: 0 });
  const idx = itemIds(s.test).map((id) => Number(id.slice(4)));
  const firstHalf = idx.filter((i) => i < 500).length;
  assert.ok(firstHalf > 30 && firstHalf < 70, `test items in first half: ${firstHalf} of 100`);
});

test('pairs and labelled corpora split by item and keep their kind and fields', () => {
  const pairs: Corpus = {
    kind: 'pairs',
    name: 'p',
    srcLang: 'en',
    tgtLang: 'fr',
    provenance: [],
    pairs: Array.from({ length: 40 }, (_, i) => ({ id: `p${i}`, src: `hello ${i}`, tgt: `bonjour ${i}` })),
  };
  const s = splitCorpus(pairs, { validFraction: 0.1, testFraction: 0.1, seed: 3 });
  assert.equal(s.test.kind, 'pairs');
  assert.equal(s.test.kind === 'pairs' && s.test.tgtLang, 'fr');
  assert.equal(itemIds(s.train).length + itemIds(s.valid).length + itemIds(s.test).length, 40);
  const labels: Corpus = {
    kind: 'labels',
    name: 'l',
    labels: ['neg', 'pos'],
    provenance: [],
    examples: Array.from({ length: 20 }, (_, i) => ({ id: `e${i}`, text: `t ${i}`, label: i % 2 })),
  };
  const t = splitCorpus(labels, { validFraction: 0.1, testFraction: 0.1, seed: 3 });
  assert.equal(t.valid.kind === 'labels' && t.valid.examples.length, 2);
  assert.deepEqual(t.valid.kind === 'labels' && t.valid.labels, ['neg', 'pos']);
});

test('tiny corpora: 3 items give one per split, fewer is a clear error, 0 fractions keep everything', () => {
  const s = splitCorpus(textCorpus(3), { validFraction: 0.05, testFraction: 0.05, seed: 0 });
  assert.deepEqual([itemIds(s.train).length, itemIds(s.valid).length, itemIds(s.test).length], [1, 1, 1]);
  for (const n of [1, 2]) {
    assert.throws(
      () => splitCorpus(textCorpus(n), { validFraction: 0.05, testFraction: 0.05, seed: 0 }),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.match(e.message, new RegExp(`has ${n} item`));
        assert.match(e.hint ?? '', /fractions to 0/);
        return true;
      },
    );
  }
  const one = splitCorpus(textCorpus(1), { validFraction: 0, testFraction: 0, seed: 0 });
  assert.equal(itemIds(one.train).length, 1);
  assert.equal(itemIds(one.test).length, 0);
  assert.throws(() => splitCorpus(textCorpus(0), { validFraction: 0, testFraction: 0, seed: 0 }), InputError);
});

test('bad fractions and duplicate ids are InputErrors', () => {
  const c = textCorpus(10);
  assert.throws(() => splitCorpus(c, { validFraction: -0.1, testFraction: 0.1, seed: 0 }), InputError);
  assert.throws(() => splitCorpus(c, { validFraction: 0.6, testFraction: 0.5, seed: 0 }), InputError);
  assert.throws(() => splitCorpus(c, { validFraction: Number.NaN, testFraction: 0.1, seed: 0 }), InputError);
  const dup: Corpus = {
    kind: 'text',
    name: 'd',
    provenance: [],
    docs: [
      { id: 'a', text: 'x' },
      { id: 'a', text: 'y' },
      { id: 'b', text: 'z' },
    ],
  };
  assert.throws(() => splitCorpus(dup, { validFraction: 0, testFraction: 0, seed: 0 }), /id "a" twice/);
});
