// bench/torch_train.py itself, run on Debian's PyTorch: both ways of writing the blocks hold tlc's
// parameter count and run the GEMM FLOPs of tlc's formula (bf16 autocast: all of them in bf16), and
// its BLAS check tells OpenBLAS from the reference BLAS. Skipped where python3-torch is absent
// (the PyTorch peer is optional: `TLC_WITH_TORCH=1 bash scripts/bootstrap.sh` installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from '../../bench/configs.ts';
import { type BlasIdentity, blasRefusal } from '../../bench/torch-peer.ts';
import { expectedFlopsPerToken } from '../../bench/train-report.ts';
import { fetchDebianPackage } from '../../src/data/fetch/debian.ts';
import { modelStats, resolveModelConfig } from '../../src/model/config.ts';

const SCRIPT = fileURLToPath(new URL('../../bench/torch_train.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : 'python3-torch is not installed (TLC_WITH_TORCH=1 bash scripts/bootstrap.sh)';

const small = (family: 'encoder' | 'decoder'): BenchConfig => ({
  name: 'small',
  family,
  vocab: 512,
  d: 32,
  layers: 2,
  heads: 2,
  ff: 128,
  seq: 32,
  batch: 8,
});

function torchRun(args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

function shapeArgs(c: BenchConfig): string[] {
  return [
    ...['--family', c.family, '--vocab', String(c.vocab), '--d-model', String(c.d)],
    ...['--layers', String(c.layers), '--heads', String(c.heads), '--ff', String(c.ff)],
    ...['--seq', String(c.seq), '--batch', String(c.batch), '--steps', '1', '--warmup', '0'],
  ];
}

for (const family of ['encoder', 'decoder'] as const) {
  test(
    `torch_train.py ${family}: hand and stock blocks hold tlc's parameters and run its GEMM FLOPs`,
    { skip },
    () => {
      const c = small(family);
      const m = resolveModelConfig({
        family,
        vocab: c.vocab,
        d_model: c.d,
        n_layers: c.layers,
        n_heads: c.heads,
        d_ff: c.ff,
        max_len: c.seq,
      });
      for (const module of ['hand', 'stock']) {
        const out = torchRun([...shapeArgs(c), '--module', module]);
        assert.equal(out['params'], modelStats(m, c.seq).params, `${module}: parameters`);
        const rows = out['predicted_rows'] as number;
        if (family === 'decoder') assert.equal(rows, c.batch * c.seq);
        assert.ok(
          Math.abs((out['flops_per_token'] as number) - expectedFlopsPerToken(c, rows)) <= 1,
          `${module}: FLOPs`,
        );
        assert.deepEqual(Object.keys(out['gemm_flops_by_dtype'] as object), ['float32']);
      }
    },
  );
}

test(
  'torch_train.py --precision bf16: under autocast every GEMM, forward and backward, is bf16',
  { skip },
  () => {
    const c = small('decoder');
    for (const module of ['hand', 'stock']) {
      const out = torchRun([...shapeArgs(c), '--module', module, '--precision', 'bf16']);
      const byDtype = out['gemm_flops_by_dtype'] as Record<string, number>;
      assert.deepEqual(Object.keys(byDtype), ['bfloat16'], module);
      assert.equal(
        Math.round(byDtype['bfloat16']! / (c.batch * c.seq)),
        expectedFlopsPerToken(c, c.batch * c.seq),
      );
    }
  },
);

test(
  'torch_train.py --probe-blas: OpenBLAS is a peer, the reference BLAS (Debian libblas3) is refused',
  { skip },
  () => {
    const openblasDir = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
    if (fs.existsSync(path.join(openblasDir, 'libblas.so.3'))) {
      const id = torchRun(['--probe-blas'], { ...process.env, LD_LIBRARY_PATH: openblasDir })[
        'blas'
      ] as BlasIdentity;
      assert.equal(id.kind, 'openblas');
      assert.match(id.config ?? '', /^OpenBLAS /);
      assert.equal(blasRefusal(id, 'p'), null);
    }
    const ref = path.join(fetchDebianPackage('libblas3').root, 'usr', 'lib', 'x86_64-linux-gnu', 'blas');
    const id = torchRun(['--probe-blas'], { ...process.env, LD_LIBRARY_PATH: ref })['blas'] as BlasIdentity;
    assert.equal(id.kind, 'reference');
    assert.ok(id.sgemm_from?.startsWith(ref), id.sgemm_from ?? 'null');
    assert.match(blasRefusal(id, 'p') ?? '', /reference BLAS \(Netlib/);
  },
);
