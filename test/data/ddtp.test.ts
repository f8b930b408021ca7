// Tests of the DDTP pieces on inline samples: deb822 records, descriptions and their paragraphs,
// clear-signed Release text, the md5 check, and joining English and French into paragraph pairs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  catIndex,
  fetchTranslationLists,
  osCodename,
  parseDeb822,
  parseDescription,
  unsign,
} from '../../src/data/fetch/apt-lists.ts';
import { ddtpRawPairs, descriptionText, readDescriptions } from '../../src/data/sources/ddtp.ts';
import { CorruptError } from '../../src/engine/errors.ts';

const md5 = (s: string) => createHash('md5').update(`${s}\n`).digest('hex');

/** A Translation-xx record in deb822 form (Description value: synopsis line + continuation lines). */
function record(pkg: string, lang: string, description: string, sum = md5(description)): string {
  return `Package: ${pkg}\nDescription-md5: ${sum}\nDescription-${lang}: ${description}\n`;
}

const EN_TOOL =
  'tool to frob widgets\n Frob reads widgets and\n frobs them quickly.\n .\n Features:\n  * fast\n  * small';
const FR_TOOL =
  'outil pour frobber des widgets\n Frob lit des widgets\n et les frobbe vite.\n .\n Fonctions :\n  * rapide\n  * petit';
const EN_DOC = 'documentation for frob\n This package contains the manual.\n .\n It is long.';
const FR_DOC = 'documentation de frob\n Ce paquet contient le manuel.'; // one paragraph fewer

test('deb822: stanzas, fields, continuation lines kept verbatim, comments skipped', () => {
  const text = `# comment\nPackage: a\nDescription-md5: 00\nDescription-en: short\n line one\n .\n line two\n\n\nPackage: b\nX-Field:  spaced value \n`;
  assert.deepEqual(parseDeb822(text), [
    { Package: 'a', 'Description-md5': '00', 'Description-en': 'short\n line one\n .\n line two' },
    { Package: 'b', 'X-Field': 'spaced value' },
  ]);
  assert.throws(() => parseDeb822(' orphan continuation\n'), CorruptError);
  assert.throws(() => parseDeb822('no colon here\n'), CorruptError);
});

test('descriptions: synopsis, paragraphs at " ." lines and at lines of non-breaking space', () => {
  const d = parseDescription('syn\n para one\n wrapped\n .\n para two\n \u00a0\n para three');
  assert.equal(d.synopsis, 'syn');
  assert.deepEqual(d.paragraphs, [['para one', 'wrapped'], ['para two'], ['para three']]);
  assert.equal(
    descriptionText(parseDescription(EN_TOOL)),
    'tool to frob widgets\n\nFrob reads widgets and frobs them quickly.\n\nFeatures:\n* fast\n* small',
  );
});

test('clear-signed Release text: the signed part only, dash-escapes undone', () => {
  const signed =
    '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: oldstable\n- -dash\n-----BEGIN PGP SIGNATURE-----\nabc\n';
  assert.equal(unsign(signed), 'Suite: oldstable\n-dash');
  assert.equal(unsign('Suite: x\n'), 'Suite: x\n');
});

test('readDescriptions keys by md5 (first package wins) and refuses an index whose md5s do not match', () => {
  const en = readDescriptions(
    [record('frob', 'en', EN_TOOL), record('frob2', 'en', EN_TOOL), record('frob-doc', 'en', EN_DOC)].join(
      '\n',
    ),
    'en',
  );
  assert.deepEqual(
    [...en.values()].map((e) => e.package),
    ['frob', 'frob-doc'],
  );
  const broken = [
    record('frob', 'en', EN_TOOL, 'f'.repeat(32)),
    record('frob-doc', 'en', EN_DOC, 'e'.repeat(32)),
  ].join('\n');
  assert.throws(
    () => readDescriptions(broken, 'en'),
    (e) => e instanceof CorruptError && /2 of 2/.test(e.message),
  );
  // French records carry the md5 of the English text, so they are not checked
  const fr = readDescriptions(record('frob', 'fr', FR_TOOL, md5(EN_TOOL)), 'fr');
  assert.equal(fr.get(md5(EN_TOOL))!.description.synopsis, 'outil pour frobber des widgets');
});

test('pairs: joined on md5, paragraph by paragraph, bullets aligned; mismatched descriptions skipped', () => {
  const en = readDescriptions(
    [record('frob', 'en', EN_TOOL), record('frob-doc', 'en', EN_DOC)].join('\n'),
    'en',
  );
  const fr = readDescriptions(
    [
      record('frob', 'fr', FR_TOOL, md5(EN_TOOL)),
      record('frob-doc', 'fr', FR_DOC, md5(EN_DOC)),
      record('orphan', 'fr', 'x', 'a'.repeat(32)),
    ].join('\n'),
    'fr',
  );
  assert.deepEqual(ddtpRawPairs(en, fr), [
    { src: 'tool to frob widgets', tgt: 'outil pour frobber des widgets' },
    { src: 'Frob reads widgets and\nfrobs them quickly.', tgt: 'Frob lit des widgets\net les frobbe vite.' },
    { src: 'Features:', tgt: 'Fonctions :' },
    { src: '* fast', tgt: '* rapide' },
    { src: '* small', tgt: '* petit' },
  ]);
});

test('apt lists: a complete cached manifest is reused without apt; apt-helper reads compressed indexes', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-aptlists-'));
  try {
    const dir = path.join(root, 'apt-lists', 'lists');
    fs.mkdirSync(dir, { recursive: true });
    const text = record('frob', 'en', EN_TOOL);
    const file = path.join(dir, 'example.org_debian_dists_bookworm_main_i18n_Translation-en.gz');
    fs.writeFileSync(file, gzipSync(text));
    const cached = {
      dir: 'lists',
      release: { codename: 'bookworm', suite: 'oldstable', version: '12.15', date: 'Sat, 11 Jul 2026' },
      files: { en: path.basename(file) },
      provenance: [{ source: 'debian', package: 'Translation-en', version: 'bookworm 12.15', sha256: 'x' }],
    };
    fs.writeFileSync(path.join(root, 'apt-lists', 'fetched.json'), JSON.stringify(cached));
    // the manifest's names are relative, so the result points into this (possibly moved) cache
    assert.deepEqual(fetchTranslationLists(root, { languages: ['en'], codename: 'bookworm' }), {
      ...cached,
      dir,
      files: { en: file },
    });
    assert.equal(catIndex(file), text);
    const osr = path.join(root, 'os-release');
    fs.writeFileSync(osr, 'NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n');
    assert.equal(osCodename(osr), 'bookworm');
    assert.equal(osCodename(path.join(root, 'missing')), null);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
