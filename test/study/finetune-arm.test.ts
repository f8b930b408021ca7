// The study's fine-tuning arm end to end on a two-size preset: both sizes pretrained (seq_len 64),
// fine-tuned on sentiment-en (real Pang & Lee sentences), compressed over the grid, scored on
// accuracy, with claim 3's accuracy row; and the check arm's size bracketing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { createBackend } from '../../src/engine/select.ts';
import { bracket } from '../../src/study/check.ts';
import { LocalExecutor } from '../../src/study/executor.ts';
import { PRESETS } from '../../src/study/presets.ts';
import { runStudy } from '../../src/study/run.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-study-ft-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('tlc study --finetune: every size fine-tuned, compressed and scored on accuracy, claim 3 on the task', async () => {
  const preset = {
    ...PRESETS.quick,
    centre: { d_model: 64, n_layers: 1 },
    depths: [1],
    widths: [64, 96],
    quantBits: [8, 4],
    sparsities: [0, 0.5],
  };
  const r = await runStudy({
    preset,
    data: 'prose-en',
    budgetS: 10,
    outDir: path.join(tmp, 'study'),
    backend: 'native',
    threads: 2,
    precision: 'fp32',
    precisionWhy: 'test',
    finetune: 'sentiment-en',
    be: createBackend('native', 2),
    fmaFlops: 1e11,
    executor: new LocalExecutor('quiet'),
    log: () => {},
  });
  assert.equal(r.sizes.length, 2);
  const ft = r.finetune!;
  assert.equal(ft.task, 'sentiment-en');
  assert.equal(ft.dense.length, 2);
  for (const d of ft.dense)
    assert.ok(d.accuracy > 0.5 && d.accuracy <= 1, `${d.size_id} accuracy ${d.accuracy}`);
  // dense + 2 bit widths + 1 sparsity per size, each with an accuracy
  assert.equal(ft.compression.length, 2 * 4);
  assert.ok(ft.compression.every((p) => typeof p.accuracy === 'number'));
  // every fine-tuned point timed on the compressed runtime (the classification forward)
  for (const p of ft.compression) {
    assert.ok(
      p.latency && p.latency.latency_ms_b1 > 0 && p.latency.tokens_per_s_b32 > 0,
      `${p.size_id} ${p.method}`,
    );
    assert.ok(p.latency.dense_latency_ms_b1 > 0);
  }
  const row = r.verdicts.find((v) => v.claim === '3-accuracy');
  assert.ok(row, 'claim 3 has its accuracy row');
  assert.ok(row.comparisons.length >= 1, row.evidence);
  assert.ok(row.comparisons.every((c) => Number.isFinite(c.diff) && c.se > 0));
});

test('the check arm brackets the predicted optimum with widths at the centre depth', () => {
  const sizes = bracket(2e6, 4, 4096, 128);
  assert.equal(sizes.length, 3);
  assert.ok(sizes.every((s) => s.n_layers === 4 && s.d_model % 32 === 0));
  assert.ok(sizes[0]!.d_model < sizes[1]!.d_model && sizes[1]!.d_model < sizes[2]!.d_model);
  // d at 12·L·d² ≈ 2e6 non-embedding parameters: about 200
  assert.ok(sizes[1]!.d_model >= 160 && sizes[1]!.d_model <= 224, `centre ${sizes[1]!.d_model}`);
});
