// The repository's static checks as tests, so CI runs them: the TypeScript compiler over every source,
// test and bench file (`npm run typecheck`), and Biome's linter and formatter (`npm run lint`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return {
    status: r.status,
    out: `${r.error ? `${r.error.message}\n` : ''}${r.stdout ?? ''}${r.stderr ?? ''}`,
  };
}

test('tsc --noEmit reports no type errors', () => {
  const r = run(bin('tsc'), ['--noEmit']);
  assert.equal(r.status, 0, `tsc found errors (npm run typecheck):\n${r.out.slice(0, 4000)}`);
});

test('biome check (lint and format) passes on src, test and bench', () => {
  const r = run(bin('biome'), ['check', 'src', 'test', 'bench']);
  assert.equal(
    r.status,
    0,
    `biome check failed (npm run lint; biome check --write fixes formatting):\n${r.out.slice(0, 4000)}`,
  );
});
