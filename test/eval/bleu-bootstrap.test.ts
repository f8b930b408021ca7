// Paired bootstrap for corpus BLEU: per-sentence statistics sum to sacreBLEU's corpus BLEU, a
// resample is the corpus BLEU of the resampled corpus (not a mean of sentence BLEU), and the
// interval behaves on cases with a known answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bleuSentenceStats, corpusBleu } from '../../src/eval/bleu.ts';
import {
  bleuOfStats,
  bootstrapDraws,
  decideInterval,
  pairedBleuBootstrap,
  quantileSorted,
} from '../../src/eval/bleu-bootstrap.ts';

const REFS = [
  'Où est-ce qu’il a mis l’été ?',
  'Le chat dort sur le canapé.',
  'Ouvrir le fichier de configuration',
  'Impossible de lire le répertoire « home ».',
  'Enregistrer les modifications avant de quitter ?',
  'La mise à jour a échoué.',
  'Afficher les fichiers cachés',
  'Le serveur ne répond pas.',
];
const GOOD = [
  'Où est-ce qu’il a mis l’été ?',
  'Le chat dort sur le canapé.',
  'Ouvrir le fichier de configuration',
  'Impossible de lire le répertoire « home ».',
  'Enregistrer les modifications avant de quitter ?',
  'La mise à jour a échoué.',
  'Afficher les fichiers cachés',
  'Le serveur ne répond pas.',
];
const MID = [
  'Où est il a mis été ?',
  'Le chat dort sur le lit.',
  'Ouvrir le fichier',
  'Impossible de lire le dossier « home ».',
  'Enregistrer les changements avant de partir ?',
  'La mise à jour est échouée.',
  'Montrer les fichiers cachés',
  'Le serveur ne marche pas.',
];
const BAD = [
  'Il est où ?',
  'Un chien mange.',
  'Fermer tout',
  'Lire maintenant',
  'Quitter ?',
  'Mise',
  'Fichiers',
  'Serveur.',
];

describe('BLEU sentence statistics', () => {
  test('summed, they give corpusBleu exactly (sacreBLEU’s corpus statistics)', () => {
    for (const hyps of [GOOD, MID, BAD]) {
      const st = bleuSentenceStats(hyps, [REFS]);
      assert.equal(st.length, hyps.length);
      assert.ok(Math.abs(bleuOfStats(st) - corpusBleu(hyps, [REFS]).score) < 1e-9);
    }
  });

  test('a resample is the corpus BLEU of the resampled corpus, not a mean of sentence BLEU', () => {
    const st = bleuSentenceStats(MID, [REFS]);
    const idx = Int32Array.from([2, 2, 6, 6, 6, 0, 0, 1]);
    const hyps = Array.from(idx, (i) => MID[i]!);
    const refs = Array.from(idx, (i) => REFS[i]!);
    const corpus = corpusBleu(hyps, [refs]).score;
    assert.ok(Math.abs(bleuOfStats(st, idx) - corpus) < 1e-9);
    const meanSentence = hyps.reduce((s, h, i) => s + corpusBleu([h], [[refs[i]!]]).score, 0) / hyps.length;
    assert.ok(Math.abs(meanSentence - corpus) > 1, `mean sentence BLEU ${meanSentence} vs corpus ${corpus}`);
  });
});

describe('paired bootstrap of BLEU', () => {
  test('identical systems: difference 0, interval [0, 0], inside the noise', () => {
    const st = bleuSentenceStats(MID, [REFS]);
    const d = pairedBleuBootstrap(st, st);
    assert.equal(d.diff, 0);
    assert.equal(d.low, 0);
    assert.equal(d.high, 0);
    assert.equal(d.resamples, 1000);
    assert.equal(decideInterval(d), 0);
  });

  test('a system better on every sentence: the interval lies above 0', () => {
    const a = bleuSentenceStats(GOOD, [REFS]);
    const b = bleuSentenceStats(BAD, [REFS]);
    const d = pairedBleuBootstrap(a, b);
    assert.ok(d.diff > 50, `diff ${d.diff}`);
    assert.ok(d.low > 0, `low ${d.low}`);
    assert.ok(d.low <= d.diff + 1e-9 || d.high >= d.diff - 1e-9);
    assert.equal(decideInterval(d), -1);
    const r = pairedBleuBootstrap(b, a);
    assert.ok(r.high < 0);
    assert.equal(decideInterval(r), 1);
  });

  test('a system better on one sentence only, the same elsewhere: inside the noise', () => {
    const mixed = [...MID];
    mixed[2] = REFS[2]!;
    const d = pairedBleuBootstrap(bleuSentenceStats(mixed, [REFS]), bleuSentenceStats(MID, [REFS]));
    assert.ok(d.diff > 0);
    assert.ok(d.low <= 0, `low ${d.low}`); // a draw without sentence 2 gives exactly 0
    assert.equal(decideInterval(d), 0);
  });

  test('seeded: the same draws every time, other draws with another seed', () => {
    const a = bootstrapDraws(50, 10, 7);
    const b = bootstrapDraws(50, 10, 7);
    const c = bootstrapDraws(50, 10, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const d of a) for (const i of d) assert.ok(i >= 0 && i < 50);
  });

  test('percentiles as numpy’s linear quantile', () => {
    const s = Float64Array.from([1, 2, 3, 4, 5]);
    assert.equal(quantileSorted(s, 0.5), 3);
    assert.equal(quantileSorted(s, 0.025), 1.1);
    assert.ok(Math.abs(quantileSorted(s, 0.975) - 4.9) < 1e-12);
  });

  test('systems that translated different sentences are refused', () => {
    assert.throws(
      () =>
        pairedBleuBootstrap(bleuSentenceStats(MID, [REFS]), bleuSentenceStats(MID.slice(1), [REFS.slice(1)])),
      /same ones/,
    );
  });
});
