// The W8A8 evaluation wrapper quantizes exactly the inputs of linear layers: logits move a little
// (not zero, not much), and the result equals a forward whose linear inputs were fake-quantized by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { act8Backend } from '../../src/compress/act8.ts';
import { interceptLinearInputs } from '../../src/compress/intercept.ts';
import { fakeQuantActPerToken } from '../../src/compress/quant/act.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { lmBatch, tinyConfig } from '../model/fixtures.ts';

test('act8 wraps only linear-layer matmuls and changes logits slightly', () => {
  const be = createTsBackend('f32');
  const cfg = tinyConfig('decoder');
  const dense = new Transformer(be, cfg, 2);
  let q: Transformer<Float32Array> | null = null;
  q = new Transformer(
    act8Backend(be, () => q?.params ?? null),
    cfg,
    2,
  );
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
  const w = q.forwardLm(b, { train: false, grad: false }).head.logits;
  assert.deepEqual(Array.from(w), Array.from(lq), 'activation quantization must be deterministic');
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

test('every linear layer input is seen once per forward, with its weight and shape', () => {
  const be = createTsBackend('f32');
  const cfg = tinyConfig('encoder', { n_layers: 2 });
  let m: Transformer<Float32Array> | null = null;
  const seen: string[] = [];
  m = new Transformer(
    interceptLinearInputs(
      be,
      () => m?.params ?? null,
      (offset, _x, _rows, cols) => {
        const s = m!.layout.specs.find((p) => p.offset === offset)!;
        assert.equal(cols, s.shape[1]);
        seen.push(s.name);
        return undefined;
      },
    ),
    cfg,
    1,
  );
  m.forwardLm(lmBatch(cfg.vocab, 2, 6, 3, false), { train: false, grad: false });
  const linear = m.layout.specs.filter((s) => s.linear).map((s) => s.name);
  assert.deepEqual([...seen].sort(), [...linear, 'tok_emb.weight'].sort());
});
