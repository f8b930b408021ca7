// Greedy decoding of the encoder-decoder model, checked against the teacher-forced forward: fed
// its own output in one pass, the model's most likely token at every position must be the token
// greedy decoding chose there (and the end token where it stopped).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { seq2seqBatch, tinyConfig } from './fixtures.ts';

const BOS = 1;

function argmaxRows(logits: Float64Array, n: number, V: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < n; j++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[j * V + v]! > logits[j * V + best]!) best = v;
    out.push(best);
  }
  return out;
}

/** One teacher-forced pass over [bos, y...]: the argmax at each position. */
function teacherForcedArgmax(
  m: Transformer<Float64Array>,
  src: Int32Array,
  srcMask: Uint8Array,
  Ts: number,
  y: Int32Array,
  positions: number,
): number[] {
  const T = positions;
  const tgtIn = new Int32Array(T);
  tgtIn[0] = BOS;
  for (let k = 1; k < T; k++) tgtIn[k] = y[k - 1]!;
  const tgtOut = new Int32Array(T).fill(0);
  const tape = m.forwardSeq2Seq(
    { B: 1, Ts, Tt: T, src, srcMask, tgtIn, tgtOut },
    { train: false, grad: false },
  );
  return argmaxRows(tape.head.logits, T, m.cfg.vocab);
}

test('greedy decoding equals the teacher-forced argmax at every position', () => {
  const cfg = tinyConfig('encdec', { n_dec_layers: 2, max_len: 9 });
  const m = new Transformer(createTsBackend('f64'), cfg, 11);
  const B = 3;
  const Ts = 6;
  const b = seq2seqBatch(cfg.vocab, B, Ts, 4, 5); // the last row's last source position is padding
  const maxLen = 7;
  // first without an end token, so every row runs to maxLen
  const free = m.greedyDecode(b.src, b.srcMask, B, Ts, maxLen, BOS, -1);
  assert.equal(free.length, B);
  for (let r = 0; r < B; r++) {
    const y = free[r]!;
    assert.equal(y.length, maxLen);
    const src = b.src.subarray(r * Ts, (r + 1) * Ts);
    const mask = b.srcMask.subarray(r * Ts, (r + 1) * Ts);
    assert.deepEqual(teacherForcedArgmax(m, src, mask, Ts, y, maxLen), Array.from(y), `row ${r}`);
  }
  // rows decode independently: the batch gives what each row alone gives
  const alone = m.greedyDecode(b.src.subarray(2 * Ts), b.srcMask.subarray(2 * Ts), 1, Ts, maxLen, BOS, -1);
  assert.deepEqual(Array.from(alone[0]!), Array.from(free[2]!));

  // now let the token row 0 chose third be the end token: row 0 stops after its first two tokens
  // (when the end token did not occur earlier), and the others stop where it first appears
  const eos = free[0]![2]!;
  const stopped = m.greedyDecode(b.src, b.srcMask, B, Ts, maxLen, BOS, eos);
  for (let r = 0; r < B; r++) {
    const first = free[r]!.indexOf(eos);
    const want = first < 0 ? free[r]! : free[r]!.subarray(0, first);
    assert.deepEqual(Array.from(stopped[r]!), Array.from(want), `row ${r} with end token ${eos}`);
  }
  assert.ok(stopped[0]!.length <= 2);
  // max_len caps the length
  assert.equal(m.greedyDecode(b.src, b.srcMask, B, Ts, 50, BOS, -1)[1]!.length, cfg.max_len);
});

test('greedy decoding refuses non-encdec models and bad inputs', () => {
  const dec = new Transformer(createTsBackend('f64'), tinyConfig('decoder'), 1);
  assert.throws(
    () => dec.greedyDecode(new Int32Array(4), new Uint8Array(4), 1, 4, 3, BOS, 2),
    /needs an encdec model, this is decoder/,
  );
  const cfg = tinyConfig('encdec', { n_dec_layers: 1 });
  const m = new Transformer(createTsBackend('f64'), cfg, 2);
  assert.throws(
    () => m.greedyDecode(new Int32Array([1, 99, 2]), new Uint8Array(3).fill(1), 1, 3, 3, BOS, 2),
    /token id 99 at position 1 is outside the vocabulary/,
  );
  assert.throws(
    () => m.greedyDecode(new Int32Array([1, 5, 2]), new Uint8Array(2), 1, 3, 3, BOS, 2),
    /source mask: expected 3 entries/,
  );
});
