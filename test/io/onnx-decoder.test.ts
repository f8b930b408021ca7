// `tlc export --format onnx --int8` of a causal decoder trained on real text (Moby Dick):
// onnxruntime-node decodes greedily with past key/values and matches tlc's logits at every step
// (fp32, 1e-4 relative); int8 stays within KL / top-1 bounds of tlc's fp32 on real text; the folder
// loads in @huggingface/transformers whose text-generation pipeline (fp32: tlc's greedy text; q8:
// onnxruntime's) works with its own past key/values and left padding; the onnx checker accepts both.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { EOS_ID } from '../../src/data/tokenizer/index.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { openModelDir } from '../../src/io/model-dir.ts';
import { openOrt } from '../../src/io/onnx/ort-run.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { runTlc } from '../cli/tlc.ts';
import { argmax, chunked, klTop1, NO_ONNX, onnxCheck, relDiff, tlcLmLogits } from './onnx-fixtures.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-onnx-dec-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const run = path.join(tmp, 'dec');
const out = path.join(tmp, 'dec-onnx');
const FP32 = path.join(out, 'onnx', 'model.onnx');
const INT8 = path.join(out, 'onnx', 'model_quantized.onnx');
env.allowRemoteModels = false; // local folders only: no network

const TEXT =
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, ' +
  'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery ' +
  'part of the world. It is a way I have of driving off the spleen and regulating the circulation.';
const PROMPTS = ['The whale', 'Call me Ishmael. Some years ago'];

before(() => {
  const r = runTlc([
    'train',
    '--config',
    'tiny-decoder',
    '--set',
    'budget.seconds=10',
    '--run-dir',
    run,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const e = runTlc(['export', run, '--int8', '--out', out, '--json']);
  assert.equal(e.status, 0, e.stderr);
  const files = JSON.parse(e.stdout).files.map((f: { file: string }) => f.file);
  assert.ok(
    files.includes(path.join('onnx', 'model_quantized.onnx')) && files.includes('generation_config.json'),
  );
});

function tlcModel() {
  const md = openModelDir(run);
  const m = new Transformer(createTsBackend('f32'), md.cfg, 0);
  m.params.set(md.params.data);
  return { m, tok: md.tokenizer };
}

/** tlc's greedy continuation, recomputing the whole prefix each step (no cache): the reference */
function tlcGreedy(m: Transformer<Float32Array>, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  const V = m.cfg.vocab;
  for (let i = 0; i < n; i++) {
    const l = tlcLmLogits(m, Int32Array.from(seq), 1, seq.length, null);
    const next = argmax(l, (seq.length - 1) * V, V);
    if (next === EOS_ID) break;
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

test('config.json describes a GPT-2-style decoder with its key/value cache shape', () => {
  const c = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual(
    [c.model_type, c.architectures[0], c.n_layer, c.n_head, c.n_embd],
    ['gpt2', 'GPT2LMHeadModel', 2, 2, 64],
  );
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(out, 'generation_config.json'), 'utf8')).eos_token_id,
    EOS_ID,
  );
});

test('transformers.js tokenizes and decodes as tlc does (no specials added)', async () => {
  const { tok } = tlcModel();
  const t = await AutoTokenizer.from_pretrained(out);
  for (const text of [TEXT, 'It was  the best   of times!\n\tNext line… café 😀 ¿qué?', ...PROMPTS]) {
    const ids = Array.from(tok.encode(text));
    assert.deepEqual(t(text).input_ids.tolist()[0].map(Number), ids, text);
    assert.equal(t.decode(ids), text);
  }
});

test('onnxruntime fp32 greedy decoding with past key/values: every step within 1e-4 of tlc', async (t) => {
  const { m, tok } = tlcModel();
  const s = await openOrt(FP32);
  const words = tok.encode(TEXT);
  const prompt = [words.slice(0, 6), words.slice(20, 26)]; // two prompts of one length
  const g = await s.generate({ prompt, steps: 16, keepLogits: true });
  const V = m.cfg.vocab;
  let worst = 0;
  for (let b = 0; b < 2; b++) {
    const seq = Int32Array.from([...prompt[b]!, ...g.tokens[b]!]);
    const ref = tlcLmLogits(m, seq, 1, seq.length, null);
    g.logits!.forEach((l, k) => {
      const p = prompt[b]!.length - 1 + k;
      if (p >= seq.length) return;
      worst = Math.max(worst, relDiff(l.subarray(b * V, (b + 1) * V), ref.subarray(p * V, (p + 1) * V)));
    });
  }
  t.diagnostic(`worst step relative difference ${worst}`);
  assert.ok(worst < 1e-4, `relative difference ${worst}`);
});

test('int8 on real text (teacher forcing): KL < 0.01 nats and >= 90% top-1 vs tlc fp32', async (t) => {
  const { m, tok } = tlcModel();
  const all = tok.encode(TEXT);
  const L = 24;
  assert.ok(all.length >= 2 * L, 'the text is too short for two windows');
  const ids = Int32Array.from([...all.subarray(0, L), ...all.subarray(L, 2 * L)]);
  const ref = tlcLmLogits(m, ids, 2, L, null);
  const q = await openOrt(INT8);
  const got = await chunked(q.session, m.cfg, ids, 2, L, [L - 4, 1, 1, 1, 1]);
  const s = klTop1(ref, got, m.cfg.vocab);
  t.diagnostic(`int8 KL ${s.kl} nats, top-1 ${s.top1}`);
  assert.ok(s.kl < 0.01 && s.top1 >= 0.9, `int8 vs tlc fp32: KL ${s.kl}, top-1 ${s.top1}`);
});

test('transformers.js text-generation (fp32) continues each prompt as tlc greedy does, one by one and batched', async () => {
  const { m, tok } = tlcModel();
  const gen = await pipeline('text-generation', out, { dtype: 'fp32' });
  const want = PROMPTS.map((p) => {
    const ids = Array.from(tok.encode(p));
    return tok.decode(Int32Array.from([...ids, ...tlcGreedy(m, ids, 12)]));
  });
  for (const [i, p] of PROMPTS.entries()) {
    const [r] = (await gen(p, { max_new_tokens: 12, do_sample: false })) as Array<{ generated_text: string }>;
    assert.equal(r!.generated_text, want[i], p);
  }
  // two prompts of different lengths in one batch: left padding, attention_mask and position_ids
  const batched = (await gen(PROMPTS, { max_new_tokens: 12, do_sample: false })) as Array<
    Array<{ generated_text: string }>
  >;
  assert.deepEqual(
    batched.map((r) => r[0]!.generated_text),
    want,
  );
});

test('transformers.js text-generation (q8) runs model_quantized.onnx as onnxruntime does', async () => {
  const { tok } = tlcModel();
  const gen = await pipeline('text-generation', out, { dtype: 'q8' });
  const s = await openOrt(INT8);
  for (const p of PROMPTS) {
    const ids = Int32Array.from(tok.encode(p));
    const g = await s.generate({ prompt: [ids], steps: 10, eos: EOS_ID });
    const [r] = (await gen(p, { max_new_tokens: 10, do_sample: false })) as Array<{ generated_text: string }>;
    assert.equal(r!.generated_text, tok.decode(Int32Array.from([...ids, ...g.tokens[0]!])), p);
  }
});

test('the onnx checker accepts both exported files', { skip: NO_ONNX }, () => {
  onnxCheck([FP32, INT8]);
});
