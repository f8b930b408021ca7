// `npm run bench -- onnx-int8`: which spelling of onnxruntime's dynamic int8 quantization runs
// fastest in onnxruntime-node on this CPU (src/io/onnx/linear.ts), against the fp32 export, on one
// random-weight encoder (batch throughput) and decoder (batch-1 incremental decoding). JSON on stdout.
// Flags: --d-model N --layers N --vocab N --batch N --seq N --steps N --reps N --threads N
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createTsBackend } from '../src/engine/ts-backend.ts';
import { writeOnnxFile } from '../src/io/onnx/export.ts';
import { INT8_SCHEMES, type Int8Scheme } from '../src/io/onnx/linear.ts';
import { type OrtModel, openOrt } from '../src/io/onnx/ort-run.ts';
import type { GraphKind } from '../src/io/onnx/transformer.ts';
import { resolveModelConfig } from '../src/model/config.ts';
import { Transformer } from '../src/model/transformer.ts';

const { values: a } = parseArgs({
  options: {
    'd-model': { type: 'string', default: '512' },
    layers: { type: 'string', default: '4' },
    vocab: { type: 'string', default: '8192' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '32' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(Math.min(2, os.availableParallelism())) },
  },
});
const int = (k: keyof typeof a) => {
  const v = Number(a[k]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k}: expected a positive integer, found ${a[k]}`);
  return v;
};
const C = int('d-model');
const [L, V, B, T, steps, reps, threads] = [
  int('layers'),
  int('vocab'),
  int('batch'),
  int('seq'),
  int('steps'),
  int('reps'),
  int('threads'),
];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-onnx-int8-'));
const variants: Array<Int8Scheme | 'fp32'> = ['fp32', ...INT8_SCHEMES];

async function sessions(kind: GraphKind): Promise<Map<string, OrtModel>> {
  const family = kind === 'causal' ? 'decoder' : 'encoder';
  const cfg = resolveModelConfig({
    family,
    vocab: V,
    d_model: C,
    n_layers: L,
    n_heads: C / 64,
    d_ff: 4 * C,
    max_len: Math.max(T, steps + 8),
  });
  const m = new Transformer(createTsBackend('f32'), cfg, 1);
  const out = new Map<string, OrtModel>();
  for (const v of variants) {
    const file = path.join(dir, `${kind}-${v}.onnx`);
    writeOnnxFile(file, cfg, (n) => m.p.get(n), { kind, int8: v === 'fp32' ? null : v });
    out.set(v, await openOrt(file, { threads }));
  }
  return out;
}

const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
/** the variants in a different order each rep, so no variant always runs right after another */
const rotated = (r: number) => variants.map((_, i) => variants[(i + r) % variants.length]!);

async function main() {
  const enc = await sessions('mlm');
  const ids = Int32Array.from({ length: B * T }, (_, i) => 5 + ((i * 7919) % (V - 5)));
  const encMs = new Map<string, number[]>(variants.map((v) => [v, []]));
  for (let r = 0; r <= reps; r++) {
    for (const v of rotated(r)) {
      const { ms } = await enc.get(v)!.encode({ B, T, ids });
      if (r > 0) encMs.get(v)!.push(ms); // rep 0 warms up
    }
  }
  const dec = await sessions('causal');
  const decMs = new Map<string, number[]>(variants.map((v) => [v, []]));
  const prompt = [Int32Array.from({ length: 8 }, (_, i) => 5 + i)];
  for (let r = 0; r <= reps; r++) {
    for (const v of rotated(r)) {
      const g = await dec.get(v)!.generate({ prompt, steps });
      if (r > 0) decMs.get(v)!.push(g.decodeMs / g.stepMs.length);
    }
  }
  const res = variants.map((v) => ({
    variant: v,
    encoder_ms: median(encMs.get(v)!),
    encoder_tokens_per_s: (B * T) / (median(encMs.get(v)!) / 1000),
    decode_ms_per_token: median(decMs.get(v)!),
  }));
  for (const s of [...enc.values(), ...dec.values()]) await s.release();
  fs.rmSync(dir, { recursive: true, force: true });
  const fp = res[0]!;
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'onnx-int8',
        command: `npm run bench -- onnx-int8 ${process.argv.slice(2).join(' ')}`.trim(),
        machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), load: os.loadavg() },
        onnxruntime_node: JSON.parse(
          fs.readFileSync(
            path.join(import.meta.dirname, '..', 'node_modules', 'onnxruntime-node', 'package.json'),
            'utf8',
          ),
        ).version,
        shape: { d_model: C, layers: L, vocab: V, batch: B, seq: T, decode_steps: steps, threads, reps },
        results: res.map((r) => ({
          ...r,
          encoder_speedup_vs_fp32: fp.encoder_ms / r.encoder_ms,
          decode_speedup_vs_fp32: fp.decode_ms_per_token / r.decode_ms_per_token,
        })),
      },
      null,
      1,
    )}\n`,
  );
}
await main();
