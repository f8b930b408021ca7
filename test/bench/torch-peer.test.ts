// The PyTorch peer of `npm run bench -- train`: which runs are planned (both ways of writing the
// blocks, threads, OpenBLAS settings, bf16 autocast), and the refusal of a reference-BLAS PyTorch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BlasIdentity,
  blasRefusal,
  parseGelus,
  parseModules,
  torchEnv,
  torchPlans,
} from '../../bench/torch-peer.ts';

const base: NodeJS.ProcessEnv = {
  PATH: '/usr/bin',
  OPENBLAS_CORETYPE: 'Haswell',
  OPENBLAS_L2_SIZE: '512',
  LD_LIBRARY_PATH: '/opt/lib',
};

test('torchPlans: fp32 over modules x BLAS x threads x OpenBLAS setting; bf16 with the setting as found', () => {
  const plans = torchPlans(base, {
    modules: ['hand', 'stock'],
    gelus: ['tanh'],
    threads: [1, 2],
    precisions: ['fp32', 'bf16'],
    blasDirs: new Map([['openblas-openmp', '/usr/lib/x86_64-linux-gnu/openblas-openmp']]),
  });
  assert.equal(plans.length, 2 * 2 * 2 + 2 * 2); // 8 fp32, 4 bf16
  assert.deepEqual(
    plans.map((p) => p.id),
    [
      'torch hand t1 openblas-openmp openblas-env:machine',
      'torch hand t1 openblas-openmp openblas-env:unset',
      'torch hand t2 openblas-openmp openblas-env:machine',
      'torch hand t2 openblas-openmp openblas-env:unset',
      'torch stock t1 openblas-openmp openblas-env:machine',
      'torch stock t1 openblas-openmp openblas-env:unset',
      'torch stock t2 openblas-openmp openblas-env:machine',
      'torch stock t2 openblas-openmp openblas-env:unset',
      'torch hand t1 bf16 openblas-openmp',
      'torch hand t2 bf16 openblas-openmp',
      'torch stock t1 bf16 openblas-openmp',
      'torch stock t2 bf16 openblas-openmp',
    ],
  );
  const stockBf16 = plans.find((p) => p.id === 'torch stock t2 bf16 openblas-openmp')!;
  assert.deepEqual(stockBf16.args, [
    '--module',
    'stock',
    '--gelu',
    'tanh',
    '--precision',
    'bf16',
    '--threads',
    '2',
  ]);
  assert.equal(stockBf16.env['OPENBLAS_CORETYPE'], 'Haswell');
  const unset = plans.find((p) => p.id === 'torch hand t2 openblas-openmp openblas-env:unset')!;
  assert.equal(unset.env['OPENBLAS_CORETYPE'], undefined);
  assert.equal(unset.env['OPENBLAS_L2_SIZE'], undefined);
  assert.equal(unset.env['OMP_NUM_THREADS'], '2');
  assert.equal(unset.env['OPENBLAS_NUM_THREADS'], '2');
  assert.equal(unset.env['LD_LIBRARY_PATH'], '/usr/lib/x86_64-linux-gnu/openblas-openmp:/opt/lib');
  assert.equal(base['OMP_NUM_THREADS'], undefined, 'the base environment is not modified');
});

test('torchPlans: without OPENBLAS_* in the environment there is no "unset" twin; fp32 only, one module', () => {
  const plans = torchPlans(
    { PATH: '/usr/bin' },
    {
      modules: ['stock'],
      gelus: ['tanh', 'erf'],
      threads: [2],
      precisions: ['fp32'],
      blasDirs: new Map([['system', null]]),
    },
  );
  assert.deepEqual(
    plans.map((p) => p.id),
    ['torch stock t2 system openblas-env:machine', 'torch stock erf t2 system openblas-env:machine'],
  );
  assert.deepEqual(plans[1]!.args.slice(0, 4), ['--module', 'stock', '--gelu', 'erf']);
  assert.equal(plans[0]!.env['LD_LIBRARY_PATH'], undefined, "'system' leaves the library path alone");
});

test('torchEnv, parseModules and parseGelus', () => {
  assert.deepEqual(parseGelus('tanh,erf'), ['tanh', 'erf']);
  assert.throws(() => parseGelus('exact'), /--torch-gelu: expected tanh and\/or erf, found 'exact'/);
  assert.equal(torchEnv({}, 1, 'machine', '/x')['LD_LIBRARY_PATH'], '/x');
  assert.deepEqual(parseModules('stock,hand'), ['stock', 'hand']);
  assert.throws(
    () => parseModules('hand,transformers'),
    /--torch-modules: expected hand and\/or stock, found 'transformers'/,
  );
});

const openblas: BlasIdentity = {
  torch_blas_info: 'generic',
  sgemm_from: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3',
  kind: 'openblas',
  config: 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP Haswell MAX_THREADS=64',
  corename: 'Haswell',
};

test('blasRefusal: OpenBLAS, BLIS and MKL are peers; the reference BLAS is refused with the fix', () => {
  assert.equal(blasRefusal(openblas, 'x'), null);
  assert.equal(blasRefusal({ ...openblas, kind: 'blis' }, 'x'), null);
  assert.equal(
    blasRefusal({ torch_blas_info: 'mkl', sgemm_from: '/w/libtorch_cpu.so', kind: 'mkl' }, 'x'),
    null,
  );
  const ref: BlasIdentity = {
    torch_blas_info: 'generic',
    sgemm_from: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0',
    kind: 'reference',
  };
  const msg = blasRefusal(ref, "'torch hand t2 system openblas-env:machine'");
  assert.ok(msg);
  assert.match(msg, /^refusing the PyTorch peer 'torch hand t2 system openblas-env:machine'/);
  assert.match(msg, /reference BLAS \(Netlib, \/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\.11\.0\)/);
  assert.match(msg, /hint: install OpenBLAS \(`TLC_WITH_TORCH=1 bash scripts\/bootstrap\.sh`/);
  assert.match(msg, /--torch-blas openblas-openmp/);
});

test('blasRefusal: a BLAS the check cannot identify is refused too, naming what was found', () => {
  const msg = blasRefusal({ torch_blas_info: 'generic', sgemm_from: null, kind: 'unknown' }, 'p');
  assert.match(
    msg ?? '',
    /could not identify \(unknown, sgemm_ from nowhere found; torch BLAS_INFO=generic\)/,
  );
  const builtIn = blasRefusal(
    { torch_blas_info: 'eigen', sgemm_from: '/w/libtorch_cpu.so', kind: 'built-in (eigen)' },
    'p',
  );
  assert.match(builtIn ?? '', /built-in \(eigen\), sgemm_ from \/w\/libtorch_cpu\.so/);
});
