// What `tlc export` reads: a compressed model folder exports with its dequantized weights (the ONNX
// file computes what tlc evaluates), and every damaged or malformed input — container, checkpoint,
// tokenizer.json, config.json — gives one typed error naming the file and the problem (InputError
// for wrong content, CorruptError for damaged bytes), and from the CLI one message, no stack trace.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compressModel } from '../../src/compress/compress.ts';
import { readContainer, writeContainer } from '../../src/compress/container.ts';
import { Tokenizer, trainBpe } from '../../src/data/tokenizer/index.ts';
import { CorruptError, InputError, type TlcError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { writeSafetensors } from '../../src/engine/safetensors.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { exportOnnx } from '../../src/io/onnx/export.ts';
import { openOrt } from '../../src/io/onnx/ort-run.ts';
import { type ModelConfig, resolveModelConfig } from '../../src/model/config.ts';
import { buildLayout } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { saveCheckpoint } from '../../src/train/checkpoint.ts';
import { runTlc } from '../cli/tlc.ts';
import { relDiff, tlcLmLogits } from './onnx-fixtures.ts';

const be = createTsBackend('f32');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-onnx-load-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TEXT =
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, ' +
  'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery ' +
  'part of the world.';
const SPEC = { quant: 'int4:group32', method: 'rtn' as const, prune: '30%', embeddings: false };

let tok: Tokenizer;
let cfg: ModelConfig;
let model: Transformer<Float32Array>;

/** a training run as tlc writes one: config.json, checkpoints/, tokenizer.json */
function writeRun(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ tlc_version: '0.1.0', task: 'lm', model: cfg }),
  );
  const tensors = model.layout.specs.map((s) => ({
    name: s.name,
    shape: s.shape,
    data: model.p.get(s.name),
  }));
  saveCheckpoint(dir, { step: 1, tensors, state: {} }, 2);
  tok.save(path.join(dir, 'tokenizer.json'));
}

/** a compressed model folder as tlc compress writes one */
function writeCompressed(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const c = compressModel(model, SPEC, null);
  writeContainer(path.join(dir, 'model.safetensors'), model.layout, c.stored, {
    model: cfg,
    spec: SPEC,
    source: 'run',
  });
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ tlc_version: '0.1.0', task: 'lm', model: cfg }),
  );
  tok.save(path.join(dir, 'tokenizer.json'));
}

/** a fresh copy of a good folder, damaged by `f` */
function damaged(kind: 'run' | 'compressed', name: string, f: (dir: string) => void): string {
  const dir = path.join(tmp, name);
  if (kind === 'run') writeRun(dir);
  else writeCompressed(dir);
  f(dir);
  return dir;
}

before(() => {
  tok = new Tokenizer(trainBpe([TEXT, TEXT.toUpperCase()], { vocabSize: 320 }));
  cfg = resolveModelConfig({
    family: 'decoder',
    vocab: tok.vocabSize,
    d_model: 16,
    n_layers: 2,
    n_heads: 2,
    d_ff: 32,
    max_len: 16,
  });
  model = new Transformer(be, cfg, 1);
  const rng = new Rng(2);
  for (let i = 0; i < model.params.length; i++) model.params[i] = model.params[i]! + 0.1 * rng.normal();
});

test('a compressed model exports with its dequantized weights: onnxruntime computes what tlc evaluates', async () => {
  const dir = path.join(tmp, 'compressed');
  writeCompressed(dir);
  const r = exportOnnx(dir, { out: path.join(tmp, 'compressed-onnx'), int8: false });
  assert.equal(r.kind, 'causal');
  const cfgJson = JSON.parse(fs.readFileSync(path.join(tmp, 'compressed-onnx', 'config.json'), 'utf8'));
  assert.deepEqual(cfgJson.tlc.compression, SPEC);
  const c = readContainer(path.join(dir, 'model.safetensors'), (m) => buildLayout(m as ModelConfig));
  const comp = new Transformer(be, cfg, 0);
  comp.params.set(c.params);
  const ids = tok.encode('Call me Ishmael. Some years ago').subarray(0, 12);
  const T = ids.length;
  const s = await openOrt(path.join(tmp, 'compressed-onnx', 'onnx', 'model.onnx'));
  const g = await s.generate({ prompt: [ids], steps: 1, keepLogits: true });
  const V = cfg.vocab;
  const want = tlcLmLogits(comp, ids, 1, T, null).subarray((T - 1) * V, T * V);
  const dense = tlcLmLogits(model, ids, 1, T, null).subarray((T - 1) * V, T * V);
  assert.ok(relDiff(g.logits![0]!, want) < 1e-4, `vs the compressed model: ${relDiff(g.logits![0]!, want)}`);
  assert.ok(
    relDiff(g.logits![0]!, dense) > 1e-3,
    'the export must hold the compressed weights, not the dense ones',
  );
});

/** each damaged input: the error's class and what its message must say (the file, the problem) */
const CASES: Array<{ name: string; make: () => string; cls: typeof TlcError; says: RegExp[] }> = [
  {
    name: 'a truncated container',
    make: () =>
      damaged('compressed', 'trunc-container', (d) => {
        const f = path.join(d, 'model.safetensors');
        fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
      }),
    cls: CorruptError,
    says: [/model\.safetensors/, /truncated|ended/],
  },
  {
    name: 'a container whose tensor table is not JSON',
    make: () =>
      damaged('compressed', 'bad-meta', (d) => {
        const meta = {
          'tlc.format': 'tlc-compressed',
          'tlc.version': '1',
          'tlc.model': JSON.stringify(cfg),
          'tlc.tensors': '{"tok_emb.weight": {"kind"',
        };
        writeSafetensors(
          path.join(d, 'model.safetensors'),
          [{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(1) }],
          meta,
        );
      }),
    cls: CorruptError,
    says: [/model\.safetensors/, /tlc\.tensors is not valid JSON/],
  },
  {
    name: 'a container entry in an unknown quantization format',
    make: () =>
      damaged('compressed', 'bad-format', (d) => {
        const f = path.join(d, 'model.safetensors');
        const bytes = fs.readFileSync(f);
        const text = bytes.toString('latin1');
        const i = text.indexOf('\\"format\\":\\"');
        assert.ok(i > 0, 'the container names a format');
        bytes.write('Z', i + 13, 'latin1'); // q4_... -> Z4_...
        fs.writeFileSync(f, bytes);
      }),
    cls: CorruptError,
    says: [/model\.safetensors/, /cannot be read back/, /unknown quantization format/],
  },
  {
    name: 'a truncated checkpoint',
    make: () =>
      damaged('run', 'trunc-ckpt', (d) => {
        const f = path.join(d, 'checkpoints', 'step-00000001.safetensors');
        fs.truncateSync(f, 100);
      }),
    cls: CorruptError,
    says: [/step-00000001\.safetensors/, /truncated/],
  },
  {
    name: 'a checkpoint of another model',
    make: () =>
      damaged('run', 'other-ckpt', (d) => {
        const c = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
        fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...c, model: { ...cfg, d_ff: 48 } }));
      }),
    cls: InputError,
    says: [
      /checkpoint .*step-00000001\.safetensors does not match .*config\.json/,
      /layers\.0\.mlp\.fc\.weight/,
    ],
  },
  {
    name: 'a truncated tokenizer.json',
    make: () =>
      damaged('run', 'trunc-tok', (d) => {
        const f = path.join(d, 'tokenizer.json');
        fs.truncateSync(f, 500);
      }),
    cls: CorruptError,
    says: [/tokenizer\.json/, /not valid JSON/],
  },
  {
    name: 'a tokenizer.json of another kind',
    make: () =>
      damaged('run', 'wordpiece', (d) => {
        const f = path.join(d, 'tokenizer.json');
        const j = JSON.parse(fs.readFileSync(f, 'utf8'));
        fs.writeFileSync(f, JSON.stringify({ ...j, model: { ...j.model, type: 'WordPiece' } }));
      }),
    cls: InputError,
    says: [/tokenizer\.json: model\.type: expected "BPE", found "WordPiece"/],
  },
  {
    name: 'a tokenizer with another vocabulary size',
    make: () =>
      damaged('run', 'small-tok', (d) =>
        new Tokenizer(trainBpe([TEXT], { vocabSize: 270 })).save(path.join(d, 'tokenizer.json')),
      ),
    cls: InputError,
    says: [/tokenizer\.json has \d+ tokens, the model's vocabulary .* has \d+/],
  },
  {
    name: 'a config.json with a bad model section',
    make: () =>
      damaged('run', 'bad-config', (d) => {
        fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ model: { ...cfg, n_heads: 'two' } }));
      }),
    cls: InputError,
    says: [/config\.json \(its "model" section\)/, /n_heads/],
  },
  {
    name: 'a translation model',
    make: () =>
      damaged('run', 'encdec', (d) => {
        fs.writeFileSync(
          path.join(d, 'config.json'),
          JSON.stringify({ model: { ...cfg, family: 'encdec' } }),
        );
      }),
    cls: InputError,
    says: [/encdec translation model/],
  },
  {
    name: 'a folder that is no model',
    make: () => {
      const d = path.join(tmp, 'empty');
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ model: cfg }));
      return d;
    },
    cls: InputError,
    says: [/neither a training run .* nor a compressed model/],
  },
];

describe('damaged or malformed inputs give one typed error naming the file and the problem', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const dir = c.make();
      assert.throws(
        () => exportOnnx(dir, { out: path.join(tmp, `${path.basename(dir)}-out`), int8: false }),
        (e: unknown) => {
          assert.ok(e instanceof c.cls, `expected ${c.cls.name}, got ${String(e)}`);
          for (const re of c.says) assert.match((e as Error).message, re);
          return true;
        },
      );
    });
  }
});

test('from the CLI: exit code, one message naming the file, no stack trace', () => {
  for (const [i, exit] of [
    [0, 1],
    [3, 1],
    [6, 2],
  ] as const) {
    const c = CASES[i]!;
    const dir = path.join(tmp, `cli-${i}`);
    fs.cpSync(c.make(), dir, { recursive: true });
    const r = runTlc(['export', dir, '--out', path.join(tmp, `cli-${i}-out`)]);
    assert.equal(r.status, exit, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr, /^tlc: /, c.name);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `${c.name}: a stack trace`);
    for (const re of c.says) assert.match(r.stderr, re, c.name);
  }
  const f = runTlc(['export', tmp, '--format', 'gguf']);
  assert.equal(f.status, 2);
  assert.match(f.stderr, /--format: expected onnx, found 'gguf'/);
});
