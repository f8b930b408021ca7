#!/usr/bin/env node
// tlc command-line entry. Runs the JavaScript bundle in dist/cli/ (scripts/build-cli.mjs, run by
// scripts/bootstrap.sh and `npm run build:cli`) when it is newer than every source file it was built
// from; otherwise loads the TypeScript sources through tsx, so an edited source is never shadowed by
// a stale bundle. Both run the same code; the bundle starts faster and holds ~40 MB less memory.
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const bundle = new URL('dist/cli/main.mjs', root);

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', root), 'utf8'));
    return inputs.every((f) => statSync(new URL(f, root)).mtimeMs <= built);
  } catch {
    return false; // no bundle, or a source it lists is gone
  }
}

let main;
if (bundleIsFresh()) ({ main } = await import(bundle.href));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv);
