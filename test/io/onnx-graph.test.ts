// The ONNX graphs against tlc's own forward pass, on random-weight models of every family and
// norm placement (no training): onnxruntime-node runs each export; fp32 matches tlc within 1e-4
// relative, int8 stays close and its three spellings agree; the decoder fed its past key/values in
// chunks gives the logits of the full sequence; the onnx checker accepts every graph.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { INT8_SCHEMES, type Int8Scheme, quantizeWeight } from '../../src/io/onnx/linear.ts';
import { openOrt } from '../../src/io/onnx/ort-run.ts';
import { buildGraph, type GraphKind } from '../../src/io/onnx/transformer.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { tinyConfig } from '../model/fixtures.ts';
import { chunked, klTop1, NO_ONNX, onnxCheck, relDiff, tlcClsLogits, tlcLmLogits } from './onnx-fixtures.ts';

const be = createTsBackend('f32');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-onnx-graph-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const written: string[] = [];

function model(cfg: ModelConfig, seed: number): Transformer<Float32Array> {
  const m = new Transformer(be, cfg, seed);
  const rng = new Rng(seed + 100);
  // larger than init (0.02) weights, and non-trivial norms and biases, so every op matters
  for (let i = 0; i < m.params.length; i++) m.params[i] = m.params[i]! + 0.15 * rng.normal();
  return m;
}

function onnxBytes(m: Transformer<Float32Array>, kind: GraphKind, int8: Int8Scheme | null): Uint8Array {
  const bytes = buildGraph(m.cfg, (n) => m.p.get(n), kind, { int8 })
    .model('test', '0')
    .toBytes();
  const file = path.join(tmp, `${m.cfg.family}-${m.cfg.norm}-${kind}-${int8 ?? 'fp32'}.onnx`);
  fs.writeFileSync(file, bytes);
  written.push(file);
  return bytes;
}

/** a padded batch: row r has T - r real tokens */
function batch(V: number, B: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const ids = new Int32Array(B * T);
  const mask = new Uint8Array(B * T);
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < T; t++) {
      const real = t < T - r;
      mask[r * T + t] = real ? 1 : 0;
      ids[r * T + t] = real ? 5 + rng.int(V - 5) : 0;
    }
  }
  return { ids, mask };
}

for (const norm of ['pre', 'post'] as const) {
  test(`encoder MLM (${norm}-LN, padded batch): fp32 within 1e-4 of tlc, int8 close, all int8 spellings equal`, async (t) => {
    const m = model(tinyConfig('encoder', { norm, vocab: 40, max_len: 12 }), 1);
    const B = 3;
    const T = 7;
    const V = m.cfg.vocab;
    const { ids, mask } = batch(V, B, T, 2);
    const ref = tlcLmLogits(m, ids, B, T, mask);
    const fp = await openOrt(onnxBytes(m, 'mlm', null));
    assert.equal(fp.kind, 'mlm');
    const out = await fp.encode({ B, T, ids, mask });
    assert.deepEqual(out.dims, [B, T, V]);
    assert.ok(relDiff(out.logits, ref) < 1e-4, `fp32 relative difference ${relDiff(out.logits, ref)}`);
    const int8: Float32Array[] = [];
    for (const s of INT8_SCHEMES)
      int8.push((await (await openOrt(onnxBytes(m, 'mlm', s))).encode({ B, T, ids, mask })).logits);
    for (const x of int8.slice(1))
      assert.ok(relDiff(x, int8[0]!) < 1e-5, 'the int8 spellings compute the same');
    const q = klTop1(ref, int8[0]!, V);
    t.diagnostic(`fp32 relative difference ${relDiff(out.logits, ref)}; int8 KL ${q.kl}, top-1 ${q.top1}`);
    assert.ok(q.kl < 1e-3 && q.top1 >= 0.85, `int8 vs tlc fp32: KL ${q.kl}, top-1 ${q.top1}`);
  });
}

test('encoder classifier: fp32 within 1e-4 of tlc, int8 close', async (t) => {
  const m = model(tinyConfig('encoder', { vocab: 40, max_len: 12, n_classes: 3 }), 3);
  const B = 4;
  const T = 6;
  const { ids, mask } = batch(m.cfg.vocab, B, T, 4);
  const ref = tlcClsLogits(m, ids, B, T, mask);
  const fp = await openOrt(onnxBytes(m, 'cls', null));
  assert.equal(fp.kind, 'cls');
  const out = await fp.encode({ B, T, ids, mask });
  assert.deepEqual(out.dims, [B, 3]);
  assert.ok(relDiff(out.logits, ref) < 1e-4, `fp32 relative difference ${relDiff(out.logits, ref)}`);
  const q = await (await openOrt(onnxBytes(m, 'cls', 'qdq'))).encode({ B, T, ids, mask });
  t.diagnostic(`fp32 relative difference ${relDiff(out.logits, ref)}; int8 ${relDiff(q.logits, ref)}`);
  assert.ok(relDiff(q.logits, ref) < 0.05, `int8 relative difference ${relDiff(q.logits, ref)}`);
});

for (const norm of ['pre', 'post'] as const) {
  test(`decoder (${norm}-LN): past key/values fed in chunks 4, 3, 1, 1 give tlc's full-sequence logits`, async (t) => {
    const m = model(tinyConfig('decoder', { norm, vocab: 40, max_len: 12 }), 5);
    const B = 2;
    const L = 9;
    const ids = batch(m.cfg.vocab, B, L, 6).ids.map((x) => (x === 0 ? 7 : x));
    const ref = tlcLmLogits(m, ids, B, L, null);
    const fp = await openOrt(onnxBytes(m, 'causal', null));
    assert.deepEqual([fp.kind, fp.layers, fp.heads, fp.headDim], ['causal', 2, 3, 4]);
    const whole = await chunked(fp.session, m.cfg, ids, B, L, [L]);
    assert.ok(relDiff(whole, ref) < 1e-4, `one run: relative difference ${relDiff(whole, ref)}`);
    const inc = await chunked(fp.session, m.cfg, ids, B, L, [4, 3, 1, 1]);
    assert.ok(relDiff(inc, ref) < 1e-4, `chunked: relative difference ${relDiff(inc, ref)}`);
    const q = await openOrt(onnxBytes(m, 'causal', 'qdq'));
    const qi = klTop1(ref, await chunked(q.session, m.cfg, ids, B, L, [4, 3, 1, 1]), m.cfg.vocab);
    t.diagnostic(`fp32 relative difference ${relDiff(inc, ref)}; int8 KL ${qi.kl}, top-1 ${qi.top1}`);
    assert.ok(qi.kl < 1e-3 && qi.top1 >= 0.85, `int8 vs tlc fp32: KL ${qi.kl}, top-1 ${qi.top1}`);
  });
}

test('the runner decodes greedily with past key/values: tokens and logits equal tlc recomputing the prefix', async () => {
  const m = model(tinyConfig('decoder', { vocab: 40, max_len: 16 }), 7);
  const s = await openOrt(onnxBytes(m, 'causal', null));
  const prompt = [Int32Array.from([5, 9, 11]), Int32Array.from([20, 6, 8])];
  const g = await s.generate({ prompt, steps: 8, keepLogits: true });
  assert.equal(g.stepMs.length, 7);
  assert.ok(g.prefillMs > 0 && g.decodeMs > 0);
  for (let b = 0; b < 2; b++) {
    const seq = Int32Array.from([...prompt[b]!, ...g.tokens[b]!]);
    assert.equal(g.tokens[b]!.length, 8);
    const ref = tlcLmLogits(m, seq, 1, seq.length, null);
    const V = m.cfg.vocab;
    g.logits!.forEach((l, k) => {
      const p = prompt[b]!.length - 1 + k;
      const row = ref.subarray(p * V, (p + 1) * V);
      assert.ok(relDiff(l.subarray(b * V, (b + 1) * V), row) < 1e-4, `step ${k}`);
    });
  }
  const row = Array.from(g.tokens[0]!);
  const k = row.findIndex((x, i) => i > 0 && !row.slice(0, i).includes(x)); // a token new at position k
  assert.ok(k > 0, 'the greedy row repeats one token: pick another seed');
  const stop = await s.generate({ prompt, steps: 8, eos: row[k] });
  assert.deepEqual(Array.from(stop.tokens[0]!), row.slice(0, k), 'a row stops at eos');
});

test('int8 weights: symmetric per output channel, |w - q s| <= s / 2, stored transposed', () => {
  const rng = new Rng(9);
  const Out = 5;
  const In = 7;
  const w = Float32Array.from({ length: Out * In }, (_, i) => rng.normal() * (1 + (i % Out)));
  const { q, scale } = quantizeWeight(w, Out, In);
  for (let o = 0; o < Out; o++) {
    let mx = 0;
    for (let i = 0; i < In; i++) {
      const x = w[o * In + i]!;
      mx = Math.max(mx, Math.abs(x));
      assert.ok(Math.abs(x - q[i * Out + o]! * scale[o]!) <= scale[o]! / 2 + 1e-7);
    }
    assert.ok(Math.abs(scale[o]! - mx / 127) < 1e-6 * mx);
  }
});

test('the onnx checker (full check, shape inference) accepts every graph', { skip: NO_ONNX }, () => {
  assert.ok(written.length >= 10);
  onnxCheck(written);
});
