// English–French pairs from LibreOffice's offline help (Debian libreoffice-help-en-us, -fr): the
// same HTML page in both languages carries the same paragraph ids. No HTML parser beyond that.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError } from '../../engine/errors.ts';
import { cleanPairs } from '../clean-pairs.ts';
import { fetchDebianPackage } from '../fetch/debian.ts';
import type { Pair, PairSource, Provenance } from '../types.ts';
import type { PinnedDeb } from './gettext.ts';

export const LIBREOFFICE_HELP: { en: PinnedDeb; fr: PinnedDeb } = {
  en: {
    pkg: 'libreoffice-help-en-us',
    version: '4:7.4.7-1+deb12u14',
    sha256: '8faa840285734d6cfe1ed25537b48f07e74bd6412e3917bf8e5f8a653f7b3712',
  },
  fr: {
    pkg: 'libreoffice-help-fr',
    version: '4:7.4.7-1+deb12u14',
    sha256: 'c796530d3e95af1ea4d054076682efc8aad2b569ae9513f3d4a776b2df3fd206',
  },
};

const HELP_DIR = path.join('usr', 'share', 'libreoffice', 'help');

/**
 * Removes the macOS variant of a platform switch (`<span hidden="true" class="MAC">…</span>`, with
 * its nested spans), so "Tools - Options" does not read "LibreOffice - PreferencesTools - Options".
 */
export function dropMacVariants(html: string): string {
  const open = /<span\b[^>]*\bclass="MAC"[^>]*>/g;
  let out = '';
  let last = 0;
  for (let m = open.exec(html); m; m = open.exec(html)) {
    out += html.slice(last, m.index);
    const tags = /<span\b[^>]*>|<\/span>/g;
    tags.lastIndex = open.lastIndex;
    let depth = 1;
    for (let t = tags.exec(html); t && depth > 0; t = depth > 0 ? tags.exec(html) : null) {
      depth += t[0] === '</span>' ? -1 : 1;
      last = tags.lastIndex;
    }
    if (depth > 0) last = html.length; // unbalanced: drop the rest of the page rather than mix variants
    open.lastIndex = last;
  }
  return out + html.slice(last);
}

/**
 * Paragraphs and headings that carry an id (`<p id="par_id3151073" ...>…</p>`, `<h2 id="hd_id…">`),
 * keyed `id#n` where n counts repeats of the same id on the page (embedded sections repeat them).
 */
export function helpParagraphs(html: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<(p|h[1-6])\s+id="([^"]+)"[^>]*>([\s\S]*?)<\/\1>/g;
  for (const m of dropMacVariants(html).matchAll(re)) {
    const id = m[2]!;
    let n = 0;
    while (out.has(`${id}#${n}`)) n++;
    out.set(`${id}#${n}`, m[3]!);
  }
  return out;
}

/** All .html files below `dir`, as paths relative to it, sorted. */
function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      if (d.isDirectory()) walk(r);
      else if (d.name.endsWith('.html')) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Raw pairs of two help trees (`…/help/en-US`, `…/help/fr`): same page, same paragraph id. */
export function helpRawPairs(enDir: string, frDir: string): Array<{ src: string; tgt: string }> {
  const raw: Array<{ src: string; tgt: string }> = [];
  for (const rel of htmlFiles(path.join(enDir, 'text'))) {
    const frFile = path.join(frDir, 'text', rel);
    if (!fs.existsSync(frFile)) continue;
    const en = helpParagraphs(fs.readFileSync(path.join(enDir, 'text', rel), 'utf8'));
    const fr = helpParagraphs(fs.readFileSync(frFile, 'utf8'));
    for (const [key, src] of en) {
      const tgt = fr.get(key);
      if (tgt !== undefined) raw.push({ src, tgt });
    }
  }
  return raw;
}

function helpTree(root: string, pin: PinnedDeb, lang: string): { dir: string; provenance: Provenance } {
  const deb = fetchDebianPackage(pin.pkg, pin.version, pin.sha256, root);
  const dir = path.join(deb.root, HELP_DIR, lang);
  if (!fs.existsSync(path.join(dir, 'text'))) {
    throw new CorruptError(
      `Debian package ${pin.pkg}=${pin.version} has no ${path.join(HELP_DIR, lang, 'text')} folder`,
      `delete ${path.dirname(deb.root)} and retry; if it persists the package layout changed: update the pin`,
    );
  }
  return { dir, provenance: deb.provenance };
}

export const libreofficeHelpEnFr: PairSource = {
  name: 'libreoffice-help-en-fr',
  kind: 'pairs',
  load(root: string): { pairs: Pair[]; provenance: Provenance[] } {
    const en = helpTree(root, LIBREOFFICE_HELP.en, 'en-US');
    const fr = helpTree(root, LIBREOFFICE_HELP.fr, 'fr');
    const { pairs } = cleanPairs('lohelp', helpRawPairs(en.dir, fr.dir), { accelerators: false });
    return { pairs, provenance: [en.provenance, fr.provenance] };
  },
};
