// The tied token embedding held as stored by the compressed runtime (containers made with
// --embeddings): int8 (--quant int8) and packed 4-bit groups (--quant int4:group32). No fp32 copy of
// E is built; the lookup gives the rows of the container's own dequantization; the output
// projection runs on the form's kernel (perplexity against the dequantize-to-fp32 path: within 0.5%
// for int8, whose activations are quantized too, 0.1% for the weight-only 4-bit); cached
// generation gives the tokens of the uncached forward through the same embedding.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { materialize, readContainer, readStoredContainer } from '../../src/compress/container.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { compareModels, perplexityWithError } from '../../src/eval/metrics.ts';
import { compressedScorer, loadCompressedModel } from '../../src/infer/runtime.ts';
import { int8Lookup, kbitLookup, tiedFormOf } from '../../src/infer/tied-embedding.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { generateCached, generateUncached } from '../../src/model/decode-causal.ts';
import { HEAD_NAMES } from '../../src/model/names.ts';
import { buildLayout } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { readRunConfig, runData } from '../../src/train/load.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-tied-'));
const run = path.join(tmp, 'run');
const VARIANTS = {
  emb8: { flags: ['--quant', 'int8', '--embeddings'], kind: 'int8', tol: 0.005, top1: 0.97 },
  emb4: { flags: ['--quant', 'int4:group32', '--embeddings'], kind: 'kbit', tol: 0.001, top1: 0.99 },
  plain8: { flags: ['--quant', 'int8'], kind: null, tol: 0.005, top1: 0.97 },
} as const;
type Variant = keyof typeof VARIANTS;
const dir = (v: Variant) => path.join(tmp, v);
const file = (v: Variant) => path.join(dir(v), 'model.safetensors');
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
  for (const [v, o] of Object.entries(VARIANTS))
    tlc(['compress', run, ...o.flags, '--out', dir(v as Variant), '--json']);
});

test('a quantized tied embedding is held in its stored form, with no fp32 copy', () => {
  const plain = loadCompressedModel(file('plain8'), loadNativeBackend());
  const { vocab: V, d_model: C } = plain.cfg;
  assert.ok(plain.kept.byName.get(HEAD_NAMES.tokEmb), 'without --embeddings E stays fp32');
  const b = plain.weightBytes();
  for (const v of ['emb8', 'emb4'] as const) {
    const m = loadCompressedModel(file(v), loadNativeBackend());
    assert.equal(m.kept.byName.get(HEAD_NAMES.tokEmb), undefined, `${v}: tok_emb kept in fp32`);
    assert.equal(m.tiedForm?.kind, VARIANTS[v].kind, `${v}: the embedding's form`);
    const a = m.weightBytes();
    assert.ok(
      b.fp32 - a.fp32 >= 4 * V * C,
      `${v}: fp32 bytes shrink by E's ${4 * V * C}: ${b.fp32} -> ${a.fp32}`,
    );
    if (v === 'emb8')
      assert.equal(a.int8 - b.int8, V * C + 8 * V, 'int8: the codes, a scale and a row sum per token');
    if (v === 'emb4')
      assert.ok(a.kbit >= (V * C) / 2 + 4 * V * (C / 32), `${v}: E's 4-bit codes and group scales counted`);
  }
});

test('the lookup gives the rows of the dequantized embedding, plus the positions', () => {
  for (const v of ['emb8', 'emb4'] as const) {
    const c = readStoredContainer(file(v), (mc) => buildLayout(mc as ModelConfig));
    const t = c.stored.get(HEAD_NAMES.tokEmb)!;
    const { vocab: V, d_model: C } = c.model;
    const f = tiedFormOf(HEAD_NAMES.tokEmb, t);
    assert.equal(f?.kind, VARIANTS[v].kind);
    const E = materialize(t, V * C);
    const tokens = Int32Array.from([0, 5, V - 1, 5, 17, 3]);
    const T = 3;
    const pos = Float32Array.from({ length: T * C }, (_, i) => Math.sin(i));
    const out = new Float32Array(tokens.length * C);
    if (f!.kind === 'int8') int8Lookup(f!.w, out, tokens, pos, T, C);
    else kbitLookup(f!.w, out, tokens, pos, T, C);
    for (let i = 0; i < tokens.length; i++)
      for (let k = 0; k < C; k++) {
        const want = E[tokens[i]! * C + k]! + pos[(i % T) * C + k]!;
        assert.ok(Math.abs(out[i * C + k]! - want) <= 1e-6 * (1 + Math.abs(want)), `${v}: row ${i} col ${k}`);
      }
  }
});

test('perplexity against the dequantize-to-fp32 path: int8 within 0.5%, 4-bit within 0.1%', () => {
  const be = loadNativeBackend();
  for (const v of ['emb8', 'emb4'] as const) {
    const saved = readRunConfig(dir(v));
    const dq = readContainer(file(v), (mc) => buildLayout(mc as ModelConfig));
    const fp32 = new Transformer(be, saved.model, 0);
    fp32.params.set(dq.params);
    const data = runData(saved, dir(v));
    const rt = loadCompressedModel(file(v), be);
    const a = perplexityWithError(fp32, data.valid);
    const b = perplexityWithError(compressedScorer(rt), data.valid);
    const cmp = compareModels(fp32, compressedScorer(rt), data.valid);
    const rel = Math.abs(b.ppl - a.ppl) / a.ppl;
    assert.ok(rel < VARIANTS[v].tol, `${v}: runtime ppl ${b.ppl} vs dequantized ${a.ppl}`);
    assert.ok(cmp.top1_agreement >= VARIANTS[v].top1, `${v}: top-1 agreement ${cmp.top1_agreement}`);
  }
});

test("cached generation through the stored embedding gives the uncached forward's tokens", () => {
  for (const v of ['emb8', 'emb4'] as const) {
    const rt = loadCompressedModel(file(v), loadNativeBackend());
    const prompts = [Int32Array.from([2, 40, 41, 42]), Int32Array.from([2, 7, 99])];
    const o = { maxNew: 10, eos: -1 };
    const got = generateCached(rt, prompts, o);
    const want = generateUncached(rt.cfg, (b) => rt.forwardLm(b), prompts, o);
    for (let r = 0; r < prompts.length; r++) {
      assert.deepEqual([...got[r]!.tokens], [...want[r]!.tokens], `${v}: row ${r} tokens`);
      for (let i = 0; i < got[r]!.logprobs.length; i++)
        assert.ok(
          Math.abs(got[r]!.logprobs[i]! - want[r]!.logprobs[i]!) < 1e-3,
          `${v}: row ${r} logprob ${i}`,
        );
    }
  }
});
