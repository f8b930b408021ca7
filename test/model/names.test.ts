// The one naming system (src/model/names.ts): the checkpoint names and their order for the families
// the golden fixtures do not pin (encdec, post-LN encdec, the classification head), the helpers
// that classify a layout name (isEmbedding, linearOfWeight), the residual-projection init that reads
// the records, that no other source file spells a name, and, at compile time, that the layers take
// the records and not a plain string.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { type Ctx, layernorm, linearForward, mlp, selfAttention } from '../../src/model/layers.ts';
import { isEmbedding, linearOfWeight, modelStacks, presentStacks } from '../../src/model/names.ts';
import { buildLayout, initParams } from '../../src/model/params.ts';
import { tinyConfig } from './fixtures.ts';

const lin = (p: string) => [`${p}.weight`, `${p}.bias`];
const block = (p: string, cross: boolean) => [
  ...lin(`${p}.ln1`),
  ...lin(`${p}.attn.qkv`),
  ...lin(`${p}.attn.proj`),
  ...(cross
    ? [...lin(`${p}.lnx`), ...lin(`${p}.xattn.q`), ...lin(`${p}.xattn.kv`), ...lin(`${p}.xattn.proj`)]
    : []),
  ...lin(`${p}.ln2`),
  ...lin(`${p}.mlp.fc`),
  ...lin(`${p}.mlp.proj`),
];
const names = (c: Parameters<typeof buildLayout>[0]) => buildLayout(c).specs.map((s) => s.name);

test('encdec checkpoint names and order (pre-LN and post-LN)', () => {
  const pre = tinyConfig('encdec', { n_layers: 1, n_dec_layers: 2 });
  assert.deepEqual(names(pre), [
    'tok_emb.weight',
    'enc.pos_emb.weight',
    'dec.pos_emb.weight',
    ...block('enc.layers.0', false),
    ...block('dec.layers.0', true),
    ...block('dec.layers.1', true),
    ...lin('enc.ln_f'),
    ...lin('dec.ln_f'),
  ]);
  const post = tinyConfig('encdec', { n_layers: 1, n_dec_layers: 1, norm: 'post' });
  assert.deepEqual(names(post), [
    'tok_emb.weight',
    'enc.pos_emb.weight',
    'dec.pos_emb.weight',
    ...lin('enc.emb_ln'),
    ...lin('dec.emb_ln'),
    ...block('enc.layers.0', false),
    ...block('dec.layers.0', true),
  ]);
});

test('encoder with a classification head: the head names follow the stack', () => {
  const c = tinyConfig('encoder', { n_layers: 1, n_classes: 3 });
  assert.deepEqual(names(c), [
    'tok_emb.weight',
    'pos_emb.weight',
    ...block('layers.0', false),
    ...lin('ln_f'),
    ...lin('lm_head.dense'),
    ...lin('lm_head.ln'),
    'lm_head.bias',
    ...lin('cls.dense'),
    ...lin('cls.out'),
  ]);
});

test('the stacks a family lacks have no blocks; presentStacks lists the others', () => {
  const dec = tinyConfig('decoder');
  assert.equal(modelStacks(dec).enc.blocks.length, 0);
  assert.deepEqual(
    presentStacks(dec).map((s) => s.posEmb),
    ['pos_emb.weight'],
  );
  assert.deepEqual(
    presentStacks(tinyConfig('encdec')).map((s) => s.pfx),
    ['enc.', 'dec.'],
  );
});

test('isEmbedding and linearOfWeight classify every layout name of every family', () => {
  for (const c of [
    tinyConfig('encoder', { n_classes: 2 }),
    tinyConfig('decoder'),
    tinyConfig('encdec', { norm: 'post' }),
  ]) {
    const layout = buildLayout(c);
    const embs = layout.specs.filter((s) => isEmbedding(s.name)).map((s) => s.name);
    const pos = presentStacks(c).map((s) => s.posEmb);
    assert.deepEqual(embs, ['tok_emb.weight', ...pos], c.family);
    for (const s of layout.specs.filter((x) => x.linear)) {
      const n = linearOfWeight(s.name);
      assert.equal(n.weight, s.name);
      assert.ok(layout.byName.has(n.bias), `${s.name}: no bias ${n.bias}`);
    }
  }
  assert.throws(() => linearOfWeight('layers.0.attn.qkv.bias'), /not the weight of a linear layer/);
});

test("resid_init 'zero' zeros exactly the residual branches' output projections", () => {
  const c = tinyConfig('encdec', { n_layers: 1, n_dec_layers: 1, resid_init: 'zero' });
  const be = createTsBackend('f32');
  const layout = buildLayout(c);
  const data = be.alloc(layout.total);
  initParams(be, layout, data, c, 5);
  const zeroed = layout.specs
    .filter((s) => s.init === 'normal' && data.subarray(s.offset, s.offset + s.size).every((v) => v === 0))
    .map((s) => s.name);
  assert.deepEqual(zeroed, [
    'enc.layers.0.attn.proj.weight',
    'enc.layers.0.mlp.proj.weight',
    'dec.layers.0.attn.proj.weight',
    'dec.layers.0.xattn.proj.weight',
    'dec.layers.0.mlp.proj.weight',
  ]);
});

test("resid_init 'scaled' divides exactly the residual projections' init by √(2L) (GPT-2), nothing else", () => {
  const be = createTsBackend('f32');
  for (const [family, extra, layers] of [
    ['encoder', { n_layers: 8 }, 8],
    ['encdec', { n_layers: 2, n_dec_layers: 1 }, 3],
  ] as const) {
    const init = (resid_init: 'normal' | 'scaled') => {
      const c = tinyConfig(family, { ...extra, resid_init });
      const layout = buildLayout(c);
      const data = be.alloc(layout.total);
      initParams(be, layout, data, c, 7);
      return { layout, data };
    };
    const n = init('normal');
    const s = init('scaled');
    const scaled: string[] = [];
    for (const spec of n.layout.specs) {
      const a = n.data.subarray(spec.offset, spec.offset + spec.size);
      const b = s.data.subarray(spec.offset, spec.offset + spec.size);
      if (a.every((v, j) => v === b[j])) continue;
      scaled.push(spec.name);
      // the same draws (one Rng per tensor), scaled by 1/√(2 · all layers of the model)
      const off = a.findIndex(
        (v, j) => Math.abs(b[j]! - v / Math.sqrt(2 * layers)) > 1e-6 * Math.abs(v) + 1e-12,
      );
      assert.equal(off, -1, `${spec.name}: not the normal draws / √(2·${layers})`);
    }
    const resid = /\.(attn|xattn|mlp)\.proj\.weight$/;
    assert.deepEqual(
      scaled,
      n.layout.specs.filter((x) => resid.test(x.name)).map((x) => x.name),
      family,
    );
    assert.ok(scaled.length >= 2 * layers, `${family}: ${scaled.length} residual projections`);
  }
});

/** String literals that spell a tensor name or a sublayer's suffix (comments are skipped). */
const SPELLED = [
  /['"`][^'"`\n]*\b(tok_emb|pos_emb|emb_ln|ln_f|lm_head)\b/,
  /\.(weight|bias)['"`]/,
  /\}\.(attn|xattn|mlp|qkv|proj|fc|kv|q|ln1|ln2|lnx)`/,
];

test('no source file outside names.ts spells a tensor name', () => {
  const src = path.resolve(import.meta.dirname, '..', '..', 'src');
  const files = (fs.readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 50, 'the scan found too few files to mean anything');
  const bad: string[] = [];
  for (const f of files) {
    if (f === path.join('model', 'names.ts')) continue;
    fs.readFileSync(path.join(src, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.trimStart().replace(/\s\/\/\s.*$/, ''); // a trailing comment is not code
        if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
        if (SPELLED.some((re) => re.test(code))) bad.push(`src/${f}:${i + 1}: ${code}`);
      });
  }
  assert.deepEqual(bad, [], 'take the names from src/model/names.ts (its records, HEAD_NAMES, modelStacks)');
});

// Compile-time checks (npm run typecheck, test/static.test.ts): a tensor name spelled as a string
// no longer type-checks where the layers take a record. Never called.
declare const ctx: Ctx<Float32Array>;
declare const buf: Float32Array;
export function stringNamesDoNotCompile(): void {
  // @ts-expect-error a linear layer takes LinearNames
  linearForward(ctx, buf, buf, 'layers.0.attn.qkv', 1, 1, 1);
  // @ts-expect-error a layer norm takes NormNames
  layernorm(ctx, 'k', 'layers.0.ln1', buf, 1, 1);
  // @ts-expect-error self-attention takes SelfAttnNames
  selfAttention('layers.0.attn', { B: 1, Tq: 1, Tk: 1, C: 1, NH: 1, causal: false, keyMask: null });
  // @ts-expect-error an MLP takes MlpNames
  mlp('layers.0.mlp', 1, 1, 1);
}
