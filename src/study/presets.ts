// Study presets: the size grid (a depth sweep and a width sweep through a centre size), the
// wall-clock budget per size, the annealed intermediate budgets, seeds, data shape, the training
// recipe per size, and the compression grid. Every number has a reason (docs/recipe.md).

export interface SizePoint {
  d_model: number;
  n_layers: number;
}

export interface StudyPreset {
  name: 'quick' | 'default' | 'full' | 'check';
  description: string;
  /** the data set the preset is sized for (a user's --data replaces it) */
  data_name: string;
  /** the size both sweeps pass through */
  centre: SizePoint;
  /** depths tried at the centre width (the paper's depth sweep) */
  depths: number[];
  /** widths tried at the centre depth (the paper's width sweep) */
  widths: number[];
  /** extra sizes outside the two sweeps (the check preset's) */
  extra?: SizePoint[];
  /** training seconds per size and seed (the same for every size: the paper's iso-time setup) */
  budgetS: number;
  /** intermediate budgets that get an annealed model (a cool-down branch of the full run) */
  annealAt: number[];
  seeds: number[];
  data: { vocab_size: number; seq_len: number; batch_size: number; valid_tokens: number };
  recipe: Recipe;
  /** validation every this many training seconds: all sizes are evaluated at the same times */
  evalEveryS: number;
  quantBits: number[];
  /** bit widths also quantized with GPTQ (needs calibration batches; slow in TypeScript for wide layers) */
  gptqBits: number[];
  sparsities: number[];
  /** gradual magnitude pruning with fine-tuning (slow) in addition to one-shot */
  gradual: boolean;
  /** the settings that compress quality-matched snapshots (claim 2, comparison b): one per family */
  matched: { quant: number; prune: number };
}

/** How each size's optimizer is set (chosen by measurement: docs/recipe.md). */
export interface Recipe {
  /** peak learning rate of the centre size */
  lr: number;
  /** exponent of the width transfer: lr(d) = lr (centre d / d)^widthExp */
  widthExp: number;
  /** exponent of the depth transfer: lr(L) = lr(d) (centre L / L)^depthExp */
  depthExp: number;
  warmupSteps: number;
  /** share of the budget spent decaying (wsd) */
  decayFraction: number;
  resid_init: 'normal' | 'scaled' | 'zero';
}

const GRID = { quantBits: [8, 6, 4, 3, 2], sparsities: [0, 0.3, 0.5, 0.7, 0.8, 0.9] };

/**
 * Chosen by measurement on prose-en-large (docs/recipe.md: each size of the default grid trained
 * for the steps it makes in 120 s at five learning rates): the best rate halves when the width
 * doubles and falls by √2 when the depth doubles; GPT-2's 1/√(2L) init of the residual-branch
 * projections helps every depth above 1.
 */
const RECIPE: Recipe = {
  lr: 7e-4,
  widthExp: 1,
  depthExp: 0.5,
  warmupSteps: 50,
  decayFraction: 0.2,
  resid_init: 'scaled',
};

export const PRESETS: Record<Exclude<StudyPreset['name'], 'check'>, StudyPreset> = {
  quick: {
    name: 'quick',
    description:
      'three sizes, 30 s each, on 2 cores ≤ 3 min: a first look and the CI test; too short to be evidence',
    data_name: 'prose-en',
    centre: { d_model: 64, n_layers: 2 },
    depths: [1, 2],
    widths: [64, 128],
    budgetS: 30,
    annealAt: [15],
    seeds: [1],
    data: { vocab_size: 2048, seq_len: 64, batch_size: 16, valid_tokens: 5000 },
    recipe: { ...RECIPE, lr: 2e-3, warmupSteps: 20 }, // the rule's value at d64-L2
    evalEveryS: 5,
    quantBits: [8, 4, 2],
    gptqBits: [],
    sparsities: [0, 0.5, 0.9],
    gradual: false,
    matched: { quant: 4, prune: 0.5 },
  },
  default: {
    name: 'default',
    description:
      'a depth sweep and a width sweep (5 sizes), 120 s each on 2 cores: ≤ 20 min in all from a fresh clone',
    // 23.8 M training tokens: no size of the grid sees a second epoch in its budget (the fastest,
    // d128-L1, trains on 14 M). Sized to fit 20 minutes with the apt/npm setup of a fresh machine
    // (measured 2026-12-02: setup 100 s, training 5 × 120 s plus evaluations, cool-downs 150 s,
    // the compression grid about 2 min): one depth point (L2) and GPTQ are left to the full preset.
    data_name: 'prose-en-large',
    centre: { d_model: 128, n_layers: 4 },
    depths: [1, 4, 8],
    widths: [64, 128, 256],
    budgetS: 120,
    annealAt: [30, 60],
    seeds: [1],
    data: { vocab_size: 4096, seq_len: 128, batch_size: 16, valid_tokens: 20000 },
    recipe: RECIPE,
    evalEveryS: 15,
    quantBits: [8, 4, 3, 2],
    gptqBits: [],
    sparsities: [0, 0.5, 0.7, 0.9],
    gradual: false,
    matched: { quant: 3, prune: 0.7 },
  },
  full: {
    name: 'full',
    description: 'wider grids, 20 min per size, 3 seeds with error bars: hours',
    data_name: 'prose-en-large',
    centre: { d_model: 256, n_layers: 4 },
    depths: [2, 4, 8, 12],
    widths: [128, 256, 384, 512],
    budgetS: 1200,
    annealAt: [150, 300, 600],
    seeds: [1, 2, 3],
    data: { vocab_size: 8192, seq_len: 128, batch_size: 16, valid_tokens: 40000 },
    recipe: { ...RECIPE, lr: 3.5e-4, warmupSteps: 200 }, // the rule's value at d256-L4
    evalEveryS: 30,
    quantBits: GRID.quantBits,
    gptqBits: [4, 3, 2],
    sparsities: GRID.sparsities,
    gradual: true,
    matched: { quant: 3, prune: 0.7 },
  },
};

/** The distinct sizes of a preset: depth sweep at the centre width, width sweep at the centre depth. */
export function sizeGrid(
  p: Pick<StudyPreset, 'centre' | 'depths' | 'widths' | 'extra'>,
): Array<SizePoint & { sweeps: Array<'depth' | 'width'> }> {
  const out = new Map<string, SizePoint & { sweeps: Array<'depth' | 'width'> }>();
  const add = (s: SizePoint, sweep: 'depth' | 'width' | null) => {
    const k = sizeId(s);
    const e = out.get(k) ?? { ...s, sweeps: [] };
    if (sweep) e.sweeps.push(sweep);
    out.set(k, e);
  };
  for (const L of p.depths) add({ d_model: p.centre.d_model, n_layers: L }, 'depth');
  for (const d of p.widths) add({ d_model: d, n_layers: p.centre.n_layers }, 'width');
  for (const s of p.extra ?? []) add(s, null);
  return [...out.values()].sort(
    (a, b) => a.d_model * a.d_model * a.n_layers - b.d_model * b.d_model * b.n_layers,
  );
}

export function sizeId(s: SizePoint): string {
  return `d${s.d_model}-L${s.n_layers}`;
}

/** Heads: one per 32 channels (head size 32 as at these widths BERT-small does), at least 1. */
export function headsFor(d: number): number {
  return Math.max(1, Math.round(d / 32));
}

/** The size's peak learning rate by the preset's transfer rule. */
export function lrFor(p: StudyPreset, s: SizePoint): number {
  const r = p.recipe;
  const lr =
    r.lr * (p.centre.d_model / s.d_model) ** r.widthExp * (p.centre.n_layers / s.n_layers) ** r.depthExp;
  return +lr.toPrecision(3);
}
