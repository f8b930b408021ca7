// The pipeline's import rule (design §1): a folder under src/ imports only from folders listed
// before it. Also keeps source files small enough to read.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ORDER = [
  'engine',
  'model',
  'data',
  'train',
  'compress',
  'eval',
  'infer',
  'io',
  'study',
  'report',
  'serve',
  'cli',
];
const src = path.resolve(import.meta.dirname, '..', 'src');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every import goes to the same folder or one listed before it', () => {
  const bad: string[] = [];
  let checked = 0;
  for (const file of tsFiles(src)) {
    const from = path.relative(src, file).split(path.sep)[0]!;
    const rank = ORDER.indexOf(from);
    assert.ok(
      rank >= 0,
      `src/${from} is not a known pipeline folder: add it to the order in design.md and here`,
    );
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm)) {
      const target = path.relative(src, path.resolve(path.dirname(file), m[1]!)).split(path.sep)[0]!;
      checked++;
      const tr = ORDER.indexOf(target);
      if (tr < 0 || tr > rank)
        bad.push(`${path.relative(src, file)} imports ${m[1]} (${target} comes after ${from})`);
    }
  }
  assert.ok(checked > 50, 'the scan found too few imports to mean anything');
  assert.deepEqual(bad, []);
});

test('an import of a later folder would be caught', () => {
  const line = "import { x } from '../cli/main.ts';";
  const m = /^\s*(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/m.exec(line);
  assert.equal(m?.[1], '../cli/main.ts');
});
