// The CLI bundle (scripts/build-cli.mjs → dist/cli/): after the bootstrap it is fresh, so
// bin/tlc.mjs runs it, and it prints the same help as the sources through tsx. (It lives in dist/,
// not build/: `node-gyp rebuild` empties build/.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');
const bundle = path.join(root, 'dist', 'cli', 'main.mjs');

function node(args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('the bundle is fresh and prints the same help as the sources', () => {
  assert.ok(fs.existsSync(bundle), 'dist/cli/main.mjs is missing: the bootstrap builds it');
  const built = fs.statSync(bundle).mtimeMs;
  const inputs = JSON.parse(
    fs.readFileSync(path.join(root, 'dist', 'cli', 'inputs.json'), 'utf8'),
  ) as string[];
  assert.ok(inputs.includes('src/cli/main.ts'));
  const newer = inputs.filter((f) => fs.statSync(path.join(root, f)).mtimeMs > built);
  assert.deepEqual(newer, [], 'sources newer than the bundle: bin/tlc.mjs would fall back to tsx');
  const run = (main: string) =>
    node([
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(['node', 'tlc', '--help']);`,
    ]);
  const fromBundle = run(bundle);
  assert.match(fromBundle, /study/);
  assert.equal(fromBundle, run(path.join(root, 'src', 'cli', 'main.ts')));
  assert.equal(node(['bin/tlc.mjs', '--help']), fromBundle);
});
