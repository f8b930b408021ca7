// The compressed container gives back exactly the weights that were evaluated, its size is its
// file's size, and every stored form (dense, sparse, quantized, quantized+pruned) round-trips.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { type CompressSpec, compressModel } from '../../src/compress/compress.ts';
import { packMask, readContainer, unpackMask, writeContainer } from '../../src/compress/container.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { buildLayout } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { lmBatch, tinyConfig } from '../model/fixtures.ts';

const be = createTsBackend('f32');

function model(): Transformer<Float32Array> {
  const cfg = tinyConfig('encoder', { d_model: 16, n_heads: 2, d_ff: 32, vocab: 40, max_len: 12 });
  const m = new Transformer(be, cfg, 3);
  const rng = new Rng(5);
  for (let i = 0; i < m.params.length; i++) m.params[i] = m.params[i]! + 0.05 * rng.normal();
  return m;
}

const specs: Array<[string, CompressSpec]> = [
  ['int4 group32 sym', { quant: 'int4:group32', method: 'rtn', prune: null, embeddings: false }],
  [
    'int3 channel asym + embeddings',
    { quant: 'int3:channel:asym', method: 'rtn', prune: null, embeddings: true },
  ],
  ['50% unstructured', { quant: null, method: 'rtn', prune: '50%', embeddings: false }],
  ['2:4 + int8', { quant: 'int8', method: 'rtn', prune: '2:4', embeddings: false }],
  ['70% + int2 asym', { quant: 'int2:asym', method: 'rtn', prune: '70%:layer', embeddings: false }],
  ['heads 50%', { quant: null, method: 'rtn', prune: 'heads:50%', embeddings: false }],
  ['gptq int3', { quant: 'int3', method: 'gptq', prune: null, embeddings: false }],
];

for (const [name, spec] of specs) {
  test(`container round trip is exact: ${name}`, () => {
    const m = model();
    const calib = [{ kind: 'lm' as const, b: lmBatch(m.cfg.vocab, 3, 10, 9, false) }];
    const c = compressModel(m, spec, calib);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-container-'));
    const file = path.join(dir, 'model.safetensors');
    const bytes = writeContainer(file, m.layout, c.stored, { model: m.cfg, spec, source: 'test' });
    assert.equal(bytes, fs.statSync(file).size);
    const back = readContainer(file, (cfg) => buildLayout(cfg as ModelConfig));
    assert.equal(back.bytes, bytes);
    assert.deepEqual(back.spec, spec);
    assert.equal(back.params.length, c.params.length);
    for (let i = 0; i < c.params.length; i++) {
      if (!Object.is(back.params[i], c.params[i]))
        assert.fail(`weight ${i}: stored ${back.params[i]}, evaluated ${c.params[i]}`);
    }
    if (spec.quant || spec.prune)
      assert.notDeepEqual(Array.from(c.params), Array.from(m.params), 'compression changed nothing');
    if (spec.prune && c.plan) {
      let zeros = 0;
      for (const s of m.layout.specs)
        if (c.plan.targets.includes(s.name))
          for (let i = 0; i < s.size; i++) zeros += back.params[s.offset + i] === 0 ? 1 : 0;
      assert.ok(
        zeros / c.plan.targets.reduce((a, n) => a + m.layout.byName.get(n)!.size, 0) >=
          c.plan.achieved - 1e-9,
      );
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('compression makes the container smaller than dense, more so with fewer bits', () => {
  const m = model();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-container-'));
  const size = (spec: CompressSpec | null) => {
    const c = compressModel(m, spec ?? { quant: null, method: 'rtn', prune: null, embeddings: false }, null);
    return writeContainer(path.join(dir, 'm.safetensors'), m.layout, c.stored, {
      model: m.cfg,
      spec,
      source: '',
    });
  };
  const dense = size(null);
  const q8 = size({ quant: 'int8', method: 'rtn', prune: null, embeddings: true });
  const q4 = size({ quant: 'int4', method: 'rtn', prune: null, embeddings: true });
  assert.ok(q8 < dense && q4 < q8, `dense ${dense}, int8 ${q8}, int4 ${q4}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bit masks pack 8 per byte and unpack exactly', () => {
  const rng = new Rng(1);
  const m = Uint8Array.from({ length: 77 }, () => (rng.uniform() < 0.3 ? 1 : 0));
  const p = packMask(m);
  assert.equal(p.length, 10);
  assert.deepEqual(unpackMask(p, 77), m);
});

test('a container that is not a tlc compressed model is refused with a clear error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-container-'));
  const file = path.join(dir, 'x.safetensors');
  fs.writeFileSync(file, Buffer.from([1, 2, 3]));
  assert.throws(() => readContainer(file, (c) => buildLayout(c as ModelConfig)), /x\.safetensors/);
  fs.rmSync(dir, { recursive: true, force: true });
});
