// Cached (incremental) decoding against the uncached reference: on random encdec models, pre- and
// post-LN, on both backends, greedy decoding with the key/value cache must give exactly the tokens of
// Transformer.greedyDecode, and per-token log-probabilities equal to a teacher-forced forward over
// the same output (f64 reference backend: 1e-9; native f32: 1e-4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, FloatArray } from '../../src/engine/backend.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { CachedDecoder, greedyDecodeCached, sequenceLogprobs } from '../../src/model/decode.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { seq2seqBatch, tinyConfig } from './fixtures.ts';

const BOS = 1;
const backends: Array<[string, () => Backend<FloatArray>, number]> = [
  ['ts f64', () => createTsBackend('f64'), 1e-9],
  ['native', () => loadNativeBackend() as Backend<FloatArray>, 1e-4],
];

for (const [name, makeBe, tol] of backends) {
  for (const norm of ['pre', 'post'] as const) {
    test(`cached greedy decoding equals the uncached one (${name}, ${norm}-LN)`, () => {
      const cfg = tinyConfig('encdec', { norm, n_dec_layers: 2, max_len: 12, init_std: 0.3 });
      const m = new Transformer(makeBe(), cfg, 7);
      const B = 4;
      const Ts = 6;
      const b = seq2seqBatch(cfg.vocab, B, Ts, 4, 3); // the last row's last source position is padding
      const free = m.greedyDecode(b.src, b.srcMask, B, Ts, 10, BOS, -1);
      // an end token that row 0 produces third: rows stop at different steps and leave the batch
      const eos = free[0]![2]!;
      for (const [maxLen, end] of [
        [10, -1],
        [10, eos],
        [50, eos], // capped at max_len
      ] as const) {
        const want = m.greedyDecode(b.src, b.srcMask, B, Ts, maxLen, BOS, end);
        const got = greedyDecodeCached(m, b.src, b.srcMask, B, Ts, maxLen, BOS, end);
        const ended = got.map((g) => g.ended);
        const ref = sequenceLogprobs(m, b.src, b.srcMask, B, Ts, want, ended, BOS, end);
        for (let r = 0; r < B; r++) {
          const g = got[r]!;
          assert.deepEqual(
            Array.from(g.tokens),
            Array.from(want[r]!),
            `row ${r}, maxLen ${maxLen}, eos ${end}`,
          );
          assert.equal(g.ended, want[r]!.length < Math.min(maxLen, cfg.max_len), `row ${r} ended`);
          assert.equal(g.logprobs.length, ref[r]!.length);
          g.logprobs.forEach((lp, k) => {
            assert.ok(Math.abs(lp - ref[r]![k]!) <= tol, `row ${r} token ${k}: ${lp} vs ${ref[r]![k]}`);
          });
        }
      }
    });
  }
}

test('a reordered cache decodes each row as its source alone does', () => {
  const cfg = tinyConfig('encdec', { n_dec_layers: 2, max_len: 12, init_std: 0.3 });
  const m = new Transformer(createTsBackend('f64'), cfg, 5);
  const B = 3;
  const Ts = 5;
  const b = seq2seqBatch(cfg.vocab, B, Ts, 4, 9);
  const V = cfg.vocab;
  const dec = new CachedDecoder(m, b.srcMask, b.src, B, Ts, 6, 2 * B);
  dec.step(new Int32Array(B).fill(BOS));
  dec.reorder(Int32Array.from([2, 0, 2])); // drop row 1, duplicate row 2
  dec.step(Int32Array.from([7, 8, 9]));
  dec.reorder(Int32Array.from([1, 2, 0])); // now rows and sources differ: sources 0, 2, 2
  const logits = Float64Array.from(dec.step(Int32Array.from([10, 11, 12])));
  assert.deepEqual(Array.from(dec.src), [0, 2, 2]);
  for (const [j, r, t1, t2] of [
    [0, 0, 8, 10],
    [1, 2, 9, 11],
    [2, 2, 7, 12],
  ] as const) {
    const one = new CachedDecoder(
      m,
      b.srcMask.subarray(r * Ts, (r + 1) * Ts),
      b.src.subarray(r * Ts, (r + 1) * Ts),
      1,
      Ts,
      6,
    );
    for (const tk of [BOS, t1]) one.step(Int32Array.from([tk]));
    const want = one.step(Int32Array.from([t2]));
    for (let v = 0; v < V; v++)
      assert.ok(Math.abs(logits[j * V + v]! - want[v]!) < 1e-12, `row ${j} logit ${v}`);
  }
  assert.throws(() => dec.step(Int32Array.from([1])), /expected 3 tokens, found 1/);
  assert.throws(() => dec.step(Int32Array.from([1, 2, 99])), /token id 99 is outside/);
});

test('cached greedy decoding equals the uncached one on a briefly trained model (native)', () => {
  // 300 AdamW steps on a copy task (about a second) make the output distributions peaked, unlike a
  // random model's
  const cfg = tinyConfig('encdec', { n_dec_layers: 2, max_len: 12, vocab: 16, d_model: 24, d_ff: 48 });
  const be = loadNativeBackend();
  const m = new Transformer(be, cfg, 3);
  const B = 8;
  const Ts = 7;
  const EOS = 2;
  const batch = (seed: number) => {
    const b = seq2seqBatch(cfg.vocab, B, Ts, Ts, seed);
    b.srcMask.fill(1);
    for (let r = 0; r < B; r++) {
      for (let k = 0; k < Ts; k++) {
        const x = 5 + ((b.src[r * Ts + k]! + r) % (cfg.vocab - 5)); // copy: target = source
        b.src[r * Ts + k] = x;
        b.tgtIn[r * Ts + k] = k === 0 ? BOS : b.src[r * Ts + k - 1]!;
        b.tgtOut[r * Ts + k] = k === Ts - 1 ? EOS : x;
      }
      b.src[r * Ts + Ts - 1] = EOS;
    }
    return b;
  };
  const n = m.layout.total;
  const mom = be.alloc(n);
  const vel = be.alloc(n);
  let first = 0;
  let loss = 0;
  for (let step = 1; step <= 300; step++) {
    m.zeroGrad();
    const tape = m.forwardSeq2Seq(batch(step), { train: false, grad: true });
    loss = tape.loss;
    if (step === 1) first = loss;
    m.backward(tape);
    be.adamw(m.params, m.grads, mom, vel, n, {
      lr: 3e-3,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      step,
    });
  }
  assert.ok(loss < first - 0.5, `training lowers the loss: ${first} -> ${loss}`);
  const b = batch(999);
  const want = m.greedyDecode(b.src, b.srcMask, B, Ts, 10, BOS, EOS);
  const got = greedyDecodeCached(m, b.src, b.srcMask, B, Ts, 10, BOS, EOS);
  const ref = sequenceLogprobs(
    m,
    b.src,
    b.srcMask,
    B,
    Ts,
    want,
    got.map((g) => g.ended),
    BOS,
    EOS,
  );
  const copied = got.filter((g, r) => g.tokens.join() === b.src.subarray(r * Ts, (r + 1) * Ts - 1).join());
  assert.ok(copied.length >= B / 2, `the model learned to copy: ${copied.length} of ${B} rows`);
  for (let r = 0; r < B; r++) {
    assert.deepEqual(Array.from(got[r]!.tokens), Array.from(want[r]!), `row ${r}`);
    got[r]!.logprobs.forEach((lp, k) => {
      assert.ok(Math.abs(lp - ref[r]![k]!) <= 1e-4, `row ${r} token ${k}`);
    });
  }
});

test('a newer decoder on the same model takes over the cache buffers: the older one refuses to step', () => {
  const cfg = tinyConfig('encdec', { n_dec_layers: 2, max_len: 12 });
  const m = new Transformer(createTsBackend('f64'), cfg, 5);
  const b = seq2seqBatch(cfg.vocab, 2, 5, 4, 9);
  const old = new CachedDecoder(m, b.srcMask, b.src, 2, 5, 6);
  old.step(new Int32Array(2).fill(BOS));
  const fresh = new CachedDecoder(m, b.srcMask, b.src, 2, 5, 6);
  assert.throws(() => old.step(Int32Array.from([3, 4])), /newer CachedDecoder on the same model took over/);
  assert.throws(() => old.reorder(Int32Array.from([0])), /took over/);
  fresh.step(new Int32Array(2).fill(BOS)); // the newer one decodes
});
