// Batcher tests: MLM statistics (15%, 80/10/10), specials never selected, whole-word masking,
// causal shift, seq2seq token budget with no pair lost per epoch, classification padding, and
// exact resume from a saved state for every batcher.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CausalBatcher,
  ClassBatcher,
  type LabelledIds,
  MlmBatcher,
  type PairIds,
  packStream,
  Seq2SeqBatcher,
} from '../../src/data/batch/index.ts';
import type { Batcher } from '../../src/data/batch/types.ts';
import { Tokenizer, trainBpe } from '../../src/data/tokenizer/index.ts';
import { type TokenizedDocs, tokenizeDocs } from '../../src/data/tokens.ts';
import { InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

const V = 1000;

/** nDocs random documents of ids in [5, V) with lengths in [0, maxLen]. */
function randomDocs(seed: number, nDocs: number, maxLen: number): TokenizedDocs {
  const rng = new Rng(seed);
  const lens = Array.from({ length: nDocs }, () => rng.int(maxLen + 1));
  const ids = new Int32Array(lens.reduce((a, b) => a + b, 0));
  for (let i = 0; i < ids.length; i++) ids[i] = 5 + rng.int(V - 5);
  const offsets = new Float64Array(nDocs + 1);
  lens.forEach((l, d) => {
    offsets[d + 1] = offsets[d]! + l;
  });
  return { ids, offsets };
}

test('MLM: ~15% of real tokens selected, 80/10/10, specials and padding never selected', () => {
  const data = randomDocs(1, 300, 120);
  const T = 64;
  const b = new MlmBatcher(data, new Rng(2), { batchSize: 16, seqLen: T, vocabSize: V });
  let real = 0;
  let selected = 0;
  let masked = 0;
  let same = 0;
  let random = 0;
  for (let k = 0; k < 60; k++) {
    const batch = b.next();
    assert.equal(batch.tokens.length, batch.B * T);
    for (let i = 0; i < batch.tokens.length; i++) {
      const tok = batch.tokens[i]!;
      const tgt = batch.targets[i]!;
      const original = tgt >= 0 ? tgt : tok;
      if (i % T === 0) assert.equal(tok, 1, 'rows start with <s>');
      if (batch.keyMask) assert.equal(batch.keyMask[i], tok === 0 && tgt < 0 ? 0 : 1);
      if (original < 5) {
        assert.equal(tgt, -1, 'a special or pad was selected');
        continue;
      }
      real++;
      if (tgt < 0) continue;
      selected++;
      if (tok === 4) masked++;
      else if (tok === tgt) same++;
      else {
        assert.ok(tok >= 5 && tok < V, `random replacement ${tok} must be a non-special id`);
        random++;
      }
    }
  }
  const rate = selected / real;
  assert.ok(Math.abs(rate - 0.15) < 0.01, `selection rate ${rate}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.02, `mask share ${masked / selected}`);
  assert.ok(Math.abs(random / selected - 0.1) < 0.02, `random share ${random / selected}`);
  assert.ok(Math.abs(same / selected - 0.1) < 0.02, `unchanged share ${same / selected}`);
});

test('MLM: one epoch serves every packed chunk once; the last chunk is padded', () => {
  const data = randomDocs(3, 40, 50);
  const T = 32;
  const stream = packStream(data);
  const nRows = Math.ceil(stream.length / (T - 1));
  const b = new MlmBatcher(data, new Rng(4), { batchSize: 1, seqLen: T, vocabSize: V });
  assert.equal(b.rows, nRows);
  const seen = new Set<number>();
  for (let k = 0; k < nRows; k++) {
    const { tokens, targets, keyMask } = b.next();
    const row = Array.from(tokens, (t, i) => (targets[i]! >= 0 ? targets[i]! : t)).slice(1);
    const start = [...Array(nRows).keys()].find((r) =>
      row.every((x, i) => (r * (T - 1) + i < stream.length ? stream[r * (T - 1) + i] === x : x === 0)),
    );
    assert.ok(start !== undefined, `row ${k} is not a chunk of the packed stream`);
    seen.add(start);
    if (start === nRows - 1 && stream.length % (T - 1) !== 0) assert.ok(keyMask && keyMask[T - 1] === 0);
  }
  assert.equal(seen.size, nRows);
  assert.equal(b.epoch, 0);
  b.next();
  assert.equal(b.epoch, 1);
});

test('MLM whole-word: all sub-tokens of a word are selected together', () => {
  const text =
    "Unbelievably, the neighbourhood's extraordinary inhabitants misunderstood everything. ".repeat(20);
  const tok = new Tokenizer(trainBpe([text], { vocabSize: 330 }));
  const docs = tokenizeDocs(
    Array.from({ length: 50 }, () => text),
    tok,
  );
  const ws = tok.wordStartTable();
  const b = new MlmBatcher(docs, new Rng(5), {
    batchSize: 8,
    seqLen: 48,
    vocabSize: tok.vocabSize,
    wholeWord: true,
    wordStart: ws,
  });
  let words = 0;
  let chosen = 0;
  let multi = 0;
  for (let k = 0; k < 40; k++) {
    const { tokens, targets, T, B } = b.next();
    for (let r = 0; r < B; r++) {
      let wordSel: boolean | null = null;
      for (let t = 0; t < T; t++) {
        const i = r * T + t;
        const orig = targets[i]! >= 0 ? targets[i]! : tokens[i]!;
        if (orig < 5) {
          wordSel = null;
          continue;
        }
        const starts =
          ws[orig] === 1 ||
          t === 0 ||
          (targets[i - 1]! >= 0 ? targets[i - 1]! : tokens[i - 1]!) < 5 ||
          wordSel === null;
        const sel = targets[i]! >= 0;
        if (starts) {
          words++;
          if (sel) chosen++;
          wordSel = sel;
        } else {
          assert.equal(sel, wordSel, 'a word was partly masked');
          if (sel) multi++;
        }
      }
    }
  }
  assert.ok(multi > 0, 'the text has multi-token words that got masked');
  assert.ok(Math.abs(chosen / words - 0.15) < 0.03, `word selection rate ${chosen / words}`);
  assert.throws(
    () =>
      new MlmBatcher(docs, new Rng(1), {
        batchSize: 1,
        seqLen: 8,
        vocabSize: tok.vocabSize,
        wholeWord: true,
      }),
    InputError,
  );
});

test('causal: targets are tokens shifted by one within T+1 windows of the packed stream', () => {
  const data = randomDocs(6, 30, 40);
  const stream = packStream(data);
  assert.equal(
    stream.filter((x) => x === 2).length,
    Array.from({ length: 30 }, (_, d) => data.offsets[d + 1]! > data.offsets[d]!).filter(Boolean).length,
  );
  const T = 16;
  const b = new CausalBatcher(data, new Rng(7), { batchSize: 4, seqLen: T });
  const nWin = Math.floor((stream.length - 1) / T);
  assert.equal(b.windows, nWin);
  const starts = new Set<number>();
  for (let k = 0; k < Math.ceil(nWin / 4); k++) {
    const { tokens, targets, B, keyMask } = b.next();
    assert.equal(keyMask, null);
    for (let r = 0; r < B; r++) {
      for (let t = 0; t + 1 < T; t++) assert.equal(targets[r * T + t], tokens[r * T + t + 1]);
      const row = tokens.subarray(r * T, (r + 1) * T);
      const w = [...Array(nWin).keys()].find((x) => row.every((v, i) => stream[x * T + i] === v));
      assert.ok(w !== undefined);
      assert.equal(targets[r * T + T - 1], stream[w * T + T]);
      if (starts.size < nWin) starts.add(w);
    }
  }
  assert.equal(starts.size, nWin, 'one epoch covers every window');
  assert.throws(
    () => new CausalBatcher(randomDocs(1, 1, 3), new Rng(1), { batchSize: 1, seqLen: 64 }),
    InputError,
  );
});

function randomPairs(seed: number, n: number): PairIds[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    src: Int32Array.from({ length: 1 + rng.int(rng.uniform() < 0.05 ? 200 : 40) }, (_, k) =>
      k === 0 ? 5 + i : 5 + rng.int(V),
    ),
    tgt: Int32Array.from({ length: 1 + rng.int(rng.uniform() < 0.05 ? 200 : 40) }, () => 5 + rng.int(V)),
  }));
}

test('seq2seq: token budget respected, rows well formed, every pair exactly once per epoch', () => {
  const pairs = randomPairs(8, 500);
  const opts = { maxTokens: 400, maxSrcLen: 64, maxTgtLen: 48 };
  const b = new Seq2SeqBatcher(pairs, new Rng(9), opts);
  for (let epoch = 0; epoch < 2; epoch++) {
    const seen = new Map<number, number>();
    const nb = b.batchesThisEpoch;
    let real = 0;
    let cells = 0;
    for (let k = 0; k < nb; k++) {
      const { B, Ts, Tt, src, srcMask, tgtIn, tgtOut } = b.next();
      assert.ok(B * Ts <= opts.maxTokens && B * Tt <= opts.maxTokens, `batch ${B}x(${Ts},${Tt}) over budget`);
      assert.ok(Ts <= opts.maxSrcLen && Tt <= opts.maxTgtLen);
      for (let r = 0; r < B; r++) {
        const i = src[r * Ts + 1]! - 5;
        seen.set(i, (seen.get(i) ?? 0) + 1);
        const p = pairs[i]!;
        const ns = Math.min(p.src.length, opts.maxSrcLen - 2);
        const nt = Math.min(p.tgt.length, opts.maxTgtLen - 1);
        assert.deepEqual(Array.from(src.subarray(r * Ts, r * Ts + ns + 2)), [
          1,
          ...Array.from(p.src).slice(0, ns),
          2,
        ]);
        assert.ok(src.subarray(r * Ts + ns + 2, (r + 1) * Ts).every((x) => x === 0));
        assert.deepEqual(
          Array.from(srcMask.subarray(r * Ts, (r + 1) * Ts)),
          Array.from({ length: Ts }, (_, t) => (t < ns + 2 ? 1 : 0)),
        );
        const y = Array.from(p.tgt).slice(0, nt);
        assert.deepEqual(Array.from(tgtIn.subarray(r * Tt, (r + 1) * Tt)), [
          1,
          ...y,
          ...Array(Tt - nt - 1).fill(0),
        ]);
        assert.deepEqual(Array.from(tgtOut.subarray(r * Tt, (r + 1) * Tt)), [
          ...y,
          2,
          ...Array(Tt - nt - 1).fill(-1),
        ]);
        real += ns + 2;
      }
      cells += B * Ts;
    }
    assert.equal(seen.size, pairs.length, `epoch ${epoch}: some pair was lost`);
    assert.ok(
      [...seen.values()].every((c) => c === 1),
      `epoch ${epoch}: a pair was served twice`,
    );
    assert.ok(
      real / cells > 0.85,
      `length bucketing should keep src padding low, real share ${real / cells}`,
    );
  }
  assert.equal(b.epoch, 1);
  assert.throws(
    () => new Seq2SeqBatcher(pairs, new Rng(1), { maxTokens: 32, maxSrcLen: 64, maxTgtLen: 48 }),
    InputError,
  );
});

test('classification: <s> x </s> rows padded to the longest, labels, last batch smaller', () => {
  const rng = new Rng(10);
  const examples: LabelledIds[] = Array.from({ length: 23 }, (_, i) => ({
    // first id names the example; example 0 is longer than maxLen
    ids: Int32Array.from({ length: i === 0 ? 300 : 1 + rng.int(20) }, (_, k) =>
      k === 0 ? 5 + i : 5 + rng.int(V),
    ),
    label: i % 3,
  }));
  const maxLen = 32;
  const b = new ClassBatcher(examples, new Rng(11), { batchSize: 5, maxLen });
  const sizes: number[] = [];
  const labels: number[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < 5; k++) {
    const { B, T, tokens, keyMask, labels: lab } = b.next();
    sizes.push(B);
    const lens: number[] = [];
    for (let r = 0; r < B; r++) {
      const row = Array.from(tokens.subarray(r * T, (r + 1) * T));
      const i = row[1]! - 5;
      const ex = examples[i]!;
      seen.add(i);
      const n = Math.min(ex.ids.length, maxLen - 2);
      lens.push(n + 2);
      assert.deepEqual(row, [1, ...Array.from(ex.ids).slice(0, n), 2, ...Array(T - n - 2).fill(0)]);
      assert.deepEqual(
        Array.from(keyMask.subarray(r * T, (r + 1) * T)),
        row.map((_, t) => (t < n + 2 ? 1 : 0)),
      );
      assert.equal(lab[r], ex.label);
      labels.push(lab[r]!);
    }
    assert.equal(T, Math.max(...lens), 'padded to the longest row in the batch');
  }
  assert.deepEqual(sizes, [5, 5, 5, 5, 3]);
  assert.equal(seen.size, 23, 'every example once per epoch');
  assert.equal(labels.filter((l) => l === 0).length, 8);
  assert.equal(b.next().B, 5, 'the next epoch starts');
  const drop = new ClassBatcher(examples, new Rng(11), { batchSize: 5, maxLen: 32, dropLast: true });
  assert.deepEqual(
    Array.from({ length: 6 }, () => drop.next().B),
    [5, 5, 5, 5, 5, 5],
  );
});

/** Draw k, save, draw m; a fresh batcher (other seed) restored to the saved state draws the same m. */
function checkResume<B, S>(make: (seed: number) => Batcher<B, S>, k: number, m: number): void {
  const a = make(100);
  for (let i = 0; i < k; i++) a.next();
  const saved = JSON.parse(JSON.stringify(a.state())) as S;
  const expected = Array.from({ length: m }, () => a.next());
  const b = make(999);
  const differs = JSON.stringify(b.next()) !== JSON.stringify(make(100).next());
  assert.ok(differs, 'different seeds should give different batches (else the test proves nothing)');
  b.restore(saved);
  const got = Array.from({ length: m }, () => b.next());
  assert.deepEqual(got, expected);
}

test('every batcher resumes exactly from a saved state, across epoch boundaries', () => {
  const docs = randomDocs(12, 60, 80);
  const pairs = randomPairs(13, 120);
  const examples: LabelledIds[] = pairs.map((p, i) => ({ ids: p.src, label: i % 4 }));
  checkResume((s) => new MlmBatcher(docs, new Rng(s), { batchSize: 8, seqLen: 40, vocabSize: V }), 9, 12);
  checkResume(
    (s) =>
      new MlmBatcher(docs, new Rng(s), {
        batchSize: 8,
        seqLen: 40,
        vocabSize: V,
        wholeWord: true,
        wordStart: new Uint8Array(V).fill(1, 500),
      }),
    5,
    8,
  );
  checkResume((s) => new CausalBatcher(docs, new Rng(s), { batchSize: 8, seqLen: 40 }), 11, 12);
  checkResume(
    (s) => new Seq2SeqBatcher(pairs, new Rng(s), { maxTokens: 300, maxSrcLen: 64, maxTgtLen: 64 }),
    30,
    40,
  );
  checkResume((s) => new ClassBatcher(examples, new Rng(s), { batchSize: 16, maxLen: 40 }), 7, 12);
});

test('restoring a state from another batcher or other data is an InputError', () => {
  const docs = randomDocs(12, 60, 80);
  const mlm = new MlmBatcher(docs, new Rng(1), { batchSize: 8, seqLen: 40, vocabSize: V });
  const causal = new CausalBatcher(docs, new Rng(1), { batchSize: 8, seqLen: 40 });
  assert.throws(() => mlm.restore(causal.state() as never), InputError);
  const other = new CausalBatcher(randomDocs(1, 10, 80), new Rng(1), { batchSize: 8, seqLen: 40 });
  assert.throws(() => causal.restore(other.state()), InputError);
  assert.throws(() => causal.restore({ ...causal.state(), epoch: -1 }), InputError);
});
