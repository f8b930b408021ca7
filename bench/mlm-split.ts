// `npm run bench -- mlm-split RUN [RUN ...]`: a trained MLM run's validation loss split by what the
// model saw at each scored position: <mask> (80% of the selected tokens), the token itself kept
// unchanged (10%) or a random token (10%). Separates "learned to copy a visible token" (the kept
// positions' loss falls to ~log 2 early in every run) from predicting hidden tokens, which is what
// the size comparisons of a study are about (docs/recipe.md). Prints JSON: per run and kind, the
// positions and the perplexity; and the whole windows' perplexity, as the study reports it.
import { MASK_ID } from '../src/data/tokenizer/index.ts';
import { createBackend } from '../src/engine/select.ts';
import { transformerScorer } from '../src/eval/metrics.ts';
import { loadTrainedRun } from '../src/train/load.ts';

type Kind = 'mask' | 'kept' | 'random';

const runs = process.argv.slice(2);
if (runs.length === 0) {
  process.stderr.write('usage: npm run bench -- mlm-split RUN_DIR [RUN_DIR ...]\n');
  process.exit(2);
}
const be = createBackend('native');
const out = runs.map((dir) => {
  const run = loadTrainedRun(dir, be, () => {});
  const scorer = transformerScorer(run.model);
  const acc: Record<Kind, { nll: number; n: number }> = {
    mask: { nll: 0, n: 0 },
    kept: { nll: 0, n: 0 },
    random: { nll: 0, n: 0 },
  };
  for (const x of run.data.valid) {
    if (x.kind !== 'lm') throw new Error(`${dir}: not an MLM/LM run`);
    const s = scorer.score(x);
    for (let i = 0; i < s.idx.length; i++) {
      const tg = s.targets[i]!;
      if (tg < 0) continue;
      const seen = x.b.tokens[s.idx[i]!]!;
      const kind: Kind = seen === MASK_ID ? 'mask' : seen === tg ? 'kept' : 'random';
      const o = i * s.V;
      let m = -Infinity;
      for (let v = 0; v < s.V; v++) m = Math.max(m, s.logits[o + v]!);
      let z = 0;
      for (let v = 0; v < s.V; v++) z += Math.exp(s.logits[o + v]! - m);
      acc[kind].nll += m + Math.log(z) - s.logits[o + tg]!;
      acc[kind].n++;
    }
  }
  const all = Object.values(acc).reduce((a, b) => ({ nll: a.nll + b.nll, n: a.n + b.n }));
  const ppl = (a: { nll: number; n: number }) => Math.exp(a.nll / a.n);
  return {
    run: dir,
    step: run.step,
    kinds: Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, { positions: a.n, ppl: ppl(a) }])),
    all: { positions: all.n, ppl: ppl(all) },
  };
});
process.stdout.write(`${JSON.stringify({ bench: 'mlm-split', runs: out }, null, 1)}\n`);
