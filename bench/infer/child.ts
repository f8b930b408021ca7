// The infer benchmark's child: one configuration (engine, form, threads, mode) of one model, its
// figures as one JSON line on stdout. bench/infer.ts runs it from a bundle (dist/bench/), as
// bin/tlc.mjs runs the CLI, so the process's peak RSS is what a served model needs (no TypeScript
// loader: ~50 MB less per process).
import * as fs from 'node:fs';
import type { LinearPrecision } from '../../src/engine/backend.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { loadInt8Model } from '../../src/infer/runtime.ts';
import type { LmBatch } from '../../src/model/batch.ts';
import { CausalCache, type CausalLm, denseCausalLm } from '../../src/model/decode-causal.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { type EvalBatch, type Job, median, randomTokens } from './common.ts';

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

async function openTlc(job: Job): Promise<TlcModel> {
  const m = job.model;
  const precision: LinearPrecision = job.form === 'bf16' ? 'bf16' : 'fp32';
  const be = loadNativeBackend({ threads: job.threads, precision });
  if (job.form === 'fp32' || job.form === 'bf16') {
    // a training run's loader (and the data code it imports) only for the trained models
    const t =
      'run' in m.dense
        ? (await import('../../src/train/load.ts')).loadRunModel(m.dense.run, be).model
        : new Transformer(be, m.cfg, m.dense.seed);
    return {
      forward: (b) => t.forwardLm(b, { train: false, grad: false, loss: false }).head.logits,
      causal: denseCausalLm(t),
      bytes: t.layout.total * 4,
    };
  }
  const q = loadInt8Model(m.containers[job.form]!, be);
  const w = q.weightBytes();
  return { forward: (b) => q.forwardLm(b, { loss: false }).logits, causal: q, bytes: w.held };
}

export async function child(job: Job): Promise<Record<string, unknown>> {
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
    const m = await openTlc(job);
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
    // loaded only here: onnxruntime's library would add ~12 MB to every tlc configuration's RSS
    const { openOrt, ortForward } = await import('./ort-child.ts');
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

// entry: node dist/bench/infer-child.mjs JOB (or node --import tsx bench/infer/child.ts JOB)
const arg = process.argv[2];
if (arg === undefined) throw new Error('bench infer child: expected the job (JSON) as the only argument');
process.stdout.write(`${JSON.stringify(await child(JSON.parse(arg) as Job))}\n`);
