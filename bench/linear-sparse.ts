// `npm run bench -- linear-sparse`: the unstructured-sparse CSR inference linear
// (linearSparseForward: gathers for few rows, batch-in-lanes for 8+) against the fp32 fused linear
// (linearForward, oneDNN) over sparsities 50..99% at 1 and 128 rows on 1024x4096 and 256x1024
// layers; reports, per shape and row count, the lowest sparsity at which CSR is faster than dense.
// Random masks (unstructured pruning has no structure to exploit). Median of --reps calls. JSON.
// Flags: --reps N (default 20), --threads N (default 2), --rows 1,128.
import { parseArgs } from 'node:util';
import { loadNativeBackend } from '../src/engine/native-backend.ts';
import { Rng } from '../src/engine/rng.ts';
import { csrFromDense, csrWeightBytes } from '../src/engine/sparse.ts';
import { medianMs } from './timing.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '20' },
    threads: { type: 'string', default: '2' },
    rows: { type: 'string', default: '1,128' },
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
const rng = new Rng(2);

const median = (f: () => void): number => medianMs(f, reps);

const sparsities = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99];
const results: Record<string, number | string>[] = [];
const crossover: Record<string, number | null>[] = [];
for (const [In, Out] of [
  [1024, 4096],
  [256, 1024],
] as const) {
  const w = new Float32Array(Out * In).map(() => rng.normal() * 0.05);
  const bias = new Float32Array(Out);
  const csrs = sparsities.map((s) =>
    csrFromDense(
      w,
      Uint8Array.from(w, () => (rng.uniform() < s ? 0 : 1)),
      Out,
      In,
    ),
  );
  for (const N of rowsList) {
    const x = new Float32Array(N * In).map(() => rng.normal());
    const out = new Float32Array(N * Out);
    const fp32 = median(() => be.linearForward(out, x, w, bias, N, In, Out));
    let first: number | null = null;
    sparsities.forEach((s, i) => {
      const t = median(() => be.linearSparseForward(out, x, csrs[i]!, bias, N, In, Out));
      if (first === null && t < fp32) first = s;
      results.push({
        In,
        Out,
        N,
        sparsity: s,
        fp32_us: +(1000 * fp32).toFixed(1),
        csr_us: +(1000 * t).toFixed(1),
        speedup: +(fp32 / t).toFixed(2),
        csr_bytes: csrWeightBytes(csrs[i]!),
        fp32_bytes: Out * In * 4,
      });
    });
    crossover.push({ In, Out, N, first_faster_sparsity: first });
  }
}
process.stdout.write(
  `${JSON.stringify({ bench: 'linear-sparse', threads, reps, command: process.argv.slice(1).join(' '), crossover, results }, null, 1)}\n`,
);
