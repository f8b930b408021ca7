// tlc's version, read from package.json (its one source): `tlc --version`, and every run and study
// records it. package.json sits two folders above this file, as above the CLI bundle in dist/cli/.
import * as fs from 'node:fs';

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no "version" string');
  return pkg.version;
}

export const TLC_VERSION: string = packageVersion();
