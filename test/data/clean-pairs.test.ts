// Tests of the translation-pair cleaning: markup, entities, accelerators, placeholders, filters,
// dedupe, stable ids, and splitting multi-line strings into aligned units. Inline samples only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alignUnits,
  cleanOne,
  cleanPairs,
  DEFAULT_CLEAN,
  decodeEntities,
  hasUnderscoreAccelerator,
  pairId,
  placeholders,
  stripAccelerators,
  stripMarkup,
  textUnits,
} from '../../src/data/clean-pairs.ts';

test('markup: known tags go (block tags leave a space), unknown <words> and entities stay right', () => {
  assert.equal(stripMarkup('<b>Bold</b> and <span class="emph">Tools</span>'), 'Bold and Tools');
  assert.equal(stripMarkup('one<br/>two<p>three</p>'), 'one two three ');
  assert.equal(stripMarkup('Usage: cp <source> <dest>'), 'Usage: cp <source> <dest>');
  assert.equal(
    stripMarkup('Headers &amp; Footers &lt;x&gt; caf&eacute; &#233;&#xE9; &bogus;'),
    'Headers & Footers <x> café éé &bogus;',
  );
  assert.equal(decodeEntities('&quot;a&quot;&nbsp;&raquo;'), '"a" »');
});

test('accelerators: _ & ~ marks go; identifiers, R&D, "& ", ~/ stay', () => {
  assert.equal(stripAccelerators('_File'), 'File');
  assert.equal(stripAccelerators('Save _As…'), 'Save As…');
  assert.equal(stripAccelerators('E_xit'), 'Exit');
  assert.equal(stripAccelerators('&Open'), 'Open');
  assert.equal(stripAccelerators('Lan&gue :'), 'Langue :');
  assert.equal(stripAccelerators('~Save'), 'Save');
  assert.equal(stripAccelerators('R&D && more & less'), 'R&D & more & less');
  assert.equal(stripAccelerators('see ~/.config'), 'see ~/.config');
  assert.equal(stripAccelerators('set LC_ALL'), 'set LC_ALL');
  assert.equal(stripAccelerators('the file_name key'), 'the file_name key');
  assert.equal(stripAccelerators('a_b and c_d'), 'a_b and c_d');
  assert.equal(hasUnderscoreAccelerator('Te_xt direction'), true);
  assert.equal(hasUnderscoreAccelerator('Direction du te_xte'), false);
  // within a pair, the English side's clear accelerator vouches for the French mid-word one
  const c = cleanOne('Te_xt direction:', 'Direction du te_xte :', DEFAULT_CLEAN);
  assert.deepEqual([c.src, c.tgt, c.drop], ['Text direction:', 'Direction du texte :', null]);
});

test('placeholders: printf, positional, Qt, braces and shell forms are found and normalized', () => {
  assert.deepEqual(placeholders('%s of %d (%-10lu) %1$s %2$d 100%% %qs'), [
    '%d',
    '%d',
    '%s',
    '%s',
    '%s',
    '%u',
  ]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell-style placeholders are the subject here
  assert.deepEqual(placeholders('%1 and %PRODUCTNAME, {0} {name} $HOME ${X} $(cmd) $1'), [
    '$(cmd)',
    '$1',
    '$HOME',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
    '${X}',
    '%1',
    '%PRODUCTNAME',
    '{0}',
    '{name}',
  ]);
  assert.deepEqual(placeholders('50 % des fichiers, 3 %'), []);
  // reordered positional arguments are the same set
  assert.deepEqual(placeholders('%1$s copied to %2$s'), placeholders('vers %2$s : %1$s copié'));
});

test('filters: each reason drops what it should and keeps the rest', () => {
  const raw = [
    { src: 'Open the <b>file</b>', tgt: 'Ouvrir le <b>fichier</b>' }, // kept
    { src: 'Open the file', tgt: 'Ouvrir le fichier' }, // duplicate after cleaning
    { src: '%s', tgt: '%s' }, // empty (no letters)
    { src: 'Gtk', tgt: 'GTK' }, // identical (untranslated)
    { src: 'Deleted %d files in %s', tgt: '%d fichiers supprimés' }, // placeholders differ
    { src: Array(201).fill('word').join(' '), tgt: Array(201).fill('mot').join(' ') }, // too long
    { src: 'OK', tgt: 'Une phrase beaucoup trop longue pour être la traduction de deux lettres' }, // ratio
    { src: '  Copy\u00a0 %s\n', tgt: 'Copier\u202f%s' }, // kept, whitespace normalized
    { src: '* fast  mode', tgt: '• mode rapide' }, // kept, list marks removed
  ];
  const { pairs, stats } = cleanPairs('t', raw);
  assert.deepEqual(
    pairs.map((p) => [p.src, p.tgt]),
    [
      ['Open the file', 'Ouvrir le fichier'],
      ['Copy %s', 'Copier %s'],
      ['fast mode', 'mode rapide'],
    ],
  );
  assert.deepEqual(stats, {
    input: 9,
    kept: 3,
    empty: 1,
    identical: 1,
    placeholders: 1,
    tooLong: 1,
    ratio: 1,
    duplicate: 1,
  });
});

test('ids depend on the text only and carry the source name', () => {
  const a = cleanPairs('ddtp', [
    { src: 'a cat', tgt: 'un chat' },
    { src: 'a dog', tgt: 'un chien' },
  ]).pairs;
  const b = cleanPairs('ddtp', [
    { src: 'a dog', tgt: 'un chien' },
    { src: 'a cat', tgt: 'un chat' },
  ]).pairs;
  assert.equal(a[0]!.id, b[1]!.id);
  assert.equal(a[0]!.id, pairId('ddtp', 'a cat', 'un chat'));
  assert.match(a[0]!.id, /^ddtp:[0-9a-f]{16}$/);
  assert.notEqual(a[0]!.id, a[1]!.id);
  assert.notEqual(pairId('gettext', 'a cat', 'un chat'), a[0]!.id);
});

test('units: wrapped lines join, options and bullets split, alignment only when both sides agree', () => {
  const en =
    'Copy files.\nMore text here.\n\n  -a, --all     do not ignore\n                entries\n  -v            verbose';
  const fr =
    'Copie des\nfichiers. Plus de texte.\n\n  -a, --all     ne pas ignorer\n                les entrées\n  -v            bavard';
  assert.deepEqual(textUnits(en), [
    'Copy files. More text here.',
    '-a, --all     do not ignore entries',
    '-v            verbose',
  ]);
  assert.deepEqual(
    alignUnits(en, fr).map((p) => [p.src, p.tgt]),
    [
      ['Copy files. More text here.', 'Copie des fichiers. Plus de texte.'],
      ['-a, --all     do not ignore entries', '-a, --all     ne pas ignorer les entrées'],
      ['-v            verbose', '-v            bavard'],
    ],
  );
  // different unit counts, or options that do not match: kept whole
  assert.equal(alignUnits(en, 'Copie.\n\n-a tout').length, 1);
  assert.equal(alignUnits(' * one\n * two', ' * un\n * deux').length, 2);
  assert.deepEqual(alignUnits('-a all\n-b bee', '-b abeille\n-a tout'), [
    { src: '-a all\n-b bee', tgt: '-b abeille\n-a tout' },
  ]);
});
