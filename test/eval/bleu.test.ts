// BLEU and chrF against the expected values in sacreBLEU 2.x's own test suite (test/test_bleu.py,
// test/test_chrf.py of mjpost/sacrebleu, its 2.x versions): the same inputs and options must give
// the same scores.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bleuFromStats,
  bleuSentenceStats,
  corpusBleu,
  corpusChrf,
  tokenize13a,
} from '../../src/eval/bleu.ts';

const README_REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const README_HYPS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

const near = (a: number, b: number, eps: number, what: string) =>
  assert.ok(Math.abs(a - b) < eps, `${what}: ${a}, sacreBLEU ${b}`);

describe('BLEU (sacreBLEU test vectors)', () => {
  test('corpus BLEU, default settings (13a, exp smoothing), two reference streams', () => {
    near(corpusBleu(README_HYPS, README_REFS).score, 48.530827, 1e-6, 'default');
    near(corpusBleu(README_HYPS, README_REFS, { tokenize: '13a' }).score, 48.530827, 1e-6, '13a');
    near(corpusBleu(README_HYPS, README_REFS, { smooth: 'none' }).score, 48.530827, 1e-6, 'no smoothing');
    near(corpusBleu(README_HYPS, README_REFS, { tokenize: 'none' }).score, 49.1919566, 1e-6, 'tok none');
  });

  test('empty hypotheses are scored, not dropped', () => {
    assert.equal(corpusBleu(['', '', ''], README_REFS).score, 0);
  });

  test('raw corpus BLEU (no tokenization, floor smoothing 0.01)', () => {
    const raw = (h: string[], r: string[]) =>
      corpusBleu(h, [r], { tokenize: 'none', smooth: 'floor', smoothValue: 0.01 }).score / 100;
    // no n-gram matches at all: 0 since sacreBLEU 2 (its issue #141; 1.x gave 0.0038 here)
    assert.equal(raw(['this is a test', 'another test'], ['ref1', 'ref2']), 0);
    near(raw(['this is a test'], ['this is a test']), 1.0, 1e-8, 'raw 2');
    near(raw(['this is a fest'], ['this is a test']), 0.223606797749979, 1e-8, 'raw 3');
  });

  test('n-gram statistics and the scoring formula', () => {
    const r = corpusBleu(['am I am a character sequence'], [['I am a symbol string sequence a a']], {
      tokenize: 'none',
      smooth: 'floor',
      smoothValue: 0.01,
    });
    assert.deepEqual(r.counts, [4, 2, 1, 0]);
    assert.deepEqual(r.totals, [6, 5, 4, 3]);
    // floor smoothing 0.1 (sacreBLEU's default floor), and none: 0
    const h = ['am I am a character sequence'];
    const ref = [['I am a symbol string sequence a a']];
    near(corpusBleu(h, ref, { tokenize: 'none', smooth: 'floor' }).score / 100, 0.1555722182, 1e-8, 'floor');
    assert.equal(corpusBleu(h, ref, { tokenize: 'none', smooth: 'none' }).score, 0);
    assert.equal(corpusBleu(h, ref, { tokenize: 'none', smooth: 'floor', smoothValue: 0 }).score, 0);
    near(bleuFromStats([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).score / 100, 0.8375922397, 1e-8, 'formula');
  });

  test('degenerate statistics give 0', () => {
    assert.equal(bleuFromStats([0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 'floor', 0).score, 0);
    assert.equal(bleuFromStats([0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 'floor', 0).score, 0);
    assert.equal(bleuFromStats([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 'floor', 0).score, 0);
    assert.equal(bleuFromStats([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 'floor', 0).score, 0);
    assert.equal(bleuFromStats([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 'floor', 0.1).score, 0);
    assert.equal(bleuFromStats([0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 'floor', 0.01).score, 0);
  });

  test('13a tokenization', () => {
    assert.equal(tokenize13a("It wasn't surprising."), "It wasn't surprising .");
    assert.equal(tokenize13a('3.5 + 4,000 -- (x) &amp; 5-6'), '3.5 + 4,000 -- ( x ) & 5 - 6');
    assert.equal(tokenize13a('"Hi," she said.'), '" Hi , " she said .');
  });

  test('brevity uses the closest reference length, a tie going to the shorter one', () => {
    // hypothesis of 4 tokens; references of 2, 5 and 9 tokens: sacreBLEU's closest is 5
    const refs = [['a b'], ['a b c d e'], ['a b c d e f g h i']];
    assert.equal(bleuSentenceStats(['a b c d'], refs)[0]!.refLen, 5);
    // 3 and 5 tokens are both 1 away from 4: the shorter, 3
    assert.equal(bleuSentenceStats(['a b c d'], [['a b c d e'], ['a b c']])[0]!.refLen, 3);
    assert.equal(bleuSentenceStats(['a b c d'], [['a b c'], ['a b c d e']])[0]!.refLen, 3);
  });

  test('reference streams must match the hypotheses', () => {
    assert.throws(
      () => corpusBleu(['a', 'b'], [['a']]),
      /reference stream 0 has 1 segments, the hypotheses have 2/,
    );
    assert.throws(() => corpusBleu(['a'], []), /at least one reference stream/);
  });
});

describe('chrF (sacreBLEU test vectors)', () => {
  // corpus_chrf(..., char_order=6, word_order=0, beta=3, eps_smoothing=True)
  const eps3: Array<[string[], string[], number]> = [
    [['abcdefg'], ['hijklmnop'], 0.0],
    [['a'], ['b'], 0.0],
    [[''], ['b'], 0.0],
    [[''], ['ref'], 0.0],
    [[''], ['reference'], 0.0],
    [['aa'], ['ab'], 8.3333],
    [['a', 'b'], ['a', 'c'], 8.3333],
    [['a'], ['a'], 16.6667],
    [['a b c'], ['a b c'], 50.0],
    [['a b c'], ['abc'], 50.0],
    [
      [
        ' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .',
      ],
      [
        'risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .',
      ],
      63.36173,
    ],
    [
      [' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. '],
      ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'],
      64.1302698,
    ],
    [
      ['Niemand hat die Absicht, eine Mauer zu errichten'],
      ['Niemand hat die Absicht, eine Mauer zu errichten'],
      100.0,
    ],
  ];
  test('eps smoothing, beta 3', () => {
    for (const [h, r, want] of eps3)
      near(corpusChrf(h, [r], { beta: 3, epsSmoothing: true }).score, want, 1e-4, JSON.stringify(h));
  });

  test('effective order (sacreBLEU 2 default smoothing), beta 3', () => {
    const eff: Array<[string[], string[], number]> = [
      [['a'], ['a'], 100.0],
      [[''], ['reference'], 0.0],
      [['a b c'], ['a b c'], 100.0],
      [['a b c'], ['abc'], 100.0],
      [[''], ['c'], 0.0],
      [['a', 'b'], ['a', 'c'], 50.0],
      [['aa'], ['ab'], 25.0],
    ];
    for (const [h, r, want] of eff)
      near(corpusChrf(h, [r], { beta: 3 }).score, want, 1e-4, JSON.stringify(h));
  });

  test('whitespace kept, beta 3', () => {
    near(
      corpusChrf(
        ['Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.'],
        [['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.']],
        { beta: 3, keepWhitespace: true },
      ).score,
      67.3481606,
      1e-4,
      'keep whitespace 1',
    );
    near(
      corpusChrf(
        [
          'risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .',
        ],
        [
          [
            'risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .',
          ],
        ],
        { beta: 3, keepWhitespace: true },
      ).score,
      65.2414427,
      1e-4,
      'keep whitespace 2',
    );
  });

  test('sentence level, default beta 2, eps smoothing (non-ASCII text)', () => {
    const cases: Array<[string, string, number]> = [
      [
        'Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.',
        'Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.',
        39.14078509,
      ],
      [
        'Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.',
        'A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.',
        31.22557079,
      ],
      [
        'Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.',
        'Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.',
        57.15704367,
      ],
    ];
    for (const [h, r, want] of cases)
      near(corpusChrf([h], [[r]], { epsSmoothing: true }).score, want, 1e-4, h);
  });

  test('several references: the best one per segment', () => {
    const one = corpusChrf(['the cat sat'], [['the cat sat']]).score;
    assert.equal(corpusChrf(['the cat sat'], [['a dog ran'], ['the cat sat']]).score, one);
    assert.equal(one, 100);
  });
});
