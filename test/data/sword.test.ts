// Tests of the SWORD reader: the OSIS/ThML tag stripper on inline samples, and the zText reader on a
// tiny module written here (zlib blocks + .bzs/.bzv index), grouped into books without a download.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import {
  decodeXmlEntities,
  groupBooks,
  readBooks,
  readZTextEntries,
  stripOsis,
} from '../../src/data/sources/sword.ts';
import { SetupError } from '../../src/engine/errors.ts';

test('OSIS: word tags vanish, notes and headings go, block tags keep words apart', () => {
  const osis =
    '<w lemma="strong:H7225">In</w> the <w lemma="strong:H7225">beginning</w>, <w>God</w>' +
    '<note placement="foot"><reference>1:1</reference>Hebrew: Elohim</note> created<lb/>the ' +
    '<transChange type="added">heaven</transChange>&amp;<divineName>Lord</divineName>.';
  assert.equal(stripOsis(osis), 'In the beginning, God created the heaven&Lord.');
  const titled =
    '<title type="section">The Creation</title><l level="1">first line</l><l level="1">second line</l>';
  assert.equal(stripOsis(titled), 'first line second line');
  const psalm = '<title canonical="true" type="psalm">A Psalm of David.</title> ¶ <w>LORD</w>, how';
  assert.equal(stripOsis(psalm), 'A Psalm of David. LORD, how');
  assert.equal(stripOsis('<div type="x-milestone" sID="pv1"/>one<div eID="pv1"/>two'), 'one two');
});

test('ThML: sync tags vanish, scripture references and notes are dropped', () => {
  const thml =
    'In the beginning<sync type="Strongs" value="07225"/> God<note n="a">a note</note> created<br/>the ' +
    'heaven <scripRef passage="Joh 1:1">John 1:1</scripRef>and <i>the</i> earth&#46;';
  assert.equal(stripOsis(thml), 'In the beginning God created the heaven and the earth.');
});

test('entity decoding', () => {
  assert.equal(
    decodeXmlEntities('&lt;a&gt; &quot;b&quot; &#8220;c&#x201D; caf&eacute; &bogus;'),
    '<a> "b" \u201cc\u201d café &bogus;',
  );
});

/** Writes a two-block zText testament: entry 0 empty, 1 module header, then intros and verses. */
function writeTestament(dir: string, prefix: string, blocks: string[][]): void {
  const bzs: Buffer[] = [];
  const bzv: Buffer[] = [];
  const bzz: Buffer[] = [];
  let off = 0;
  blocks.forEach((entries, b) => {
    let inner = 0;
    const parts: Buffer[] = [];
    for (const e of entries) {
      const bytes = Buffer.from(e, 'utf8');
      const v = Buffer.alloc(10);
      v.writeUInt32LE(b, 0);
      v.writeUInt32LE(inner, 4);
      v.writeUInt16LE(bytes.length, 8);
      bzv.push(v);
      parts.push(bytes);
      inner += bytes.length;
    }
    const z = deflateSync(Buffer.concat(parts));
    const s = Buffer.alloc(12);
    s.writeUInt32LE(off, 0);
    s.writeUInt32LE(z.length, 4);
    s.writeUInt32LE(inner, 8);
    bzs.push(s);
    bzz.push(z);
    off += z.length;
  });
  fs.writeFileSync(path.join(dir, `${prefix}.bzs`), Buffer.concat(bzs));
  fs.writeFileSync(path.join(dir, `${prefix}.bzv`), Buffer.concat(bzv));
  fs.writeFileSync(path.join(dir, `${prefix}.bzz`), Buffer.concat(bzz));
}

const OT = [
  ['', '<milestone type="x-importer"/>'],
  [
    '<div osisID="Gen" sID="b1" type="book"/><title type="main">The First Book</title>',
    '<chapter n="1" osisID="Gen.1" sID="Gen.1"/>',
    '<w>In</w> the beginning.',
    'And the earth.<chapter eID="Gen.1"/>',
    '<chapter n="2" osisID="Gen.2" sID="Gen.2"/>',
    'Thus the heavens.<div eID="b1" type="book"/>',
    '<div osisID="Exod" sID="b2" type="book"/>',
    '<chapter n="1" osisID="Exod.1" sID="Exod.1"/>',
    '',
    'Now these <note>n</note>are the names.',
  ],
];

test('zText: entries decoded from zlib blocks and grouped by book, intros skipped', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-sword-'));
  try {
    const data = path.join(root, 'usr/share/sword/modules/texts/ztext/test');
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(path.join(root, 'usr/share/sword/mods.d'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'usr/share/sword/mods.d/test.conf'),
      '[Test]\nDataPath=./modules/texts/ztext/test/\nModDrv=zText\nSourceType=OSIS\nCompressType=ZIP\nBlockType=BOOK\n',
    );
    writeTestament(data, 'ot', OT);
    const entries = readZTextEntries(data, 'ot');
    assert.equal(entries.length, 12);
    assert.equal(entries[4], '<w>In</w> the beginning.');
    const books = groupBooks(entries);
    assert.deepEqual(books, [
      { osisId: 'Gen', verses: ['In the beginning.', 'And the earth.', 'Thus the heavens.'] },
      { osisId: 'Exod', verses: ['Now these are the names.'] },
    ]);
    assert.deepEqual(readBooks(root, 'sword-text-test'), books); // no nt.* files: the OT alone
    fs.writeFileSync(
      path.join(root, 'usr/share/sword/mods.d/test.conf'),
      '[Test]\nDataPath=./x/\nModDrv=RawText\n',
    );
    assert.throws(() => readBooks(root, 'sword-text-test'), SetupError);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
