// Fill-mask without a trained model: a fake MLM whose logits at each scored position prefer a known
// token shows that texts are encoded as "<s> text </s>" with the mask token (the space before a
// marker going with the masked word), padded into batches with a key mask, and that each <mask>
// gets its own row's top-k, ranked, never a special token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BOS_ID,
  EOS_ID,
  MASK_ID,
  N_SPECIAL,
  PAD_ID,
  Tokenizer,
  trainBpe,
} from '../../src/data/tokenizer/index.ts';
import { InputError } from '../../src/engine/errors.ts';
import { encodeMasked, fillMask, type MlmModel } from '../../src/infer/fill-mask.ts';
import type { LmBatch } from '../../src/model/batch.ts';
import { resolveModelConfig } from '../../src/model/config.ts';
import type { HeadTape } from '../../src/model/heads.ts';

const tok = new Tokenizer(
  trainBpe(['the cat sat on the mat', 'a dog ran'], { vocabSize: 300, minFrequency: 1 }),
);
const V = tok.vocabSize;
const cfg = resolveModelConfig({
  family: 'encoder',
  vocab: V,
  d_model: 8,
  n_layers: 1,
  n_heads: 1,
  d_ff: 16,
  max_len: 16,
});

/** Each scored position (b, t) prefers token 100 + 7b + t, then 200 + t; specials score highest of all. */
function fake(seen: LmBatch[]): MlmModel {
  return {
    cfg,
    forwardLm(b) {
      seen.push(b);
      const idx: number[] = [];
      b.targets.forEach((y, i) => {
        if (y !== -1) idx.push(i);
      });
      const logits = new Float32Array(idx.length * V);
      idx.forEach((p, j) => {
        const [r, t] = [Math.floor(p / b.T), p % b.T];
        for (let v = 0; v < N_SPECIAL; v++) logits[j * V + v] = 50;
        logits[j * V + 100 + 7 * r + t] = 10;
        logits[j * V + 200 + t] = 9;
      });
      return { idx: Int32Array.from(idx), logits, V } as unknown as HeadTape<Float32Array>;
    },
  };
}

test('encodeMasked: <s> text </s>, the mask token, the space before a marker dropped; errors say what to do', () => {
  const ids = [...encodeMasked(tok, 'the <mask> sat', 16, 'x')];
  assert.deepEqual(ids, [BOS_ID, ...tok.encode('the'), MASK_ID, ...tok.encode(' sat'), EOS_ID]);
  assert.throws(
    () => encodeMasked(tok, 'no marker', 16, 'line 3'),
    (e: unknown) => e instanceof InputError && /line 3: expected at least one <mask>/.test(e.message),
  );
  assert.throws(() => encodeMasked(tok, `${'cat '.repeat(20)}<mask>`, 16, 'x'), /max_len is 16/);
});

test('batches are padded with a key mask; each <mask> gets its own row of logits, top-k ranked, no specials', () => {
  const seen: LmBatch[] = [];
  const texts = ['the <mask> sat', 'a <mask> ran on the <mask>', 'the cat <mask>'];
  const out = fillMask(fake(seen), tok, texts, { topK: 2, batch: 2 });
  assert.equal(seen.length, 2, 'two batches of at most 2 texts');
  const b0 = seen[0]!;
  const rows = texts.slice(0, 2).map((t) => encodeMasked(tok, t, 16, 'x'));
  assert.equal(b0.T, Math.max(rows[0]!.length, rows[1]!.length));
  const short = rows[0]!.length < rows[1]!.length ? 0 : 1;
  assert.equal(b0.tokens[short * b0.T + b0.T - 1], PAD_ID);
  assert.equal(b0.keyMask![short * b0.T + b0.T - 1], 0);
  assert.equal(b0.keyMask![short * b0.T], 1);
  out.forEach((r, i) => {
    const b = Math.floor(i / 2);
    const row = i % 2;
    const enc = [...encodeMasked(tok, texts[i]!, 16, 'x')];
    const at = enc.flatMap((id, t) => (id === MASK_ID ? [t] : []));
    assert.equal(r.masks.length, at.length);
    at.forEach((t, k) => {
      const [c1, c2] = r.masks[k]!;
      assert.equal(c1!.id, 100 + 7 * row + t, `text ${i} mask ${k}: its own position's logits (batch ${b})`);
      assert.equal(c2!.id, 200 + t);
      assert.ok(c1!.prob > c2!.prob && c1!.prob < 1);
      assert.equal(c1!.token, tok.decode([c1!.id]));
    });
    assert.equal(
      r.filled,
      tok.decode(
        enc.map((id, t) => (id === MASK_ID ? 100 + 7 * row + t : id)),
        { skipSpecial: true },
      ),
    );
  });
  assert.ok(!out.some((r) => r.masks.flat().some((c) => c.id < N_SPECIAL || c.id === EOS_ID)));
});
