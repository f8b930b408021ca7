// `npm run bench -- linear-int8`: the int8 inference linear (linearInt8Forward: per-token u8
// activations x per-row s8 weights on oneDNN u8s8s32, dequantization fused) against the fp32 fused
// linear (linearForward) on the linear layers of the d256 (ff 1024) and d512 (ff 2048) encoders, at
// 128 rows and at 1 row. Median of --reps timed calls per case; the quantization of the weights is
// done once, outside the timing, as the runtime does at load. Prints JSON.
// Flags: --reps N (default 50), --threads N (default 2).
import { parseArgs } from 'node:util';
import { int8Weights } from '../src/engine/int8.ts';
import { loadNativeBackend } from '../src/engine/native-backend.ts';
import { Rng } from '../src/engine/rng.ts';
import { medianMs } from './timing.ts';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '50' }, threads: { type: 'string', default: '2' } },
});
const reps = Number(values.reps);
const threads = Number(values.threads);
if (!Number.isInteger(reps) || reps < 3)
  throw new Error(`--reps: expected an integer >= 3, found ${values.reps}`);
const be = loadNativeBackend({ threads });
const rng = new Rng(1);

const median = (f: () => void): number => medianMs(f, reps);

function layers(d: number, ff: number): Array<[string, number, number]> {
  return [
    ['qkv', d, 3 * d],
    ['attn.proj', d, d],
    ['mlp.fc', d, ff],
    ['mlp.proj', ff, d],
  ];
}

const results = [];
for (const [d, ff] of [
  [256, 1024],
  [512, 2048],
] as const) {
  for (const [name, In, Out] of layers(d, ff)) {
    const w = new Float32Array(Out * In).map(() => rng.normal() * 0.05);
    const q = new Int8Array(Out * In);
    const scales = new Float32Array(Out);
    for (let o = 0; o < Out; o++) {
      let m = 0;
      for (let j = 0; j < In; j++) m = Math.max(m, Math.abs(w[o * In + j]!));
      scales[o] = m / 127;
      for (let j = 0; j < In; j++) q[o * In + j] = Math.round(w[o * In + j]! / scales[o]!);
    }
    const w8 = int8Weights(q, scales, Out, In);
    const bias = new Float32Array(Out);
    for (const N of [128, 1]) {
      const x = new Float32Array(N * In).map(() => rng.normal());
      const out = new Float32Array(N * Out);
      const fp32 = median(() => be.linearForward(out, x, w, bias, N, In, Out));
      const int8 = median(() => be.linearInt8Forward(out, x, w8, bias, N, In, Out, 6));
      const plain = median(() =>
        be.linearInt8Forward(out, x, w8, bias, N, In, Out, Number.POSITIVE_INFINITY),
      );
      results.push({
        model: `d${d}`,
        layer: name,
        N,
        In,
        Out,
        fp32_us: +(1000 * fp32).toFixed(1),
        int8_us: +(1000 * int8).toFixed(1),
        int8_no_guard_us: +(1000 * plain).toFixed(1),
        speedup: +(fp32 / int8).toFixed(2),
      });
    }
  }
}
process.stdout.write(`${JSON.stringify({ bench: 'linear-int8', threads, reps, results }, null, 1)}\n`);
