// Tests of the gettext source: the .mo reader on catalogs written here (both byte orders, contexts,
// plurals, a non-UTF-8 charset, damaged files), pairs from entries, and one small real package.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  catalogText,
  findFrenchCatalogs,
  GETTEXT_PACKAGES,
  loadGettextRaw,
  type MoEntry,
  moPairs,
  parseMo,
  parsePins,
} from '../../src/data/sources/gettext.ts';
import { CorruptError } from '../../src/engine/errors.ts';

interface WriteEntry {
  ctx?: string;
  id: string;
  plural?: string;
  strs: string[];
}

/** A minimal GNU .mo writer: header, two string tables, strings (no hash table). */
function writeMo(
  entries: WriteEntry[],
  opts: { bigEndian?: boolean; encode?: (s: string) => Buffer } = {},
): Buffer {
  const enc = opts.encode ?? ((s: string) => Buffer.from(s, 'utf8'));
  const keys = entries.map((e) =>
    enc(
      (e.ctx !== undefined ? `${e.ctx}\u0004` : '') +
        e.id +
        (e.plural !== undefined ? `\u0000${e.plural}` : ''),
    ),
  );
  const vals = entries.map((e) => enc(e.strs.join('\u0000')));
  const n = entries.length;
  const headerSize = 28;
  const origTable = headerSize;
  const transTable = origTable + 8 * n;
  let off = transTable + 8 * n;
  const buf = Buffer.alloc(off + [...keys, ...vals].reduce((a, b) => a + b.length + 1, 0));
  const w = (v: number, at: number) => (opts.bigEndian ? buf.writeUInt32BE(v, at) : buf.writeUInt32LE(v, at));
  w(0x950412de, 0);
  w(0, 4);
  w(n, 8);
  w(origTable, 12);
  w(transTable, 16);
  w(0, 20);
  w(0, 24);
  const put = (table: number, i: number, b: Buffer) => {
    w(b.length, table + 8 * i);
    w(off, table + 8 * i + 4);
    b.copy(buf, off);
    off += b.length + 1; // NUL terminator (already zero)
  };
  for (const [i, k] of keys.entries()) put(origTable, i, k);
  for (const [i, v] of vals.entries()) put(transTable, i, v);
  return buf;
}

const SAMPLE: WriteEntry[] = [
  { id: '', strs: ['Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n'] },
  { id: '_Open File', strs: ['_Ouvrir le fichier'] },
  { ctx: 'menu', id: 'Close', strs: ['Fermer'] },
  {
    id: '%d file deleted',
    plural: '%d files deleted',
    strs: ['%d fichier supprimé', '%d fichiers supprimés'],
  },
  { id: 'Not yet translated', strs: [''] },
];

test('.mo: little- and big-endian catalogs read the same entries', () => {
  for (const bigEndian of [false, true]) {
    const entries = parseMo(writeMo(SAMPLE, { bigEndian }));
    assert.equal(entries.length, 5);
    assert.deepEqual(entries[2], { context: 'menu', msgid: 'Close', msgstr: ['Fermer'] } satisfies MoEntry);
    assert.deepEqual(entries[3], {
      msgid: '%d file deleted',
      msgidPlural: '%d files deleted',
      msgstr: ['%d fichier supprimé', '%d fichiers supprimés'],
    } satisfies MoEntry);
  }
});

test('.mo: the header charset decodes the strings (ISO-8859-1 here)', () => {
  const latin1 = (s: string) => Buffer.from(s, 'latin1');
  const mo = writeMo(
    [
      { id: '', strs: ['Content-Type: text/plain; charset=ISO-8859-1\n'] },
      { id: 'metadata', strs: ['métadonnée'] },
    ],
    { encode: latin1 },
  );
  assert.equal(parseMo(mo)[1]!.msgstr[0], 'métadonnée');
});

test('.mo: bad magic, truncation and a wild offset are CorruptErrors', () => {
  const good = writeMo(SAMPLE);
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32LE(0x12345678, 0);
  assert.throws(
    () => parseMo(badMagic, 'x.mo'),
    (e) => e instanceof CorruptError && /magic 0x12345678/.test(e.message),
  );
  assert.throws(() => parseMo(good.subarray(0, 20)), CorruptError);
  assert.throws(
    () => parseMo(good.subarray(0, good.length - 30)),
    (e) => e instanceof CorruptError && /past the end/.test(e.message),
  );
  const badRev = Buffer.from(good);
  badRev.writeUInt32LE(2 << 16, 4);
  assert.throws(() => parseMo(badRev), /major revision 2/);
});

test('pairs from a catalog: header and untranslated skipped, singular of plurals, context dropped', () => {
  const pairs = moPairs(parseMo(writeMo(SAMPLE)));
  assert.deepEqual(pairs, [
    { src: '_Open File', tgt: '_Ouvrir le fichier' },
    { src: 'Close', tgt: 'Fermer' },
    { src: '%d file deleted', tgt: '%d fichier supprimé' },
  ]);
});

test('catalog conventions: gcc quote directives and Q_() context prefixes', () => {
  assert.deepEqual(catalogText('expected %<;%> before %qs', '%<;%> attendu avant %qs'), {
    src: 'expected ‘;’ before %qs',
    tgt: '‘;’ attendu avant %qs',
  });
  assert.deepEqual(catalogText('Gender|male', 'masculin'), { src: 'male', tgt: 'masculin' });
  assert.deepEqual(catalogText('a|b', 'a|b'), { src: 'a|b', tgt: 'a|b' });
});

test('French catalogs are found under any .../fr/LC_MESSAGES, and only there', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-mo-'));
  try {
    for (const rel of [
      'usr/share/locale/fr/LC_MESSAGES/a.mo',
      'usr/lib/x/resource/fr/LC_MESSAGES/b.mo',
      'usr/share/locale/de/LC_MESSAGES/a.mo',
      'usr/share/locale/fr_CA/LC_MESSAGES/a.mo',
      'usr/share/locale/fr/LC_MESSAGES/readme.txt',
    ]) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), '');
    }
    const found = findFrenchCatalogs(root).map((f) => path.relative(root, f));
    assert.deepEqual(found, [
      'usr/lib/x/resource/fr/LC_MESSAGES/b.mo',
      'usr/share/locale/fr/LC_MESSAGES/a.mo',
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the pin table: 15 to 30 packages, each with a version and a sha256', () => {
  assert.deepEqual(parsePins('\n a 1:2-3 ab\nb 4 cd \n'), [
    { pkg: 'a', version: '1:2-3', sha256: 'ab' },
    { pkg: 'b', version: '4', sha256: 'cd' },
  ]);
  assert.ok(GETTEXT_PACKAGES.length >= 15 && GETTEXT_PACKAGES.length <= 30);
  for (const p of GETTEXT_PACKAGES)
    assert.match(`${p.pkg} ${p.version} ${p.sha256}`, /^[a-z0-9.+-]+ \S+ [0-9a-f]{64}$/);
  assert.equal(new Set(GETTEXT_PACKAGES.map((p) => p.pkg)).size, GETTEXT_PACKAGES.length);
});

/** A temporary cache root holding a copy of the package if the developer's cache already has it. */
function seededCache(debDir: string): { root: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-gettext-'));
  const shared = process.env['TLC_CACHE'] || path.join(os.homedir(), '.cache', 'tlc');
  const from = path.join(shared, 'debian', debDir);
  if (fs.existsSync(path.join(from, 'fetched.json'))) {
    fs.mkdirSync(path.join(root, 'debian'));
    execFileSync('cp', ['-r', from, path.join(root, 'debian', debDir)]);
  }
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

test('end to end: the pinned mc-data package (1.3 MB) gives its French catalog pairs', () => {
  const pin = GETTEXT_PACKAGES.find((p) => p.pkg === 'mc-data')!;
  const cache = seededCache(`mc-data_${pin.version.replace(/:/g, '%')}`);
  try {
    const { raw, provenance } = loadGettextRaw(cache.root, [pin]);
    assert.deepEqual(provenance, [
      { source: 'debian', package: 'mc-data', version: pin.version, sha256: pin.sha256 },
    ]);
    assert.ok(raw.length > 1000 && raw.length < 2000, `got ${raw.length} raw pairs`);
    assert.ok(
      raw.some((p) => p.src === 'Quit' && /Quitter/.test(p.tgt)),
      'a known menu entry is there',
    );
  } finally {
    cache.cleanup();
  }
});
