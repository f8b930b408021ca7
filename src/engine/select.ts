// Picks a backend by name for the CLI and library callers: 'native' (default, C++ on oneDNN) or
// 'ts' (the slow reference). Never falls back silently: an unbuilt addon is a SetupError.
import type { Backend, LinearPrecision } from './backend.ts';
import { InputError } from './errors.ts';
import { loadNativeBackend } from './native-backend.ts';
import { createTsBackend } from './ts-backend.ts';

export function createBackend(
  name: string,
  threads?: number,
  precision: LinearPrecision = 'fp32',
): Backend<Float32Array> {
  let be: Backend<Float32Array>;
  if (name === 'native') be = loadNativeBackend({ ...(threads ? { threads } : {}), precision });
  else if (name === 'ts') be = createTsBackend('f32', precision);
  else
    throw new InputError(
      `unknown backend '${name}': expected 'native' or 'ts'`,
      'use --backend native (fast) or --backend ts (reference)',
    );
  if (threads) be.setThreads(threads);
  return be;
}
