// `npm run bench -- infer [--quick]`: whole-model inference, tlc against onnxruntime-node, side by
// side, one JSON on stdout. Models: a trained tiny encoder and a trained tiny decoder (short
// trainings cached in the work dir), and a random-weight large decoder (default d 768, 12 layers,
// vocab 32000: ~110 M parameters, decoding is memory-bound). Configurations: tlc fp32, bf16 and every
// weight form of the compressed runtime (RUNTIME_FORMS, src/infer/runtime.ts), and onnxruntime-node
// fp32 and int8 on the exported copies (tlc export / the same graph builder), each at each thread
// count of --threads (the best one is reported). Each configuration runs in its own child process
// (so its peak RSS is its own), twice: 'serve' (load, batch-1 latency, batch-1 decode tokens/s:
// its peak RSS is what serving one stream needs) and 'batch' (throughput at batch 32 x 128 tokens,
// and the logits on fixed evaluation batches, from which the parent computes perplexity, KL and
// top-1 agreement against tlc fp32). Flags: --quick (a smoke run: small shapes, 20 training steps,
// one process per configuration, 1 thread), --work DIR, --threads 1,2,
// --steps N (training), --large-d/--large-layers/--large-vocab, --seq, --batch, --new, --reps.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compressModel } from '../src/compress/compress.ts';
import { writeContainer } from '../src/compress/container.ts';
import type { LinearPrecision } from '../src/engine/backend.ts';
import { loadNativeBackend } from '../src/engine/native-backend.ts';
import { createTsBackend } from '../src/engine/ts-backend.ts';
import { loadInt8Model, RUNTIME_FORMS } from '../src/infer/runtime.ts';
import { DEFAULT_INT8_SCHEME, FP32_FILE, INT8_FILE, writeOnnxFile } from '../src/io/onnx/export.ts';
import { type OrtModel, openOrt } from '../src/io/onnx/ort-run.ts';
import type { LmBatch } from '../src/model/batch.ts';
import { type ModelConfig, resolveModelConfig } from '../src/model/config.ts';
import { CausalCache, type CausalLm, denseCausalLm } from '../src/model/decode-causal.ts';
import { Transformer } from '../src/model/transformer.ts';
import { loadRunModel, loadTrainedRun } from '../src/train/load.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

// ---- what a child is told ----------------------------------------------------------------------
interface ModelEntry {
  name: string;
  cfg: ModelConfig;
  /** a training run (dense weights) or a random init with this seed */
  dense: { run: string } | { seed: number };
  /** compressed containers by runtime form name */
  containers: Record<string, string>;
  onnx: { fp32: string; int8: string };
  /** fixed evaluation batches (JSON) */
  evalFile: string;
}
interface Job {
  model: ModelEntry;
  engine: 'tlc' | 'ort';
  form: string;
  threads: number;
  /** serve: batch-1 figures and peak RSS; batch: throughput and the evaluation logits; both (--quick) */
  mode: 'serve' | 'batch' | 'both';
  shape: { T: number; B: number; prompt: number; newTokens: number; reps: number };
  logitsFile: string;
}

// ---- shared helpers ----------------------------------------------------------------------------
const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
const randomTokens = (n: number, V: number, seed: number) =>
  Int32Array.from({ length: n }, (_, i) => 5 + ((i * 7919 + seed * 104729) % (V - 5)));
interface EvalBatch {
  B: number;
  T: number;
  tokens: number[];
  keyMask: number[] | null;
  targets: number[];
}
const i64 = (v: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(v, (x) => BigInt(x))), dims);

/** One full forward of a batch through an exported graph (causal: empty past): logits (B, T, V), ms. */
async function ortForward(s: OrtModel, B: number, T: number, ids: Int32Array, mask: Uint8Array | null) {
  if (s.kind !== 'causal') {
    const r = await s.encode({ B, T, ids, ...(mask ? { mask } : {}) });
    return { logits: r.logits, ms: r.ms };
  }
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids, [B, T]),
    attention_mask: mask ? i64(mask, [B, T]) : i64(new Uint8Array(B * T).fill(1), [B, T]),
    position_ids: i64(
      Int32Array.from({ length: B * T }, (_, i) => i % T),
      [B, T],
    ),
  };
  for (let i = 0; i < s.layers; i++)
    for (const kv of ['key', 'value'])
      feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
        B,
        s.heads,
        0,
        s.headDim,
      ]);
  const t0 = performance.now();
  const out = await s.session.run(feeds);
  return { logits: out['logits']!.data as Float32Array, ms: performance.now() - t0 };
}

/**
 * This process's peak resident memory in MB: VmHWM of /proc/self/status (Linux). getrusage's
 * maxRSS is not used: across fork + exec Linux keeps the larger of the parent's RSS at the fork.
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}

// ---- the child: one configuration ----------------------------------------------------------------
interface TlcModel {
  forward(b: LmBatch): Float32Array;
  causal: CausalLm<Float32Array>;
  bytes: number;
}

function openTlc(job: Job): TlcModel {
  const m = job.model;
  const precision: LinearPrecision = job.form === 'bf16' ? 'bf16' : 'fp32';
  const be = loadNativeBackend({ threads: job.threads, precision });
  if (job.form === 'fp32' || job.form === 'bf16') {
    const t =
      'run' in m.dense ? loadRunModel(m.dense.run, be).model : new Transformer(be, m.cfg, m.dense.seed);
    return {
      forward: (b) => t.forwardLm(b, { train: false, grad: false }).head.logits,
      causal: denseCausalLm(t),
      bytes: t.layout.total * 4,
    };
  }
  const q = loadInt8Model(m.containers[job.form]!, be);
  const w = q.weightBytes();
  return { forward: (b) => q.forwardLm(b).logits, causal: q, bytes: w.held };
}

async function child(job: Job): Promise<Record<string, unknown>> {
  const { cfg } = job.model;
  const { T, B, prompt, newTokens, reps } = job.shape;
  const V = cfg.vocab;
  const out: Record<string, unknown> = {};
  const t0 = performance.now();
  const evals = (JSON.parse(fs.readFileSync(job.model.evalFile, 'utf8')) as EvalBatch[]).map((e) => ({
    ...e,
    tokens: Int32Array.from(e.tokens),
    keyMask: e.keyMask ? Uint8Array.from(e.keyMask) : null,
  }));
  const decoder = cfg.family === 'decoder';
  let forward: (
    B: number,
    T: number,
    ids: Int32Array,
    mask: Uint8Array | null,
  ) => Promise<{ logits: Float32Array; ms: number }>;
  let decode: (() => Promise<number[]>) | null = null;
  if (job.engine === 'tlc') {
    const m = openTlc(job);
    out['model_bytes'] = m.bytes;
    forward = async (b, t, ids, mask) => {
      const s = performance.now();
      const targets = new Int32Array(b * t);
      const logits = m.forward({ B: b, T: t, tokens: ids, keyMask: mask, targets });
      return { logits, ms: performance.now() - s };
    };
    if (decoder)
      decode = async () => {
        const cache = new CausalCache(m.causal, 1, prompt + newTokens);
        let logits = cache.prefill([randomTokens(prompt, V, 3)]);
        const ms: number[] = [];
        for (let k = 0; k < newTokens - 1; k++) {
          let best = 0;
          for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
          const s = performance.now();
          logits = cache.step(Int32Array.of(best));
          ms.push(performance.now() - s);
        }
        return ms;
      };
  } else {
    const file = job.form === 'int8' ? job.model.onnx.int8 : job.model.onnx.fp32;
    out['model_bytes'] = fs.statSync(file).size;
    const s = await openOrt(file, { threads: job.threads });
    forward = (b, t, ids, mask) => ortForward(s, b, t, ids, mask);
    if (decoder)
      decode = async () =>
        (await s.generate({ prompt: [randomTokens(prompt, V, 3)], steps: newTokens })).stepMs;
  }
  out['load_s'] = (performance.now() - t0) / 1000;
  const time = async (b: number) => {
    const ids = randomTokens(b * T, V, 1);
    const ms: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const x = await forward(b, T, ids, null);
      if (r > 0) ms.push(x.ms); // rep 0 warms up
    }
    return median(ms);
  };
  if (job.mode !== 'batch') {
    out['latency_b1_ms'] = await time(1);
    if (decode) {
      await decode(); // warm-up
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) ms.push(...(await decode()));
      out['decode_tokens_per_s'] = 1000 / median(ms);
    }
    out['peak_rss_mb'] = peakRssMb();
    out['rss_mb'] = process.memoryUsage().rss / 2 ** 20;
    if (job.mode === 'serve') return out;
  }
  out['throughput_tokens_per_s'] = (B * T) / ((await time(B)) / 1000);
  // logits at the target positions of the evaluation batches, in order (n, V)
  const rows: Float32Array[] = [];
  for (const e of evals) {
    const x = await forward(e.B, e.T, e.tokens, e.keyMask);
    e.targets.forEach((t, i) => {
      if (t >= 0) rows.push(x.logits.slice(i * V, (i + 1) * V)); // both engines return every position
    });
  }
  const all = new Float32Array(rows.length * V);
  rows.forEach((r, i) => {
    all.set(r, i * V);
  });
  fs.writeFileSync(job.logitsFile, all);
  return out;
}

interface Best {
  value: number;
  threads: number;
}
interface Row {
  engine: string;
  form: string;
  model_bytes: unknown;
  latency_b1_ms: Best | null;
  throughput_tokens_per_s: Best | null;
  decode_tokens_per_s: Best | null;
  peak_rss_mb: Best | null;
  per_threads: unknown[];
  quality?: ReturnType<typeof quality>;
}

// ---- the parent --------------------------------------------------------------------------------
const { values: a } = parseArgs({
  options: {
    child: { type: 'string' },
    quick: { type: 'boolean', default: false },
    work: { type: 'string' },
    threads: { type: 'string' },
    steps: { type: 'string' },
    'large-d': { type: 'string' },
    'large-layers': { type: 'string' },
    'large-vocab': { type: 'string' },
    seq: { type: 'string' },
    batch: { type: 'string' },
    new: { type: 'string' },
    reps: { type: 'string' },
  },
});

function posInt(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new Error(`--${flag}: expected a positive integer, found '${v}'`);
  return n;
}

const log = (m: string) => process.stderr.write(`bench infer: ${m}\n`);

function tlc(args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tlc.mjs'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`tlc ${args.join(' ')} failed:\n${r.stderr}`);
}

function evalBatches(b: LmBatch[], file: string): void {
  const rows: EvalBatch[] = b.map((x) => ({
    B: x.B,
    T: x.T,
    tokens: Array.from(x.tokens),
    keyMask: x.keyMask ? Array.from(x.keyMask) : null,
    targets: Array.from(x.targets),
  }));
  fs.writeFileSync(file, JSON.stringify(rows));
}

/** A trained tiny model: train, compress into every runtime form, export to ONNX (each once, cached). */
function trained(work: string, name: string, preset: string, steps: number, nEval: number): ModelEntry {
  const run = path.join(work, `${name}-${steps}`);
  if (!fs.existsSync(path.join(run, 'result.json'))) {
    log(`training ${preset} for ${steps} steps into ${run}`);
    fs.rmSync(run, { recursive: true, force: true });
    tlc([
      'train',
      '--config',
      preset,
      '--set',
      `budget.steps=${steps}`,
      '--set',
      'budget.seconds=3600',
      '--run-dir',
      run,
    ]);
  }
  const containers: Record<string, string> = {};
  for (const f of RUNTIME_FORMS) {
    const dir = `${run}-${f.name}`;
    if (!fs.existsSync(path.join(dir, 'result.json'))) tlc(['compress', run, ...f.flags, '--out', dir]);
    containers[f.name] = path.join(dir, 'model.safetensors');
  }
  const onnx = `${run}-onnx`;
  if (!fs.existsSync(path.join(onnx, INT8_FILE))) tlc(['export', run, '--int8', '--out', onnx]);
  const evalFile = path.join(work, `${name}-${steps}-eval.json`);
  const loaded = loadTrainedRun(run, createTsBackend('f32'));
  if (!fs.existsSync(evalFile))
    evalBatches(
      loaded.data.valid.slice(0, nEval).map((x) => (x as { b: LmBatch }).b),
      evalFile,
    );
  return {
    name,
    cfg: loaded.model.cfg,
    dense: { run },
    containers,
    onnx: { fp32: path.join(onnx, FP32_FILE), int8: path.join(onnx, INT8_FILE) },
    evalFile,
  };
}

/** The random-weight large decoder: its containers and ONNX files written once (the weights: a seed). */
function large(work: string, d: number, L: number, V: number, maxLen: number, nEval: number): ModelEntry {
  const cfg = resolveModelConfig({
    family: 'decoder',
    vocab: V,
    d_model: d,
    n_layers: L,
    n_heads: d / 64,
    d_ff: 4 * d,
    max_len: maxLen,
  });
  const dir = path.join(work, `large-d${d}-L${L}-V${V}-T${maxLen}`);
  const seed = 1;
  const containers: Record<string, string> = Object.fromEntries(
    RUNTIME_FORMS.map((f) => [f.name, path.join(dir, f.name, 'model.safetensors')]),
  );
  const onnx = { fp32: path.join(dir, FP32_FILE), int8: path.join(dir, INT8_FILE) };
  const evalFile = path.join(dir, 'eval.json');
  const fresh = !fs.existsSync(evalFile);
  // every form's container, once; a cached model from before a form was added gains only the missing ones
  const missing = RUNTIME_FORMS.filter((f) => fresh || !fs.existsSync(containers[f.name]!));
  if (missing.length === 0)
    return { name: `large-decoder-d${d}-L${L}`, cfg, dense: { seed }, containers, onnx, evalFile };
  const m = new Transformer(createTsBackend('f32'), cfg, seed);
  for (const f of missing) {
    fs.mkdirSync(path.dirname(containers[f.name]!), { recursive: true });
    const c = compressModel(m, f.spec, null);
    writeContainer(containers[f.name]!, m.layout, c.stored, {
      model: cfg,
      spec: f.spec,
      source: 'random init',
    });
  }
  if (fresh) {
    log(`writing the random-weight decoder d${d} L${L} V${V} into ${dir}`);
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    writeOnnxFile(onnx.fp32, cfg, (n) => m.p.get(n), { int8: null, kind: 'causal' });
    writeOnnxFile(onnx.int8, cfg, (n) => m.p.get(n), { int8: DEFAULT_INT8_SCHEME, kind: 'causal' });
    const T = Math.min(64, maxLen);
    const b = Array.from({ length: nEval }, (_, k) => {
      const tokens = randomTokens(4 * (T + 1), V, 11 + k);
      const x = new Int32Array(4 * T);
      const targets = new Int32Array(4 * T);
      for (let r = 0; r < 4; r++)
        for (let t = 0; t < T; t++) {
          x[r * T + t] = tokens[r * (T + 1) + t]!;
          targets[r * T + t] = tokens[r * (T + 1) + t + 1]!;
        }
      return { B: 4, T, tokens: x, keyMask: null, targets };
    });
    evalBatches(b, evalFile);
  }
  return { name: `large-decoder-d${d}-L${L}`, cfg, dense: { seed }, containers, onnx, evalFile };
}

function runChild(job: Job): Record<string, unknown> {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'infer.ts'), '--child', JSON.stringify(job)],
    { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** perplexity of the targets, KL(ref || x) and top-1 agreement with ref, over the target rows */
function quality(logits: Float32Array, ref: Float32Array, targets: number[], V: number) {
  const n = targets.length;
  let nll = 0;
  let kl = 0;
  let agree = 0;
  const lse = (x: Float32Array, o: number) => {
    let m = Number.NEGATIVE_INFINITY;
    let arg = 0;
    for (let v = 0; v < V; v++)
      if (x[o + v]! > m) {
        m = x[o + v]!;
        arg = v;
      }
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(x[o + v]! - m);
    return { z: m + Math.log(s), arg };
  };
  for (let i = 0; i < n; i++) {
    const o = i * V;
    const a = lse(logits, o);
    const b = lse(ref, o);
    nll += a.z - logits[o + targets[i]!]!;
    for (let v = 0; v < V; v++) {
      const lr = ref[o + v]! - b.z;
      kl += Math.exp(lr) * (lr - (logits[o + v]! - a.z));
    }
    if (a.arg === b.arg) agree++;
  }
  return { perplexity: Math.exp(nll / n), kl: kl / n, top1: agree / n, positions: n };
}

async function parent(): Promise<void> {
  const quick = a.quick === true;
  const work = a.work ?? path.join(os.tmpdir(), 'tlc-bench-infer');
  fs.mkdirSync(work, { recursive: true });
  const cores = os.availableParallelism();
  const threads = a.threads
    ? a.threads.split(',').map((t) => posInt('threads', t, 1))
    : quick
      ? [1]
      : [...new Set([1, 2, 4, 8, 16, cores].filter((t) => t <= cores))];
  const steps = posInt('steps', a.steps, quick ? 20 : 600);
  const reps = posInt('reps', a.reps, quick ? 1 : 5);
  const nEval = quick ? 1 : 2;
  const [d, L, V] = quick
    ? [
        posInt('large-d', a['large-d'], 128),
        posInt('large-layers', a['large-layers'], 2),
        posInt('large-vocab', a['large-vocab'], 4096),
      ]
    : [
        posInt('large-d', a['large-d'], 768),
        posInt('large-layers', a['large-layers'], 12),
        posInt('large-vocab', a['large-vocab'], 32000),
      ];
  const seq = posInt('seq', a.seq, quick ? 32 : 128);
  const batch = posInt('batch', a.batch, quick ? 4 : 32);
  const newTokens = posInt('new', a.new, quick ? 8 : 64);
  const models = [
    trained(work, 'encoder', 'tiny-encoder', steps, nEval),
    trained(work, 'decoder', 'tiny-decoder', steps, nEval),
    large(work, d, L, V, Math.max(seq, 16 + newTokens), nEval),
  ];
  let bf16 = true;
  try {
    loadNativeBackend({ precision: 'bf16' });
  } catch {
    bf16 = false;
  }
  const configs: Array<{ engine: 'tlc' | 'ort'; form: string }> = [
    { engine: 'tlc', form: 'fp32' },
    ...(bf16 ? [{ engine: 'tlc' as const, form: 'bf16' }] : []),
    ...RUNTIME_FORMS.map((f) => ({ engine: 'tlc' as const, form: f.name })),
    { engine: 'ort', form: 'fp32' },
    { engine: 'ort', form: 'int8' },
  ];
  const results: Array<{ model: string; config: ModelConfig; shape: Job['shape']; rows: Row[] }> = [];
  for (const m of models) {
    const T = Math.min(seq, m.cfg.max_len);
    const shape = {
      T,
      B: batch,
      prompt: Math.min(16, m.cfg.max_len - 2),
      newTokens: Math.min(newTokens, m.cfg.max_len - 16),
      reps,
    };
    const rows: Array<Row & { logits: string }> = [];
    for (const c of configs) {
      const id = `${m.name}-${c.engine}-${c.form}`;
      const per = threads.map((t) => {
        log(`${id}, ${t} thread(s)`);
        const job = (mode: Job['mode']): Job => ({
          model: m,
          ...c,
          threads: t,
          mode,
          shape,
          logitsFile: path.join(work, `logits-${id}.f32`),
        });
        if (quick) {
          const both = runChild(job('both')); // one process: a smoke run, its RSS not the serving one
          return { threads: t, serve: both, batch: both };
        }
        return { threads: t, serve: runChild(job('serve')), batch: runChild(job('batch')) };
      });
      const best = (pick: (x: (typeof per)[number]) => number | undefined, lower: boolean) => {
        const ok = per.filter((x) => pick(x) !== undefined);
        if (ok.length === 0) return null;
        const x = ok.reduce((p, q) => ((lower ? pick(q)! < pick(p)! : pick(q)! > pick(p)!) ? q : p));
        return { value: pick(x)!, threads: x.threads };
      };
      rows.push({
        engine: c.engine,
        form: c.form,
        model_bytes: per[0]!.serve['model_bytes'],
        latency_b1_ms: best((x) => x.serve['latency_b1_ms'] as number, true),
        throughput_tokens_per_s: best((x) => x.batch['throughput_tokens_per_s'] as number, false),
        decode_tokens_per_s: best((x) => x.serve['decode_tokens_per_s'] as number | undefined, false),
        peak_rss_mb: best((x) => x.serve['peak_rss_mb'] as number, true),
        per_threads: per,
        logits: path.join(work, `logits-${id}.f32`),
      });
    }
    const ev = JSON.parse(fs.readFileSync(m.evalFile, 'utf8')) as EvalBatch[];
    const targets = ev.flatMap((e) => e.targets.filter((t) => t >= 0));
    const ref = new Float32Array(fs.readFileSync(rows[0]!.logits).buffer.slice(0));
    const withQ = rows.map(({ logits, ...r }) => {
      const x = new Float32Array(fs.readFileSync(logits).buffer.slice(0));
      fs.rmSync(logits, { force: true });
      return { ...r, quality: quality(x, ref, targets, m.cfg.vocab) };
    });
    results.push({ model: m.name, config: m.cfg, shape, rows: withQ });
  }
  const find = (model: number, engine: string, form: string) =>
    results[model]?.rows.find((r) => r.engine === engine && r.form === form);
  const ratio = (x: { value: number } | null | undefined, y: { value: number } | null | undefined) =>
    x && y ? x.value / y.value : null;
  const targetsMet = results.map((r, i) => ({
    model: r.model,
    int8_vs_tlc_fp32_throughput: ratio(
      find(i, 'tlc', 'int8')?.throughput_tokens_per_s,
      find(i, 'tlc', 'fp32')?.throughput_tokens_per_s,
    ),
    int8_vs_ort_int8_throughput: ratio(
      find(i, 'tlc', 'int8')?.throughput_tokens_per_s,
      find(i, 'ort', 'int8')?.throughput_tokens_per_s,
    ),
    int8_vs_fp32_peak_rss: ratio(find(i, 'tlc', 'int8')?.peak_rss_mb, find(i, 'tlc', 'fp32')?.peak_rss_mb),
  }));
  const ortVersion = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
  ).version;
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'infer',
        command: `npm run bench -- infer ${process.argv.slice(2).join(' ')}`.trim(),
        machine: { cpu: os.cpus()[0]?.model, cores, load: os.loadavg(), node: process.version },
        onnxruntime_node: ortVersion,
        threads_tried: threads,
        targets: {
          what: 'issue 17: int8 >= 2.5x tlc fp32 and >= 1.3x onnxruntime-node int8 throughput at batch 32; int8 peak RSS <= 0.4x fp32 on the large decoder',
          ratios: targetsMet,
        },
        results,
      },
      null,
      1,
    )}\n`,
  );
}

if (a.child) {
  const r = await child(JSON.parse(a.child) as Job);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else await parent();
