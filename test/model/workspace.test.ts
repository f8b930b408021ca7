// The forward-only workspace (Workspace(be, shareLayers = true)): every layer's buffers are the same
// ones, so an inference forward holds one layer's activations whatever the depth. Checked:
// the name mapping itself; on 5-layer models of every family and both norms, the forward-only logits
// (Transformer.evalWs) equal those of an unshared workspace bit for bit while holding at most 40% of its
// bytes; the compressed runtime (which always shares) gives the logits of an unshared workspace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compressModel } from '../../src/compress/compress.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { int8ModelFrom } from '../../src/infer/runtime.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { Workspace } from '../../src/model/workspace.ts';
import { lmBatch, tinyConfig } from './fixtures.ts';

test('a forward-only workspace maps every layer to one set of buffers, and nothing else', () => {
  const be = createTsBackend('f64');
  const shared = new Workspace(be, true);
  assert.equal(shared.f('dec.layers.5.attn.qkv', 4), shared.f('dec.layers.1.attn.qkv', 4));
  assert.equal(shared.f('layers.2.mlp.fc', 4).buffer, shared.f('layers.0.mlp.fc', 4).buffer);
  assert.equal(shared.f('layers.3.mlp.fc', 4).buffer, shared.f('layers.0.mlp.fc', 4).buffer);
  assert.notEqual(shared.f('layers.3.mlp.fc', 4).buffer, shared.f('layers.3.attn.qkv', 4).buffer);
  assert.notEqual(shared.f('layers.3.mlp.y', 4).buffer, shared.f('layers.3.attn.y', 4).buffer);
  assert.notEqual(shared.f('enc.layers.1.attn.qkv', 4).buffer, shared.f('dec.layers.1.attn.qkv', 4).buffer);
  assert.notEqual(shared.f('dec.emb', 4).buffer, shared.f('enc.emb', 4).buffer);
  assert.equal(shared.u8('layers.4.attn.mask', 3).buffer, shared.u8('layers.0.attn.mask', 3).buffer);
  const plain = new Workspace(be);
  assert.notEqual(plain.f('layers.2.mlp.fc', 4).buffer, plain.f('layers.0.mlp.fc', 4).buffer);
});

/** give the model an unshared forward-only workspace (the reference) and return it */
function unshare(m: Transformer<Float64Array>): Workspace<Float64Array> {
  const plain = new Workspace(m.be);
  (m as unknown as { evalWs: Workspace<Float64Array> }).evalWs = plain;
  return plain;
}

for (const family of ['encoder', 'decoder'] as const)
  for (const norm of ['pre', 'post'] as const)
    test(`forward-only logits equal an unshared workspace's, with fewer bytes (${family}, ${norm}-LN)`, () => {
      const cfg = tinyConfig(family, { n_layers: 5, norm, init_std: 0.3 });
      const m = new Transformer(createTsBackend('f64'), cfg, 4);
      const b = lmBatch(cfg.vocab, 3, 8, 2, family === 'decoder');
      const shared = m.evalWs;
      assert.ok(shared.shareLayers && !m.ws.shareLayers, 'only the forward-only workspace shares');
      const infer = Float64Array.from(m.forwardLm(b, { train: false, grad: false }).head.logits);
      const plain = unshare(m);
      assert.deepEqual(Float64Array.from(m.forwardLm(b, { train: false, grad: false }).head.logits), infer);
      const ratio = shared.floatBytes() / plain.floatBytes();
      assert.ok(ratio < 0.4, `the forward-only workspace holds ${ratio.toFixed(2)} of the training one`);
    });

test('forward-only encdec logits equal an unshared workspace’s', () => {
  const cfg = tinyConfig('encdec', { n_layers: 3, n_dec_layers: 4, init_std: 0.3 });
  const m = new Transformer(createTsBackend('f64'), cfg, 6);
  const a = lmBatch(cfg.vocab, 2, 7, 3, false);
  const t = lmBatch(cfg.vocab, 2, 6, 4, true);
  const b = { B: 2, Ts: 7, Tt: 6, src: a.tokens, srcMask: a.keyMask!, tgtIn: t.tokens, tgtOut: t.targets };
  const infer = Float64Array.from(m.forwardSeq2Seq(b, { train: false, grad: false }).head.logits);
  unshare(m);
  assert.deepEqual(Float64Array.from(m.forwardSeq2Seq(b, { train: false, grad: false }).head.logits), infer);
});

test('the compressed runtime (shared buffers) gives the logits of an unshared workspace', () => {
  const be = loadNativeBackend();
  const cfg = tinyConfig('decoder', { n_layers: 5, d_model: 24, n_heads: 2, init_std: 0.3 });
  const m = new Transformer(be, cfg, 3);
  const c = compressModel(m, { quant: 'int8', method: 'rtn', prune: null, embeddings: false }, null);
  const q = int8ModelFrom(be, cfg, m.layout, c.stored);
  assert.ok(q.ws.shareLayers, 'the runtime shares buffers between layers');
  const b = lmBatch(cfg.vocab, 3, 8, 5, true);
  const shared = Float32Array.from(q.forwardLm(b).logits);
  (q as unknown as { ws: Workspace<Float32Array> }).ws = new Workspace(be);
  assert.deepEqual(Float32Array.from(q.forwardLm(b).logits), shared);
});

test('loss: false gives the same logits without the cross-entropy (dense and compressed)', () => {
  const be = loadNativeBackend();
  const cfg = tinyConfig('decoder', { n_layers: 2, d_model: 24, n_heads: 2, init_std: 0.3 });
  const m = new Transformer(be, cfg, 8);
  const b = lmBatch(cfg.vocab, 2, 8, 6, true);
  const withLoss = m.forwardLm(b, { train: false, grad: false });
  assert.ok(Number.isFinite(withLoss.head.sum) && withLoss.head.count > 0);
  const want = Float32Array.from(withLoss.head.logits);
  const bare = m.forwardLm(b, { train: false, grad: false, loss: false }).head;
  assert.deepEqual(Float32Array.from(bare.logits), want);
  assert.equal(bare.count, 0);
  const c = compressModel(m, { quant: 'int8', method: 'rtn', prune: null, embeddings: false }, null);
  const q = int8ModelFrom(be, cfg, m.layout, c.stored);
  const qWant = Float32Array.from(q.forwardLm(b).logits);
  const qBare = q.forwardLm(b, { loss: false });
  assert.deepEqual(Float32Array.from(qBare.logits), qWant);
  assert.equal(qBare.count, 0);
});
