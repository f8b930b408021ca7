// The translation study's protocol in words (results.json "protocol"; docs/study.md, section
// "Translation study", explains the same rules).
import { BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED } from '../../eval/bleu-bootstrap.ts';
import { GRID_PROTOCOL } from '../compress-grid.ts';
import type { MtPreset } from './presets.ts';

export function mtProtocol(o: {
  preset: MtPreset;
  budgetS: number;
  threads: number;
  precision: 'fp32' | 'bf16';
  precisionWhy: string;
  sample: string;
  bleuTimes: number[];
}): Record<string, string> {
  const p = o.preset;
  const r = p.recipe;
  return {
    model:
      'pre-LN Transformer encoder-decoder, encoder and decoder of the same depth, tied input/output embeddings shared by source and target, heads of size 32, FFN 4·d',
    budget: `${o.budgetS} s of training wall-clock per size (evaluation, decoding and checkpointing excluded), on ${o.threads} threads, ${o.precision} (${o.precisionWhy})`,
    sizes: `depth sweep ${p.depths.join('/')} encoder and decoder layers at d${p.centre.d_model}; width sweep ${p.widths.join('/')} at ${p.centre.n_layers}+${p.centre.n_layers} layers`,
    recipe: `one byte-level BPE vocabulary of ${p.data.vocab_size} tokens trained on source and target text together; batches of at most ${p.data.max_tokens} tokens per side (padding included), pairs bucketed by length; sentences cut to ${p.data.seq_len} tokens; AdamW (0.9, 0.98, eps 1e-6, weight decay ${r.weightDecay}), clip 1.0; label smoothing ${r.labelSmoothing}; dropout ${r.dropout}; peak LR ${r.lr} at the centre size × (d${p.centre.d_model}/d)^${r.widthExp} × (L${p.centre.n_layers}/L)^${r.depthExp}`,
    schedule: `linear warm-up over ${r.warmupSteps} steps, then inverse square root (lr·sqrt(warmup/step)). It does not depend on the budget, so the model at grid time t is the one a t-second run makes: no cool-down branches`,
    loss: `validation cross-entropy per target token without label smoothing on the first ${p.data.valid_batches} validation batches (sorted by length: the shorter sentences), every ${p.evalEveryS} s of training`,
    bleu_sample: o.sample,
    bleu: `sacreBLEU-compatible corpus BLEU (13a tokenizer, exp smoothing) and chrF2 of the detokenized outputs against the raw reference text; greedy decoding (key/value cache, batches of 64 sentences grouped by length) of the weights saved at the evaluation nearest to each of ${o.bleuTimes.join(', ')} s; the final model also by beam search (beam ${p.beam}, length penalty ${p.lenPenalty}); at most min(max_len, 2·source + 10) output tokens`,
    noise: `every BLEU comparison is a paired bootstrap over the sample's sentences: ${BOOTSTRAP_RESAMPLES} resamples (seed ${BOOTSTRAP_SEED}, the same draws for both systems), corpus BLEU recomputed from the resampled sentences' summed n-gram statistics; the difference and its 95% percentile interval are reported; an interval that holds 0 is inside the noise (a tie)`,
    verdicts:
      'claim 1: the largest size of each sweep against every smaller one at the budget (beam); width-depth: the widened model (largest of the width sweep) against the deepened one (largest of the depth sweep) at the budget (beam), each also against the centre size; inconclusive when neither beats the centre (neither direction helped) or inside the noise; claim 2: the BLEU drop (dense − compressed, greedy, averaged over each family’s settings) of the smallest against the largest size of each sweep, a win of the larger model not counted when its dense BLEU is no more than the smaller model’s drop (the floor); claim 3: each lightly compressed smaller point (dense or 8-bit; dense for pruning) against each larger size’s least compressed setting that fits in its bytes (or non-zeros), chosen by that rule, never by quality. A verdict needs a two-to-one majority of decided comparisons (claim 1: every sweep’s largest ahead of all smaller sizes, none behind)',
    quantization: GRID_PROTOCOL.quantization,
    pruning: GRID_PROTOCOL.pruning,
    bytes: GRID_PROTOCOL.bytes,
    compression_grid: `int${p.quantBits.join('/int')} round-to-nearest; ${p.sparsities.map((s) => `${Math.round(100 * s)}%`).join('/')} one-shot magnitude pruning; every compressed model decoded greedily on the BLEU sample`,
    seeds: `${p.seeds.length} (${p.seeds.join(', ')})`,
  };
}
