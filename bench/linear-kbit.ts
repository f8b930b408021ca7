// `npm run bench -- linear-kbit`: the weight-only k-bit inference linear (linearKbitForward: codes
// unpacked in registers for few rows, dequantized tiles + sgemm for many) against the fp32 fused
// linear (linearForward, oneDNN) at decoding shapes: In x Out = 1024x4096, 4096x4096 and 4096x1024,
// at 1, 4 and 64 rows, for 4-bit (groups of 32 and 128, sym and asym), 3-bit and 8-bit codes. The
// codes and scales are random (the time does not depend on their values). Median of --reps calls.
// Prints JSON. Flags: --reps N (default 30), --threads N (default 2), --rows 1,4,64.
import { parseArgs } from 'node:util';
import type { KbitWeights } from '../src/engine/backend.ts';
import { kbitWeights } from '../src/engine/kbit.ts';
import { loadNativeBackend } from '../src/engine/native-backend.ts';
import { Rng } from '../src/engine/rng.ts';
import { medianMs } from './timing.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '30' },
    threads: { type: 'string', default: '2' },
    rows: { type: 'string', default: '1,4,64' },
  },
});
const reps = Number(values.reps);
const threads = Number(values.threads);
const rowsList = values.rows.split(',').map(Number);
if (!Number.isInteger(reps) || reps < 3)
  throw new Error(`--reps: expected an integer >= 3, found ${values.reps}`);
if (!rowsList.every((n) => Number.isInteger(n) && n > 0))
  throw new Error(`--rows: expected positive integers separated by commas, found ${values.rows}`);
const be = loadNativeBackend({ threads });
const rng = new Rng(1);

const median = (f: () => void): number => medianMs(f, reps);

function randomKbit(bits: number, G: number | 'ch', sym: boolean, Out: number, In: number): KbitWeights {
  const g = G === 'ch' ? In : G;
  const nScales = Out * Math.ceil(In / g);
  const codes = new Uint8Array(Math.ceil((Out * In * bits) / 8)).map(() => rng.int(256));
  const scales = new Float32Array(nScales).map(() => 0.01 * (1 + rng.uniform()));
  const zeros = sym ? null : new Uint8Array(nScales).map(() => rng.int(1 << bits));
  return kbitWeights({ bits, codes, scales, zeros }, Out, In, g);
}

const formats: Array<[string, number, number | 'ch', boolean]> = [
  ['q4_g32_sym', 4, 32, true],
  ['q4_g128_asym', 4, 128, false],
  ['q3_g64_sym', 3, 64, true],
  ['q8_ch_sym', 8, 'ch', true],
];
const results: Record<string, number | string>[] = [];
for (const [In, Out] of [
  [1024, 4096],
  [4096, 4096],
  [4096, 1024],
] as const) {
  const w = new Float32Array(Out * In).map(() => rng.normal() * 0.05);
  const bias = new Float32Array(Out);
  const ws = formats.map(([, bits, G, sym]) => randomKbit(bits, G, sym, Out, In));
  for (const N of rowsList) {
    const x = new Float32Array(N * In).map(() => rng.normal());
    const out = new Float32Array(N * Out);
    const fp32 = median(() => be.linearForward(out, x, w, bias, N, In, Out));
    formats.forEach(([name], i) => {
      const t = median(() => be.linearKbitForward(out, x, ws[i]!, bias, N, In, Out));
      results.push({
        In,
        Out,
        N,
        format: name,
        fp32_us: +(1000 * fp32).toFixed(1),
        kbit_us: +(1000 * t).toFixed(1),
        speedup: +(fp32 / t).toFixed(2),
        weight_bytes: ws[i]!.codes.byteLength + ws[i]!.scales.byteLength + (ws[i]!.zeros?.byteLength ?? 0),
        fp32_bytes: Out * In * 4,
      });
    });
  }
}
process.stdout.write(
  `${JSON.stringify({ bench: 'linear-kbit', threads, reps, command: process.argv.slice(1).join(' '), results }, null, 1)}\n`,
);
