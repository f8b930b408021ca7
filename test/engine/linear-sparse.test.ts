// The unstructured-sparse (CSR) inference linear: native (gathers for few rows, batch-in-lanes for
// 8+ rows) agrees with the ts twin on odd shapes and sparsities 0..100%, at 1 and 2 threads, and
// both equal the dense linear with the masked weight; malformed CSR is an InputError.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, CsrWeights } from '../../src/engine/backend.ts';
import { InputError } from '../../src/engine/errors.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { csrFromDense, csrWeightBytes } from '../../src/engine/sparse.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { assertClose, atOneAndTwoThreads, randn } from './native-compare.ts';

const ts = createTsBackend('f32');
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });

function run(be: Backend<Float32Array>, x: Float32Array, w: CsrWeights, b: Float32Array | null, s: number[]) {
  const [N, In, Out] = s as [number, number, number];
  const out = new Float32Array(N * Out).fill(Number.NaN);
  be.linearSparseForward(out, x, w, b, N, In, Out);
  return out;
}

describe('linearSparseForward', () => {
  const shapes = [
    [1, 13, 5],
    [1, 300, 41],
    [7, 64, 33],
    [8, 100, 17],
    [23, 129, 70],
  ];

  test('native equals the ts twin and the dense masked linear, sparsity 0..100%, 1 and 2 threads', () => {
    const rng = new Rng(31);
    for (const shape of shapes) {
      const [N, In, Out] = shape as [number, number, number];
      const x = randn(rng, N * In);
      const wf = randn(rng, Out * In, 0.1);
      const b = randn(rng, Out);
      for (const sparsity of [0, 0.5, 0.9, 0.97, 1]) {
        const mask = Uint8Array.from({ length: Out * In }, () => (rng.uniform() < sparsity ? 0 : 1));
        const masked = wf.map((v, i) => (mask[i] ? v : 0));
        const w = csrFromDense(wf, mask, Out, In);
        const bias = sparsity === 0.5 ? null : b;
        const want = run(ts, x, w, bias, shape);
        const dense = new Float32Array(N * Out);
        ts.linearForward(dense, x, masked, bias, N, In, Out);
        const label = `${N}x${In}x${Out} sparsity ${sparsity}`;
        assertClose(`${label} ts vs dense`, want, dense, { rtol: 1e-5, atol: 1e-5 });
        const [one, two] = atOneAndTwoThreads(native(), () => run(native(), x, w, bias, shape));
        assertClose(`${label} (1 thread)`, one, want, { rtol: 1e-5, atol: 1e-5 });
        assertClose(`${label} (2 threads)`, two, want, { rtol: 1e-5, atol: 1e-5 });
      }
    }
  });

  test('bytes held: 4 per row pointer, 6 per kept weight', () => {
    const w = csrFromDense(
      Float32Array.from({ length: 40 }, (_, i) => (i % 4 ? 0 : 1)),
      null,
      4,
      10,
    );
    assert.equal(w.values.length, 10);
    assert.equal(csrWeightBytes(w), 5 * 4 + 10 * 6);
  });

  test('malformed CSR (index out of range, decreasing rows, short arrays) is an InputError', () => {
    const good = csrFromDense(new Float32Array(12).fill(1), null, 3, 4);
    const cases: CsrWeights[] = [
      { ...good, colIdx: Uint16Array.from(good.colIdx, (c, j) => (j === 5 ? 4 : c)) },
      { ...good, rowPtr: Int32Array.from([0, 8, 4, 12]) },
      { ...good, values: good.values.subarray(0, 11) },
    ];
    for (const be of [ts, native()])
      for (const w of cases)
        assert.throws(() => run(be, new Float32Array(4), w, null, [1, 4, 3]), InputError, `${be.name}`);
    assert.throws(() => csrFromDense(new Float32Array(70000), null, 1, 70000), InputError);
  });
});
