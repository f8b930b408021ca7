// The `tlc` command as the end-to-end tests run it: bin/tlc.mjs in a child process from the
// repository root, as a user would.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** `input` is the child's stdin (default: none) */
export function runTlc(args: string[], timeoutMs = 600_000, input?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tlc.mjs'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: timeoutMs,
    ...(input !== undefined ? { input } : {}),
  });
}
