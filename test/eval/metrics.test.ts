// Tests of the evaluation protocol: perplexity and its window standard error against hand
// computations, KL / top-1 of a model with itself and with noisy copies, accuracy on handmade
// logits and on a real classifier, and the protocol's window and token counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import {
  accuracy,
  compareModels,
  countWindows,
  evalProtocol,
  perplexityWithError,
  type Scored,
  type Scorer,
  Z95,
} from '../../src/eval/metrics.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { type AnyBatch, evaluate } from '../../src/train/task.ts';
import { classBatch, lmBatch, seq2seqBatch, tinyConfig } from '../model/fixtures.ts';

const be = createTsBackend('f32');
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

/**
 * A Scorer over one LM batch whose token NLLs are given exactly: V = 2, target 0 and logits
 * [0, log(expm1(nll))], so -log softmax(...)[0] = log(1 + expm1(nll)) = nll.
 */
function fixedNll(
  B: number,
  T: number,
  nll: Array<Array<number | null>>,
): { batch: AnyBatch; scorer: Scorer } {
  const targets = new Int32Array(B * T).fill(-1);
  const idx: number[] = [];
  const logits: number[] = [];
  for (const [r, row] of nll.entries()) {
    for (const [t, v] of row.entries()) {
      if (v === null) continue;
      targets[r * T + t] = 0;
      idx.push(r * T + t);
      logits.push(0, Math.log(Math.expm1(v)));
    }
  }
  const batch: AnyBatch = { kind: 'lm', b: { B, T, tokens: new Int32Array(B * T), keyMask: null, targets } };
  const scored: Scored = {
    V: 2,
    logits: Float64Array.from(logits),
    idx: Int32Array.from(idx),
    targets: new Int32Array(idx.length),
  };
  return { batch, scorer: { score: () => scored } };
}

test('perplexity and stderr match a hand computation (equal window sizes)', () => {
  // windows (rows) with NLLs [1,3], [2,2], [4,6]: window means 2, 2, 5; loss 3;
  // sample sd of the means = sqrt((1 + 1 + 4) / 2) = sqrt(3); stderr = sqrt(3)/sqrt(3) = 1
  const { batch, scorer } = fixedNll(3, 2, [
    [1, 3],
    [2, 2],
    [4, 6],
  ]);
  const r = perplexityWithError(scorer, [batch]);
  close(r.loss, 3, 1e-12, 'loss');
  close(r.stderr_loss, 1, 1e-12, 'stderr');
  close(r.ppl, Math.exp(3), 1e-9, 'ppl');
  close(r.ppl_low, Math.exp(3 - Z95), 1e-9, 'ppl_low');
  close(r.ppl_high, Math.exp(3 + Z95), 1e-9, 'ppl_high');
  assert.deepEqual([r.tokens, r.windows], [6, 3]);
});

test('stderr with unequal windows is the cluster standard error of the token-weighted mean', () => {
  // windows [1] and [2, 2, 5] (row 0 has two positions without a target): sums 1, 9; counts 1, 3;
  // loss = 10/4 = 2.5; residuals s - loss*c = -1.5, 1.5; stderr = sqrt(2 * 4.5) / 4 = 0.75
  const { batch, scorer } = fixedNll(2, 3, [
    [1, null, null],
    [2, 2, 5],
  ]);
  const r = perplexityWithError(scorer, [batch]);
  close(r.loss, 2.5, 1e-12, 'loss');
  close(r.stderr_loss, 0.75, 1e-12, 'stderr');
  assert.deepEqual([r.tokens, r.windows], [4, 2]);
  assert.deepEqual(countWindows([batch]), { windows: 2, tokens: 4 });
  // one window: no standard error
  const one = fixedNll(1, 2, [[1, 2]]);
  assert.ok(Number.isNaN(perplexityWithError(one.scorer, [one.batch]).stderr_loss));
});

test('perplexity of a real model equals exp(mean loss) of the trainer, over the protocol windows', () => {
  const cfg = tinyConfig('decoder', { init_std: 0.3 });
  const m = new Transformer(be, cfg, 2);
  const batches: AnyBatch[] = [1, 2, 3].map((s) => ({ kind: 'lm', b: lmBatch(cfg.vocab, 3, 7, s, true) }));
  const r = perplexityWithError(m, batches);
  const ev = evaluate(m, batches);
  close(r.loss, ev.loss, 1e-5 * ev.loss, 'loss vs evaluate()');
  close(r.ppl, Math.exp(r.loss), 1e-12 * r.ppl, 'ppl');
  assert.equal(r.tokens, ev.count);
  assert.ok(r.stderr_loss > 0 && r.ppl_low < r.ppl && r.ppl < r.ppl_high);
  const proto = evalProtocol(batches, { data: 7, model: 2 });
  assert.deepEqual([proto.windows, proto.tokens, proto.batches], [r.windows, r.tokens, 3]);
  assert.equal(r.windows, 9);
  assert.deepEqual(JSON.parse(JSON.stringify(proto)).seeds, { data: 7, model: 2 });
  // MLM: windows are rows with at least one masked target
  const ecfg = tinyConfig('encoder', { init_std: 0.3 });
  const mlm: AnyBatch[] = [{ kind: 'lm', b: lmBatch(ecfg.vocab, 4, 8, 5, false) }];
  const er = perplexityWithError(new Transformer(be, ecfg, 3), mlm);
  assert.deepEqual(countWindows(mlm), { windows: er.windows, tokens: er.tokens });
});

test('KL of a model with itself is 0 and top-1 agreement is 1 (decoder and encdec)', () => {
  const cfg = tinyConfig('decoder', { init_std: 0.3 });
  const m = new Transformer(be, cfg, 4);
  const batches: AnyBatch[] = [{ kind: 'lm', b: lmBatch(cfg.vocab, 3, 7, 8, true) }];
  const r = compareModels(m, m, batches);
  assert.equal(r.kl_dense_compressed, 0);
  assert.equal(r.top1_agreement, 1);
  assert.equal(r.dense.loss, r.compressed.loss);
  close(r.dense.loss, perplexityWithError(m, batches).loss, 1e-12, 'dense loss');
  const ecfg = tinyConfig('encdec', { init_std: 0.3, n_dec_layers: 1 });
  const e = new Transformer(be, ecfg, 5);
  const s2s: AnyBatch[] = [{ kind: 'seq2seq', b: seq2seqBatch(ecfg.vocab, 2, 5, 4, 9) }];
  const er = compareModels(e, e, s2s);
  assert.deepEqual([er.kl_dense_compressed, er.top1_agreement, er.tokens], [0, 1, 7]);
  close(er.dense.loss, evaluate(e, s2s).loss, 1e-5 * er.dense.loss, 'seq2seq loss vs evaluate()');
});

test('KL is positive and grows with the noise added to the weights; top-1 agreement falls', () => {
  const cfg = tinyConfig('decoder', { init_std: 0.3 });
  const dense = new Transformer(be, cfg, 6);
  const batches: AnyBatch[] = [1, 2].map((s) => ({ kind: 'lm', b: lmBatch(cfg.vocab, 3, 7, 20 + s, true) }));
  const rng = new Rng(11);
  const noise = Float32Array.from(dense.params, () => rng.normal());
  const results = [0.01, 0.05, 0.2, 0.8].map((sigma) => {
    const noisy = new Transformer(be, cfg, 6);
    for (let i = 0; i < noisy.params.length; i++) noisy.params[i] = dense.params[i]! + sigma * noise[i]!;
    return compareModels(dense, noisy, batches);
  });
  const kls = results.map((r) => r.kl_dense_compressed);
  assert.ok(kls[0]! > 0, 'KL must be > 0 for a perturbed model');
  assert.ok(
    kls.every((k, i) => i === 0 || k > kls[i - 1]!),
    `KL must grow with noise: ${kls}`,
  );
  assert.ok(results[3]!.top1_agreement < 1 && results[3]!.top1_agreement <= results[0]!.top1_agreement);
  assert.ok(results.every((r) => r.kl_stderr > 0 && r.tokens === evaluate(dense, batches).count));
});

test('compareModels refuses models that score different positions or vocabularies', () => {
  const d = new Transformer(be, tinyConfig('decoder'), 1);
  const e = new Transformer(be, tinyConfig('decoder', { vocab: 30 }), 1);
  const batches: AnyBatch[] = [{ kind: 'lm', b: lmBatch(23, 2, 6, 3, true) }];
  assert.throws(
    () => compareModels(d, e, batches),
    (x: unknown) => x instanceof InputError && /different positions/.test(x.message),
  );
  assert.throws(() => perplexityWithError(d, []), InputError);
});

test('accuracy on handmade classifier logits (ties go to the lowest class) and on a real classifier', () => {
  const K = 3;
  const b = classBatch(23, 4, 5, K, 1);
  b.labels.set([0, 2, 1, 1]);
  // argmax per row: 0 (right), 1 (wrong: label 2), 1 (right), tie 0/1 -> 0 (wrong: label 1)
  const logits = Float32Array.from([5, 1, 0, 0, 3, 2, -1, 4, 2, 7, 7, 1]);
  const scorer: Scorer = {
    score: () => ({ V: K, logits, idx: Int32Array.from([0, 5, 10, 15]), targets: b.labels }),
  };
  const x: AnyBatch = { kind: 'cls', b };
  const r = accuracy(scorer, [x, x]);
  assert.deepEqual([r.correct, r.total, r.accuracy], [4, 8, 0.5]);
  close(r.stderr, Math.sqrt(0.25 / 8), 1e-15, 'stderr');
  const cfg = tinyConfig('encoder', { n_classes: K, init_std: 0.5 });
  const m = new Transformer(be, cfg, 7);
  const real: AnyBatch[] = [11, 12, 13].map((s) => ({ kind: 'cls', b: classBatch(cfg.vocab, 6, 5, K, s) }));
  const ra = accuracy(m, real);
  assert.equal(ra.total, 18);
  assert.equal(ra.accuracy, evaluate(m, real).accuracy);
  assert.deepEqual(countWindows(real), { windows: 18, tokens: 18 });
  assert.throws(() => accuracy(m, [{ kind: 'lm', b: lmBatch(23, 2, 5, 1, false) }]), InputError);
});
