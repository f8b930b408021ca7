// Cached generation for decoder-only models against the uncached reference (the whole prefix
// recomputed with forwardLm for every new token): on random decoders, pre- and post-LN, on the ts
// (float64) and native backends and on the int8 runtime, prompts of different lengths in one batch
// give exactly the same tokens (greedy and a non-greedy pick) and per-token log-probabilities equal
// within 1e-9 (ts f64) / 1e-4 (native f32, int8 runtime); rows end at the end token or the limits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compressModel } from '../../src/compress/compress.ts';
import type { Backend, FloatArray } from '../../src/engine/backend.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { int8ModelFrom } from '../../src/infer/runtime.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import {
  CausalCache,
  type CausalLm,
  denseCausalLm,
  type Generated,
  generateCached,
  generateUncached,
  type LmForward,
  type PickToken,
} from '../../src/model/decode-causal.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { tinyConfig } from './fixtures.ts';

function prompts(V: number, lens: number[], seed: number): Int32Array[] {
  const rng = new Rng(seed);
  return lens.map((n) => Int32Array.from({ length: n }, () => 5 + rng.int(V - 5)));
}

/** the third most likely token (ties: lower id): a choice that is not greedy */
const thirdPick: PickToken = (_r, _s, x, off, V) => {
  const ids = Array.from({ length: V }, (_, v) => v);
  ids.sort((a, b) => x[off + b]! - x[off + a]! || a - b);
  return ids[2]!;
};

function same(got: Generated[], want: Generated[], tol: number, what: string): void {
  assert.equal(got.length, want.length);
  got.forEach((g, r) => {
    assert.deepEqual(Array.from(g.tokens), Array.from(want[r]!.tokens), `${what}: row ${r} tokens`);
    assert.equal(g.ended, want[r]!.ended, `${what}: row ${r} ended`);
    assert.equal(g.logprobs.length, want[r]!.logprobs.length, `${what}: row ${r} log-probs`);
    g.logprobs.forEach((lp, k) => {
      const d = Math.abs(lp - want[r]!.logprobs[k]!);
      assert.ok(d <= tol, `${what}: row ${r} token ${k}: ${lp} vs ${want[r]!.logprobs[k]} (|d| ${d})`);
    });
  });
}

function check<A extends FloatArray>(
  cfg: ModelConfig,
  lm: CausalLm<A>,
  forward: LmForward<A>,
  tol: number,
  what: string,
): void {
  const ps = prompts(cfg.vocab, [3, 1, 5, 2], 11);
  const free = generateUncached(cfg, forward, ps, { maxNew: 6, eos: -1 });
  const eos = free[0]!.tokens[1]!; // an end token that row 0 produces second: rows stop at different steps
  for (const [maxNew, end, pick] of [
    [6, -1, undefined],
    [6, eos, undefined],
    [50, eos, undefined], // capped by max_len - prompt length
    [6, -1, thirdPick],
    [4, eos, thirdPick],
  ] as const) {
    const o = { maxNew, eos: end, ...(pick ? { pick } : {}) };
    const want = generateUncached(cfg, forward, ps, o);
    const got = generateCached(lm, ps, o);
    same(got, want, tol, `${what}, maxNew ${maxNew}, eos ${end}, ${pick ? 'third' : 'greedy'}`);
    if (maxNew === 50)
      got.forEach((g, r) => {
        if (!g.ended) assert.equal(ps[r]!.length + g.tokens.length, cfg.max_len, `row ${r} fills max_len`);
      });
  }
  const got = generateCached(lm, ps, { maxNew: 6, eos });
  const first = free[0]!.tokens.indexOf(eos);
  assert.ok(got[0]!.ended && got[0]!.tokens.length === first, 'row 0 stops at its first end token');
  assert.deepEqual(Array.from(got[0]!.tokens), Array.from(free[0]!.tokens.subarray(0, first)));
}

const backends: Array<[string, () => Backend<FloatArray>, number]> = [
  ['ts f64', () => createTsBackend('f64'), 1e-9],
  ['native', () => loadNativeBackend() as Backend<FloatArray>, 1e-4],
];

for (const [name, makeBe, tol] of backends) {
  for (const norm of ['pre', 'post'] as const) {
    test(`cached generation equals recomputing the prefix (${name}, ${norm}-LN)`, () => {
      const cfg = tinyConfig('decoder', { norm, max_len: 12, init_std: 0.3, n_layers: 3 });
      const m = new Transformer(makeBe(), cfg, 7);
      const fwd: LmForward<FloatArray> = (b) => m.forwardLm(b, { train: false, grad: false }).head;
      check(cfg, denseCausalLm(m), fwd, tol, `${name} ${norm}`);
    });
  }
}

test('cached generation on the int8 runtime equals its own uncached forward', () => {
  const be = loadNativeBackend();
  const cfg = tinyConfig('decoder', { max_len: 12, init_std: 0.3, d_model: 24, n_heads: 2 });
  const m = new Transformer(be, cfg, 3);
  const c = compressModel(m, { quant: 'int8', method: 'rtn', prune: null, embeddings: false }, null);
  const q = int8ModelFrom(be, cfg, m.layout, c.stored);
  assert.ok(q.int8.size > 0, 'linear layers run int8');
  check(cfg, q, (b) => q.forwardLm(b), 1e-4, 'int8');
});

test('a reordered cache continues each row as that row alone does', () => {
  const cfg = tinyConfig('decoder', { max_len: 12, init_std: 0.3 });
  const m = new Transformer(createTsBackend('f64'), cfg, 5);
  const lm = denseCausalLm(m);
  const ps = prompts(cfg.vocab, [2, 4, 3], 2);
  const cache = new CausalCache(lm, 4, 10);
  cache.prefill(ps);
  cache.step(Int32Array.from([7, 8, 9]));
  cache.reorder(Int32Array.from([2, 0, 0])); // drop row 1, duplicate row 0, permute
  const V = cfg.vocab;
  const got = Float64Array.from(cache.step(Int32Array.from([10, 11, 12])));
  assert.deepEqual(Array.from(cache.rows), [2, 0, 0]);
  assert.deepEqual(Array.from(cache.len), [5, 4, 4]);
  const alone = (r: number, a: number, b: number) => {
    const seq = Int32Array.from([...ps[r]!, a, b]);
    const targets = new Int32Array(seq.length).fill(-1);
    targets[seq.length - 1] = 0;
    const h = m.forwardLm(
      { B: 1, T: seq.length, tokens: seq, keyMask: null, targets },
      { train: false, grad: false },
    );
    return Float64Array.from(h.head.logits); // a copy: the next forward reuses the workspace
  };
  const want = [alone(2, 9, 10), alone(0, 7, 11), alone(0, 7, 12)];
  want.forEach((w, j) => {
    for (let v = 0; v < V; v++) assert.ok(Math.abs(got[j * V + v]! - w[v]!) < 1e-9, `row ${j} logit ${v}`);
  });
});

test('mistakes are InputErrors: not a decoder, empty or too long prompts, a full row', () => {
  const enc = new Transformer(createTsBackend('f64'), tinyConfig('encoder'), 1);
  assert.throws(() => new CausalCache(denseCausalLm(enc), 1, 4), /needs a decoder \(causal LM\) model/);
  const cfg = tinyConfig('decoder', { max_len: 6 });
  const lm = denseCausalLm(new Transformer(createTsBackend('f64'), cfg, 1));
  const cache = new CausalCache(lm, 2, 4);
  assert.throws(() => cache.prefill([new Int32Array(0)]), /each prompt needs 1 to 4 tokens/);
  assert.throws(() => cache.prefill([new Int32Array(5).fill(6)]), /each prompt needs 1 to 4 tokens/);
  cache.prefill([new Int32Array(4).fill(6)]);
  assert.throws(() => cache.step(Int32Array.from([6])), /is full \(4 positions\)/);
});

test('a new cache on the same model reuses the last one’s memory; the old one refuses to run on', () => {
  const cfg = tinyConfig('decoder', { max_len: 12, init_std: 0.3 });
  const m = new Transformer(createTsBackend('f64'), cfg, 5);
  const lm = denseCausalLm(m);
  const ps = prompts(cfg.vocab, [2, 3], 4);
  const empty = m.evalWs.floatBytes();
  const first = new CausalCache(lm, 2, 10);
  const cacheBytes = cfg.n_layers * 2 * 10 * 2 * cfg.d_model * 8; // (rows, Tcap, 2C) f64 per layer
  assert.equal(m.evalWs.floatBytes() - empty, cacheBytes, 'the cache lives in the workspace');
  first.prefill(ps);
  const before = m.evalWs.floatBytes();
  const second = new CausalCache(lm, 2, 10);
  assert.equal(m.evalWs.floatBytes(), before, 'no new cache memory');
  const a = Float64Array.from(second.prefill(ps));
  assert.throws(() => first.step(Int32Array.from([7, 8])), /a newer CausalCache on the same model took over/);
  assert.deepEqual(Float64Array.from(new CausalCache(lm, 2, 10).prefill(ps)), a);
});
