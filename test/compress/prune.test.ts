// Tests of magnitude pruning: exact sparsity (unstructured global/layer), N:M groups, whole heads
// and FFN neurons (mask structure and zero outputs in a real forward pass), embeddings, determinism,
// the spec parser, mask helpers, and the cubic schedule. Tiny configs on the ts f32 backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyMask,
  cubicPlan,
  cubicSchedule,
  formatPruneSpec,
  maskGrads,
  type PruneSpec,
  parsePruneSpec,
  planPrune,
  pruneMask,
  sparsityOf,
} from '../../src/compress/prune.ts';
import { InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import type { ModelConfigInput } from '../../src/model/config.ts';
import type { ParamSpec } from '../../src/model/params.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { lmBatch, seq2seqBatch, tinyConfig } from '../model/fixtures.ts';

const be = createTsBackend('f32');

/** A model whose every parameter (biases and norms too) is random, so zeros come only from masks. */
function model(family: 'encoder' | 'decoder' | 'encdec', extra: Partial<ModelConfigInput> = {}, seed = 1) {
  const m = new Transformer(be, tinyConfig(family, extra), seed);
  const rng = new Rng(seed + 100);
  for (let i = 0; i < m.params.length; i++) m.params[i] = rng.normal() * 0.5;
  return m;
}

const spec = (s: Partial<PruneSpec>): PruneSpec => ({
  sparsity: 0.5,
  scope: 'global',
  pattern: 'unstructured',
  embeddings: false,
  ...s,
});

function zerosIn(mask: Uint8Array, s: ParamSpec): number {
  let z = 0;
  for (let i = s.offset; i < s.offset + s.size; i++) z += mask[i] ? 0 : 1;
  return z;
}

/** max |w| pruned <= min |w| kept over a set of tensors: the magnitude criterion holds. */
function assertMagnitudeOrder(params: Float32Array, mask: Uint8Array, specs: ParamSpec[]): void {
  let maxPruned = -1;
  let minKept = Infinity;
  for (const s of specs) {
    for (let i = s.offset; i < s.offset + s.size; i++) {
      const a = Math.abs(params[i]!);
      if (mask[i]) minKept = Math.min(minKept, a);
      else maxPruned = Math.max(maxPruned, a);
    }
  }
  assert.ok(maxPruned <= minKept, `a pruned weight (${maxPruned}) is larger than a kept one (${minKept})`);
}

test('unstructured global: exactly round(s*N) targeted weights pruned, by magnitude, nothing else', () => {
  const m = model('decoder');
  const before = Float32Array.from(m.params);
  for (const s of [0, 0.1, 0.37, 0.5, 0.9, 1]) {
    const plan = planPrune(m.params, m.layout, m.cfg, spec({ sparsity: s }));
    const targets = plan.targets.map((n) => m.layout.byName.get(n)!);
    assert.ok(targets.length > 0 && targets.every((t) => t.linear));
    const N = targets.reduce((a, t) => a + t.size, 0);
    const zeros = targets.reduce((a, t) => a + zerosIn(plan.mask, t), 0);
    assert.equal(zeros, Math.round(s * N), `sparsity ${s}`);
    assert.equal(plan.achieved, zeros / N);
    const allZeros = plan.mask.reduce((a, k) => a + (k ? 0 : 1), 0);
    assert.equal(allZeros, zeros, 'only targeted tensors get zeros (biases, norms, embeddings untouched)');
    assertMagnitudeOrder(m.params, plan.mask, targets);
  }
  assert.deepEqual(m.params, before, 'planPrune must not change the weights');
});

test('unstructured layer: exactly round(s*size) in every target tensor', () => {
  const m = model('encoder', { n_classes: 3 });
  for (const s of [0.25, 0.5, 0.83]) {
    const plan = planPrune(m.params, m.layout, m.cfg, spec({ sparsity: s, scope: 'layer' }));
    for (const n of plan.targets) {
      const t = m.layout.byName.get(n)!;
      assert.equal(zerosIn(plan.mask, t), Math.round(s * t.size), `${n} at ${s}`);
      assertMagnitudeOrder(m.params, plan.mask, [t]);
    }
  }
});

test('ties are broken by index and the count stays exact (also for float64 params)', () => {
  const m = model('decoder');
  const p = m.params;
  for (let i = 0; i < p.length; i++) p[i] = ((i * 7) % 5) - 2; // only |w| in {0, 1, 2}: many ties
  const s = spec({ sparsity: 0.55 });
  const plan = planPrune(p, m.layout, m.cfg, s);
  const targets = plan.targets.map((n) => m.layout.byName.get(n)!);
  const N = targets.reduce((a, t) => a + t.size, 0);
  assert.equal(
    targets.reduce((a, t) => a + zerosIn(plan.mask, t), 0),
    Math.round(0.55 * N),
  );
  // among equal magnitudes at the threshold, the lower flat indices go first
  let thr = 0;
  for (const t of targets)
    for (let i = t.offset; i < t.offset + t.size; i++)
      if (!plan.mask[i]) thr = Math.max(thr, Math.abs(p[i]!));
  let lastPrunedAtThr = -1;
  let firstKeptAtThr = Infinity;
  for (const t of targets) {
    for (let i = t.offset; i < t.offset + t.size; i++) {
      if (Math.abs(p[i]!) !== thr) continue;
      if (plan.mask[i]) firstKeptAtThr = Math.min(firstKeptAtThr, i);
      else lastPrunedAtThr = Math.max(lastPrunedAtThr, i);
    }
  }
  assert.ok(lastPrunedAtThr < firstKeptAtThr, 'ties at the threshold must be pruned in index order');
  const p64 = Float64Array.from(p);
  assert.deepEqual(pruneMask(p64, m.layout, m.cfg, s), plan.mask);
});

for (const [n, mm] of [
  [2, 4],
  [4, 8],
] as const) {
  test(`N:M ${n}:${mm}: every group of ${mm} along the input dimension keeps exactly the ${n} largest`, () => {
    const m = model('decoder', { d_model: 16, n_heads: 4, d_ff: 32 });
    const plan = planPrune(m.params, m.layout, m.cfg, parsePruneSpec(`${n}:${mm}`));
    let groups = 0;
    for (const name of plan.targets) {
      const t = m.layout.byName.get(name)!;
      assert.equal(t.size % mm, 0);
      for (let g = t.offset; g < t.offset + t.size; g += mm) {
        const kept: number[] = [];
        const pruned: number[] = [];
        for (let j = 0; j < mm; j++) (plan.mask[g + j] ? kept : pruned).push(Math.abs(m.params[g + j]!));
        assert.equal(kept.length, n, `${name} group at ${g - t.offset}`);
        assert.ok(Math.max(...pruned) <= Math.min(...kept));
        groups++;
      }
    }
    assert.ok(groups > 100);
    assert.equal(plan.achieved, 1 - n / mm);
  });
}

test('N:M refuses an input dimension that does not divide by M', () => {
  const m = model('decoder'); // d_model 12, d_ff 20
  assert.throws(
    () => pruneMask(m.params, m.layout, m.cfg, parsePruneSpec('4:8')),
    (e: unknown) => {
      return e instanceof InputError && /does not divide by M = 8/.test(e.message);
    },
  );
});

/** rows [r0, r0+n) of an (out, in) tensor, or columns [c0, c0+n), all equal to `v` in the mask. */
function blockIs(
  mask: Uint8Array,
  s: ParamSpec,
  kind: 'rows' | 'cols',
  a: number,
  n: number,
  v: number,
): boolean {
  const [out, inp] = [s.shape[0]!, s.shape[1] ?? 1];
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < inp; c++) {
      const inside = kind === 'rows' ? r >= a && r < a + n : c >= a && c < a + n;
      if (inside && mask[s.offset + r * inp + c] !== v) return false;
    }
  }
  return true;
}

/** For each head of a self-attention module: 'pruned', 'kept', or 'partial'. */
function headStates(mask: Uint8Array, m: Transformer<Float32Array>, pfx: string): string[] {
  const C = m.cfg.d_model;
  const hd = C / m.cfg.n_heads;
  const L = m.layout.byName;
  return Array.from({ length: m.cfg.n_heads }, (_, h) => {
    const state = (v: number) => {
      const qkv = [0, C, 2 * C].every((o) =>
        blockIs(mask, L.get(`${pfx}.qkv.weight`)!, 'rows', o + h * hd, hd, v),
      );
      const bias = [0, C, 2 * C].every((o) =>
        blockIs(mask, L.get(`${pfx}.qkv.bias`)!, 'rows', o + h * hd, hd, v),
      );
      return qkv && bias && blockIs(mask, L.get(`${pfx}.proj.weight`)!, 'cols', h * hd, hd, v);
    };
    return state(0) ? 'pruned' : state(1) ? 'kept' : 'partial';
  });
}

test('heads: whole heads are pruned (q, k, v rows, bias, proj columns) and their attention output is zero', () => {
  const m = model('decoder');
  const plan = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('heads:50%'));
  const states = ['layers.0.attn', 'layers.1.attn'].map((p) => headStates(plan.mask, m, p));
  const flat = states.flat();
  assert.ok(!flat.includes('partial'), `heads must be all-or-nothing: ${flat}`);
  assert.equal(flat.filter((s) => s === 'pruned').length, 3); // round(0.5 * 6)
  assert.deepEqual(plan.units, { total: 6, pruned: 3 });
  assert.equal(plan.achieved, 0.5);
  assert.equal(
    plan.mask.reduce((a, k) => a + (k ? 0 : 1), 0),
    3 * (4 * 12 * 4 + 3 * 4),
    'only head weights and q/k/v biases',
  );
  // the pruned heads are the ones with the smallest L2 norm
  const C = 12;
  const hd = 4;
  const norms = ['layers.0.attn', 'layers.1.attn'].flatMap((pfx) =>
    [0, 1, 2].map((h) => {
      let ss = 0;
      const qkv = m.p.get(`${pfx}.qkv.weight`);
      const proj = m.p.get(`${pfx}.proj.weight`);
      for (const o of [0, C, 2 * C])
        for (let i = (o + h * hd) * C; i < (o + h * hd + hd) * C; i++) ss += qkv[i]! ** 2;
      for (let r = 0; r < C; r++) for (let c = h * hd; c < h * hd + hd; c++) ss += proj[r * C + c]! ** 2;
      return ss;
    }),
  );
  const cut = [...norms].sort((a, b) => a - b)[2]!;
  for (const [i, s] of flat.entries()) assert.equal(s === 'pruned', norms[i]! <= cut, `head ${i}`);
  // forward: the attention output (before proj) of a pruned head is exactly zero
  applyMask(m.params, plan.mask);
  // grad: the training workspace keeps every layer's activations (a forward-only one shares them)
  const t = m.forwardLm(lmBatch(m.cfg.vocab, 2, 6, 3, true), { train: false, grad: true });
  assert.ok(Number.isFinite(t.loss));
  t.dec!.blocks.forEach((blk, L) => {
    const att = blk.subs[0]!.cache.sub.saved[2]!; // (B*T, C)
    for (let h = 0; h < 3; h++) {
      let maxAbs = 0;
      for (let r = 0; r < att.length / C; r++)
        for (let c = h * hd; c < h * hd + hd; c++) maxAbs = Math.max(maxAbs, Math.abs(att[r * C + c]!));
      if (states[L]![h] === 'pruned') assert.equal(maxAbs, 0, `layer ${L} head ${h}`);
      else assert.ok(maxAbs > 0, `layer ${L} head ${h} is kept and must be active`);
    }
  });
});

test('heads per layer, and cross-attention heads of an encdec model', () => {
  const d = model('decoder');
  const plan = planPrune(d.params, d.layout, d.cfg, parsePruneSpec('heads:34%:layer'));
  for (const p of ['layers.0.attn', 'layers.1.attn']) {
    assert.equal(headStates(plan.mask, d, p).filter((s) => s === 'pruned').length, 1, p); // round(0.34*3)
  }
  const m = model('encdec', { n_dec_layers: 1 });
  const ep = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('heads:100%'));
  assert.deepEqual(ep.units, { total: 12, pruned: 12 }); // enc 2 + dec self 1 + dec cross 1 modules
  assert.ok(ep.targets.includes('dec.layers.0.xattn.kv.weight'));
  applyMask(m.params, ep.mask);
  const t = m.forwardSeq2Seq(seq2seqBatch(m.cfg.vocab, 2, 5, 4, 9), { train: false, grad: false });
  for (const sub of t.dec!.blocks[0]!.subs.slice(0, 2)) {
    const att = sub.cache.sub.saved[sub.key.endsWith('xattn') ? 3 : 2]!;
    assert.ok(
      att.every((x) => x === 0),
      `${sub.key}: all heads pruned, attention output must be zero`,
    );
  }
});

test('neurons: whole FFN neurons (fc row + bias, proj column) are pruned and their activation is zero', () => {
  const m = model('encoder');
  const F = m.cfg.d_ff;
  const plan = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('neurons:0.3'));
  assert.deepEqual(plan.units, { total: 2 * F, pruned: Math.round(0.3 * 2 * F) });
  const pruned: number[][] = [[], []];
  for (let L = 0; L < 2; L++) {
    const fc = m.layout.byName.get(`layers.${L}.mlp.fc.weight`)!;
    const fcb = m.layout.byName.get(`layers.${L}.mlp.fc.bias`)!;
    const proj = m.layout.byName.get(`layers.${L}.mlp.proj.weight`)!;
    for (let j = 0; j < F; j++) {
      const off =
        [fc, fcb].every((s) => blockIs(plan.mask, s, 'rows', j, 1, 0)) &&
        blockIs(plan.mask, proj, 'cols', j, 1, 0);
      const on =
        [fc, fcb].every((s) => blockIs(plan.mask, s, 'rows', j, 1, 1)) &&
        blockIs(plan.mask, proj, 'cols', j, 1, 1);
      assert.ok(off !== on, `layer ${L} neuron ${j} is partially pruned`);
      if (off) pruned[L]!.push(j);
    }
  }
  assert.equal(pruned[0]!.length + pruned[1]!.length, Math.round(0.3 * 2 * F));
  applyMask(m.params, plan.mask);
  // grad: the training workspace keeps every layer's activations (a forward-only one shares them)
  const t = m.forwardLm(lmBatch(m.cfg.vocab, 2, 6, 4, false), { train: false, grad: true });
  t.enc!.blocks.forEach((blk, L) => {
    const a = blk.subs[1]!.cache.sub.saved[1]!; // gelu(h), (N, F)
    for (let j = 0; j < F; j++) {
      let maxAbs = 0;
      for (let r = 0; r < a.length / F; r++) maxAbs = Math.max(maxAbs, Math.abs(a[r * F + j]!));
      assert.equal(maxAbs === 0, pruned[L]!.includes(j), `layer ${L} neuron ${j}`);
    }
  });
});

test('embeddings are untouched unless asked for', () => {
  const m = model('decoder');
  const emb = ['tok_emb.weight', 'pos_emb.weight'].map((n) => m.layout.byName.get(n)!);
  const off = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('90%'));
  for (const s of emb) assert.equal(zerosIn(off.mask, s), 0);
  assert.ok(!off.targets.includes('tok_emb.weight'));
  const on = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('90%:emb'));
  assert.ok(on.targets.includes('tok_emb.weight') && on.targets.includes('pos_emb.weight'));
  assert.ok(emb.every((s) => zerosIn(on.mask, s) > 0));
  const layer = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('50%:layer:emb'));
  for (const s of emb) assert.equal(zerosIn(layer.mask, s), Math.round(0.5 * s.size));
});

test('masks are deterministic, and gradual pruning keeps what it pruned', () => {
  const a = model('decoder', {}, 5);
  const b = model('decoder', {}, 5);
  for (const text of ['37%', '60%:layer', '2:4', 'heads:50%', 'neurons:25%:layer']) {
    assert.deepEqual(
      pruneMask(a.params, a.layout, a.cfg, parsePruneSpec(text)),
      pruneMask(b.params, b.layout, b.cfg, parsePruneSpec(text)),
      text,
    );
  }
  const m1 = pruneMask(a.params, a.layout, a.cfg, parsePruneSpec('30%'));
  applyMask(a.params, m1);
  const m2 = pruneMask(a.params, a.layout, a.cfg, parsePruneSpec('60%'));
  assert.ok(
    m1.every((k, i) => k === 1 || m2[i] === 0),
    'a weight pruned at 30% must stay pruned at 60%',
  );
});

test('applyMask, maskGrads and sparsityOf', () => {
  const m = model('decoder');
  const plan = planPrune(m.params, m.layout, m.cfg, parsePruneSpec('70%:layer'));
  applyMask(m.params, plan.mask);
  const rep = sparsityOf(m.params, m.layout, plan.targets);
  assert.equal(rep.sparsity, plan.achieved);
  for (const t of rep.tensors) assert.equal(t.nonzero, t.size - Math.round(0.7 * t.size), t.name);
  assert.equal(
    rep.nonzero,
    rep.tensors.reduce((a, t) => a + t.nonzero, 0),
  );
  m.grads.fill(1);
  maskGrads(m.grads, plan.mask);
  assert.ok(m.grads.every((g, i) => g === plan.mask[i]));
  assert.throws(() => applyMask(m.params, new Uint8Array(3)), InputError);
});

test('parsePruneSpec: syntax, defaults, round trip, and errors naming the bad token', () => {
  assert.deepEqual(parsePruneSpec('50%:global:unstructured'), spec({ sparsity: 0.5 }));
  assert.deepEqual(parsePruneSpec('heads:30%'), spec({ sparsity: 0.3, pattern: 'heads' }));
  assert.deepEqual(
    parsePruneSpec('0.25:Layer:neurons'),
    spec({ sparsity: 0.25, scope: 'layer', pattern: 'neurons' }),
  );
  assert.deepEqual(parsePruneSpec('2:4'), spec({ sparsity: 0.5, pattern: { n: 2, m: 4 } }));
  assert.deepEqual(
    parsePruneSpec('emb:4:8'),
    spec({ sparsity: 0.5, pattern: { n: 4, m: 8 }, embeddings: true }),
  );
  for (const t of ['12.5%:layer:emb', '2:4', 'neurons:30%:layer', '1:8:emb']) {
    assert.deepEqual(parsePruneSpec(formatPruneSpec(parsePruneSpec(t))), parsePruneSpec(t), t);
  }
  const bad: Array<[string, RegExp]> = [
    ['50%:golbal', /unknown token 'golbal'.*global, layer/],
    ['50', /'50' is neither a sparsity/],
    ['global', /no sparsity given/],
    ['150%', /must be in \[0, 1\], found 1\.5/],
    ['4:2', /1 <= N < M, found 4:2/],
    ['2:4:30%', /sparsity 0\.5, the spec says 0\.3/],
    ['heads:50%:emb', /'emb' applies to unstructured and N:M/],
    ['50%:layer:global', /scope given twice \(at 'global'\)/],
  ];
  for (const [t, re] of bad) {
    assert.throws(
      () => parsePruneSpec(t),
      (e: unknown) => e instanceof InputError && re.test(e.message) && !!e.hint,
      t,
    );
  }
});

test('cubic schedule: endpoints, plateaus between pruning steps, monotone, hand value', () => {
  const [t0, tEnd, si, sf, n] = [100, 1100, 0.1, 0.9, 10];
  assert.equal(cubicSchedule(0, t0, tEnd, si, sf, n), si);
  assert.equal(cubicSchedule(t0, t0, tEnd, si, sf, n), si);
  assert.equal(cubicSchedule(tEnd, t0, tEnd, si, sf, n), sf);
  assert.equal(cubicSchedule(5000, t0, tEnd, si, sf, n), sf);
  assert.ok(Math.abs(cubicSchedule(600, t0, tEnd, si, sf, n) - (sf + (si - sf) * 0.5 ** 3)) < 1e-15);
  assert.equal(cubicSchedule(699, t0, tEnd, si, sf, n), cubicSchedule(600, t0, tEnd, si, sf, n)); // held for Δt
  let prev = -1;
  for (let t = 0; t <= 1200; t++) {
    const s = cubicSchedule(t, t0, tEnd, si, sf, n);
    assert.ok(s >= prev, `not monotone at step ${t}`);
    prev = s;
  }
  // early steps prune fastest (cubic): the first increment is the largest
  const plan = cubicPlan(t0, tEnd, si, sf, n);
  assert.equal(plan.length, n + 1);
  assert.deepEqual([plan[0]!.step, plan[n]!.step], [t0, tEnd]);
  const inc = plan.slice(1).map((p, k) => p.sparsity - plan[k]!.sparsity);
  assert.ok(inc.every((d, k) => k === 0 || d < inc[k - 1]!));
  for (const p of plan.slice(1)) assert.ok(cubicSchedule(p.step - 1, t0, tEnd, si, sf, n) < p.sparsity);
  assert.throws(() => cubicSchedule(0, 10, 10, 0, 0.5, 3), InputError);
  assert.throws(() => cubicSchedule(0, 0, 10, 0.6, 0.5, 3), InputError);
});
