// Study presets: the size grid (a depth sweep and a width sweep through a centre size), the
// wall-clock budget per size, seeds, data shape, and the compression grid. Every number has a reason.

export interface SizePoint {
  d_model: number;
  n_layers: number;
}

export interface StudyPreset {
  name: 'quick' | 'default' | 'full';
  description: string;
  /** the size both sweeps pass through */
  centre: SizePoint;
  /** depths tried at the centre width (the paper's depth sweep) */
  depths: number[];
  /** widths tried at the centre depth (the paper's width sweep) */
  widths: number[];
  /** training seconds per size and seed (the same for every size: the paper's iso-time setup) */
  budgetS: number;
  seeds: number[];
  data: { vocab_size: number; seq_len: number; batch_size: number; valid_batches: number };
  /** peak LR for the centre width; other widths scale it by sqrt(centre / d) (wider trains at lower LR) */
  lr: number;
  warmupSteps: number;
  /** validation every this many training seconds: all sizes are evaluated at the same times */
  evalEveryS: number;
  quantBits: number[];
  /** bit widths also quantized with GPTQ (needs calibration batches; slow in TypeScript for wide layers) */
  gptqBits: number[];
  sparsities: number[];
  /** gradual magnitude pruning with fine-tuning (slow) in addition to one-shot */
  gradual: boolean;
}

const GRID = { quantBits: [8, 6, 4, 3, 2], sparsities: [0, 0.3, 0.5, 0.7, 0.8, 0.9] };

export const PRESETS: Record<StudyPreset['name'], StudyPreset> = {
  quick: {
    name: 'quick',
    description:
      'three sizes, 30 s each, on 2 cores ≤ 3 min: a first look and the CI test; too short to decide anything',
    centre: { d_model: 64, n_layers: 2 },
    depths: [1, 2],
    widths: [64, 128],
    budgetS: 30,
    seeds: [1],
    data: { vocab_size: 2048, seq_len: 64, batch_size: 16, valid_batches: 4 },
    lr: 2e-3,
    warmupSteps: 20,
    evalEveryS: 5,
    quantBits: [8, 4, 2],
    gptqBits: [],
    sparsities: [0, 0.5, 0.9],
    gradual: false,
  },
  default: {
    name: 'default',
    description: 'a depth sweep and a width sweep (6 sizes), 120 s each on 2 cores: ≤ 20 min in all',
    centre: { d_model: 128, n_layers: 4 },
    depths: [1, 2, 4, 8],
    widths: [64, 128, 256],
    budgetS: 120,
    seeds: [1],
    data: { vocab_size: 4096, seq_len: 128, batch_size: 16, valid_batches: 8 },
    lr: 1e-3,
    warmupSteps: 50,
    evalEveryS: 10,
    quantBits: GRID.quantBits,
    gptqBits: [3],
    sparsities: GRID.sparsities,
    gradual: false,
  },
  full: {
    name: 'full',
    description: 'wider grids, 20 min per size, 3 seeds with error bars: hours',
    centre: { d_model: 256, n_layers: 4 },
    depths: [2, 4, 8, 12],
    widths: [128, 256, 384, 512],
    budgetS: 1200,
    seeds: [1, 2, 3],
    data: { vocab_size: 8192, seq_len: 128, batch_size: 16, valid_batches: 16 },
    lr: 7e-4,
    warmupSteps: 200,
    evalEveryS: 30,
    quantBits: GRID.quantBits,
    gptqBits: [4, 3, 2],
    sparsities: GRID.sparsities,
    gradual: true,
  },
};

/** The distinct sizes of a preset: depth sweep at the centre width, width sweep at the centre depth. */
export function sizeGrid(p: StudyPreset): Array<SizePoint & { sweeps: Array<'depth' | 'width'> }> {
  const out = new Map<string, SizePoint & { sweeps: Array<'depth' | 'width'> }>();
  const add = (s: SizePoint, sweep: 'depth' | 'width') => {
    const k = `d${s.d_model}-L${s.n_layers}`;
    const e = out.get(k) ?? { ...s, sweeps: [] };
    e.sweeps.push(sweep);
    out.set(k, e);
  };
  for (const L of p.depths) add({ d_model: p.centre.d_model, n_layers: L }, 'depth');
  for (const d of p.widths) add({ d_model: d, n_layers: p.centre.n_layers }, 'width');
  return [...out.values()].sort(
    (a, b) => a.d_model * a.d_model * a.n_layers - b.d_model * b.d_model * b.n_layers,
  );
}

/** Heads: one per 32 channels (head size 32 as at these widths BERT-small does), at least 1. */
export function headsFor(d: number): number {
  return Math.max(1, Math.round(d / 32));
}

export function lrFor(p: StudyPreset, d: number): number {
  return p.lr * Math.sqrt(p.centre.d_model / d);
}
