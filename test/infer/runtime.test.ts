// The int8 runtime on a tiny encoder trained on real text and compressed to int8 (q8_ch_sym): it
// keeps the linear weights as int8 (no fp32 copy), and its validation perplexity matches the
// dequantize-to-fp32 path (tlc eval's) within 0.5% (top-1 agreement of the logits >= 97%).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { readContainer } from '../../src/compress/container.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { compareModels, perplexityWithError } from '../../src/eval/metrics.ts';
import { int8Scorer, loadInt8Model } from '../../src/infer/runtime.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { buildLayout } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { readRunConfig, runData } from '../../src/train/load.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-infer-runtime-'));
const run = path.join(tmp, 'run');
const q8 = path.join(tmp, 'q8');
const container = path.join(q8, 'model.safetensors');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tlc(args: string[]): void {
  const r = runTlc(args);
  assert.equal(r.status, 0, `tlc ${args.join(' ')}:\n${r.stderr}`);
}

before(() => {
  tlc([
    'train',
    '--config',
    'tiny-encoder',
    '--set',
    'budget.steps=150',
    '--set',
    'budget.seconds=300',
    '--run-dir',
    run,
  ]);
  tlc(['compress', run, '--quant', 'int8', '--out', q8, '--json']);
});

test('loading keeps every linear weight as int8 codes + scales and no fp32 copy of them', () => {
  const be = loadNativeBackend();
  const m = loadInt8Model(container, be);
  const linear = m.full.specs.filter((s) => s.linear);
  assert.ok(linear.length >= 9, 'the encoder has its linear layers');
  assert.equal(m.int8.size, linear.length, 'every linear layer runs int8');
  for (const s of linear) assert.equal(m.kept.byName.get(s.name), undefined, `${s.name} kept in fp32`);
  const bytes = m.weightBytes();
  const codes = linear.reduce((a, s) => a + s.size, 0);
  const rows = linear.reduce((a, s) => a + s.shape[0]!, 0);
  assert.equal(bytes.int8, codes + 8 * rows, 'int8 bytes: 1 per weight + a scale and a row sum per row');
  assert.equal(bytes.fp32, m.kept.total * 4);
  assert.ok(
    m.params.length <= m.full.total - codes + 16 * linear.length,
    'fp32 buffer holds no linear weight',
  );
  assert.ok(
    bytes.int8 + bytes.fp32 < bytes.dense - 3 * codes * 0.95,
    `held ${bytes.int8 + bytes.fp32} B vs ${bytes.dense} B dense`,
  );
});

test('validation perplexity of the int8 runtime is within 0.5% of the dequantize-to-fp32 path', () => {
  const be = loadNativeBackend();
  const saved = readRunConfig(q8);
  const data = runData(saved, q8);
  const c = readContainer(container, (mc) => buildLayout(mc as ModelConfig));
  const fp32 = new Transformer(be, saved.model, 0);
  fp32.params.set(c.params);
  const int8 = int8Scorer(loadInt8Model(container, be));
  const a = perplexityWithError(fp32, data.valid);
  const b = perplexityWithError(int8, data.valid);
  const rel = Math.abs(b.ppl - a.ppl) / a.ppl;
  assert.ok(
    rel < 0.005,
    `int8 runtime ppl ${b.ppl} vs dequantized fp32 ${a.ppl}: ${(100 * rel).toFixed(3)}% apart`,
  );
  const cmp = compareModels(fp32, int8, data.valid);
  assert.ok(cmp.top1_agreement >= 0.97, `top-1 agreement ${cmp.top1_agreement}`);
  process.stderr.write(
    `int8 ppl ${b.ppl.toFixed(4)} vs fp32-dequantized ${a.ppl.toFixed(4)}; KL ${cmp.kl_dense_compressed.toExponential(3)}, top-1 ${cmp.top1_agreement}\n`,
  );
});

test("the int8 runtime on the ts backend (the kernel's reference twin) gives the native logits", () => {
  const saved = readRunConfig(q8);
  const x = runData(saved, q8).valid[0]!;
  assert.equal(x.kind, 'lm');
  if (x.kind !== 'lm') return;
  const [a, b] = [loadNativeBackend(), createTsBackend('f32')].map((be) =>
    Float32Array.from(loadInt8Model(container, be).forwardLm(x.b).logits),
  );
  let sum = 0;
  let big = 0;
  for (let i = 0; i < a!.length; i++) {
    sum += Math.abs(a![i]! - b![i]!);
    big = Math.max(big, Math.abs(b![i]!));
  }
  // The fp32 kernels around the int8 ones (layer norm, attention, GELU) agree to ~1e-6 relative;
  // where such a difference moves an input across a rounding boundary, one activation code moves
  // by one step (rare, and up to ~1e-3 of the range downstream). So the mean difference is bounded.
  const mean = sum / a!.length;
  assert.ok(
    a!.length > 0 && mean < 1e-5 * big,
    `mean |native - ts| ${mean} over ${a!.length} logits of range ${big}`,
  );
});
