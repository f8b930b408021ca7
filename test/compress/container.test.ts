// The compressed container gives back exactly the weights that were evaluated, its size is its
// file's size, and every stored form (dense, sparse, quantized, quantized+pruned) round-trips.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { type CompressSpec, compressModel } from '../../src/compress/compress.ts';
import {
  materialize,
  openStoredContainer,
  packMask,
  readContainer,
  readStoredContainer,
  unpackMask,
  writeContainer,
} from '../../src/compress/container.ts';
import { sha256File } from '../../src/data/fetch/cache.ts';
import { CorruptError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readSafetensors, writeSafetensors } from '../../src/engine/safetensors.ts';
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

/** A compressed model written as `tlc compress` leaves it: the container and a result.json with its sha256. */
function writtenContainer(): { dir: string; file: string } {
  const m = model();
  const spec: CompressSpec = { quant: 'int4:group32', method: 'rtn', prune: '50%', embeddings: false };
  const c = compressModel(m, spec, null);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-container-'));
  const file = path.join(dir, 'model.safetensors');
  writeContainer(file, m.layout, c.stored, { model: m.cfg, spec, source: 'test' });
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ sha256: sha256File(file) }));
  return { dir, file };
}

const layoutOf = (c: ModelConfig) => buildLayout(c);

test('a flipped byte anywhere in a container is reported against the sha256 its result recorded', () => {
  const { dir, file } = writtenContainer();
  assert.ok(readContainer(file, layoutOf).params.length > 0);
  const good = fs.readFileSync(file);
  for (const at of [20, Math.floor(good.length / 2), good.length - 1]) {
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ 0x01;
    fs.writeFileSync(file, bad);
    assert.throws(
      () => readContainer(file, layoutOf),
      (e: unknown) => {
        assert.ok(e instanceof CorruptError, `byte ${at}: ${String(e)}`);
        assert.ok(e.message.startsWith(`${file}: sha256 `), e.message);
        assert.match(e.message, /differs from [0-9a-f]{64} recorded in .*result\.json/);
        assert.match(e.hint ?? '', /tlc compress/);
        return true;
      },
    );
  }
  fs.writeFileSync(file, good);
  assert.ok(readContainer(file, layoutOf).params.length > 0, 'the restored file reads again');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('malformed metadata in a container is one CorruptError naming the entry, never a crash', () => {
  const { dir, file } = writtenContainer();
  fs.rmSync(path.join(dir, 'result.json')); // the metadata is what is being tested here
  const { tensors, metadata } = readSafetensors(file);
  const list = [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
  const info = JSON.parse(metadata['tlc.tensors']!) as Record<string, Record<string, unknown>>;
  const quantName = Object.keys(info).find((k) => info[k]!['kind'] === 'quant')!;
  const withInfo = (entry: unknown) => JSON.stringify({ ...info, [quantName]: entry });
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ 'tlc.model': '{"family": "enc' }, /metadata tlc\.model is not valid JSON/],
    [{ 'tlc.model': '{"family": "encoder"}' }, /metadata tlc\.model does not describe a model: .*d_model/],
    [{ 'tlc.tensors': '[1, 2]' }, /metadata tlc\.tensors is not an object/],
    [{ 'tlc.tensors': withInfo({ kind: 'quant', rows: 2 }) }, new RegExp(`entry ${quantName} is malformed`)],
    [
      { 'tlc.tensors': withInfo({ ...info[quantName], format: 'q9_nope' }) },
      /cannot be read back: unknown quantization format 'q9_nope'/,
    ],
    [{ 'tlc.spec': 'not json' }, /metadata tlc\.spec is not valid JSON/],
  ];
  for (const [change, why] of cases) {
    writeSafetensors(file, list, { ...metadata, ...change });
    assert.throws(
      () => readContainer(file, layoutOf),
      (e: unknown) => {
        assert.ok(e instanceof CorruptError, `${JSON.stringify(change)}: ${String(e)}`);
        assert.ok(e.message.startsWith(`${file}: `), e.message);
        assert.match(e.message, why);
        return true;
      },
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an opened container reads each parameter from the file when asked, and nothing after close', () => {
  const { dir, file } = writtenContainer();
  const c = openStoredContainer(file, layoutOf);
  const whole = readStoredContainer(file, layoutOf);
  for (const s of c.layout.specs) {
    const a = c.stored.get(s.name)!;
    const b = c.stored.get(s.name)!;
    assert.notEqual(a, b, `${s.name}: read afresh, not cached`);
    assert.deepEqual(materialize(a, s.size), materialize(whole.stored.get(s.name)!, s.size), s.name);
  }
  assert.equal(c.stored.get('no.such.tensor'), undefined);
  c.close();
  assert.throws(() => c.stored.get(c.layout.specs[0]!.name), /closed/);
  fs.rmSync(dir, { recursive: true, force: true });
});
