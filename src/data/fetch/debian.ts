// Fetch a Debian package's files without installing it (`apt-get download` + `dpkg -x`) into
// the cache, verify, and reuse. Does not parse any corpus format.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { CorruptError, SetupError } from '../../engine/errors.ts';
import type { Provenance } from '../types.ts';
import { cacheRoot, sha256File } from './cache.ts';

export interface FetchedDeb {
  /** the extracted file tree (like `/`: usr/share/...) */
  root: string;
  provenance: Provenance;
}

function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The candidate version apt would download now, or null if apt does not know the package. */
export function debianCandidate(pkg: string): string | null {
  try {
    const out = run('apt-cache', ['policy', pkg]);
    const m = /Candidate:\s*(\S+)/.exec(out);
    return m && m[1] !== '(none)' ? m[1]! : null;
  } catch {
    return null;
  }
}

/**
 * Download and extract a Debian package. With `version`, exactly that version is fetched (a
 * different archive version is an error naming both). The cache is keyed by package and version.
 */
export function fetchDebianPackage(
  pkg: string,
  version?: string,
  expectSha256?: string,
  root = cacheRoot(),
): FetchedDeb {
  const ver = version ?? debianCandidate(pkg);
  if (!ver) {
    throw new SetupError(
      `Debian package ${pkg} is not known to apt on this machine`,
      'run `apt-get update` (as root) so apt knows the archive, then retry',
    );
  }
  const dir = path.join(root, 'debian', `${pkg}_${ver.replace(/[:]/g, '%')}`);
  const done = path.join(dir, 'fetched.json');
  if (fs.existsSync(done) && fs.existsSync(path.join(dir, 'root'))) {
    return {
      root: path.join(dir, 'root'),
      provenance: JSON.parse(fs.readFileSync(done, 'utf8')) as Provenance,
    };
  }
  fs.mkdirSync(dir, { recursive: true });
  try {
    run('apt-get', ['download', `${pkg}=${ver}`], dir);
  } catch (e) {
    const msg = (e as { stderr?: string }).stderr?.toString().trim() ?? String(e);
    const now = debianCandidate(pkg);
    throw new SetupError(
      `could not download Debian package ${pkg}=${ver}: ${msg.split('\n').slice(-2).join(' ')}` +
        (now && now !== ver ? ` (the archive now offers version ${now})` : ''),
      'run `apt-get update` and retry; if the archive moved to a new version, update the recipe pin',
    );
  }
  const deb = fs.readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (!deb)
    throw new SetupError(`apt-get download ${pkg} produced no .deb in ${dir}`, 'retry; check disk space');
  const file = path.join(dir, deb);
  const sha256 = sha256File(file);
  if (expectSha256 && sha256 !== expectSha256) {
    throw new CorruptError(
      `Debian package ${pkg}=${ver} has sha256 ${sha256}, expected ${expectSha256}`,
      'delete the cache folder and retry; if it persists the archive changed the package',
    );
  }
  fs.rmSync(path.join(dir, 'root'), { recursive: true, force: true });
  run('dpkg-deb', ['-x', file, path.join(dir, 'root')]);
  const provenance: Provenance = { source: 'debian', package: pkg, version: ver, sha256 };
  writeFileAtomic(done, JSON.stringify(provenance, null, 2));
  return { root: path.join(dir, 'root'), provenance };
}
