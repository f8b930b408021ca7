// The study's protocol in words: every choice that shapes its numbers, written once here and
// quoted by every report (results.json "protocol"). docs/study.md explains the same rules.
import { ADAMW_DEFAULTS } from '../engine/optim.ts';
import { TIE_SE } from '../eval/paired.ts';
import { GRID_PROTOCOL } from './compress-grid.ts';
import { LATENCY_PROTOCOL } from './latency.ts';
import type { StudyPreset } from './presets.ts';

export interface ProtocolInputs {
  preset: StudyPreset;
  budgetS: number;
  annealAt: number[];
  threads: number;
  precision: 'fp32' | 'bf16';
  precisionWhy: string;
  evalTokens: number;
  evalWindows: number;
  sources: string[];
}

export function studyProtocol(o: ProtocolInputs): Record<string, string> {
  const p = o.preset;
  const r = p.recipe;
  return {
    model:
      'RoBERTa-style pre-LN encoder, MLM (15% of tokens; 80/10/10), tied output embedding, logits only at masked positions',
    budget: `${o.budgetS} s of training wall-clock per size and seed (evaluation and checkpointing excluded), on ${o.threads} threads, ${o.precision === 'bf16' ? 'bf16 mixed precision (bf16 GEMMs in the linear layers, fp32 weights, optimizer and norms)' : 'fp32'} (${o.precisionWhy})`,
    sizes: `depth sweep ${p.depths.join('/')} layers at d${p.centre.d_model}; width sweep ${p.widths.join('/')} at ${p.centre.n_layers} layers; heads of size 32; FFN 4·d`,
    optimizer: `AdamW (${ADAMW_DEFAULTS.beta1}, ${ADAMW_DEFAULTS.beta2}, eps ${ADAMW_DEFAULTS.eps.toExponential()}, wd ${ADAMW_DEFAULTS.weightDecay}), clip 1.0, batch ${p.data.batch_size}×${p.data.seq_len}; peak LR ${r.lr} at the centre size, × (d${p.centre.d_model}/d)^${r.widthExp} × (L${p.centre.n_layers}/L)^${r.depthExp}; residual-branch output init ${r.resid_init}; ${r.warmupSteps} warm-up steps (docs/recipe.md: how the rule was chosen)`,
    schedule: `warmup–stable–decay: constant after warm-up, linear to 0 over the last ${Math.round(100 * r.decayFraction)}% of the budget. Intermediate budgets ${o.annealAt.join(', ')} s are annealed by cool-down branches (the run's state at ${Math.round(100 * (1 - r.decayFraction))}% of that budget, decayed to 0 by it); the frontier, the compute-optimal size and the loss-law fit use annealed points only. The un-annealed curves between them are drawn dashed and marked as such.`,
    evaluation: `validation perplexity on ${o.evalWindows} fixed windows (${o.evalTokens} predicted tokens) spread over the whole validation split: stratified by source (${o.sources.join(', ')}; proportional, at least 16 windows each) and strided within each source, masks fixed by seed; the same windows for every size, seed, checkpoint and compressed model; every ${p.evalEveryS} s of training (at the end of the step that reaches each time); un-annealed curves at a grid time interpolated linearly between the evaluations around it`,
    baseline:
      'unigram perplexity of the same targets under add-one-smoothed training-split counts; a model within 5% of it is marked "near the unigram baseline" and makes claim 2 inconclusive',
    noise: `every comparison is paired over the shared windows: the difference of mean losses with a cluster standard error over windows; with several seeds, seeds are averaged first and the standard error of the per-seed means is added in quadrature (no best-of-many selection). A difference within ${TIE_SE} standard errors is a tie. Differences are reported in nats per token × 100 (≈ % in perplexity).`,
    verdicts:
      'claim 1: the largest size of each sweep against every smaller one at the full budget (annealed); claim 1a: adjacent sizes at equal training tokens in their constant-rate phase; claim 2: the loss increase under compression, (a) same training time, smallest vs largest of each sweep, (b) a larger model’s snapshot matched to a smaller model’s final dense quality (closest, within its standard error), or, when none matches (the smaller model is the better one), the smaller model’s snapshot matched to the larger model’s final quality, each family (quantization, pruning) one piece of evidence, "inconclusive" when (a) and (b) disagree, when (b) could not be formed, or when a model is near the unigram baseline; claim 3: each lightly compressed smaller point (dense, 8-bit; or ≤ 30% pruned) against each larger size’s least compressed setting that fits in its bytes (or non-zeros), chosen by that rule, never by quality; at equal latency, each lightly compressed smaller point (dense, 8-bit or ≤ 30% pruned) against each larger size’s slowest quantization or pruning setting whose measured latency at batch 1 (seeds averaged) is not above it. A verdict needs a two-to-one majority of decided comparisons.',
    matched: `quality-matched compression uses int${p.matched.quant} round-to-nearest and ${Math.round(100 * p.matched.prune)}% global magnitude pruning`,
    ...GRID_PROTOCOL,
    latency: LATENCY_PROTOCOL,
    seeds: `${p.seeds.length} (${p.seeds.join(', ')})`,
    scaling:
      'L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022) fitted to the annealed points (N non-embedding parameters, D training tokens; Huber loss on log loss, δ 1e-3, Nelder–Mead from a grid of starts); tokens/s = k·N^−γ fitted to the measured throughputs; N_opt(t) minimises L(N, t·k·N^−γ); 95% intervals from 200 bootstrap resamples of the runs',
  };
}
