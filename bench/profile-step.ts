// Per-kernel time profile of one training step: wraps a backend so every call is timed, runs a
// few steps of the reference MLM config, and prints JSON (kernel -> ms per step, calls).
import { createBackend } from '../src/engine/select.ts';
import type { Backend } from '../src/engine/backend.ts';
import { resolveModelConfig } from '../src/model/config.ts';
import { benchTrain } from '../src/train/bench.ts';

function timed(be: Backend<Float32Array>, acc: Map<string, { ms: number; calls: number }>): Backend<Float32Array> {
  return new Proxy(be, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'alloc') return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        const e = acc.get(String(prop)) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        acc.set(String(prop), e);
        return r;
      };
    },
  });
}

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const cfg = resolveModelConfig({
  family: (process.argv.find((a) => a.startsWith('--family='))?.split('=')[1] ?? 'encoder') as 'encoder',
  vocab: arg('vocab', 8192), d_model: arg('d', 256), n_layers: arg('layers', 4), n_heads: arg('heads', 4), d_ff: arg('ff', 1024), max_len: arg('seq', 128),
});
const acc = new Map<string, { ms: number; calls: number }>();
const steps = arg('steps', 3);
const be = timed(createBackend('native', arg('threads', 0) || undefined), acc);
const r = benchTrain(be, { cfg, seq: arg('seq', 128), batch: arg('batch', 16), warmup: 0, steps, seed: 1 });
const rows = [...acc.entries()].map(([k, v]) => ({ kernel: k, ms_per_step: +(v.ms / steps).toFixed(2), calls_per_step: v.calls / steps })).sort((a, b) => b.ms_per_step - a.ms_per_step);
console.log(JSON.stringify({ step_ms: r.step_ms, tokens_per_s: r.tokens_per_s, kernels: rows }, null, 1));
