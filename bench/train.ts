// `npm run bench -- train`: tlc's training step against a PyTorch reference (bench/torch_train.py) on
// identical work, side by side in one run: every variant runs in its own child process, variants
// alternate round by round, and one JSON document (machine, versions, figures, targets) goes to stdout.
// PyTorch gets its best setting: hand-written blocks and nn.TransformerEncoder, 1 and 2 threads,
// OPENBLAS_CORETYPE/L2_SIZE as found and unset, OpenBLAS (fetched from Debian into the tlc cache
// when absent); a PyTorch on the reference BLAS is refused. tlc also runs with --precision bf16
// (compared with tlc fp32 and with PyTorch's bf16 autocast). Progress goes to stderr. No thresholds
// fail the process: targets are reported.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bf16MatmulImpl, loadNativeAddon } from '../src/engine/native-backend.ts';
import { type BenchConfig, CONFIGS } from './configs.ts';
import {
  type BlasIdentity,
  blasRefusal,
  parseGelus,
  parseModules,
  TOKEN_ENV,
  type TorchGelu,
  type TorchModule,
  torchPlans,
} from './torch-peer.ts';
import { blasDir, probeBlas, RefusedPeer, TORCH_SCRIPT, torchVersion } from './torch-setup.ts';
import {
  formatSummary,
  peerMismatch,
  type Summary,
  summarize,
  targetsFor,
  type VariantResult,
} from './train-report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
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
  torchModules: TorchModule[];
  torchGelus: TorchGelu[];
  python: string;
}

interface Variant {
  id: string;
  kind: 'tlc' | 'torch';
  threads: number;
  precision?: 'fp32' | 'bf16';
  /** torch only: OPENBLAS_* as found ('machine') or removed ('unset'), which BLAS, which blocks */
  openblasEnv?: 'machine' | 'unset';
  blas?: string;
  module?: TorchModule;
  gelu?: TorchGelu;
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
      'torch-modules': { type: 'string', default: 'hand,stock' },
      'torch-gelu': { type: 'string', default: 'tanh' },
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
    torchModules: parseModules(values['torch-modules']),
    torchGelus: parseGelus(values['torch-gelu']),
    python: values.python,
  };
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
  const plans = torchPlans(ENV0, {
    modules: o.torchModules,
    gelus: o.torchGelus,
    threads: o.torchThreads,
    precisions: o.precisions,
    blasDirs: blas,
  });
  for (const p of plans)
    out.push({
      id: p.id,
      kind: 'torch',
      threads: p.threads,
      precision: p.precision,
      openblasEnv: p.openblasEnv,
      blas: p.blas,
      module: p.module,
      gelu: p.gelu,
      argv: [o.python, TORCH_SCRIPT, ...modelArgs(c), ...steps, ...p.args],
      env: p.env,
    });
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
  const blas = last['blas'] as BlasIdentity | undefined;
  const refusal = v.kind === 'torch' && blas ? blasRefusal(blas, `'${v.id}'`) : null;
  if (refusal) throw new RefusedPeer(refusal);
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
        module: v.module,
        gelu: v.gelu,
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
  const s = summarize(
    runtimeRss,
    c,
    [...runs.values()],
    ceilings(peak),
    vs.find((v) => v.kind === 'tlc' && v.precision === 'fp32')!.argv,
  );
  const mismatch = peerMismatch(s);
  if (mismatch) throw new Error(mismatch);
  return s;
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  const blas = new Map(o.torchBlas.map((b) => [b, blasDir(b)]));
  const blasFound = probeBlas(o.python, ENV0, blas);
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
      /** the library PyTorch's fp32 GEMMs (sgemm_) resolve to, per --torch-blas and OpenBLAS setting */
      torch_sgemm: blasFound,
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
      'MFU = model FLOPs/s (tlc modelStats: GEMM FLOPs, 3x forward) / the FMA ceiling at the same thread count; ' +
      'PyTorch: hand-written blocks and nn.TransformerEncoder, the peer is the fastest fp32 variant, ' +
      'the bf16 peer the fastest bf16-autocast variant; each PyTorch run counts its GEMM FLOPs (forward + backward) ' +
      "and must match tlc's formula",
    configs: results,
    targets: targetsFor(results),
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  process.stderr.write(formatSummary(results, doc.targets));
}

try {
  main();
} catch (e) {
  if (!(e instanceof RefusedPeer)) throw e;
  process.stderr.write(`[bench] ${e.message}\n`);
  process.exitCode = 1;
}
