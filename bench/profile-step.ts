// Per-kernel time profile of training steps: wraps a backend so every call is timed, runs warm-up
// steps untimed, then a few timed steps of one config, and prints JSON (kernel -> ms per step, calls).
// Flags (`--k v` or `--k=v`): --family --vocab --d --layers --heads --ff --seq --batch --threads (0: all
// cores) --steps --warmup, and --by-shape (GEMM kernels split by shape, with GFLOP/s).
// The wrapper adds a little JS overhead per call; use bench/train.ts for throughput figures.
import { parseArgs } from 'node:util';
import type { Backend } from '../src/engine/backend.ts';
import { createBackend } from '../src/engine/select.ts';
import { resolveModelConfig } from '../src/model/config.ts';
import { benchTrain } from '../src/train/bench.ts';

interface Acc {
  on: boolean;
  /** split matmul by M x N x K, transposes and accumulation */
  byShape: boolean;
  rows: Map<string, { ms: number; calls: number; min: number }>;
}

/**
 * The kernel name plus its GEMM shape "MxNxK" for matmul (c, a, b, M, N, K, transA, transB, ...) and
 * the linear kernels (N rows, In, Out: one M x N x K product forward, two backward).
 */
function shapeKey(kernel: string, a: unknown[]): string {
  const f = (i: number, s: string) => (a[i] ? s : '');
  if (kernel === 'matmul') return `matmul ${a[3]}x${a[4]}x${a[5]}${f(6, ' tA')}${f(7, ' tB')}${f(9, ' acc')}`;
  if (kernel === 'linearForward') return `linearForward ${a[4]}x${a[6]}x${a[5]}`;
  if (kernel === 'linearBackward') return `linearBackward ${a[6]}x${a[7]}x${a[8]}${a[0] ? '' : ' no-dinp'}`;
  return kernel;
}

function timed(be: Backend<Float32Array>, acc: Acc): Backend<Float32Array> {
  return new Proxy(be, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'alloc') return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (acc.on) {
          const key = acc.byShape ? shapeKey(String(prop), args) : String(prop);
          const e = acc.rows.get(key) ?? { ms: 0, calls: 0, min: Number.POSITIVE_INFINITY };
          const ms = performance.now() - t0;
          e.ms += ms;
          e.min = Math.min(e.min, ms);
          e.calls++;
          acc.rows.set(key, e);
        }
        return r;
      };
    },
  });
}

/** GFLOP/s of one call, for rows split by shape (a linear backward is two products). */
function gflops(key: string, msPerCall: number): { gflop_s?: number } {
  const m = /^(matmul|linearForward|linearBackward) (\d+)x(\d+)x(\d+)( no-dinp)?/.exec(key);
  if (!m) return {};
  const products = m[1] === 'linearBackward' && !m[5] ? 2 : 1;
  return {
    gflop_s: +((2 * products * Number(m[2]) * Number(m[3]) * Number(m[4])) / msPerCall / 1e6).toFixed(1),
  };
}

// parseArgs (strict): `--steps 20` and `--steps=20` both work, an unknown flag is an error.
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    family: { type: 'string', default: 'encoder' },
    vocab: { type: 'string', default: '8192' },
    d: { type: 'string', default: '256' },
    layers: { type: 'string', default: '4' },
    heads: { type: 'string', default: '4' },
    ff: { type: 'string', default: '1024' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '0' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    'by-shape': { type: 'boolean', default: false },
  },
});
/** A flag's value as an integer >= min, or an error naming the flag and what it found. */
function int(k: keyof typeof values, min: number): number {
  const v = String(values[k]);
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${k}: expected an integer >= ${min}, found '${v}'`);
  return n;
}
const family = values.family;
if (family !== 'encoder' && family !== 'decoder' && family !== 'encdec')
  throw new Error(`--family: expected encoder, decoder or encdec, found '${family}'`);
const seq = int('seq', 1);
const cfg = resolveModelConfig({
  family,
  vocab: int('vocab', 2),
  d_model: int('d', 1),
  n_layers: int('layers', 1),
  n_heads: int('heads', 1),
  d_ff: int('ff', 1),
  max_len: seq,
});
const acc: Acc = { on: false, byShape: values['by-shape'], rows: new Map() };
const steps = int('steps', 1);
const be = timed(createBackend('native', int('threads', 0) || undefined), acc);
const r = benchTrain(be, {
  cfg,
  seq,
  batch: int('batch', 1),
  warmup: int('warmup', 0),
  steps,
  seed: 1,
  onStep: (_i, t) => {
    acc.on = t;
  },
});
const rows = [...acc.rows.entries()]
  .map(([k, v]) => ({
    kernel: k,
    ms_per_step: +(v.ms / steps).toFixed(2),
    calls_per_step: v.calls / steps,
    // the fastest call times the calls: what a step would cost if every call ran undisturbed
    best_ms_per_step: +((v.min * v.calls) / steps).toFixed(2),
    ...gflops(k, v.ms / v.calls),
  }))
  .sort((a, b) => b.ms_per_step - a.ms_per_step);
const total = rows.reduce((s, x) => s + x.ms_per_step, 0);
const best = rows.reduce((s, x) => s + x.best_ms_per_step, 0);
console.log(
  JSON.stringify(
    {
      step_ms: r.step_ms,
      tokens_per_s: r.tokens_per_s,
      kernels_ms: +total.toFixed(2),
      kernels_best_ms: +best.toFixed(2),
      threads: r.threads,
      kernels: rows,
    },
    null,
    1,
  ),
);
