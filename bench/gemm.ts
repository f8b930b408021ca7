// `npm run bench -- gemm`: what oneDNN's fp32 GEMM (tlc's native matmul) reaches on this machine, on
// the products of one large-config layer (d512, ff2048, 2048 rows), against the FMA ceiling that the
// bench measures itself on the same number of threads. 1 thread runs half the rows (each thread's
// share inside a training step), 2 threads the whole product. Prints JSON.
// Flags: --reps N (timed calls per shape, median reported; default 15).
import { parseArgs } from 'node:util';
import { loadNativeAddon } from '../src/engine/native-backend.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '15' } } });
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 3)
  throw new Error(`--reps: expected an integer >= 3, found ${values.reps}`);

const addon = loadNativeAddon();

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}
// C (M,N) = op(A) op(B): forward out = inp W^T, input gradient dout W, weight gradient dout^T inp
const SHAPES: Shape[] = [
  { name: 'forward (ff1: inp W^T)', M: 2048, N: 2048, K: 512, transA: false, transB: true },
  { name: 'input gradient (ff1: dout W)', M: 2048, N: 512, K: 2048, transA: false, transB: false },
  { name: 'weight gradient (ff1: dout^T inp)', M: 2048, N: 512, K: 2048, transA: true, transB: false },
];

function timeGemm(s: Shape, rows: number): number {
  const a = new Float32Array(rows * s.K).map(() => Math.random() - 0.5);
  const b = new Float32Array(s.K * s.N).map(() => Math.random() - 0.5);
  const c = new Float32Array(rows * s.N);
  for (let i = 0; i < 3; i++) addon.matmul(c, a, b, rows, s.N, s.K, s.transA, s.transB, 1, false);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    addon.matmul(c, a, b, rows, s.N, s.K, s.transA, s.transB, 1, false);
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  return (2 * rows * s.N * s.K) / ms[Math.floor(ms.length / 2)]! / 1e6;
}

const results = [];
for (const threads of [1, 2]) {
  addon.setThreads(threads);
  const ceiling = addon.peakFlops(threads, 50_000_000) / 1e9;
  for (const s of SHAPES) {
    const rows = threads === 1 ? s.M / 2 : s.M;
    const gflops = timeGemm(s, rows);
    results.push({
      threads,
      shape: s.name,
      M: rows,
      N: s.N,
      K: s.K,
      gflops: +gflops.toFixed(1),
      fma_ceiling_gflops: +ceiling.toFixed(1),
      fraction_of_ceiling: +(gflops / ceiling).toFixed(3),
    });
    process.stderr.write(`[gemm] ${threads} thread(s) ${s.name}: ${gflops.toFixed(0)} GFLOP/s\n`);
  }
}
process.stdout.write(
  `${JSON.stringify({ bench: 'gemm', command: 'npm run bench -- gemm', reps, results }, null, 1)}\n`,
);
