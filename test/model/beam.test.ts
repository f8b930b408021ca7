// Beam search on random encdec models: beam 1 is greedy decoding (tokens and log-probability);
// a beam (of 1 with a length penalty, or wider) never ends below greedy under the model (both rescored by a teacher-forced forward);
// results are deterministic and each sentence is searched independently of its batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, FloatArray } from '../../src/engine/backend.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { type BeamOptions, beamSearch, type Hypothesis } from '../../src/model/beam.ts';
import { greedyDecodeCached, sequenceLogprobs } from '../../src/model/decode.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { seq2seqBatch, tinyConfig } from './fixtures.ts';

const BOS = 1;
const B = 4;
const Ts = 6;

function setup(be: Backend<FloatArray>, seed: number) {
  const cfg = tinyConfig('encdec', { n_dec_layers: 2, max_len: 12, init_std: 0.3 });
  const m = new Transformer(be, cfg, seed);
  const b = seq2seqBatch(cfg.vocab, B, Ts, 4, seed + 100);
  // an end token the model produces early on some rows, so that hypotheses end at varied lengths
  const eos = greedyDecodeCached(m, b.src, b.srcMask, B, Ts, 10, BOS, -1)[0]!.tokens[1]!;
  return { m, b, eos };
}

const sum = (x: Float64Array): number => x.reduce((a, v) => a + v, 0);
const norm = (h: { logprob: number; len: number }, alpha: number): number => h.logprob / h.len ** alpha;

for (const [name, makeBe, tol] of [
  ['ts f64', () => createTsBackend('f64'), 1e-9],
  ['native', () => loadNativeBackend() as Backend<FloatArray>, 1e-4],
] as const) {
  test(`beam 1 equals greedy decoding (${name})`, () => {
    for (const seed of [1, 2, 3]) {
      const { m, b, eos } = setup(makeBe(), seed);
      const greedy = greedyDecodeCached(m, b.src, b.srcMask, B, Ts, 10, BOS, eos);
      // alpha 0: with alpha > 0 a beam of 1 may grow past greedy's end token, as a longer
      // hypothesis can still overtake it once normalized (the next test covers that case)
      for (const lenPenalty of [0]) {
        const beam = beamSearch(m, b.src, b.srcMask, B, Ts, {
          beam: 1,
          lenPenalty,
          maxLen: 10,
          bos: BOS,
          eos,
        });
        for (let r = 0; r < B; r++) {
          const h = beam[r]![0]!;
          const g = greedy[r]!;
          assert.equal(beam[r]!.length, 1);
          assert.deepEqual(Array.from(h.tokens), Array.from(g.tokens), `seed ${seed} row ${r}`);
          assert.equal(h.ended, g.ended);
          assert.ok(Math.abs(h.logprob - sum(g.logprobs)) < tol, `${h.logprob} vs ${sum(g.logprobs)}`);
          const len = g.tokens.length + (g.ended ? 1 : 0);
          assert.ok(Math.abs(h.score - norm({ logprob: h.logprob, len }, lenPenalty)) < 1e-12);
        }
      }
    }
  });

  test(`beam search never scores below greedy under the model (${name})`, () => {
    let better = 0;
    for (const seed of [4, 5, 6, 7]) {
      const { m, b, eos } = setup(makeBe(), seed);
      const greedy = greedyDecodeCached(m, b.src, b.srcMask, B, Ts, 10, BOS, eos);
      const gLp = sequenceLogprobs(
        m,
        b.src,
        b.srcMask,
        B,
        Ts,
        greedy.map((g) => g.tokens),
        greedy.map((g) => g.ended),
        BOS,
        eos,
      );
      for (const K of [1, 2, 4]) {
        for (const lenPenalty of [0, 1]) {
          const o: BeamOptions = { beam: K, lenPenalty, maxLen: 10, bos: BOS, eos };
          const beam = beamSearch(m, b.src, b.srcMask, B, Ts, o);
          const best = beam.map((hs) => hs[0]!);
          const bLp = sequenceLogprobs(
            m,
            b.src,
            b.srcMask,
            B,
            Ts,
            best.map((h) => h.tokens),
            best.map((h) => h.ended),
            BOS,
            eos,
          );
          for (let r = 0; r < B; r++) {
            const h = best[r]!;
            assert.ok(beam[r]!.length >= 1 && beam[r]!.length <= K);
            assert.ok(
              Math.abs(sum(bLp[r]!) - h.logprob) < tol,
              'the reported log-probability is the model’s',
            );
            const g = greedy[r]!;
            const gScore = norm(
              { logprob: sum(gLp[r]!), len: g.tokens.length + (g.ended ? 1 : 0) },
              lenPenalty,
            );
            assert.ok(
              h.score >= gScore - tol,
              `seed ${seed} K ${K} alpha ${lenPenalty} row ${r}: beam ${h.score} < greedy ${gScore}`,
            );
            if (h.score > gScore + 1e-6) better++;
            const scores = beam[r]!.map((x) => x.score);
            assert.deepEqual(
              scores,
              [...scores].sort((x, y) => y - x),
              'hypotheses come best first',
            );
          }
        }
      }
    }
    assert.ok(better > 0, 'the beam should find a better translation than greedy somewhere');
  });
}

test('beam search is deterministic and searches each sentence independently of its batch', () => {
  const { m, b, eos } = setup(createTsBackend('f64'), 8);
  const plain = (hs: Hypothesis[][]) => hs.map((h) => h.map((x) => ({ ...x, tokens: Array.from(x.tokens) })));
  for (const K of [2, 4]) {
    const o: BeamOptions = { beam: K, lenPenalty: 1, maxLen: 10, bos: BOS, eos };
    const a = beamSearch(m, b.src, b.srcMask, B, Ts, o);
    assert.deepEqual(plain(beamSearch(m, b.src, b.srcMask, B, Ts, o)), plain(a));
    for (const r of [0, 3]) {
      const one = beamSearch(
        m,
        b.src.subarray(r * Ts, (r + 1) * Ts),
        b.srcMask.subarray(r * Ts, (r + 1) * Ts),
        1,
        Ts,
        o,
      );
      assert.deepEqual(
        plain(one)[0]!.map((h) => h.tokens),
        plain(a)[r]!.map((h) => h.tokens),
        `K ${K} row ${r}`,
      );
    }
  }
  assert.throws(
    () => beamSearch(m, b.src, b.srcMask, B, Ts, { beam: 0, lenPenalty: 1, maxLen: 5, bos: BOS, eos }),
    /beam size must be an integer >= 1, found 0/,
  );
  assert.throws(
    () => beamSearch(m, b.src, b.srcMask, B, Ts, { beam: 2, lenPenalty: -1, maxLen: 5, bos: BOS, eos }),
    /length penalty must be >= 0/,
  );
});
