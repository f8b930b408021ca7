// The CLI's compute-optimal line: the winner's perplexity with the evaluation tokens behind it,
// the unigram baseline, and "near the unigram baseline" when the winner is within 5% of it; and
// the training precision that --precision auto picks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePrecision, computeOptimalLine } from '../../src/cli/study-run.ts';
import { fixture } from '../report/fixture.ts';

test('the compute-optimal line gives the evaluation tokens and marks a winner near the unigram baseline', () => {
  const r = fixture();
  const co = r.frontier.compute_optimal;
  const line = computeOptimalLine(r);
  assert.ok(
    line.startsWith(
      `compute-optimal size at ${r.budget_s} s: ${co.size_id} (perplexity ${co.ppl.toFixed(2)} on ${r.data.eval.tokens} evaluation tokens; unigram baseline ${r.data.unigram_ppl.toFixed(1)})`,
    ),
    line,
  );
  co.ppl = 0.97 * r.data.unigram_ppl;
  assert.match(computeOptimalLine(r), /; unigram baseline [\d.]+; near the unigram baseline\)/);
  co.ppl = 0.9 * r.data.unigram_ppl;
  assert.doesNotMatch(computeOptimalLine(r), /near the unigram/);
});

test('--precision auto: bf16 exactly where oneDNN multiplies bf16 natively, fp32 elsewhere, with the reason', async () => {
  const { hasNativeBf16 } = await import('../../src/engine/native-backend.ts');
  const auto = await choosePrecision('auto', 'native');
  assert.equal(auto.precision, hasNativeBf16() ? 'bf16' : 'fp32');
  assert.match(
    auto.why,
    hasNativeBf16() ? /multiplies bf16 natively.*docs\/recipe\.md/ : /no native bf16 matmul/,
  );
  assert.deepEqual(await choosePrecision('auto', 'ts'), {
    precision: 'fp32',
    why: 'auto: the ts backend computes in fp32',
  });
  for (const p of ['fp32', 'bf16'] as const)
    assert.deepEqual(await choosePrecision(p, 'native'), { precision: p, why: `--precision ${p}` });
});
