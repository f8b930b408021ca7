// `tlc export --format onnx --int8` of an MLM encoder trained on real text (Moby Dick) and of its
// fine-tuned sentiment classifier: onnxruntime-node runs both files of each, fp32 matching tlc's
// logits within 1e-4 relative and int8 within KL / top-1 bounds of tlc's fp32; the folders load in
// @huggingface/transformers (local files only) whose fill-mask and text-classification pipelines
// give tlc's predictions; the onnx checker accepts every file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { MASK_ID } from '../../src/data/tokenizer/index.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { openModelDir } from '../../src/io/model-dir.ts';
import { openOrt } from '../../src/io/onnx/ort-run.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { runTlc } from '../cli/tlc.ts';
import { argmax, klTop1, NO_ONNX, onnxCheck, relDiff, tlcClsLogits, tlcLmLogits } from './onnx-fixtures.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-onnx-enc-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const enc = path.join(tmp, 'enc');
const cls = path.join(tmp, 'cls');
env.allowRemoteModels = false; // local folders only: no network

const TEXTS = [
  'Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.',
  'The whale rose from the sea and the men in the boats cried out.',
  'It is a wonderful and moving story.',
  'a dull, tedious film with nothing to say',
];
const MASKED = [
  'The whale rose from the <mask> and the men cried out.',
  'Call me <mask>. Some years ago I went to sea.',
  'He looked at the captain, and the <mask> looked back at him.',
  'It was a cold and <mask> night upon the water.',
];

function ok(args: string[]) {
  const r = runTlc([...args, '--json']);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

before(() => {
  ok(['train', '--config', 'tiny-encoder', '--set', 'budget.seconds=10', '--run-dir', enc]);
  ok(['finetune', '--from', enc, '--data', 'sentiment-en', '--set', 'budget.seconds=6', '--run-dir', cls]);
  for (const d of [enc, cls]) ok(['export', d, '--format', 'onnx', '--int8', '--out', `${d}-onnx`]);
});

function tlcModel(dir: string) {
  const md = openModelDir(dir);
  const m = new Transformer(createTsBackend('f32'), md.cfg, 0);
  m.params.set(md.params.data);
  return { m, tok: md.tokenizer };
}

/** <s> text </s> rows padded to one length, as the exported tokenizer (and tlc's batchers) form them */
function padded(rows: number[][]) {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * T);
  const mask = new Uint8Array(B * T);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
    mask.fill(1, b * T, b * T + r.length);
  });
  return { B, T, ids, mask };
}

test('the export folder has the files and config transformers.js reads', () => {
  const files = fs.readdirSync(`${enc}-onnx`).sort();
  assert.deepEqual(files, [
    'config.json',
    'onnx',
    'special_tokens_map.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  assert.deepEqual(fs.readdirSync(path.join(`${enc}-onnx`, 'onnx')).sort(), [
    'model.onnx',
    'model_quantized.onnx',
  ]);
  const c = JSON.parse(fs.readFileSync(path.join(`${enc}-onnx`, 'config.json'), 'utf8'));
  assert.equal(c.model_type, 'roberta');
  assert.deepEqual(c.architectures, ['RobertaForMaskedLM']);
  assert.equal(c.tlc.kind, 'mlm');
  assert.equal(c.tlc.source, path.resolve(enc));
  const k = JSON.parse(fs.readFileSync(path.join(`${cls}-onnx`, 'config.json'), 'utf8'));
  assert.deepEqual([k.architectures[0], k.num_labels], ['RobertaForSequenceClassification', 2]);
});

test('transformers.js tokenizes as tlc does: <s> text </s>, a <mask> that takes the space before it', async () => {
  const { tok } = tlcModel(enc);
  const t = await AutoTokenizer.from_pretrained(`${enc}-onnx`);
  const texts = [...TEXTS, 'It was  the best   of times!\n\tNext line… café 😀 ¿qué?', ...MASKED];
  for (const text of texts) {
    const parts = text.split(/ ?<mask>/);
    const want = [1, ...parts.flatMap((p, i) => (i ? [MASK_ID, ...tok.encode(p)] : [...tok.encode(p)])), 2];
    assert.deepEqual(t(text).input_ids.tolist()[0].map(Number), want, text);
  }
});

test('MLM: onnxruntime fp32 within 1e-4 of tlc; int8 within KL 0.01 nats and 90% top-1 of tlc fp32', async (t) => {
  const { m, tok } = tlcModel(enc);
  const b = padded(TEXTS.map((t) => [1, ...tok.encode(t), 2]));
  const ref = tlcLmLogits(m, b.ids, b.B, b.T, b.mask);
  const fp = await (await openOrt(path.join(`${enc}-onnx`, 'onnx', 'model.onnx'))).encode(b);
  assert.ok(relDiff(fp.logits, ref) < 1e-4, `fp32: relative difference ${relDiff(fp.logits, ref)}`);
  const q = await (
    await openOrt(path.join(`${enc}-onnx`, 'onnx', 'model_quantized.onnx'), { threads: 2 })
  ).encode(b);
  const V = m.cfg.vocab;
  const real = (x: Float32Array) =>
    Float32Array.from(
      Array.from(b.mask).flatMap((k, i) => (k ? Array.from(x.subarray(i * V, (i + 1) * V)) : [])),
    );
  const s = klTop1(real(ref), real(q.logits), V);
  t.diagnostic(`fp32 relative difference ${relDiff(fp.logits, ref)}; int8 KL ${s.kl} nats, top-1 ${s.top1}`);
  assert.ok(s.kl < 0.01 && s.top1 >= 0.9, `int8 vs tlc fp32: KL ${s.kl} nats, top-1 ${s.top1}`);
});

test('classifier: onnxruntime fp32 within 1e-4 of tlc; int8 within KL 0.01 of tlc fp32', async (t) => {
  const { m, tok } = tlcModel(cls);
  const b = padded(TEXTS.map((t) => [1, ...tok.encode(t), 2]));
  const ref = tlcClsLogits(m, b.ids, b.B, b.T, b.mask);
  const fp = await (await openOrt(path.join(`${cls}-onnx`, 'onnx', 'model.onnx'))).encode(b);
  assert.deepEqual(fp.dims, [b.B, 2]);
  assert.ok(relDiff(fp.logits, ref) < 1e-4, `fp32: relative difference ${relDiff(fp.logits, ref)}`);
  const q = await (await openOrt(path.join(`${cls}-onnx`, 'onnx', 'model_quantized.onnx'))).encode(b);
  const s = klTop1(ref, q.logits, 2);
  t.diagnostic(`fp32 relative difference ${relDiff(fp.logits, ref)}; int8 KL ${s.kl} nats, top-1 ${s.top1}`);
  assert.ok(s.kl < 0.01, `int8 vs tlc fp32: KL ${s.kl}`);
});

/** tlc's top-k at the mask of `text`, and the margin between each of them and the next */
function tlcTopK(m: Transformer<Float32Array>, ids: number[], k: number) {
  const T = ids.length;
  const V = m.cfg.vocab;
  const l = tlcLmLogits(m, Int32Array.from(ids), 1, T, null);
  const at = ids.indexOf(MASK_ID);
  const row = Array.from(l.subarray(at * V, (at + 1) * V));
  const order = row.map((x, v) => [x, v] as const).sort((a, b) => b[0] - a[0]);
  const max = order[0]![0];
  const z = row.reduce((s, x) => s + Math.exp(x - max), 0);
  return order
    .slice(0, k)
    .map(([x, v], i) => ({ token: v, score: Math.exp(x - max) / z, margin: x - order[i + 1]![0] }));
}

test('transformers.js fill-mask (fp32 and q8) on the exported folder gives tlc’s top predictions', async () => {
  const { m, tok } = tlcModel(enc);
  const folder = `${enc}-onnx`;
  const fp = await pipeline('fill-mask', folder, { dtype: 'fp32' });
  const q8 = await pipeline('fill-mask', folder, { dtype: 'q8' });
  const ort8 = await openOrt(path.join(folder, 'onnx', 'model_quantized.onnx'));
  for (const text of MASKED) {
    const [a, z] = text.split(/ ?<mask>/) as [string, string];
    const ids = [1, ...tok.encode(a), MASK_ID, ...tok.encode(z), 2];
    const want = tlcTopK(m, ids, 5);
    const got = (await fp(text, { top_k: 5 })) as Array<{ token: number; score: number; sequence: string }>;
    want.forEach((w, i) => {
      if (w.margin < 1e-4) return; // a near tie: either order is right
      assert.equal(got[i]!.token, w.token, `${text}: prediction ${i}`);
      assert.ok(Math.abs(got[i]!.score - w.score) < 1e-5, `${text}: score ${got[i]!.score} vs ${w.score}`);
    });
    // q8: the pipeline runs model_quantized.onnx, and picks what onnxruntime does on it
    const g8 = (await q8(text, { top_k: 1 })) as Array<{ token: number }>;
    const o8 = await ort8.encode({ B: 1, T: ids.length, ids: Int32Array.from(ids) });
    const at = ids.indexOf(MASK_ID);
    assert.equal(g8[0]!.token, argmax(o8.logits, at * m.cfg.vocab, m.cfg.vocab), `${text}: q8 top-1`);
  }
});

test('transformers.js text-classification gives tlc’s class and probability', async () => {
  const { m, tok } = tlcModel(cls);
  const tc = await pipeline('text-classification', `${cls}-onnx`, { dtype: 'fp32' });
  for (const text of TEXTS) {
    const ids = [1, ...tok.encode(text), 2];
    const l = tlcClsLogits(m, Int32Array.from(ids), 1, ids.length, new Uint8Array(ids.length).fill(1));
    const p1 = 1 / (1 + Math.exp(l[0]! - l[1]!));
    const [r] = (await tc(text)) as Array<{ label: string; score: number }>;
    const want = p1 > 0.5 ? 'LABEL_1' : 'LABEL_0';
    if (Math.abs(p1 - 0.5) > 1e-5) assert.equal(r!.label, want, text);
    assert.ok(Math.abs(r!.score - Math.max(p1, 1 - p1)) < 1e-5, `${text}: ${r!.score} vs ${p1}`);
  }
});

test('the onnx checker accepts the four exported files', { skip: NO_ONNX }, () => {
  onnxCheck(
    [enc, cls].flatMap((d) =>
      ['model.onnx', 'model_quantized.onnx'].map((f) => path.join(`${d}-onnx`, 'onnx', f)),
    ),
  );
});
