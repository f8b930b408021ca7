// Tests of the LibreOffice help pairing on pages written here (no download), and of joining the
// three mt-en-fr sources (cross-source dedupe, stable ids).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { cleanPairs } from '../../src/data/clean-pairs.ts';
import { dropMacVariants, helpParagraphs, helpRawPairs } from '../../src/data/sources/libreoffice-help.ts';
import { joinPairs } from '../../src/data/sources/mt-en-fr.ts';
import { CorruptError } from '../../src/engine/errors.ts';

const page = (body: string) =>
  `<html><head><title>t</title></head><body><div id="DisplayArea">${body}</div></body></html>`;

const EN = page(
  '<h1 id="hd_id1" dir="auto">Headers &amp; Footers</h1>' +
    '<p id="par_id2" class="paragraph">Choose <span id="sw1" class="switchinline"><span hidden="true" class="MAC">' +
    '<span class="emph">LibreOffice - Preferences</span></span><span hidden="true"><span class="emph">Tools - Options</span></span></span>.</p>' +
    '<div class="embedded"><p id="par_id3" class="embedded">Repeated text.</p></div>' +
    '<div class="embedded"><p id="par_id3" class="embedded">Repeated again.</p></div>' +
    '<p id="par_id4">Only in English.</p><div id="nav"><p>no id</p></div>',
);
const FR = page(
  '<h1 id="hd_id1" dir="auto">En-têtes &amp; pieds de page</h1>' +
    '<p id="par_id2" class="paragraph">Choisissez <span id="sw1" class="switchinline"><span hidden="true" class="MAC">' +
    '<span class="emph">LibreOffice - Préférences</span></span><span hidden="true"><span class="emph">Outils - Options</span></span></span>.</p>' +
    '<div class="embedded"><p id="par_id3" class="embedded">Texte répété.</p></div>' +
    '<div class="embedded"><p id="par_id3" class="embedded">Répété encore.</p></div>',
);

test('macOS variants of platform switches are removed with their nested spans', () => {
  const html = 'a <span class="MAC"><span>x</span><span><b>y</b></span></span>b<span class="emph">c</span>';
  assert.equal(dropMacVariants(html), 'a b<span class="emph">c</span>');
  assert.equal(dropMacVariants('no switch'), 'no switch');
});

test('paragraphs and headings are keyed by id and repeat number', () => {
  const en = helpParagraphs(EN);
  assert.deepEqual([...en.keys()], ['hd_id1#0', 'par_id2#0', 'par_id3#0', 'par_id3#1', 'par_id4#0']);
  assert.equal(en.get('par_id3#1'), 'Repeated again.');
});

test('pages pair up by file and id, then clean into plain text', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-lohelp-'));
  try {
    for (const [lang, html] of [
      ['en-US', EN],
      ['fr', FR],
    ] as const) {
      fs.mkdirSync(path.join(root, lang, 'text', 'scalc', '01'), { recursive: true });
      fs.writeFileSync(path.join(root, lang, 'text', 'scalc', '01', 'page.html'), html);
    }
    fs.writeFileSync(path.join(root, 'en-US', 'text', 'scalc', 'only-en.html'), EN); // no French page: skipped
    const raw = helpRawPairs(path.join(root, 'en-US'), path.join(root, 'fr'));
    assert.equal(raw.length, 4);
    const { pairs } = cleanPairs('lohelp', raw, { accelerators: false });
    assert.deepEqual(
      pairs.map((p) => [p.src, p.tgt]),
      [
        ['Headers & Footers', 'En-têtes & pieds de page'],
        ['Choose Tools - Options.', 'Choisissez Outils - Options.'],
        ['Repeated text.', 'Texte répété.'],
        ['Repeated again.', 'Répété encore.'],
      ],
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('mt-en-fr join: a pair found in two sources is kept once, with the first source id', () => {
  const a = cleanPairs('ddtp', [{ src: 'Save the file', tgt: 'Enregistrer le fichier' }]).pairs;
  const b = cleanPairs('gettext', [
    { src: 'Save the file', tgt: 'Enregistrer le fichier' },
    { src: 'Open', tgt: 'Ouvrir' },
  ]).pairs;
  const joined = joinPairs([{ pairs: a }, { pairs: b }]);
  assert.deepEqual(
    joined.map((p) => p.id.split(':')[0]),
    ['ddtp', 'gettext'],
  );
  assert.deepEqual(
    joined.map((p) => p.src),
    ['Save the file', 'Open'],
  );
  const clash = [
    { id: 'x:1', src: 'a', tgt: 'b' },
    { id: 'x:1', src: 'c', tgt: 'd' },
  ];
  assert.throws(() => joinPairs([{ pairs: clash }]), CorruptError);
});
