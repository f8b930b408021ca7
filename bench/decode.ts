// `npm run bench -- decode`: translation throughput and latency of tlc against the same model in
// PyTorch (bench/torch_decode.py), side by side in one run. Trains (once; reruns reuse it) an
// encoder-decoder on mt-en-fr, writes the test sentences' batches to one file that both peers read,
// then runs each peer variant (tlc and PyTorch, each at 1 and 2 threads) in its own process, the
// variants alternating round by round. Modes: cached greedy and beam 4 at batch 32 (throughput, BLEU),
// greedy and beam 4 at batch 1 (latency), and greedy with 64 forced output tokens cached and
// uncached (the cache's gain). One JSON document on stdout (machine, versions, model, figures,
// agreement of the two peers' tokens, targets); a summary on stderr. Targets are reported, never enforced.
//
//   npm run bench -- decode            # the full run
//   npm run bench -- decode --quick    # a smoke run: tiny model, few sentences, one round
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadData, splitFractionsFor } from '../src/data/load.ts';
import { splitCorpus } from '../src/data/splits.ts';
import { BOS_ID, EOS_ID, type Tokenizer } from '../src/data/tokenizer/index.ts';
import { maxOutputLen } from '../src/eval/translate.ts';
import { openModelDir } from '../src/io/model-dir.ts';
import { modelStats } from '../src/model/config.ts';
import { loadLatestCheckpoint } from '../src/train/checkpoint.ts';
import {
  type DecodeBatch,
  type DecodeInput,
  type DecodeMode,
  decodeTargets,
  formatDecodeSummary,
  type PeerOutput,
  summarizeMode,
  type VariantRuns,
} from './decode-report.ts';
import { type BlasIdentity, blasRefusal, TOKEN_ENV, torchEnv } from './torch-peer.ts';
import { blasDir, RefusedPeer, torchVersion } from './torch-setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TLC_WORKER = fileURLToPath(new URL('./decode-tlc.ts', import.meta.url));
const TORCH_WORKER = fileURLToPath(new URL('./torch_decode.py', import.meta.url));
/** The environment as found: every child starts from it (the addon's GOMP_SPINCOUNT must not leak). */
const ENV0: NodeJS.ProcessEnv = { ...process.env };

interface Options {
  quick: boolean;
  out: string;
  trainSeconds: number;
  sentences: number;
  latencySentences: number;
  batch: number;
  beam: number;
  lenPenalty: number;
  fixedLen: number;
  rounds: number;
  tlcThreads: number[];
  torchThreads: number[];
  torchBlas: string;
  python: string;
  skipTorch: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'runs/bench-decode' },
      'train-seconds': { type: 'string' },
      sentences: { type: 'string' },
      'latency-sentences': { type: 'string' },
      batch: { type: 'string', default: '32' },
      beam: { type: 'string', default: '4' },
      'len-penalty': { type: 'string', default: '1' },
      'fixed-len': { type: 'string', default: '64' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      'torch-threads': { type: 'string' },
      'torch-blas': { type: 'string', default: 'openblas-openmp' },
      python: { type: 'string', default: '/usr/bin/python3' },
      'skip-torch': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const q = v.quick;
  const ints = (s: string, what: string): number[] =>
    s.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`--${what}: expected positive integers, found '${x}'`);
      return n;
    });
  const one = (s: string | undefined, dflt: string, what: string) => ints(s ?? dflt, what)[0]!;
  const cores = String(os.availableParallelism());
  const lp = Number(v['len-penalty']);
  if (!(lp >= 0)) throw new Error(`--len-penalty: expected a number >= 0, found '${v['len-penalty']}'`);
  return {
    quick: q,
    out: v.out,
    trainSeconds: one(v['train-seconds'], q ? '20' : '600', 'train-seconds'),
    sentences: one(v.sentences, q ? '32' : '256', 'sentences'),
    latencySentences: one(v['latency-sentences'], q ? '4' : '32', 'latency-sentences'),
    batch: one(v.batch, '32', 'batch'),
    beam: one(v.beam, '4', 'beam'),
    lenPenalty: lp,
    fixedLen: one(v['fixed-len'], '64', 'fixed-len'),
    rounds: one(v.rounds, q ? '1' : '3', 'rounds'),
    tlcThreads: ints(v.threads ?? (q ? '1' : [...new Set(['1', cores])].join(',')), 'threads'),
    torchThreads: ints(
      v['torch-threads'] ?? (q ? '1' : [...new Set(['1', cores])].join(',')),
      'torch-threads',
    ),
    torchBlas: v['torch-blas'],
    python: v.python,
    skipTorch: v['skip-torch'],
  };
}

/** The training run's --set overrides: a d256, 3+3-layer model on mt-en-fr (--quick: a tiny one). */
function trainSets(o: Options): string[] {
  const size = o.quick
    ? [
        'model.d_model=64',
        'model.n_layers=2',
        'model.n_dec_layers=2',
        'model.n_heads=2',
        'data.name=mt-en-fr-small',
      ]
    : [
        'model.d_model=256',
        'model.n_layers=3',
        'model.n_dec_layers=3',
        'model.n_heads=4',
        'data.name=mt-en-fr',
      ];
  return [
    ...size,
    `data.vocab_size=${o.quick ? 2048 : 8192}`,
    'data.seq_len=64', // max_len 64: room for the 64 forced output tokens
    `data.max_tokens=${o.quick ? 1024 : 4096}`,
    'optim.lr=1e-3',
    `optim.warmup_steps=${o.quick ? 20 : 200}`,
    `budget.seconds=${o.trainSeconds}`,
    `eval.every_seconds=${Math.max(5, o.trainSeconds / 4)}`,
    `checkpoint.every_seconds=${Math.max(10, o.trainSeconds / 2)}`,
    'seed=1',
  ];
}

/** The model run directory, trained now unless a finished run with the same settings is there. */
function ensureModel(o: Options): string {
  const sets = trainSets(o);
  const key = createHash('sha256').update(JSON.stringify(sets)).digest('hex').slice(0, 12);
  const dir = path.resolve(o.out, `model-${key}`);
  const res = path.join(dir, 'result.json');
  if (
    fs.existsSync(res) &&
    (JSON.parse(fs.readFileSync(res, 'utf8')) as { status?: string }).status === 'done'
  )
    return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`[bench] training the model (${o.trainSeconds} s) -> ${dir}\n`);
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'tlc.mjs'),
      'train',
      '--config',
      'tiny-encdec',
      ...sets.flatMap((s) => ['--set', s]),
      '--run-dir',
      dir,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: ENV0 },
  );
  if (r.status !== 0) throw new Error(`tlc train failed (exit ${r.status}); see its messages above`);
  return dir;
}

interface Sentence {
  ids: Int32Array;
  ref: string;
}

/** Every k-th pair of the test split (spread over its sources), `n` at most, encoded. */
function testSentences(data: string, seed: number, tok: Tokenizer, n: number, keep: number): Sentence[] {
  const corpus = loadData(data, { kind: 'pairs' });
  const split = splitCorpus(corpus, { ...splitFractionsFor(data), seed });
  if (split.test.kind !== 'pairs') throw new Error(`${data}: expected translation pairs`);
  const pairs = split.test.pairs.filter((p) => p.src.trim() !== '');
  const step = Math.max(1, Math.floor(pairs.length / n));
  return pairs
    .filter((_, i) => i % step === 0)
    .slice(0, n)
    .map((p) => ({ ids: tok.encode(p.src).subarray(0, keep), ref: p.tgt }));
}

/** One batch of sentences: <s> ids </s>, padded to the longest. */
function makeBatch(ss: readonly Sentence[], maxLenCfg: number, fixedLen: number | null): DecodeBatch {
  const B = ss.length;
  const Ts = Math.max(...ss.map((s) => s.ids.length)) + 2;
  const src = new Array<number>(B * Ts).fill(0);
  const mask = new Array<number>(B * Ts).fill(0);
  ss.forEach((s, b) => {
    src[b * Ts] = BOS_ID;
    s.ids.forEach((x, k) => {
      src[b * Ts + 1 + k] = x;
    });
    src[b * Ts + s.ids.length + 1] = EOS_ID;
    mask.fill(1, b * Ts, b * Ts + s.ids.length + 2);
  });
  const maxLen = fixedLen === null ? maxOutputLen(Ts, maxLenCfg) : Math.min(fixedLen, maxLenCfg);
  return { B, Ts, src, mask, maxLen };
}

interface Prepared {
  input: DecodeInput;
  file: string;
  /** references per batch set, in batch order */
  refs: Record<string, string[]>;
  tok: Tokenizer;
  fixedLen: number;
}

function prepare(o: Options, runDir: string): Prepared {
  const md = openModelDir(runDir);
  const cfg = md.cfg;
  const ck = loadLatestCheckpoint(runDir, (m) => process.stderr.write(`[bench] warning: ${m}\n`));
  if (!ck) throw new Error(`${runDir} has no checkpoint`);
  const { data, seed } = md.saved.config;
  const ss = testSentences(data.name, seed, md.tokenizer, o.sentences, cfg.max_len - 2);
  const sorted = [...ss].sort((a, b) => a.ids.length - b.ids.length); // batches of similar length
  const sets: Record<string, Sentence[][]> = { b32: [], b1: [], fixed: [] };
  for (let i = 0; i < sorted.length; i += o.batch) sets.b32!.push(sorted.slice(i, i + o.batch));
  const step = Math.max(1, Math.floor(sorted.length / o.latencySentences));
  sets.b1 = sorted
    .filter((_, i) => i % step === 0)
    .slice(0, o.latencySentences)
    .map((s) => [s]);
  const mid = Math.max(0, Math.floor((sorted.length - o.batch) / 2)); // a batch of typical length
  sets.fixed = [sorted.slice(mid, mid + o.batch)];
  const fixedLen = Math.min(o.fixedLen, cfg.max_len);
  const batches = Object.fromEntries(
    Object.entries(sets).map(([k, bs]) => [
      k,
      bs.map((b) => makeBatch(b, cfg.max_len, k === 'fixed' ? fixedLen : null)),
    ]),
  );
  const K = o.beam;
  const modes: DecodeMode[] = [
    {
      name: 'greedy-b32',
      kind: 'greedy',
      batches: 'b32',
      stop: true,
      what: `cached greedy, batches of ${o.batch}`,
    },
    {
      name: `beam${K}-b32`,
      kind: 'beam',
      batches: 'b32',
      stop: true,
      beam: K,
      lenPenalty: o.lenPenalty,
      what: `beam ${K}, length penalty ${o.lenPenalty}, batches of ${o.batch}`,
    },
    {
      name: 'greedy-b1',
      kind: 'greedy',
      batches: 'b1',
      stop: true,
      what: 'cached greedy, one sentence at a time',
    },
    {
      name: `beam${K}-b1`,
      kind: 'beam',
      batches: 'b1',
      stop: true,
      beam: K,
      lenPenalty: o.lenPenalty,
      what: `beam ${K}, one sentence at a time`,
    },
    {
      name: `fixed${fixedLen}-cached`,
      kind: 'greedy',
      batches: 'fixed',
      stop: false,
      what: `cached greedy, ${fixedLen} output tokens forced (</s> does not stop), one batch of ${sets.fixed[0]!.length}`,
    },
    {
      name: `fixed${fixedLen}-uncached`,
      kind: 'uncached',
      batches: 'fixed',
      stop: false,
      what: `uncached greedy (the whole prefix recomputed each step), ${fixedLen} output tokens forced`,
    },
  ];
  const input: DecodeInput = {
    run_dir: runDir,
    checkpoint: path.join(runDir, 'checkpoints', ck.info.file),
    config: cfg as unknown as Record<string, unknown>,
    bos: BOS_ID,
    eos: EOS_ID,
    batches,
    modes,
  };
  const text = JSON.stringify(input);
  const file = path.join(
    path.dirname(runDir),
    `input-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.json`,
  );
  fs.writeFileSync(file, text);
  const refs = Object.fromEntries(Object.entries(sets).map(([k, bs]) => [k, bs.flat().map((s) => s.ref)]));
  return { input, file, refs, tok: md.tokenizer, fixedLen };
}

interface Variant {
  id: string;
  peer: 'tlc' | 'torch';
  threads: number;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

function variants(o: Options, file: string, blas: string | null): Variant[] {
  const out: Variant[] = o.tlcThreads.map((t) => ({
    id: `tlc t${t}`,
    peer: 'tlc',
    threads: t,
    argv: [process.execPath, '--import', 'tsx', TLC_WORKER, '--input', file, '--threads', String(t)],
    env: ENV0,
  }));
  if (!o.skipTorch)
    for (const t of o.torchThreads)
      out.push({
        id: `torch t${t}`,
        peer: 'torch',
        threads: t,
        argv: [o.python, TORCH_WORKER, '--input', file, '--threads', String(t)],
        env: torchEnv(ENV0, t, 'machine', blas), // OPENBLAS_CORETYPE/L2_SIZE as found, never changed
      });
  return out;
}

function runOnce(v: Variant): PeerOutput {
  const r = spawnSync(v.argv[0]!, v.argv.slice(1), {
    env: v.env,
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0)
    throw new Error(`${v.id} failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-1500)}`);
  const line = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`${v.id} printed no JSON: ${r.stdout.slice(-400)}`);
  const out = JSON.parse(line) as PeerOutput;
  const refusal = v.peer === 'torch' ? blasRefusal(out['blas'] as BlasIdentity, `'${v.id}'`) : null;
  if (refusal) throw new RefusedPeer(refusal);
  return out;
}

/** Which library PyTorch's fp32 GEMMs run in with the environment as found; refuses the reference BLAS. */
function probeTorch(o: Options, blas: string | null): BlasIdentity {
  const r = spawnSync(o.python, [TORCH_WORKER, '--probe-blas'], {
    env: torchEnv(ENV0, 1, 'machine', blas),
    encoding: 'utf8',
  });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line)
    throw new Error(`PyTorch (${o.python}) could not run: ${(r.stderr || r.stdout || '').slice(-600)}`);
  const id = (JSON.parse(line) as { blas: BlasIdentity }).blas;
  const refusal = blasRefusal(id, `(--torch-blas ${o.torchBlas})`);
  if (refusal) throw new RefusedPeer(refusal);
  return id;
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const blas = o.skipTorch ? null : blasDir(o.torchBlas);
  const sgemm = o.skipTorch ? null : probeTorch(o, blas);
  const runDir = ensureModel(o);
  const p = prepare(o, runDir);
  const vs = variants(o, p.file, blas);
  const load0 = os.loadavg();
  const runs = new Map<string, VariantRuns>(
    vs.map((v) => [v.id, { id: v.id, peer: v.peer, threads: v.threads, runs: [] }]),
  );
  for (let r = 0; r < o.rounds; r++) {
    const order = vs.map((_, i) => vs[(i + r) % vs.length]!); // rotate: no variant always runs first
    for (const v of order) {
      process.stderr.write(
        `[bench] round ${r + 1}/${o.rounds}: ${v.id} (load ${os.loadavg()[0]!.toFixed(2)})\n`,
      );
      runs.get(v.id)!.runs.push(runOnce(v));
    }
  }
  const all = [...runs.values()];
  const detok = (ids: number[]) => p.tok.decode(Int32Array.from(ids), { skipSpecial: true }).trim();
  const summaries = p.input.modes.map((m) =>
    summarizeMode(
      m,
      all.filter((v) => v.peer === 'tlc'),
      all.filter((v) => v.peer === 'torch'),
      m.batches === 'b32' && m.stop ? p.refs[m.batches]! : null,
      detok,
    ),
  );
  const targets = decodeTargets(summaries);
  const cfg = openModelDir(runDir).cfg;
  const result = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const doc = {
    bench: 'decode',
    command: `npm run bench -- decode ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      torch: o.skipTorch ? null : torchVersion(o.python),
      openblas_env_found: Object.fromEntries(TOKEN_ENV.map((k) => [k, ENV0[k] ?? null])),
      torch_blas: blas,
      torch_sgemm: sgemm,
      loadavg_start: load0.map((x) => +x.toFixed(2)),
      loadavg_end: os.loadavg().map((x) => +x.toFixed(2)),
    },
    model: {
      run_dir: runDir,
      checkpoint: p.input.checkpoint,
      config: cfg,
      params: modelStats(cfg, 32).params,
      train_seconds: o.trainSeconds,
      train_result: { spent: result['spent'], final_valid: result['final_valid'] },
    },
    protocol:
      `each variant runs ${o.rounds}x in its own process, variants alternating (the order rotates each round); ` +
      "each process decodes every mode once untimed (its first batch) and then timed, batch by batch; a mode's time is " +
      'the median over rounds of its summed batch times; tokens/s = output tokens (no </s>) / that time; ' +
      'the peer of each side is its fastest variant per mode; agreement = share of sentences whose tokens are identical ' +
      "in both peers' outputs; BLEU: sacreBLEU-compatible corpus BLEU (13a) of the detokenized outputs against the " +
      'test references; PyTorch: bench/torch_decode.py with the OPENBLAS_* variables as found',
    sentences: {
      test_split: o.sentences,
      batch: o.batch,
      latency: o.latencySentences,
      fixed_len: p.fixedLen,
    },
    modes: summaries,
    targets,
    total_s: +((performance.now() - t0) / 1000).toFixed(1),
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  process.stderr.write(formatDecodeSummary(summaries, targets));
}

try {
  main();
} catch (e) {
  if (!(e instanceof RefusedPeer)) throw e;
  process.stderr.write(`[bench] ${e.message}\n`);
  process.exitCode = 1;
}
