// The translation recipe of `tlc study --task mt`, piece by piece: its training config is valid
// for `tlc train` and sets label smoothing 0.1, the inverse-sqrt schedule, token-count batches and
// dropout; the data pipeline trains ONE BPE vocabulary on source and target text together (a word
// seen only in targets, and one seen only in sources, both get merges) and round-trips French;
// the inverse-sqrt schedule does not depend on the budget; token batches respect their budget
// and bucket by length.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { Seq2SeqBatcher } from '../../src/data/batch/index.ts';
import { Tokenizer } from '../../src/data/tokenizer/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { mtTrainingConfig } from '../../src/study/mt/plan.ts';
import { MT_PRESETS } from '../../src/study/mt/presets.ts';
import { trainConfigSchema } from '../../src/train/config.ts';
import { prepareTrainData } from '../../src/train/data.ts';
import { learningRate } from '../../src/train/schedule.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-mt-recipe-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the translation recipe', () => {
  test('the study’s training config parses and sets the recipe', () => {
    const p = MT_PRESETS.default;
    const raw = mtTrainingConfig(
      { preset: p, data: 'mt-en-fr', outDir: tmp, budgetS: p.budgetS, backend: 'native', precision: 'fp32' },
      { d_model: 256, n_layers: 2 },
      1,
    );
    const c = trainConfigSchema.parse(raw);
    assert.equal(c.model.family, 'encdec');
    assert.equal(c.model.n_layers, 2);
    assert.equal(c.model.n_dec_layers, 2);
    assert.equal(c.model.dropout, p.recipe.dropout);
    assert.equal(c.optim.label_smoothing, 0.1);
    assert.equal(c.optim.schedule, 'inverse_sqrt');
    assert.equal(c.optim.beta2, 0.98);
    assert.equal(c.data.max_tokens, p.data.max_tokens);
    assert.equal(c.checkpoint.snapshot_at_eval, true);
    // the transfer rule: d256 is twice the centre width → half the centre's rate
    assert.equal(c.optim.lr, +(p.recipe.lr / 2).toPrecision(3));
  });

  test('inverse-sqrt: linear warm-up, then lr·sqrt(warmup/step), the same at any budget progress', () => {
    const s = { lr: 1e-3, warmupSteps: 100, schedule: 'inverse_sqrt' as const, minLrRatio: 0 };
    assert.equal(learningRate(s, 50, 0.1), 5e-4);
    assert.equal(learningRate(s, 100, 0.1), 1e-3);
    assert.ok(Math.abs(learningRate(s, 400, 0.2) - 5e-4) < 1e-15);
    for (const step of [150, 1000, 5000])
      assert.equal(learningRate(s, step, 0.05), learningRate(s, step, 0.95));
  });

  test('token-count batches: B·T within the budget on both sides, pairs bucketed by length', () => {
    const rng = new Rng(3);
    const pairs = Array.from({ length: 500 }, () => {
      const n = 1 + rng.int(30);
      return {
        src: Int32Array.from({ length: n }, () => 10 + rng.int(50)),
        tgt: Int32Array.from({ length: n + rng.int(5) }, () => 10 + rng.int(50)),
      };
    });
    const b = new Seq2SeqBatcher(pairs, new Rng(1), { maxTokens: 256, maxSrcLen: 40, maxTgtLen: 40 });
    let spread = 0;
    for (let i = 0; i < b.batchesThisEpoch; i++) {
      const x = b.next();
      assert.ok(x.B * x.Ts <= 256 && x.B * x.Tt <= 256);
      const lens = Array.from({ length: x.B }, (_, r) =>
        x.srcMask.subarray(r * x.Ts, (r + 1) * x.Ts).reduce((a, v) => a + v, 0),
      );
      spread = Math.max(spread, Math.max(...lens) - Math.min(...lens));
    }
    assert.ok(spread <= 2, `source lengths within a batch differ by ${spread}`);
  });

  test('one BPE vocabulary for source and target: words seen on either side only get merges; French round-trips', () => {
    const rows = ['src\ttgt'];
    for (let i = 0; i < 300; i++)
      rows.push(
        `zebrafrobnicator number ${i} is ready\tle château de l’œuvre numéro ${i} est prêt à côté de Noël`,
      );
    const file = path.join(tmp, 'pairs.tsv');
    fs.writeFileSync(file, `${rows.join('\n')}\n`);
    const cfg = trainConfigSchema.parse({
      model: { family: 'encdec', d_model: 32, n_layers: 1, n_heads: 1 },
      data: { name: file, vocab_size: 400, seq_len: 48, max_tokens: 512 },
      budget: { steps: 1 },
    });
    const data = prepareTrainData(cfg, { task: 'seq2seq', root: path.join(tmp, 'cache') });
    const tok = Tokenizer.load(data.tokenizerFile);
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    for (const w of [' château', ' l’œuvre', ' zebrafrobnicator'])
      assert.ok(tok.encode(w).length < bytes(w) / 2, w);
    for (const s of [
      '« Où est-ce qu’il a mis l’été ? »',
      "Où est-ce qu'il a mis l'été ?",
      'Ça, œuf, Élève\u00a0!',
    ])
      assert.equal(tok.decode(tok.encode(s)), s);
  });
});
