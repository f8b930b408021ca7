// Tests of the quantization format table: k-bit packing, per-format round-trip error bounds with
// independently recomputed scales, exact byte sizes, the spec parser, the default quantization
// scope, per-token activation quantization and the QAT fake-quant/STE hooks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dequantActPerToken, fakeQuantActPerToken, quantActPerToken } from '../../src/compress/quant/act.ts';
import {
  byteSize,
  getFormat,
  listFormats,
  packCodes,
  parseQuantSpec,
  type QuantFormat,
  unpackCodes,
} from '../../src/compress/quant/formats.ts';
import { FakeQuant, fakeQuantize } from '../../src/compress/quant/qat.ts';
import { quantizeParamsRtn, selectQuantTargets, writeDequantized } from '../../src/compress/quant/rtn.ts';
import { CorruptError, InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { buildLayout } from '../../src/model/params.ts';
import { tinyConfig } from '../model/fixtures.ts';

/** Gaussian matrix with a different magnitude per row and a few outliers. */
function sampleMatrix(rng: Rng, rows: number, cols: number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = 0.01 * 4 ** (r % 4);
    for (let c = 0; c < cols; c++) w[r * cols + c] = s * rng.normal() * (rng.uniform() < 0.01 ? 8 : 1);
  }
  return w;
}

/** Scale-group index of (r, c), written out here rather than taken from the library. */
function groupOf(f: QuantFormat, cols: number, r: number, c: number): number {
  if (f.granularity === 'tensor') return 0;
  if (f.granularity === 'channel') return r;
  return r * Math.ceil(cols / f.groupSize!) + Math.floor(c / f.groupSize!);
}

/** The scale a min/max fit must produce for each group (symmetric: max|w|/qmax; asym: range/maxq). */
function expectedScales(f: QuantFormat, w: Float32Array, rows: number, cols: number): number[] {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = groupOf(f, cols, r, c);
      lo[g] = Math.min(lo[g] ?? 0, w[r * cols + c]!);
      hi[g] = Math.max(hi[g] ?? 0, w[r * cols + c]!);
    }
  }
  return lo.map((l, g) =>
    f.symmetric ? Math.max(-l, hi[g]!) / (2 ** (f.bits - 1) - 1) : (hi[g]! - l) / (2 ** f.bits - 1),
  );
}

function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

describe('k-bit packing', () => {
  test('pack/unpack round-trips every bit width and length, with the exact byte count', () => {
    const rng = new Rng(1);
    for (let bits = 2; bits <= 8; bits++) {
      for (const n of [0, 1, 7, 8, 9, 13, 100, 1001]) {
        const codes = Uint8Array.from({ length: n }, () => rng.int(2 ** bits));
        const packed = packCodes(codes, bits);
        assert.equal(packed.length, Math.ceil((n * bits) / 8), `bits=${bits} n=${n}`);
        assert.deepEqual(unpackCodes(packed, bits, n), codes, `bits=${bits} n=${n}`);
      }
    }
  });

  test('layout is an LSB-first bitstream (hand-computed bytes)', () => {
    // 3-bit codes 1..7,0: byte0 = 1 | 2<<3 | (3<<6 & 255) = 209; byte1 = 3>>2 | 4<<1 | 5<<4 | (6<<7 & 255) = 88;
    // byte2 = 6>>1 | 7<<2 | 0<<5 = 31
    assert.deepEqual([...packCodes([1, 2, 3, 4, 5, 6, 7, 0], 3)], [209, 88, 31]);
    assert.deepEqual([...packCodes([0xab, 0x01], 8)], [0xab, 0x01]);
    assert.deepEqual([...packCodes([1, 2, 3], 4)], [0x21, 0x03]);
  });

  test('a code wider than the bit width and a truncated stream are rejected', () => {
    assert.throws(() => packCodes([8], 3), RangeError);
    assert.throws(() => unpackCodes(new Uint8Array(2), 3, 8), CorruptError);
  });
});

describe('format table', () => {
  test('70 formats: bits 2..8 x tensor/channel/group32/64/128 x sym/asym, found by name', () => {
    const all = listFormats();
    assert.equal(all.length, 70);
    assert.equal(new Set(all.map((f) => f.name)).size, 70);
    for (const f of all) assert.equal(getFormat(f.name), f);
    const q = getFormat('q4_g64_sym');
    assert.deepEqual([q.bits, q.granularity, q.groupSize, q.symmetric], [4, 'group', 64, true]);
    const c = getFormat('q8_ch_asym');
    assert.deepEqual([c.bits, c.granularity, c.symmetric], [8, 'channel', false]);
    assert.throws(() => getFormat('q4_g48_sym'), InputError);
  });

  test('every format: error <= scale/2 per element, min/max scales, exact byte size', () => {
    const rows = 6;
    const cols = 200; // not a multiple of any group size: the last group of a row is short
    const w = sampleMatrix(new Rng(2), rows, cols);
    for (const f of listFormats()) {
      const q = f.quantize(w, rows, cols);
      const deq = f.dequantize(q);
      const want = expectedScales(f, w, rows, cols);
      assert.equal(q.scales.length, want.length, f.name);
      for (const [g, s] of want.entries()) {
        assert.ok(Math.abs(q.scales[g]! - s) <= 1e-6 * s, `${f.name} scale ${g}: ${q.scales[g]} vs ${s}`);
      }
      for (let i = 0; i < w.length; i++) {
        const s = q.scales[groupOf(f, cols, Math.floor(i / cols), i % cols)]!;
        assert.ok(
          Math.abs(deq[i]! - w[i]!) <= 0.5 * s * (1 + 1e-5),
          `${f.name} element ${i}: ${w[i]} -> ${deq[i]}`,
        );
      }
      const n = rows * cols;
      assert.equal(q.codes.length, Math.ceil((n * f.bits) / 8), f.name);
      assert.equal(
        byteSize(q),
        Math.ceil((n * f.bits) / 8) + 4 * want.length + (f.symmetric ? 0 : want.length) + 16,
      );
      assert.equal(q.zeros === null, f.symmetric, f.name);
    }
  });

  test('symmetric formats map 0 to 0 exactly and -w to -deq(w)', () => {
    const rows = 4;
    const cols = 128;
    const w = sampleMatrix(new Rng(3), rows, cols);
    for (let i = 0; i < w.length; i += 5) w[i] = 0;
    const neg = w.map((x) => -x);
    for (const f of listFormats().filter((f) => f.symmetric)) {
      const d = f.dequantize(f.quantize(w, rows, cols));
      const dn = f.dequantize(f.quantize(neg, rows, cols));
      for (let i = 0; i < w.length; i++) {
        if (i % 5 === 0) assert.ok(Object.is(Math.abs(d[i]!), 0), `${f.name}: 0 -> ${d[i]}`);
        assert.equal(dn[i], -d[i]! || 0, `${f.name} element ${i}`);
      }
    }
  });

  test('asymmetric formats capture min and max; a skewed row gets a finer step than symmetric', () => {
    const cols = 64;
    const w = Float32Array.from({ length: cols }, (_, c) => -1 + (4 * c) / (cols - 1)); // [-1, 3]
    for (const bits of [2, 4, 8]) {
      const f = getFormat(`q${bits}_ch_asym`);
      const q = f.quantize(w, 1, cols);
      const d = f.dequantize(q);
      const step = 4 / (2 ** bits - 1);
      assert.ok(Math.abs(q.scales[0]! - step) < 1e-6, `q${bits} asym step ${q.scales[0]}`);
      assert.ok(
        Math.abs(d[0]! + 1) <= step / 2 + 1e-6 && Math.abs(d[cols - 1]! - 3) <= step / 2 + 1e-6,
        `q${bits}`,
      );
      const sym = getFormat(`q${bits}_ch_sym`).quantize(w, 1, cols);
      assert.ok(sym.scales[0]! > q.scales[0]!, `sym step ${sym.scales[0]} should exceed asym ${q.scales[0]}`);
    }
    // an all-positive row: the range is extended to 0, so 0 stays exact and the zero point is 0
    const pos = Float32Array.from({ length: 32 }, (_, c) => 5 + c / 31);
    const f = getFormat('q4_ch_asym');
    const q = f.quantize(pos, 1, 32);
    assert.equal(q.zeros![0], 0);
    const d = f.dequantize(q);
    for (const [i, x] of pos.entries())
      assert.ok(Math.abs(d[i]! - x) <= q.scales[0]! / 2 + 1e-6, `element ${i}`);
  });

  test('error falls strictly with every extra bit, and finer granularity helps at 4 bits', () => {
    const rows = 8;
    const cols = 256;
    const w = sampleMatrix(new Rng(4), rows, cols);
    for (const tag of ['tensor', 'ch', 'g32', 'g64', 'g128']) {
      for (const s of ['sym', 'asym']) {
        const errs = [2, 3, 4, 5, 6, 7, 8].map((b) => {
          const f = getFormat(`q${b}_${tag}_${s}`);
          return mse(w, f.dequantize(f.quantize(w, rows, cols)));
        });
        for (let k = 1; k < errs.length; k++)
          assert.ok(errs[k]! < errs[k - 1]!, `${tag}_${s}: ${errs.join(', ')}`);
      }
    }
    const e = (name: string) => mse(w, getFormat(name).dequantize(getFormat(name).quantize(w, rows, cols)));
    assert.ok(e('q4_g32_sym') < e('q4_ch_sym') && e('q4_ch_sym') < e('q4_tensor_sym'));
  });

  test('an all-zero matrix stays zero with finite scales', () => {
    for (const f of listFormats()) {
      const q = f.quantize(new Float32Array(40), 2, 20);
      assert.ok(
        q.scales.every((s) => Number.isFinite(s) && s > 0),
        f.name,
      );
      assert.ok(
        f.dequantize(q).every((x) => x === 0),
        f.name,
      );
    }
  });

  test('bad input and inconsistent tensors throw typed errors', () => {
    const f = getFormat('q4_g32_asym');
    assert.throws(() => f.quantize(new Float32Array(10), 3, 4), InputError);
    assert.throws(() => f.quantize(Float32Array.of(1, Number.NaN), 1, 2), /non-finite/);
    const q = f.quantize(sampleMatrix(new Rng(5), 2, 40), 2, 40);
    assert.throws(() => f.dequantize({ ...q, codes: q.codes.subarray(1) }), CorruptError);
    assert.throws(() => f.dequantize({ ...q, scales: q.scales.subarray(1) }), CorruptError);
    assert.throws(() => f.dequantize({ ...q, zeros: null }), CorruptError);
    assert.throws(() => getFormat('q4_g32_sym').dequantize(q), CorruptError);
  });
});

describe('parseQuantSpec', () => {
  test('valid specs, defaults, any token order, and format names', () => {
    const cases: [string, string][] = [
      ['int4:group64:sym', 'q4_g64_sym'],
      ['int8', 'q8_ch_sym'],
      ['int3:asym', 'q3_ch_asym'],
      ['asym:group128:int2', 'q2_g128_asym'],
      [' INT5:Tensor ', 'q5_tensor_sym'],
      ['int8:channel:asym', 'q8_ch_asym'],
      ['q6_g32_asym', 'q6_g32_asym'],
    ];
    for (const [spec, name] of cases) assert.equal(parseQuantSpec(spec).name, name, spec);
  });

  test('bad specs name the bad token and list the valid choices', () => {
    const bad: [string, RegExp, RegExp][] = [
      ['int9', /'int9'/, /int2, int3.*int8/],
      ['int4:group48', /'group48'/, /group32, group64, group128/],
      ['int4:sym:asym', /'sym' and 'asym'/, /sym, asym/],
      ['int4:int8', /'int8'/, /int2/],
      ['group64:sym', /no bit width/, /int4/],
      ['', /''/, /int8/],
      ['float16', /'float16'/, /tensor, channel/],
      ['int4:channel:group32', /'channel' and 'group32'/, /group128/],
    ];
    for (const [spec, msg, hint] of bad) {
      assert.throws(
        () => parseQuantSpec(spec),
        (e: unknown) => e instanceof InputError && msg.test(e.message) && hint.test(e.hint ?? ''),
        spec,
      );
    }
  });
});

describe('default scope and RTN over a parameter layout', () => {
  const layout = buildLayout(tinyConfig('decoder'));
  test('linear weights only by default; embeddings on request; norms and biases never', () => {
    const names = selectQuantTargets(layout.specs).map((s) => s.name);
    const linear = layout.specs.filter((s) => s.linear).map((s) => s.name);
    assert.deepEqual(names, linear);
    assert.ok(
      names.length >= 8 && names.every((n) => n.endsWith('.weight') && !/ln|emb/.test(n)),
      names.join(),
    );
    const withEmb = selectQuantTargets(layout.specs, { embeddings: true }).map((s) => s.name);
    assert.deepEqual(withEmb.filter((n) => !names.includes(n)).sort(), ['pos_emb.weight', 'tok_emb.weight']);
  });

  test('quantizeParamsRtn + writeDequantized equal fakeQuantize per tensor and leave the rest alone', () => {
    const rng = new Rng(6);
    const params = Float32Array.from({ length: layout.total }, () => 0.05 * rng.normal());
    const f = getFormat('q3_g32_sym');
    const targets = selectQuantTargets(layout.specs);
    const qs = quantizeParamsRtn(params, targets, f);
    const out = params.slice();
    for (const s of targets) writeDequantized(out, s, qs.get(s.name)!);
    for (const s of layout.specs) {
      const before = params.subarray(s.offset, s.offset + s.size);
      const after = out.subarray(s.offset, s.offset + s.size);
      if (s.linear) assert.deepEqual(after, fakeQuantize(before, s.shape[0]!, s.shape[1]!, f), s.name);
      else assert.deepEqual(after, before, s.name);
    }
  });
});

describe('per-token int8 activations', () => {
  test('scale = max|x|/127 per row, error <= scale/2, zero rows stay zero, in-place works', () => {
    const rows = 5;
    const cols = 33;
    const rng = new Rng(7);
    const x = Float32Array.from({ length: rows * cols }, (_, i) =>
      i < cols ? 0 : rng.normal() * (1 + (i % 7)),
    );
    const a = quantActPerToken(x, rows, cols);
    const d = dequantActPerToken(a);
    assert.equal(a.scales[0], 0);
    for (let r = 0; r < rows; r++) {
      let amax = 0;
      for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]!));
      assert.ok(Math.abs(a.scales[r]! - amax / 127) <= 1e-6 * amax, `row ${r}`);
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        assert.ok(a.codes[i]! >= -127 && a.codes[i]! <= 127);
        assert.ok(Math.abs(d[i]! - x[i]!) <= 0.5 * a.scales[r]! * (1 + 1e-5), `(${r}, ${c})`);
      }
    }
    const y = x.slice();
    assert.equal(fakeQuantActPerToken(y, rows, cols, y), y);
    assert.deepEqual(y, d);
    assert.deepEqual(fakeQuantActPerToken(x, rows, cols), d);
    assert.throws(() => quantActPerToken(x, rows + 1, cols), InputError);
  });
});

describe('QAT fake quantization', () => {
  const layout = buildLayout(tinyConfig('decoder'));
  const targets = selectQuantTargets(layout.specs);
  const f = getFormat('q4_ch_sym');

  test('apply swaps in fake-quantized targets only; restore gives the masters back bit for bit', () => {
    const rng = new Rng(8);
    const params = Float32Array.from({ length: layout.total }, () => 0.05 * rng.normal());
    const orig = params.slice();
    const fq = new FakeQuant(targets, f);
    fq.apply(params);
    for (const s of layout.specs) {
      const got = params.subarray(s.offset, s.offset + s.size);
      const o = orig.subarray(s.offset, s.offset + s.size);
      if (s.linear) {
        assert.deepEqual(got, fakeQuantize(o, s.shape[0]!, s.shape[1]!, f), s.name);
        assert.notDeepEqual(got, o, s.name);
      } else assert.deepEqual(got, o, s.name);
    }
    assert.throws(() => fq.apply(params), InputError);
    fq.restore(params);
    assert.deepEqual(params, orig);
    assert.throws(() => fq.restore(params), InputError);
  });

  test('STE: gradients pass unchanged for min/max grids, and are zeroed where a grid clips', () => {
    const rng = new Rng(9);
    const params = Float32Array.from({ length: layout.total }, () => 0.3 * rng.normal());
    const grads = Float32Array.from({ length: layout.total }, () => rng.normal());
    const plain = new FakeQuant(targets, f);
    plain.apply(params);
    plain.restore(params);
    const g1 = grads.slice();
    plain.maskGrad(g1);
    assert.deepEqual(g1, grads);
    // a format whose grid clips at +-0.5 (values beyond are pinned to the edge before quantizing)
    const clipping: QuantFormat = {
      ...f,
      quantize: (w, r, c) =>
        f.quantize(
          w.map((x) => Math.max(-0.5, Math.min(0.5, x))),
          r,
          c,
        ),
    };
    const fq = new FakeQuant(targets, clipping);
    fq.apply(params);
    fq.restore(params);
    const g2 = grads.slice();
    fq.maskGrad(g2);
    const inTarget = new Uint8Array(layout.total);
    for (const s of targets) inTarget.fill(1, s.offset, s.offset + s.size);
    // rows that clip have scale 0.5/7: a master is clipped iff it lies more than half a step past 0.5
    const edge = 0.5 + 0.5 / 14;
    let zeroed = 0;
    for (let i = 0; i < layout.total; i++) {
      const a = Math.abs(params[i]!);
      if (inTarget[i] === 1 && a > edge + 1e-4) {
        zeroed++;
        assert.equal(g2[i], 0, `index ${i}`);
      } else if (inTarget[i] === 0 || a < edge - 1e-4) assert.equal(g2[i], grads[i], `index ${i}`);
    }
    assert.ok(zeroed > 10 && fq.clippedCount() >= zeroed, `${zeroed} clipped`);
  });
});
