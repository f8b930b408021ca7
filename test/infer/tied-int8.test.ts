// The tied token embedding held as int8 by the compressed runtime (a container made with --quant
// int8 --embeddings): no fp32 copy of E is built, the lookup dequantizes the rows it reads (checked
// against the container's own dequantization), the output projection runs on the int8 kernel
// (perplexity within 0.5% of the dequantize-to-fp32 path, top-1 >= 97%), and cached generation
// gives the tokens of the uncached forward through the same int8 embedding.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { materialize, readContainer, readStoredContainer } from '../../src/compress/container.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { compareModels, perplexityWithError } from '../../src/eval/metrics.ts';
import { compressedScorer, loadCompressedModel } from '../../src/infer/runtime.ts';
import { int8Embedding, int8Lookup } from '../../src/infer/tied-embedding.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { generateCached, generateUncached } from '../../src/model/decode-causal.ts';
import { HEAD_NAMES } from '../../src/model/names.ts';
import { buildLayout } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { readRunConfig, runData } from '../../src/train/load.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-tied-int8-'));
const run = path.join(tmp, 'run');
const emb8 = path.join(tmp, 'emb8');
const plain8 = path.join(tmp, 'plain8');
const file = (d: string) => path.join(d, 'model.safetensors');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tlc(args: string[]): void {
  const r = runTlc(args);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}:\n${r.stderr}`);
}

before(() => {
  tlc([
    'train',
    '--config',
    'tiny-decoder',
    '--set',
    'budget.steps=150',
    '--set',
    'budget.seconds=300',
    '--run-dir',
    run,
  ]);
  tlc(['compress', run, '--quant', 'int8', '--embeddings', '--out', emb8, '--json']);
  tlc(['compress', run, '--quant', 'int8', '--out', plain8, '--json']);
});

test('the tied embedding is held as int8 codes + a scale and row sum per token, with no fp32 copy', () => {
  const m = loadCompressedModel(file(emb8), loadNativeBackend());
  const plain = loadCompressedModel(file(plain8), loadNativeBackend());
  const { vocab: V, d_model: C } = m.cfg;
  assert.equal(m.kept.byName.get(HEAD_NAMES.tokEmb), undefined, 'tok_emb kept in fp32');
  assert.ok(plain.kept.byName.get(HEAD_NAMES.tokEmb), 'without --embeddings E stays fp32');
  const a = m.weightBytes();
  const b = plain.weightBytes();
  assert.equal(a.int8 - b.int8, V * C + 8 * V, 'int8 bytes grow by the codes, scales and row sums of E');
  assert.ok(b.fp32 - a.fp32 >= 4 * V * C, `fp32 bytes shrink by E's ${4 * V * C}: ${b.fp32} -> ${a.fp32}`);
});

test('the int8 lookup gives the rows of the dequantized embedding, plus the positions', () => {
  const c = readStoredContainer(file(emb8), (mc) => buildLayout(mc as ModelConfig));
  const t = c.stored.get(HEAD_NAMES.tokEmb)!;
  const { vocab: V, d_model: C } = c.model;
  const w = int8Embedding(HEAD_NAMES.tokEmb, t);
  assert.ok(w, 'a q8_ch_sym embedding has an int8 form');
  const E = materialize(t, V * C);
  const tokens = Int32Array.from([0, 5, V - 1, 5, 17, 3]);
  const T = 3;
  const pos = Float32Array.from({ length: T * C }, (_, i) => Math.sin(i));
  const out = new Float32Array(tokens.length * C);
  int8Lookup(w, out, tokens, pos, T, C);
  for (let i = 0; i < tokens.length; i++)
    for (let k = 0; k < C; k++) {
      const want = E[tokens[i]! * C + k]! + pos[(i % T) * C + k]!;
      assert.ok(Math.abs(out[i * C + k]! - want) <= 1e-6 * (1 + Math.abs(want)), `row ${i} col ${k}`);
    }
});

test('perplexity within 0.5% of the dequantize-to-fp32 path, top-1 >= 97%', () => {
  const be = loadNativeBackend();
  const saved = readRunConfig(emb8);
  const dq = readContainer(file(emb8), (mc) => buildLayout(mc as ModelConfig));
  const fp32 = new Transformer(be, saved.model, 0);
  fp32.params.set(dq.params);
  const data = runData(saved, emb8);
  const rt = loadCompressedModel(file(emb8), be);
  const a = perplexityWithError(fp32, data.valid);
  const b = perplexityWithError(compressedScorer(rt), data.valid);
  const cmp = compareModels(fp32, compressedScorer(rt), data.valid);
  const rel = Math.abs(b.ppl - a.ppl) / a.ppl;
  assert.ok(rel < 0.005, `int8-embedding runtime ppl ${b.ppl} vs dequantized ${a.ppl}`);
  assert.ok(cmp.top1_agreement >= 0.97, `top-1 agreement ${cmp.top1_agreement}`);
});

test("cached generation through the int8 embedding gives the uncached forward's tokens", () => {
  const rt = loadCompressedModel(file(emb8), loadNativeBackend());
  const prompts = [Int32Array.from([2, 40, 41, 42]), Int32Array.from([2, 7, 99])];
  const o = { maxNew: 10, eos: -1 };
  const got = generateCached(rt, prompts, o);
  const want = generateUncached(rt.cfg, (b) => rt.forwardLm(b), prompts, o);
  for (let r = 0; r < prompts.length; r++) {
    assert.deepEqual([...got[r]!.tokens], [...want[r]!.tokens], `row ${r} tokens`);
    for (let i = 0; i < got[r]!.logprobs.length; i++)
      assert.ok(Math.abs(got[r]!.logprobs[i]! - want[r]!.logprobs[i]!) < 1e-3, `row ${r} logprob ${i}`);
  }
});
