// `npm run bench -- train`: tlc's training step against a PyTorch reference (bench/torch_train.py) on
// identical work, side by side in one run: every variant runs in its own child process, variants
// alternate round by round, and one JSON document (machine, versions, figures, targets) goes to stdout.
// PyTorch gets its best setting: 1 and 2 threads, OPENBLAS_CORETYPE/L2_SIZE as found and unset,
// OpenBLAS (fetched from Debian into the tlc cache when absent; Debian's default BLAS is the
// reference one). tlc also runs with --precision bf16 (compared with tlc fp32, not with PyTorch's
// fp32). Progress goes to stderr. No thresholds fail the process: targets are reported.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchDebianPackage } from '../src/data/fetch/debian.ts';
import { bf16MatmulImpl, loadNativeAddon } from '../src/engine/native-backend.ts';
import { type BenchConfig, CONFIGS } from './configs.ts';
import { formatSummary, type Summary, summarize, targetsFor, type VariantResult } from './train-report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN_ENV = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;
/**
 * The environment as this process found it. Children start from it, not from process.env: loading
 * tlc's addon here (for the FMA probe) sets GOMP_SPINCOUNT, which must not leak into PyTorch's runs.
 */
const ENV0: NodeJS.ProcessEnv = { ...process.env };

interface Options {
  configs: BenchConfig[];
  rounds: number;
  steps: number;
  warmup: number;
  tlcThreads: number[];
  /** tlc's linear-layer precisions to run (fp32 is compared with PyTorch; bf16 with tlc fp32) */
  precisions: ('fp32' | 'bf16')[];
  torchThreads: number[];
  torchBlas: string[];
  python: string;
}

interface Variant {
  id: string;
  kind: 'tlc' | 'torch';
  threads: number;
  precision?: 'fp32' | 'bf16';
  /** torch only: OPENBLAS_* as found ('machine') or removed ('unset'), and which BLAS */
  openblasEnv?: 'machine' | 'unset';
  blas?: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      configs: { type: 'string', default: CONFIGS.map((c) => c.name).join(',') },
      rounds: { type: 'string', default: '2' },
      steps: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '3' },
      threads: { type: 'string', default: String(os.availableParallelism()) },
      precisions: { type: 'string', default: 'fp32,bf16' },
      'torch-threads': { type: 'string', default: [...new Set([1, os.availableParallelism()])].join(',') },
      'torch-blas': { type: 'string', default: 'openblas-openmp' },
      python: { type: 'string', default: '/usr/bin/python3' },
    },
  });
  const ints = (s: string, what: string): number[] =>
    s.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`--${what}: expected positive integers, found '${x}'`);
      return n;
    });
  const configs = values.configs.split(',').map((n) => {
    const c = CONFIGS.find((x) => x.name === n);
    if (!c)
      throw new Error(`--configs: unknown config '${n}'; known: ${CONFIGS.map((x) => x.name).join(', ')}`);
    return c;
  });
  const precisions = values.precisions.split(',').map((p) => {
    if (p !== 'fp32' && p !== 'bf16')
      throw new Error(`--precisions: expected fp32 and/or bf16, found '${p}'`);
    return p;
  });
  if (!precisions.includes('fp32'))
    throw new Error('--precisions: fp32 must be included (the comparison with PyTorch)');
  return {
    configs,
    precisions,
    rounds: ints(values.rounds, 'rounds')[0]!,
    steps: ints(values.steps, 'steps')[0]!,
    warmup: ints(values.warmup, 'warmup')[0]!,
    tlcThreads: ints(values.threads, 'threads'),
    torchThreads: ints(values['torch-threads'], 'torch-threads'),
    torchBlas: values['torch-blas'].split(','),
    python: values.python,
  };
}

/** Library folder holding libblas.so.3 for a BLAS name: 'system' (none), 'openblas-openmp|pthread' or a path. */
function blasDir(name: string): string | null {
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

function modelArgs(c: BenchConfig): string[] {
  return [
    ...[
      '--family',
      c.family,
      '--vocab',
      String(c.vocab),
      '--d-model',
      String(c.d),
      '--layers',
      String(c.layers),
    ],
    ...['--heads', String(c.heads), '--ff', String(c.ff), '--seq', String(c.seq), '--batch', String(c.batch)],
  ];
}

/** `tlc bench train --json` on config c, plus extra flags. */
function tlcArgv(c: BenchConfig, extra: string[]): string[] {
  return [
    process.execPath,
    path.join(ROOT, 'bin', 'tlc.mjs'),
    'bench',
    'train',
    '--json',
    ...modelArgs(c),
    ...extra,
  ];
}

function variants(c: BenchConfig, o: Options, blas: Map<string, string | null>): Variant[] {
  const steps = ['--steps', String(o.steps), '--warmup', String(o.warmup)];
  const out: Variant[] = o.precisions.flatMap((p) =>
    o.tlcThreads.map(
      (t): Variant => ({
        id: p === 'fp32' ? `tlc t${t}` : `tlc t${t} ${p}`,
        kind: 'tlc',
        threads: t,
        precision: p,
        argv: tlcArgv(c, [...steps, '--threads', String(t), '--precision', p]),
        env: { ...ENV0 },
      }),
    ),
  );
  const hasEnv = TOKEN_ENV.some((k) => ENV0[k] !== undefined);
  for (const [name, dir] of blas) {
    for (const t of o.torchThreads) {
      for (const e of hasEnv ? (['machine', 'unset'] as const) : (['machine'] as const)) {
        const env: NodeJS.ProcessEnv = {
          ...ENV0,
          OMP_NUM_THREADS: String(t),
          OPENBLAS_NUM_THREADS: String(t),
        };
        if (e === 'unset') for (const k of TOKEN_ENV) delete env[k];
        if (dir) env['LD_LIBRARY_PATH'] = [dir, ENV0['LD_LIBRARY_PATH']].filter(Boolean).join(':');
        out.push({
          id: `torch t${t} ${name} openblas-env:${e}`,
          kind: 'torch',
          threads: t,
          openblasEnv: e,
          blas: name,
          argv: [
            o.python,
            path.join(ROOT, 'bench', 'torch_train.py'),
            ...modelArgs(c),
            ...steps,
            '--threads',
            String(t),
          ],
          env,
        });
      }
    }
  }
  return out;
}

/** One child run: its timed step times, its own peak RSS and the JSON it printed last. */
function runOnce(v: Variant): { steps_ms: number[]; peak_rss_mb: number; last: Record<string, unknown> } {
  const r = spawnSync(v.argv[0]!, v.argv.slice(1), {
    env: v.env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    cwd: ROOT,
  });
  if (r.status !== 0)
    throw new Error(`${v.id} failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-800)}`);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines[lines.length - 1];
  if (!last) throw new Error(`${v.id} printed no JSON: ${r.stdout.slice(-400)}`);
  const steps =
    v.kind === 'tlc'
      ? (last['steps_ms'] as number[])
      : lines.filter((l) => typeof l['ms'] === 'number' && !l['warmup']).map((l) => l['ms'] as number);
  return { steps_ms: steps, peak_rss_mb: last['peak_rss_mb'] as number, last };
}

/** Best of a few FMA-loop runs: the FP32 ceiling (noisy neighbours only ever lower a run). */
function peakFlops(threads: number, tries = 5): number {
  const addon = loadNativeAddon();
  let best = 0;
  for (let i = 0; i < tries; i++) best = Math.max(best, addon.peakFlops(threads, 2e7));
  return best;
}

/**
 * The FMA ceiling used for MFU at each thread count: the best measurement, but never below that
 * count times the best single-thread figure (a busy neighbour can only pull a measurement down, and
 * a lower ceiling would overstate MFU).
 */
function ceilings(peak: Map<number, number>): Map<number, number> {
  const one = peak.get(1) ?? 0;
  return new Map([...peak].map(([t, f]) => [t, Math.max(f, t * one)]));
}

/** Peak RSS of `tlc bench train` on a trivial model: what the runtime holds before any model memory. */
function runtimeRssMb(): number {
  const trivial: BenchConfig = {
    name: 'trivial',
    family: 'encoder',
    vocab: 64,
    d: 16,
    layers: 1,
    heads: 2,
    ff: 32,
    seq: 8,
    batch: 2,
  };
  return runOnce({
    id: 'tlc runtime',
    kind: 'tlc',
    threads: 1,
    argv: tlcArgv(trivial, ['--steps', '1', '--warmup', '1']),
    env: ENV0,
  }).peak_rss_mb;
}

function threadCounts(o: Options): number[] {
  return [...new Set([1, ...o.tlcThreads, ...o.torchThreads])].sort((a, b) => a - b);
}

function torchVersion(python: string): string {
  try {
    return execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unavailable';
  }
}

function runConfig(
  c: BenchConfig,
  o: Options,
  blas: Map<string, string | null>,
  peak: Map<number, number>,
  runtimeRss: number,
): Summary {
  const vs = variants(c, o, blas);
  const runs = new Map<string, VariantResult>(
    vs.map((v) => [
      v.id,
      {
        variant: v.id,
        kind: v.kind,
        threads: v.threads,
        precision: v.precision,
        openblas_env: v.openblasEnv,
        blas: v.blas,
        runs: [],
      },
    ]),
  );
  for (let r = 0; r < o.rounds; r++) {
    const order = vs.map((_, i) => vs[(i + r) % vs.length]!); // rotate: no variant always runs first
    for (const v of order) {
      process.stderr.write(
        `[bench] ${c.name} round ${r + 1}/${o.rounds}: ${v.id} (load ${os.loadavg()[0]!.toFixed(2)})\n`,
      );
      runs.get(v.id)!.runs.push({ ...runOnce(v), load1: +os.loadavg()[0]!.toFixed(2) });
    }
    for (const t of threadCounts(o)) peak.set(t, Math.max(peak.get(t) ?? 0, peakFlops(t, 3)));
  }
  return summarize(
    runtimeRss,
    c,
    [...runs.values()],
    ceilings(peak),
    vs.find((v) => v.kind === 'tlc' && v.precision === 'fp32')!.argv,
  );
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  const blas = new Map(o.torchBlas.map((b) => [b, blasDir(b)]));
  const peak = new Map<number, number>();
  for (const t of threadCounts(o)) peak.set(t, peakFlops(t));
  const load0 = os.loadavg();
  const runtimeRss = runtimeRssMb();
  const results = o.configs.map((c) => runConfig(c, o, blas, peak, runtimeRss));
  const doc = {
    bench: 'train',
    command: `npm run bench -- train ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      torch: torchVersion(o.python),
      simd_lanes: loadNativeAddon().simdLanes,
      bf16_matmul: o.precisions.includes('bf16') ? bf16MatmulImpl() : null,
      openblas_env_found: Object.fromEntries(TOKEN_ENV.map((k) => [k, ENV0[k] ?? null])),
      torch_blas: Object.fromEntries(blas),
      loadavg_start: load0.map((x) => +x.toFixed(2)),
      loadavg_end: os.loadavg().map((x) => +x.toFixed(2)),
    },
    fma_peak_gflops_measured: Object.fromEntries(
      [...peak].map(([t, f]) => [`threads_${t}`, +(f / 1e9).toFixed(1)]),
    ),
    fma_ceiling_gflops_used: Object.fromEntries(
      [...ceilings(peak)].map(([t, f]) => [`threads_${t}`, +(f / 1e9).toFixed(1)]),
    ),
    protocol:
      `each variant runs ${o.rounds}x (${o.warmup} warm-up + ${o.steps} timed steps per run) in its own process, ` +
      'variants alternating; tokens/s = median over all timed steps, min/max = slowest/fastest step; ' +
      'MFU = model FLOPs/s (tlc modelStats: GEMM FLOPs, 3x forward) / the FMA ceiling at the same thread count',
    configs: results,
    targets: targetsFor(results),
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  process.stderr.write(formatSummary(results, doc.targets));
}

main();
