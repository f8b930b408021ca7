// English→French pairs from the gettext `.mo` catalogs of a pinned list of large Debian packages:
// a `.mo` reader (either byte order, contexts, plurals) and the `gettext-en-fr` source. No `.po` reader.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextDecoder } from 'node:util';
import { CorruptError } from '../../engine/errors.ts';
import { alignUnits, cleanPairs } from '../clean-pairs.ts';
import { fetchDebianPackage } from '../fetch/debian.ts';
import type { Pair, PairSource, Provenance } from '../types.ts';

export interface MoEntry {
  /** msgctxt, when the entry has one */
  context?: string;
  msgid: string;
  msgidPlural?: string;
  /** one string, or one per plural form */
  msgstr: string[];
}

const MO_MAGIC = 0x950412de;

/** The charset a catalog's header (the entry with an empty msgid) declares; UTF-8 when absent. */
function headerCharset(header: Uint8Array): string {
  const m = /charset=([\w.:-]+)/i.exec(Buffer.from(header).toString('latin1'));
  const cs = (m?.[1] ?? 'utf-8').toLowerCase();
  return cs === 'charset' ? 'utf-8' : cs; // a template's placeholder "CHARSET" means it was never set
}

/**
 * Parses a GNU `.mo` file (magic 0x950412de in either byte order, major revision 0 or 1).
 * Every entry is returned, the header (empty msgid) included; `.mo` files hold no fuzzy entries
 * (msgfmt leaves them out), so there is nothing to skip for that here.
 */
export function parseMo(buf: Uint8Array, name = '.mo file'): MoEntry[] {
  const bad = (what: string) =>
    new CorruptError(
      `${name} is not a valid gettext catalog: ${what}`,
      'delete the cached package folder and fetch it again',
    );
  if (buf.length < 28) throw bad(`${buf.length} bytes, expected at least a 28-byte header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = dv.getUint32(0, true) === MO_MAGIC;
  if (!le && dv.getUint32(0, false) !== MO_MAGIC) {
    throw bad(`magic 0x${dv.getUint32(0, true).toString(16)}, expected 0x950412de (either byte order)`);
  }
  const u32 = (off: number) => {
    if (off + 4 > buf.length) throw bad(`table entry at ${off} runs past the end (${buf.length} bytes)`);
    return dv.getUint32(off, le);
  };
  const major = u32(4) >>> 16;
  if (major > 1) throw bad(`major revision ${major}, expected 0 or 1`);
  const n = u32(8);
  const origTable = u32(12);
  const transTable = u32(16);
  const bytes = (table: number, i: number): Uint8Array => {
    const len = u32(table + 8 * i);
    const off = u32(table + 8 * i + 4);
    if (off + len > buf.length)
      throw bad(`string ${i} spans ${off}..${off + len}, past the end (${buf.length} bytes)`);
    return buf.subarray(off, off + len);
  };
  const raw: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < n; i++) raw.push([bytes(origTable, i), bytes(transTable, i)]);
  const header = raw.find(([id]) => id.length === 0)?.[1] ?? new Uint8Array();
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(headerCharset(header));
  } catch {
    throw bad(`unsupported charset "${headerCharset(header)}" in its header`);
  }
  return raw.map(([id, str]) => toEntry(decoder.decode(id), decoder.decode(str)));
}

function toEntry(id: string, str: string): MoEntry {
  const eot = id.indexOf('\u0004');
  const context = eot >= 0 ? id.slice(0, eot) : undefined;
  const ids = (eot >= 0 ? id.slice(eot + 1) : id).split('\u0000');
  const e: MoEntry = { msgid: ids[0] ?? '', msgstr: str.split('\u0000') };
  if (context !== undefined) e.context = context;
  if (ids.length > 1) e.msgidPlural = ids[1];
  return e;
}

/**
 * Catalog conventions that are not text: gcc's quote directives `%<` `%>` become quotes, and an
 * old-style context prefix (`Gender|male`, glib's Q_()) is dropped when the translation has none.
 */
export function catalogText(msgid: string, msgstr: string): { src: string; tgt: string } {
  const quotes = (s: string) => s.replace(/%<|%>/g, (q) => (q === '%<' ? '‘' : '’'));
  let src = quotes(msgid);
  const bar = src.indexOf('|');
  if (bar >= 0 && bar === src.lastIndexOf('|') && !msgstr.includes('|')) src = src.slice(bar + 1);
  return { src, tgt: quotes(msgstr) };
}

/**
 * Raw (msgid, msgstr) pairs of a catalog: the header and entries with an empty translation are
 * skipped; of a plural entry the singular is taken. Multi-line strings (usage screens) are split
 * into paragraph and option units when both sides agree on them (see alignUnits).
 */
export function moPairs(entries: MoEntry[]): Array<{ src: string; tgt: string }> {
  const out: Array<{ src: string; tgt: string }> = [];
  for (const e of entries) {
    const str = e.msgstr[0] ?? '';
    if (e.msgid === '' || str.trim() === '') continue;
    const { src, tgt } = catalogText(e.msgid, str);
    out.push(...alignUnits(src, tgt));
  }
  return out;
}

/** The French catalogs a package ships: any `.../fr/LC_MESSAGES/*.mo` below the extracted tree. */
export function findFrenchCatalogs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.isFile() && d.name.endsWith('.mo') && dir.endsWith(`${path.sep}fr${path.sep}LC_MESSAGES`))
        found.push(p);
    }
  };
  walk(root);
  return found.sort();
}

export interface PinnedDeb {
  pkg: string;
  version: string;
  sha256: string;
}

/** Reads a pin table: one `package version sha256` per line. */
export function parsePins(table: string): PinnedDeb[] {
  return table
    .trim()
    .split('\n')
    .map((line) => {
      const [pkg = '', version = '', sha256 = ''] = line.trim().split(/\s+/);
      return { pkg, version, sha256 };
    });
}

/**
 * 30 Debian (bookworm) packages with large French catalogs: office, graphics, photo, multimedia,
 * desktop, mail/chat, system tools, a compiler. All are `Architecture: all`, so the sha256 pins hold
 * on any machine (110 MB of .deb in all). Listed by yield; versions and sha256 are pins.
 */
export const GETTEXT_PACKAGES: readonly PinnedDeb[] = parsePins(`
libreoffice-l10n-fr 4:7.4.7-1+deb12u14 111da5e1b8379dc58a127ef76ef85e2b6819da5cb2c5fe73d13b25a0437f988c
gcc-12-locales 12.2.0-14+deb12u1 a701516b5e34086f478b0a329dfd9dd8e1695e8bac5917a6b162a87719abe28f
digikam-data 4:7.9.0-1 a941a504ba7bdf9d276a43ca3c2a0b2b5b74a55420d8c4b4f29d681e96cbf450
gimp-data 2.10.34-1+deb12u10 89007a69d4ef2b0440e5419e75d4112cfd1c49e97db38220d210b9f86322be7c
gramps 5.1.5-1 77875e0983e97498e91a14b4fd4033998146a582c7932a993cf268929a9fda6b
lyx-common 2.3.7-1 026c74cd2391a70b4dc18a99d46b745c243b9f9bd47ddfedacfc67ae4db92557
vlc-l10n 3.0.24-0+deb12u1 11e65bcd6a1d4626b9e2d7388bb93c80edc46da82a6ca3b26d88f71edcb6f9b2
evolution-common 3.46.4-2+deb12u1 52e3a67ba3f2815fa864f600f5e3c2afd6ebc0b3487b50525df75006d4172b46
gnucash-common 1:4.13-1 8477b415856eb671125ee63ac6a4ee1d23efeca3de6e55e5a14c6ebb32642b31
util-linux-locales 2.38.1-5+deb12u3 2cb091d6fdc2f38d3ce414102877dcc7434e4d42f18b58e73708219c2b9ec18e
claws-mail-i18n 4.1.1-2 b00c313c90165e35ec55f61ab5e500ea13563430b7495c89dce3fd47da0d83b9
cinnamon-l10n 5.6.1-2 c03953148ebcac4b440c6cb397d5ee345760a9836ce433942dc80d2becc92d89
audacity-data 3.2.4+dfsg-1 82b3f46f97238f64cf0982155f81e350df4553231d2a7186e4aea2712e96a5d4
gnumeric-common 1.12.55-1 b474f0a67a781bdb41374110b54fe679c690f981dac356a9ca6260688df9f6b8
libgtk-3-common 3.24.38-2~deb12u3 f2642d127d85440acbfc2ed404d3932d8b2fbe8a576ead7f93f35ac1fa999c92
pidgin-data 2.14.12-1 fe25279f89fdcc3b38874880f53bf205987e2048154cabc6fe529759e7d8df76
libgtk2.0-common 2.24.33-2+deb12u1 f55a9800d3721b1de246e4bfaf94a63ca50efdfa49eb5fa2362ed4fa79258299
gnome-control-center-data 1:43.6-2~deb12u1 f76430c1f6db2be884bbc0e37cfa43752b49d252abb94d9cce494e8cdd8882a1
gnupg-l10n 2.2.40-1.1+deb12u2 c985452d06cc7b3b1044cd1eb3f2acac773836d34cafb35b5a4bebae02c1caa0
filezilla-common 3.63.0-1+deb12u3 2788f0f962c3a3d8eda1e76f10339b29ca5dc42dceb4ee8ad66b0c9beb6a717a
orca 43.1-1 006e892197f2fbc7ed6ddbcd32c9e5e41200bc18fc0d373d4f4d6405fa57618f
libgtk-4-common 4.8.3+ds-2+deb12u1 84a5657712815c9389dea39a20f89bc0e02db70deb1f288e19ce6b0fb83f4093
libc-l10n 2.36-9+deb12u14 95285badd0b02ca7e90e8f20d17c912170ffaeb48db10f113d1ece042b59248d
evolution-data-server-common 3.46.4-2+deb12u1 0cd32d4dec7d0b553d390fc68b62ab769fc5031da20d47d7a3b8bf8b9f29b28c
gajim 1.7.3-2 1c463be30dd5f5cc9c2b53e1aff27d24a6518b4903e41c1534a5fe39d46d60f5
aptitude-common 0.8.13-5 3310ec70a514fbebd7082059d5cebf97e82485abfcb13c9ad21858e09abadc36
libglib2.0-data 2.74.6-2+deb12u9 d98434e097009dedd2f2382c48b7debab5b14261966c0e0506a991b2496bea5f
shotwell-common 0.30.17-1 2d40611f6fe255b5c079cfe44a1943dfbcd1c88b27acf472d53ed935f67fb904
caja-common 1.26.1-1+deb12u1 3626fe14c110b5dd9a4bde93e9560ca04372384f0a2e7fb65f968df9c534e5f7
mc-data 3:4.8.29-2 a273c2e833524f1d2e8579b737802b18ad4c77d9f45b3ef7d6fc6b2605e4fd3d
`);

/** Raw pairs of the pinned catalogs, in a fixed order (package, then catalog path). */
export function loadGettextRaw(
  root: string,
  pins: readonly PinnedDeb[] = GETTEXT_PACKAGES,
): {
  raw: Array<{ src: string; tgt: string }>;
  provenance: Provenance[];
} {
  const raw: Array<{ src: string; tgt: string }> = [];
  const provenance: Provenance[] = [];
  for (const pin of pins) {
    const deb = fetchDebianPackage(pin.pkg, pin.version, pin.sha256, root);
    const catalogs = findFrenchCatalogs(deb.root);
    if (catalogs.length === 0) {
      throw new CorruptError(
        `Debian package ${pin.pkg}=${pin.version} has no French catalog (fr/LC_MESSAGES/*.mo)`,
        `delete ${path.dirname(deb.root)} and retry; if it persists, drop ${pin.pkg} from GETTEXT_PACKAGES`,
      );
    }
    for (const file of catalogs) raw.push(...moPairs(parseMo(fs.readFileSync(file), file)));
    provenance.push(deb.provenance);
  }
  return { raw, provenance };
}

export const gettextEnFr: PairSource = {
  name: 'gettext-en-fr',
  kind: 'pairs',
  load(root: string): { pairs: Pair[]; provenance: Provenance[] } {
    const { raw, provenance } = loadGettextRaw(root);
    return { pairs: cleanPairs('gettext', raw).pairs, provenance };
  },
};

/** Four small catalogs (≈ 7 MB of .deb): a translation corpus small enough for tests and CI. */
const SMALL = new Set(['mc-data', 'gnupg-l10n', 'util-linux-locales', 'aptitude-common']);

export const gettextEnFrSmall: PairSource = {
  name: 'gettext-en-fr-small',
  kind: 'pairs',
  load(root: string): { pairs: Pair[]; provenance: Provenance[] } {
    const { raw, provenance } = loadGettextRaw(
      root,
      GETTEXT_PACKAGES.filter((p) => SMALL.has(p.pkg)),
    );
    return { pairs: cleanPairs('gettext', raw).pairs, provenance };
  },
};
