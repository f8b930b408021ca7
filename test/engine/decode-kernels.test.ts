// The decoding kernels (attendOne, copyRows, logSoftmaxTopK): native agrees with the ts twin (float
// rounding; top-k indices exactly) on odd shapes, masks, row -> block maps and both thread counts;
// the ts attendOne equals attentionForward with Tq = 1 over each row's block; the ts top-k equals a
// full sort; bad shapes are refused on both backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AttnShape, Backend } from '../../src/engine/backend.ts';
import type { AttendOneShape } from '../../src/engine/decode-kernels.ts';
import { InputError } from '../../src/engine/errors.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { assertClose, atOneAndTwoThreads, randInts, randn } from './native-compare.ts';

const ts = createTsBackend('f32');
const native = (): Backend<Float32Array> => loadNativeBackend({ threads: 2 });

/** How rows find their keys: block r, one block per row, or one block per (row, key). */
type Index = 'none' | 'row' | 'key';
type Geometry = Omit<AttendOneShape, 'idxRowStride' | 'idxKeyStride'>;

interface OneCase {
  s: AttendOneShape;
  blocks: Int32Array | null;
  mask: Uint8Array | null;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** A case with `nb` key/value blocks (n without an index). */
function oneCase(rng: Rng, g: Geometry, nb: number, index: Index, useMask: boolean): OneCase {
  if (index === 'none') nb = g.n;
  const s: AttendOneShape = {
    ...g,
    idxRowStride: index === 'key' ? g.Tk + 2 : 1,
    idxKeyStride: index === 'key' ? 1 : 0,
  };
  const span = (nb - 1) * s.blockStride + (s.Tk - 1) * s.kvStride + s.C;
  const mask = useMask ? new Uint8Array(nb * s.Tk).map(() => (rng.uniform() < 0.7 ? 1 : 0)) : null;
  if (mask) mask.fill(0, 0, s.Tk); // block 0: every key masked
  const blocks = index === 'none' ? null : randInts(rng, index === 'key' ? s.n * s.idxRowStride : s.n, nb);
  return {
    s,
    blocks,
    mask,
    q: randn(rng, (s.n - 1) * s.qStride + s.C),
    k: randn(rng, span),
    v: randn(rng, span + s.C),
  };
}

function attend(be: Backend<Float32Array>, c: OneCase): Float32Array {
  const out = new Float32Array(c.s.n * c.s.C).fill(Number.NaN);
  be.attendOne(out, c.q, c.k, c.v.subarray(c.s.C), c.mask, c.blocks, c.s);
  return out;
}

describe('attendOne', () => {
  const shapes: Array<[Geometry, number]> = [
    [{ n: 1, Tk: 1, C: 8, NH: 2, qStride: 8, kvStride: 16, blockStride: 16 }, 1],
    [{ n: 5, Tk: 7, C: 12, NH: 3, qStride: 36, kvStride: 24, blockStride: 24 * 9 }, 5],
    [{ n: 33, Tk: 19, C: 64, NH: 4, qStride: 64, kvStride: 128, blockStride: 128 * 19 }, 6],
    [{ n: 128, Tk: 40, C: 256, NH: 4, qStride: 768, kvStride: 512, blockStride: 512 * 64 }, 128],
  ];

  test('native equals the ts twin, with and without masks and block indices (per row, per key), at 1 and 2 threads', () => {
    const rng = new Rng(3);
    const be = native();
    for (const [g, nb] of shapes)
      for (const index of ['none', 'row', 'key'] as const)
        for (const useMask of [false, true]) {
          const c = oneCase(rng, g, nb, index, useMask);
          const want = attend(ts, c);
          const [one, two] = atOneAndTwoThreads(be, () => attend(be, c));
          const label = `n${g.n} Tk${g.Tk} C${g.C} index ${index} mask ${useMask}`;
          assertClose(`${label} 1 thread`, one, want, { rtol: 1e-5, atol: 1e-6 });
          assertClose(`${label} 2 threads`, two, want, { rtol: 1e-5, atol: 1e-6 });
          const r = index === 'row' ? c.blocks!.indexOf(0) : index === 'none' ? 0 : -1;
          if (useMask && r >= 0)
            assert.ok(
              one.subarray(r * g.C, (r + 1) * g.C).every((x) => x === 0),
              'a row with every key masked gets zero output',
            );
        }
  });

  test('the ts twin equals attentionForward with one query over each row’s keys, gathered', () => {
    const rng = new Rng(4);
    const g: Geometry = { n: 6, Tk: 9, C: 12, NH: 3, qStride: 12, kvStride: 24, blockStride: 24 * 11 };
    for (const index of ['row', 'key'] as const) {
      const c = oneCase(rng, g, 4, index, true);
      const { s } = c;
      const got = attend(ts, c);
      for (let r = 0; r < s.n; r++) {
        // row r's keys, values and mask gathered into one contiguous block
        const k = new Float32Array(s.Tk * s.C);
        const v = new Float32Array(s.Tk * s.C);
        const mask = new Uint8Array(s.Tk);
        for (let j = 0; j < s.Tk; j++) {
          const b = c.blocks![r * s.idxRowStride + j * s.idxKeyStride]!;
          const off = b * s.blockStride + j * s.kvStride;
          k.set(c.k.subarray(off, off + s.C), j * s.C);
          v.set(c.v.subarray(s.C + off, s.C + off + s.C), j * s.C);
          mask[j] = c.mask![b * s.Tk + j]!;
        }
        const shape: AttnShape = {
          B: 1,
          Tq: 1,
          Tk: s.Tk,
          C: s.C,
          NH: s.NH,
          causal: false,
          qStride: s.C,
          kStride: s.C,
          vStride: s.C,
        };
        const out = new Float32Array(s.C);
        ts.attentionForward(out, new Float32Array(s.NH * s.Tk), c.q.subarray(r * s.C), k, v, mask, shape);
        assertClose(`${index} row ${r}`, got.subarray(r * s.C, (r + 1) * s.C), out, {
          rtol: 1e-5,
          atol: 1e-6,
        });
      }
    }
  });

  test('bad shapes are refused on both backends', () => {
    const s: AttendOneShape = {
      ...{ n: 2, Tk: 3, C: 8, NH: 3, qStride: 8, kvStride: 8, blockStride: 24 },
      ...{ idxRowStride: 1, idxKeyStride: 0 },
    };
    const buf = new Float32Array(64);
    for (const be of [ts, native()]) {
      assert.throws(() => be.attendOne(new Float32Array(16), buf, buf, buf, null, null, s), InputError);
      const short = { ...s, NH: 2 };
      assert.throws(
        () => be.attendOne(new Float32Array(16), buf, new Float32Array(10), buf, null, null, short),
        InputError,
      );
      assert.throws(
        () => be.attendOne(new Float32Array(16), buf, buf, buf, null, Int32Array.from([0, 9]), short),
        InputError,
      );
    }
  });
});

describe('copyRows', () => {
  test('native equals the ts twin: strided appends and index gathers, at 1 and 2 threads', () => {
    const rng = new Rng(5);
    const be = native();
    for (const [n, len, outStride, inStride, rows, withIdx] of [
      [1, 1, 1, 1, 1, false],
      [7, 24, 96, 36, 7, false],
      [128, 512, 512 * 40, 768, 128, false],
      [9, 40, 40, 64, 5, true],
      [128, 512 * 30, 512 * 40, 512 * 40, 128, true],
    ] as const) {
      const inp = randn(rng, (rows - 1) * inStride + len);
      const idx = withIdx ? randInts(rng, n, rows) : null;
      const run = (b: Backend<Float32Array>) => {
        const out = new Float32Array((n - 1) * outStride + len).fill(-7);
        b.copyRows(out, outStride, inp, inStride, idx, n, len);
        return out;
      };
      const want = run(ts);
      for (let i = 0; i < n; i++)
        for (let c = 0; c < len; c += Math.max(1, len >> 3))
          assert.equal(want[i * outStride + c], inp[(idx ? idx[i]! : i) * inStride + c]);
      if (outStride > len) assert.equal(want[len], -7, 'the gap between rows is untouched');
      const [one, two] = atOneAndTwoThreads(be, () => run(be));
      assert.deepEqual(one, want);
      assert.deepEqual(two, want);
    }
  });

  test('out-of-range indices and overlapping strides are refused on both backends', () => {
    for (const be of [ts, native()]) {
      const buf = new Float32Array(32);
      assert.throws(() => be.copyRows(buf, 8, buf, 8, Int32Array.from([0, 4]), 2, 8), InputError);
      assert.throws(() => be.copyRows(buf, 8, buf, 8, Int32Array.from([0, -1]), 2, 8), InputError);
      assert.throws(() => be.copyRows(buf, 4, new Float32Array(64), 8, null, 2, 8), InputError);
      assert.throws(() => be.copyRows(new Float32Array(8), 8, buf, 8, null, 2, 8), InputError);
    }
  });
});

describe('logSoftmaxTopK', () => {
  /** The reference: a full sort (value descending, index ascending) and logsumexp in double. */
  function sorted(x: Float32Array, V: number, r: number, k: number): { idx: number[]; lp: number[] } {
    const row = Array.from(x.subarray(r * V, (r + 1) * V));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, y) => a + Math.exp(y - max), 0));
    const idx = row
      .map((_, v) => v)
      .sort((a, b) => row[b]! - row[a]! || a - b)
      .slice(0, k);
    return { idx, lp: idx.map((v) => row[v]! - lse) };
  }

  test('ts equals a full sort; native equals ts (indices exactly, log-probabilities to 1e-6), 1 and 2 threads', () => {
    const rng = new Rng(6);
    const be = native();
    for (const [n, V, k, ties] of [
      [1, 1, 1, false],
      [3, 17, 5, true],
      [8, 100, 8, true],
      [128, 8192, 8, false],
      [33, 4099, 1, true],
    ] as const) {
      const x = randn(rng, n * V, 3);
      // ties: a few repeated values, so the lower-index rule decides
      if (ties) for (let i = 0; i < x.length; i++) if (rng.uniform() < 0.3) x[i] = Math.round(x[i]!);
      const run = (b: Backend<Float32Array>) => {
        const idx = new Int32Array(n * k).fill(-1);
        const lp = new Float64Array(n * k).fill(Number.NaN);
        b.logSoftmaxTopK(x, n, V, k, idx, lp);
        return { idx, lp };
      };
      const want = run(ts);
      for (let r = 0; r < n; r++) {
        const ref = sorted(x, V, r, k);
        assert.deepEqual(Array.from(want.idx.subarray(r * k, (r + 1) * k)), ref.idx, `ts row ${r} indices`);
        assertClose(`ts row ${r}`, want.lp.subarray(r * k, (r + 1) * k), ref.lp, { rtol: 0, atol: 1e-12 });
      }
      const [one, two] = atOneAndTwoThreads(be, () => run(be));
      for (const [label, got] of [
        ['1 thread', one],
        ['2 threads', two],
      ] as const) {
        assert.deepEqual(got.idx, want.idx, `n${n} V${V} k${k} ${label}: indices`);
        assertClose(`n${n} V${V} k${k} ${label}`, got.lp, want.lp, { rtol: 0, atol: 1e-6 });
      }
    }
  });

  test('k outside [1, V] and short outputs are refused on both backends', () => {
    const x = new Float32Array(20);
    for (const be of [ts, native()]) {
      assert.throws(() => be.logSoftmaxTopK(x, 2, 10, 0, new Int32Array(2), new Float64Array(2)), InputError);
      assert.throws(
        () => be.logSoftmaxTopK(x, 2, 10, 11, new Int32Array(22), new Float64Array(22)),
        InputError,
      );
      assert.throws(() => be.logSoftmaxTopK(x, 2, 10, 3, new Int32Array(5), new Float64Array(6)), InputError);
      assert.throws(() => be.logSoftmaxTopK(x, 3, 10, 1, new Int32Array(3), new Float64Array(3)), InputError);
    }
  });
});
