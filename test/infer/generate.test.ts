// Sampling for generation: the distribution after temperature, top-k and top-p on a known
// distribution; draws follow it; special tokens are never chosen; on a random decoder, a seed
// fixes the sampled tokens (the same in any batch), another seed changes them, and top-k = 1 is
// greedy decoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EOS_ID, N_SPECIAL, PAD_ID } from '../../src/data/tokenizer/bytelevel.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { drawFrom, greedyToken, samplingDistribution, samplingPick } from '../../src/infer/generate.ts';
import { denseCausalLm, generateCached } from '../../src/model/decode-causal.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { tinyConfig } from '../model/fixtures.ts';

/** logits over V = N_SPECIAL + 4 tokens with softmax probabilities p over the last four (specials at -inf) */
function known(p: number[]): Float32Array {
  const x = new Float32Array(N_SPECIAL + p.length).fill(-1e30);
  p.forEach((q, i) => {
    x[N_SPECIAL + i] = Math.log(q);
  });
  return x;
}
const P = [0.5, 0.3, 0.15, 0.05];
const ids = P.map((_, i) => N_SPECIAL + i);
const near = (a: number[], b: number[], tol = 1e-6) =>
  a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= tol);

test('top-k, top-p and temperature on a known distribution', () => {
  const x = known(P);
  const V = x.length;
  const all = samplingDistribution(x, 0, V, { temperature: 1, topK: 0, topP: 1 });
  assert.deepEqual(all.ids.slice(0, 4), ids);
  assert.ok(near(all.probs.slice(0, 4), P), `${all.probs}`);
  const k2 = samplingDistribution(x, 0, V, { temperature: 1, topK: 2, topP: 1 });
  assert.deepEqual(k2.ids, ids.slice(0, 2));
  assert.ok(near(k2.probs, [0.625, 0.375]), `${k2.probs}`);
  // nucleus: the smallest most-likely set reaching p
  for (const [p, n] of [
    [0.4, 1],
    [0.75, 2],
    [0.85, 3],
    [0.99, 4],
  ] as const) {
    const d = samplingDistribution(x, 0, V, { temperature: 1, topK: 0, topP: p });
    assert.deepEqual(d.ids, ids.slice(0, n), `top-p ${p}`);
    const z = P.slice(0, n).reduce((a, b) => a + b, 0);
    assert.ok(
      near(
        d.probs,
        P.slice(0, n).map((q) => q / z),
      ),
      `top-p ${p}: ${d.probs}`,
    );
  }
  // top-k first, then top-p over the renormalized top-k: 0.625 alone reaches 0.6
  assert.deepEqual(
    samplingDistribution(x, 0, V, { temperature: 1, topK: 2, topP: 0.6 }).ids,
    ids.slice(0, 1),
  );
  // temperature 2: probabilities proportional to sqrt(p)
  const t2 = samplingDistribution(x, 0, V, { temperature: 2, topK: 0, topP: 1 });
  const s = P.map(Math.sqrt);
  const zs = s.reduce((a, b) => a + b, 0);
  assert.ok(
    near(
      t2.probs.slice(0, 4),
      s.map((q) => q / zs),
    ),
    `${t2.probs}`,
  );
});

test('draws follow the distribution; special tokens other than </s> are never chosen', () => {
  const d = { ids, probs: P };
  const rng = new Rng(3);
  const n = 20000;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = drawFrom(d, rng.uniform());
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  ids.forEach((id, i) => {
    const f = (counts.get(id) ?? 0) / n;
    const sd = Math.sqrt((P[i]! * (1 - P[i]!)) / n);
    assert.ok(Math.abs(f - P[i]!) < 5 * sd, `token ${id}: frequency ${f} vs ${P[i]}`);
  });
  const x = new Float32Array(12).fill(0);
  x[PAD_ID] = 50;
  x[4] = 40; // <mask>
  x[EOS_ID] = 30;
  assert.equal(greedyToken(x, 0, 12), EOS_ID, 'the most likely allowed token');
  const t = samplingDistribution(x, 0, 12, { temperature: 1, topK: 0, topP: 1 });
  assert.ok(!t.ids.includes(PAD_ID) && !t.ids.includes(4) && !t.ids.includes(1), `${t.ids}`);
});

test('a seed fixes the sampled tokens in any batch; top-k 1 is greedy', () => {
  const cfg = tinyConfig('decoder', { vocab: 40, max_len: 16, init_std: 0.5 });
  const lm = denseCausalLm(new Transformer(loadNativeBackend(), cfg, 9));
  const rng = new Rng(1);
  const ps = [3, 1, 4, 2].map((n) => Int32Array.from({ length: n }, () => N_SPECIAL + rng.int(35)));
  const sample = { temperature: 1, topK: 0, topP: 1 };
  const run = (seed: number, o = sample, rows = ps, first = 0) =>
    generateCached(lm, rows, { maxNew: 8, eos: -1, pick: samplingPick(o, seed, first) }).map((g) =>
      Array.from(g.tokens),
    );
  const a = run(7);
  assert.deepEqual(run(7), a, 'the same seed, the same tokens');
  assert.notDeepEqual(run(8), a, 'another seed, other tokens');
  const oneByOne = ps.map((p, i) => run(7, sample, [p], i)[0]!);
  assert.deepEqual(oneByOne, a, 'each input keeps its tokens when run alone');
  const greedy = run(0, { temperature: 0, topK: 0, topP: 1 });
  assert.deepEqual(run(7, { temperature: 1, topK: 1, topP: 1 }), greedy, 'top-k 1 = greedy');
  assert.deepEqual(run(7, { temperature: 1, topK: 0, topP: 1e-9 }), greedy, 'top-p ~0 = greedy');
  assert.notDeepEqual(a, greedy, 'sampling at temperature 1 leaves the greedy path');
});
