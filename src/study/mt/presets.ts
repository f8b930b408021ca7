// Presets of the translation arm (`tlc study --task mt`): encoder-decoder sizes (a depth sweep and a
// width sweep through a centre size; encoder and decoder get the same depth), one wall-clock budget
// per size, the translation recipe (shared BPE, label smoothing 0.1, inverse-sqrt schedule,
// token-count batches bucketed by length), the BLEU sample and decoding, and the compression grid.
// Sized by measured steps/s on the 2-core machine (docs/study.md, "Translation study").
import type { SizePoint } from '../presets.ts';

export interface MtRecipe {
  /** peak learning rate of the centre size */
  lr: number;
  /** lr(d, L) = lr (centre d / d)^widthExp (centre L / L)^depthExp */
  widthExp: number;
  depthExp: number;
  warmupSteps: number;
  labelSmoothing: number;
  dropout: number;
  weightDecay: number;
}

export interface MtPreset {
  name: 'quick' | 'default';
  description: string;
  /** the data set the preset is sized for (a user's --data replaces it) */
  data_name: string;
  centre: SizePoint;
  /** encoder = decoder depths tried at the centre width */
  depths: number[];
  /** widths tried at the centre depth */
  widths: number[];
  budgetS: number;
  seeds: number[];
  data: { vocab_size: number; seq_len: number; max_tokens: number; valid_batches: number };
  recipe: MtRecipe;
  /** validation loss every this many training seconds (the grid times) */
  evalEveryS: number;
  /** greedy BLEU at every this-many-th grid time (and the budget) */
  bleuEvery: number;
  /** validation sentences in the fixed BLEU sample */
  bleuSentences: number;
  /** the final model's beam search */
  beam: number;
  lenPenalty: number;
  quantBits: number[];
  sparsities: number[];
}

/**
 * fairseq's transformer_wmt_en_de recipe, scaled down: Adam (0.9, 0.98), inverse-sqrt schedule
 * after a linear warm-up, label smoothing 0.1, no weight decay. Dropout 0: under a budget of
 * minutes every size is far from over-fitting (it is a flag of the recipe, model.dropout). The
 * learning-rate transfer halves the rate per doubling of width and divides it by √2 per doubling
 * of depth, the MLM arm's measured rule (docs/recipe.md); it was not re-measured for encdec.
 */
const RECIPE: MtRecipe = {
  lr: 1.5e-3,
  widthExp: 1,
  depthExp: 0.5,
  warmupSteps: 40,
  labelSmoothing: 0.1,
  dropout: 0,
  weightDecay: 0,
};

export const MT_PRESETS: Record<MtPreset['name'], MtPreset> = {
  quick: {
    name: 'quick',
    description:
      'three encoder-decoder sizes, 20 s each, on mt-en-fr-small: ≤ 3 min on 2 cores; checks the pipeline, too short to be evidence',
    data_name: 'mt-en-fr-small',
    centre: { d_model: 64, n_layers: 1 },
    depths: [1, 2],
    widths: [64, 128],
    budgetS: 20,
    seeds: [1],
    data: { vocab_size: 2048, seq_len: 48, max_tokens: 1024, valid_batches: 4 },
    recipe: { ...RECIPE, lr: 2e-3, warmupSteps: 20 },
    evalEveryS: 5,
    bleuEvery: 2,
    bleuSentences: 64,
    beam: 4,
    lenPenalty: 1,
    quantBits: [8, 4],
    sparsities: [0.5, 0.9],
  },
  default: {
    name: 'default',
    description:
      'a depth sweep and a width sweep of encoder-decoders (5 sizes), 150 s each, on mt-en-fr: ≤ 30 min on 2 cores',
    // Measured 2026-12-02 on the shared 2-core machine (load 9-12, so 4-6x slower than idle) with an
    // 8,192-token vocabulary and 2,048-token batches: 1.4 (d64-L2), 2.1 (d128-L1), 1.4 (d128-L2),
    // 0.5 (d128-L4), 0.34 (d256-L2) steps/s; greedy decoding of 300 sentences 7-35 s per model
    // (untrained models run to the length limit). Hence 4,096 tokens (the output layer dominates
    // the small sizes' FLOPs), 1,024-token batches (twice the updates for the same tokens), 200
    // BLEU sentences, BLEU at every third grid time and a 4-setting grid: 12.5 min of training and
    // about 50 decodings of the sample in all.
    data_name: 'mt-en-fr',
    centre: { d_model: 128, n_layers: 2 },
    depths: [1, 2, 4],
    widths: [64, 128, 256],
    budgetS: 150,
    seeds: [1],
    data: { vocab_size: 4096, seq_len: 64, max_tokens: 1024, valid_batches: 8 },
    recipe: RECIPE,
    evalEveryS: 15,
    bleuEvery: 3,
    bleuSentences: 200,
    beam: 4,
    lenPenalty: 1,
    quantBits: [8, 4],
    sparsities: [0.5, 0.9],
  },
};

/** The size's peak learning rate by the preset's transfer rule. */
export function mtLrFor(p: MtPreset, s: SizePoint): number {
  const r = p.recipe;
  const lr =
    r.lr * (p.centre.d_model / s.d_model) ** r.widthExp * (p.centre.n_layers / s.n_layers) ** r.depthExp;
  return +lr.toPrecision(3);
}
