// The compressed runtime on a tiny encoder trained on real text and compressed five ways: k-bit
// (int4 groups of 32, int3 groups of 64 asym, int4 + 50% pruning), 90% unstructured pruning (CSR),
// and 50% of the heads / 50% of the FFN neurons (cut into narrower layers). Each keeps its linear
// weights in the stored form (bytes held shrink with the file), and its validation perplexity
// matches the dequantize-to-fp32 path (tlc eval's) within 0.1% (the weights are the same; only the
// order of float sums differs); the cut models give the masked model's logits within 1e-5.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readContainer } from '../../src/compress/container.ts';
import { loadNativeBackend } from '../../src/engine/native-backend.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { compareModels, perplexityWithError } from '../../src/eval/metrics.ts';
import { type CompressedModel, compressedScorer, loadCompressedModel } from '../../src/infer/runtime.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { buildLayout } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { readRunConfig, runData } from '../../src/train/load.ts';
import { runTlc } from '../cli/tlc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-compressed-runtime-'));
const run = path.join(tmp, 'run');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const VARIANTS: Record<string, string[]> = {
  q4g32: ['--quant', 'int4:group32'],
  q3g64asym: ['--quant', 'int3:group64:asym'],
  q4pruned: ['--quant', 'int4:group64', '--prune', '50%'],
  sparse90: ['--prune', '90%'],
  heads50: ['--prune', 'heads:50%'],
  neurons50: ['--prune', 'neurons:50%'],
};
const file = (v: string) => path.join(tmp, v, 'model.safetensors');

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
  for (const [v, flags] of Object.entries(VARIANTS))
    tlc(['compress', run, ...flags, '--out', path.join(tmp, v), '--json']);
});

/** The dequantize-to-fp32 model of a container (what tlc eval scores). */
function fp32Of(v: string) {
  const be = loadNativeBackend();
  const saved = readRunConfig(path.join(tmp, v));
  const c = readContainer(file(v), (mc) => buildLayout(mc as ModelConfig));
  const m = new Transformer(be, saved.model, 0);
  m.params.set(c.params);
  return { m, data: runData(saved, path.join(tmp, v)) };
}

function linearSpecs(m: CompressedModel) {
  return m.full.specs.filter((s) => s.linear);
}

describe('compressed runtime', () => {
  test('every variant: perplexity within 0.1% of the dequantize-to-fp32 path, top-1 >= 99%', () => {
    for (const v of Object.keys(VARIANTS)) {
      const { m: fp32, data } = fp32Of(v);
      const rt = loadCompressedModel(file(v), loadNativeBackend());
      const a = perplexityWithError(fp32, data.valid);
      const b = perplexityWithError(compressedScorer(rt), data.valid);
      const rel = Math.abs(b.ppl - a.ppl) / a.ppl;
      const cmp = compareModels(fp32, compressedScorer(rt), data.valid);
      const bytes = rt.weightBytes();
      process.stderr.write(
        `${v}: ppl ${b.ppl.toFixed(4)} vs ${a.ppl.toFixed(4)} (${(100 * rel).toFixed(4)}%), top-1 ${cmp.top1_agreement}, held ${bytes.held} B of ${bytes.dense} (${JSON.stringify(bytes)})\n`,
      );
      assert.ok(rel < 0.001, `${v}: runtime ppl ${b.ppl} vs dequantized fp32 ${a.ppl}`);
      assert.ok(cmp.top1_agreement >= 0.99, `${v}: top-1 agreement ${cmp.top1_agreement}`);
    }
  });

  test('k-bit variants hold their linear weights as packed codes (bits/8 per weight + scales), no fp32 copy', () => {
    for (const [v, bits, G, asym] of [
      ['q4g32', 4, 32, false],
      ['q3g64asym', 3, 64, true],
      ['q4pruned', 4, 64, false],
    ] as const) {
      const m = loadCompressedModel(file(v), loadNativeBackend());
      const linear = linearSpecs(m);
      assert.equal(m.forms.size, linear.length, `${v}: every linear layer runs k-bit`);
      let want = 0;
      for (const s of linear) {
        assert.equal(m.kept.byName.get(s.name), undefined, `${v}: ${s.name} kept in fp32`);
        const f = m.forms.get(s.name.replace(/\.weight$/, ''))!;
        assert.equal(f.kind, 'kbit');
        const [rows, cols] = s.shape as [number, number];
        const groups = rows * Math.ceil(cols / G);
        want += Math.ceil((s.size * bits) / 8) + 4 * groups + (asym ? groups : 0);
      }
      const b = m.weightBytes();
      assert.equal(b.kbit, want, `${v}: k-bit bytes`);
      assert.equal(b.held, b.kbit + b.fp32);
      const fp32Linear = linear.reduce((a, s) => a + 4 * s.size, 0);
      assert.ok(b.kbit < fp32Linear / 6, `${v}: ${b.kbit} B of codes vs ${fp32Linear} B of fp32 linears`);
      // the fp32 buffer holds the rest of the model only (up to 16-float alignment per tensor)
      assert.ok(b.fp32 <= b.dense - fp32Linear + 64 * m.kept.specs.length, `${v}: fp32 ${b.fp32} B`);
    }
  });

  test("on the ts backend (the kernels' reference twins) the runtime gives the native logits", () => {
    for (const v of ['q3g64asym', 'sparse90', 'neurons50']) {
      const x = fp32Of(v).data.valid[0]!;
      if (x.kind !== 'lm') continue;
      const [a, b] = [loadNativeBackend(), createTsBackend('f32')].map((be) =>
        Float32Array.from(loadCompressedModel(file(v), be).forwardLm(x.b).logits),
      );
      let worst = 0;
      let big = 0;
      for (let i = 0; i < a!.length; i++) {
        worst = Math.max(worst, Math.abs(a![i]! - b![i]!));
        big = Math.max(big, Math.abs(b![i]!));
      }
      assert.ok(
        a!.length > 0 && worst < 1e-5 * Math.max(1, big),
        `${v}: max |native - ts| ${worst} (range ${big})`,
      );
    }
  });

  test('90% unstructured pruning runs CSR (6 bytes per kept weight), fewer bytes than fp32', () => {
    const m = loadCompressedModel(file('sparse90'), loadNativeBackend());
    const forms = [...m.forms.values()];
    assert.ok(forms.length > 0 && forms.every((f) => f.kind === 'csr'), 'the pruned linears run CSR');
    const b = m.weightBytes();
    const kept = forms.reduce((a, f) => a + (f.kind === 'csr' ? f.w.values.length : 0), 0);
    const rows = forms.reduce((a, f) => a + (f.kind === 'csr' ? f.w.rowPtr.length : 0), 0);
    assert.equal(b.sparse, 6 * kept + 4 * rows);
    const denseLinear = linearSpecs(m).reduce((a, s) => a + 4 * s.size, 0);
    assert.ok(b.sparse < 0.25 * denseLinear, `CSR ${b.sparse} B vs ${denseLinear} B of fp32 linears`);
  });

  test('heads / neurons pruning: physically narrower layers, the masked model logits within 1e-5, fewer bytes', () => {
    for (const v of ['heads50', 'neurons50']) {
      const { m: fp32, data } = fp32Of(v);
      const m = loadCompressedModel(file(v), loadNativeBackend());
      assert.ok(m.cut, `${v}: some layer is cut`);
      const cfg = m.cfg;
      const keptHeads = m.widths.reduce((a, w) => a + w.heads, 0);
      const keptFf = m.widths.reduce((a, w) => a + w.ff, 0);
      const L = m.widths.length;
      if (v === 'heads50')
        assert.ok(keptHeads <= 0.5 * L * cfg.n_heads + 1e-9, `${v}: ${keptHeads} heads kept`);
      else assert.ok(keptFf <= 0.5 * L * cfg.d_ff + 1e-9, `${v}: ${keptFf} neurons kept`);
      // the kept fp32 tensors have the cut shapes
      m.widths.forEach((w, i) => {
        const hd = cfg.d_model / cfg.n_heads;
        assert.deepEqual(m.kept.byName.get(`layers.${i}.attn.qkv.weight`)!.shape, [
          3 * w.heads * hd,
          cfg.d_model,
        ]);
        assert.deepEqual(m.kept.byName.get(`layers.${i}.mlp.fc.weight`)!.shape, [w.ff, cfg.d_model]);
      });
      const b = m.weightBytes();
      assert.ok(b.held < b.dense, `${v}: held ${b.held} B vs ${b.dense} B`);
      for (const x of data.valid.slice(0, 3)) {
        if (x.kind !== 'lm') continue;
        const want = fp32.forwardLm(x.b, { train: false, grad: false }).head.logits;
        const got = m.forwardLm(x.b).logits;
        let big = 0;
        let worst = 0;
        for (let i = 0; i < want.length; i++) {
          big = Math.max(big, Math.abs(want[i]!));
          worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        }
        assert.ok(worst <= 1e-5 * Math.max(1, big), `${v}: max |cut - masked| ${worst} (logit range ${big})`);
      }
    }
  });
});
