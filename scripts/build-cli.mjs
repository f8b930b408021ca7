// Bundles the CLI (src/cli/main.ts and every module it imports) into dist/cli/ with esbuild (the
// TypeScript compiler tsx itself uses), so bin/tlc.mjs can run plain JavaScript instead of loading
// the sources through tsx: no loader thread, no per-module transform, ~40 MB less memory per process.
// Modules a command imports lazily stay separate chunks, loaded only when that command runs; npm
// packages stay external (resolved from node_modules at run time, as with tsx).
//
// dist/cli/ sits two folders below the repository root, as src/<folder>/ does, so paths the code
// resolves from import.meta.url (the native addon, configs/, bin/tlc.mjs) stay the same. Next to the
// bundle, inputs.json lists the source files it was built from: bin/tlc.mjs uses the bundle only
// while none of them is newer than it. The new bundle is written aside and swapped in at the end, so
// an interrupted build never leaves a half-written one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = path.join(root, 'dist', 'cli'); // not under build/: `node-gyp rebuild` empties that
const tmp = `${out}.tmp-${process.pid}`;

fs.rmSync(tmp, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // for readable stack traces run with NODE_OPTIONS=--enable-source-maps
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).sort();
fs.writeFileSync(path.join(tmp, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
// the entry is written last: its mtime is the bundle's build time
fs.utimesSync(path.join(tmp, 'main.mjs'), new Date(), new Date());
const old = `${out}.old-${process.pid}`;
if (fs.existsSync(out)) fs.renameSync(out, old);
fs.renameSync(tmp, out);
fs.rmSync(old, { recursive: true, force: true });
console.error(`[build-cli] ${path.relative(root, out)}: ${inputs.length} source files`);
