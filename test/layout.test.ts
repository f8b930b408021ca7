// The pipeline's import rule (design §1): a folder under src/ imports only from folders listed
// before it. Also keeps source files and functions small enough to read (style §12): every file
// under src/ within MAX_FILE_LINES lines, every function (declaration, method, arrow, accessor)
// within MAX_FUNCTION_LINES lines from its first line to its closing brace, nested ones included.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

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
/** today's largest file is ~440 lines; style.md aims at ~400 */
const MAX_FILE_LINES = 450;
/** style.md aims at ~60; the bar is 80 */
const MAX_FUNCTION_LINES = 80;

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

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** Every function with a body in `text`, with its name (or where it sits) and its length in lines. */
function functionLengths(file: string, text: string): Array<{ name: string; line: number; lines: number }> {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Array<{ name: string; line: number; lines: number }> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const named = n.name ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name : undefined);
      out.push({ name: named ? named.getText(sf) : '(anonymous)', line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

test(`every source file has at most ${MAX_FILE_LINES} lines`, () => {
  const files = tsFiles(src);
  assert.ok(files.length > 100, 'the scan found too few source files to mean anything');
  const long = files
    .map((f) => ({ f: path.relative(src, f), n: lineCount(fs.readFileSync(f, 'utf8')) }))
    .filter((x) => x.n > MAX_FILE_LINES)
    .map((x) => `src/${x.f}: ${x.n} lines (split it along a natural seam)`);
  assert.deepEqual(long, []);
});

test(`every function in src/ has at most ${MAX_FUNCTION_LINES} lines`, () => {
  const long: string[] = [];
  let counted = 0;
  for (const f of tsFiles(src)) {
    for (const fn of functionLengths(f, fs.readFileSync(f, 'utf8'))) {
      counted++;
      if (fn.lines > MAX_FUNCTION_LINES)
        long.push(`src/${path.relative(src, f)}:${fn.line} ${fn.name}: ${fn.lines} lines`);
    }
  }
  assert.ok(counted > 1000, `the scan found only ${counted} functions: the parser missed them`);
  assert.deepEqual(long, []);
});

test('the size checks would catch a long file and a long function', () => {
  const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const x${i} = ${i};`).join('\n');
  const text = `export function f(): void {\n${body}\n}\nconst g = (a: number) => {\n  return a;\n};\nclass K {\n  m(): number {\n    return 1;\n  }\n}\n`;
  const fns = functionLengths('x.ts', text);
  assert.deepEqual(
    fns.map((x) => [x.name, x.line, x.lines]),
    [
      ['f', 1, MAX_FUNCTION_LINES + 2],
      ['g', MAX_FUNCTION_LINES + 3, 3],
      ['m', MAX_FUNCTION_LINES + 7, 3],
    ],
  );
  assert.equal(lineCount('a\nb\n'), 2);
  assert.equal(lineCount('a\nb'), 2);
});
