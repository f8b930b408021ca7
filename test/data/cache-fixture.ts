// Test helper (not a test): a fresh temporary cache root, seeded with npm packages already present
// in the developer's cache ($TLC_CACHE or ~/.cache/tlc) so tests do not download them again.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const MOBY_NPM_DIR = '@stdlib__datasets-moby-dick@0.2.3';

export function tempCache(prefix: string, seedNpm: string[] = []): { root: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `tlc-${prefix}-`));
  const shared = process.env['TLC_CACHE'] || path.join(os.homedir(), '.cache', 'tlc');
  for (const name of seedNpm) {
    const from = path.join(shared, 'npm', name);
    if (fs.existsSync(path.join(from, 'fetched.json')) && fs.existsSync(path.join(from, 'package'))) {
      fs.mkdirSync(path.join(root, 'npm'), { recursive: true });
      execFileSync('cp', ['-r', from, path.join(root, 'npm', name)]);
    }
  }
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
