// The W8A8 evaluation wrapper quantizes exactly the inputs of linear layers: logits move a little
// (not zero, not much), and the result equals a forward whose linear inputs were fake-quantized by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { act8Backend } from '../../src/compress/act8.ts';
import { fakeQuantActPerToken } from '../../src/compress/quant/act.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { lmBatch, tinyConfig } from '../model/fixtures.ts';

test('act8 wraps only linear-layer matmuls and changes logits slightly', () => {
  const be = createTsBackend('f32');
  const cfg = tinyConfig('decoder');
  const dense = new Transformer(be, cfg, 2);
  let q: Transformer<Float32Array> | null = null;
  let calls = 0;
  const counting = Object.create(be);
  counting.matmul = (...args: Parameters<typeof be.matmul>) => {
    calls++;
    be.matmul(...args);
  };
  q = new Transformer(act8Backend(counting, () => q?.params ?? null), cfg, 2);
  const b = lmBatch(cfg.vocab, 2, 6, 3, true);
  const ld = Float32Array.from(dense.forwardLm(b, { train: false, grad: false }).head.logits);
  const lq = q.forwardLm(b, { train: false, grad: false }).head.logits;
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < ld.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ld[i]! - lq[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(ld[i]!));
  }
  assert.ok(maxDiff > 0, 'activation quantization changed nothing');
  assert.ok(maxDiff < 0.05 * maxAbs, `8-bit activations moved logits by ${maxDiff} (max |logit| ${maxAbs})`);
  assert.ok(calls > 0);
});

test('fake per-token quantization keeps each row within half a step of the input', () => {
  const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * (1 + (i % 5)));
  const out = fakeQuantActPerToken(x, 4, 6, new Float32Array(24));
  for (let r = 0; r < 4; r++) {
    const row = x.subarray(r * 6, r * 6 + 6);
    const step = Math.max(...Array.from(row, Math.abs)) / 127;
    for (let c = 0; c < 6; c++) assert.ok(Math.abs(out[r * 6 + c]! - row[c]!) <= step / 2 + 1e-7);
  }
});
