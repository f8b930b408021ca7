// The side effects behind bench/train.ts's PyTorch peer: finding OpenBLAS's libblas.so.3 for a
// --torch-blas name (fetched from Debian into the tlc cache when not installed) and asking
// bench/torch_train.py which library its GEMMs run in, refusing the reference BLAS before any timing.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchDebianPackage } from '../src/data/fetch/debian.ts';
import { type BlasIdentity, blasRefusal, TOKEN_ENV, torchEnv } from './torch-peer.ts';

export const TORCH_SCRIPT = fileURLToPath(new URL('./torch_train.py', import.meta.url));

/** A PyTorch run that cannot be a peer: the bench stops with this message and prints no figure. */
export class RefusedPeer extends Error {}

/** Library folder holding libblas.so.3 for a BLAS name: 'system' (none), 'openblas-openmp|pthread' or a path. */
export function blasDir(name: string): string | null {
  if (name === 'system') return null;
  if (name.startsWith('/')) return name;
  const flavor = /^openblas-(openmp|pthread)$/.exec(name)?.[1];
  if (!flavor)
    throw new Error(
      `--torch-blas: expected system, openblas-openmp, openblas-pthread or a folder, found '${name}'`,
    );
  const sys = `/usr/lib/x86_64-linux-gnu/openblas-${flavor}`;
  if (fs.existsSync(path.join(sys, 'libblas.so.3'))) return sys;
  process.stderr.write(
    `[bench] PyTorch BLAS: libopenblas0-${flavor} from Debian, extracted into the tlc cache (not installed)\n`,
  );
  const deb = fetchDebianPackage(`libopenblas0-${flavor}`);
  return path.join(deb.root, 'usr', 'lib', 'x86_64-linux-gnu', `openblas-${flavor}`);
}

export function torchVersion(python: string): string {
  try {
    return execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unavailable';
  }
}

/**
 * Which library each --torch-blas setting gives PyTorch's fp32 GEMMs (torch_train.py --probe-blas,
 * with the OpenBLAS variables as found and removed: the core OpenBLAS picks can differ). Throws
 * RefusedPeer, before anything is timed, for a setting on the reference BLAS.
 */
export function probeBlas(
  python: string,
  base: NodeJS.ProcessEnv,
  blas: Map<string, string | null>,
): Record<string, BlasIdentity> {
  const out: Record<string, BlasIdentity> = {};
  const envs = TOKEN_ENV.some((k) => base[k] !== undefined)
    ? (['machine', 'unset'] as const)
    : (['machine'] as const);
  for (const [name, dir] of blas)
    for (const e of envs) {
      const where = `--torch-blas ${name} openblas-env:${e}`;
      const r = spawnSync(python, [TORCH_SCRIPT, '--probe-blas'], {
        env: torchEnv(base, 1, e, dir),
        encoding: 'utf8',
      });
      const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
      if (r.status !== 0 || !line)
        throw new Error(
          `PyTorch (${python}) could not run (${where}): ${(r.stderr || r.stdout || '').slice(-600)}`,
        );
      const id = (JSON.parse(line) as { blas: BlasIdentity }).blas;
      const refusal = blasRefusal(id, `(${where})`);
      if (refusal) throw new RefusedPeer(refusal);
      out[`${name} openblas-env:${e}`] = id;
    }
  return out;
}
