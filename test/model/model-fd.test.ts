// Float64 finite-difference checks of each model family's full backward (every parameter tensor
// is probed), on the ts reference backend. Fails if any backward path is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { modelStats } from '../../src/model/config.ts';
import { type ForwardOptions, type Tape, Transformer } from '../../src/model/transformer.ts';
import { classBatch, lmBatch, seq2seqBatch, tinyConfig } from './fixtures.ts';

type M = Transformer<Float64Array>;

/**
 * Compare analytic gradients with central differences at `perTensor` random entries of every
 * tensor. Tolerance: |num - ana| <= 1e-7 + 1e-5 |num| (float64, h = 1e-5).
 */
function checkModel(m: M, run: (o: ForwardOptions) => Tape<Float64Array>, perTensor = 3): void {
  const o: ForwardOptions = { train: true, grad: true, seed: 1234 };
  m.zeroGrad();
  const t = run(o);
  assert.ok(Number.isFinite(t.loss) && t.count > 0, 'loss must be finite with counted targets');
  m.backward(t);
  const ana = Float64Array.from(m.grads);
  const rng = new Rng(7);
  const h = 1e-5;
  let probed = 0;
  let nonzero = 0;
  let worst = { err: 0, name: '' };
  for (const s of m.layout.specs) {
    for (let k = 0; k < Math.min(perTensor, s.size); k++) {
      const i = s.offset + rng.int(s.size);
      const x0 = m.params[i]!;
      m.params[i] = x0 + h;
      const lp = run({ ...o, grad: false }).loss;
      m.params[i] = x0 - h;
      const lm = run({ ...o, grad: false }).loss;
      m.params[i] = x0;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(num - ana[i]!);
      const tol = 1e-7 + 1e-5 * Math.abs(num);
      if (err / tol > worst.err)
        worst = { err: err / tol, name: `${s.name}[${i - s.offset}] num=${num} ana=${ana[i]}` };
      probed++;
      if (Math.abs(num) > 1e-9) nonzero++;
    }
  }
  assert.ok(worst.err <= 1, `gradient mismatch (err/tol=${worst.err.toFixed(2)}) at ${worst.name}`);
  assert.ok(
    nonzero > probed / 2,
    `too few non-zero gradients probed (${nonzero}/${probed}): the check would be vacuous`,
  );
}

const be = createTsBackend('f64');

for (const norm of ['pre', 'post'] as const) {
  for (const dropout of [0, 0.2]) {
    test(`encoder MLM backward matches finite differences (${norm}-LN, dropout ${dropout})`, () => {
      const cfg = tinyConfig('encoder', { norm, dropout });
      const m = new Transformer(be, cfg, 3);
      const b = lmBatch(cfg.vocab, 3, 7, 11, false);
      checkModel(m, (o) => m.forwardLm(b, o));
    });
    test(`decoder LM backward matches finite differences (${norm}-LN, dropout ${dropout})`, () => {
      const cfg = tinyConfig('decoder', { norm, dropout });
      const m = new Transformer(be, cfg, 4);
      const b = lmBatch(cfg.vocab, 2, 6, 12, true);
      checkModel(m, (o) => m.forwardLm(b, o));
    });
    test(`encdec backward matches finite differences (${norm}-LN, dropout ${dropout})`, () => {
      const cfg = tinyConfig('encdec', { norm, dropout, n_dec_layers: 1 });
      const m = new Transformer(be, cfg, 5);
      const b = seq2seqBatch(cfg.vocab, 2, 5, 4, 13);
      checkModel(m, (o) => m.forwardSeq2Seq(b, { ...o, labelSmoothing: 0.1 }));
    });
  }
}

test('classification head backward matches finite differences', () => {
  const cfg = tinyConfig('encoder', { n_classes: 3 });
  const m = new Transformer(be, cfg, 6);
  const b = classBatch(cfg.vocab, 4, 5, 3, 14);
  checkModel(m, (o) => m.forwardCls(b, o));
});

test('T = 1 and a single row still give correct gradients', () => {
  const cfg = tinyConfig('decoder');
  const m = new Transformer(be, cfg, 8);
  const b = lmBatch(cfg.vocab, 1, 1, 15, true);
  b.keyMask = null;
  checkModel(m, (o) => m.forwardLm(b, o), 2);
});

test('backward accumulates and honours lossScale', () => {
  const cfg = tinyConfig('encoder');
  const m = new Transformer(be, cfg, 9);
  const b = lmBatch(cfg.vocab, 2, 6, 16, false);
  m.zeroGrad();
  m.backward(m.forwardLm(b, { train: false, grad: true }));
  const once = Float64Array.from(m.grads);
  m.backward(m.forwardLm(b, { train: false, grad: true }), 0.5);
  for (let i = 0; i < once.length; i += 37)
    assert.ok(Math.abs(m.grads[i]! - 1.5 * once[i]!) <= 1e-12 + 1e-9 * Math.abs(once[i]!));
});

test('parameter count of the layout equals modelStats', () => {
  for (const family of ['encoder', 'decoder', 'encdec'] as const) {
    for (const norm of ['pre', 'post'] as const) {
      const cfg = tinyConfig(family, { norm, n_classes: family === 'encoder' ? 2 : 0 });
      const m = new Transformer(be, cfg, 1);
      const count = m.layout.specs.reduce((a, s) => a + s.size, 0);
      assert.equal(modelStats(cfg, 8).params, count, `${family}/${norm}`);
    }
  }
});

test('out-of-vocabulary token ids and over-long sequences are rejected with a clear error', () => {
  const cfg = tinyConfig('decoder');
  const m = new Transformer(be, cfg, 1);
  const b = lmBatch(cfg.vocab, 1, 4, 1, true);
  b.tokens[2] = cfg.vocab;
  assert.throws(() => m.forwardLm(b, { train: false, grad: false }), /outside the vocabulary/);
  const long = lmBatch(cfg.vocab, 1, cfg.max_len + 1, 1, true);
  assert.throws(() => m.forwardLm(long, { train: false, grad: false }), /exceeds max_len/);
});
