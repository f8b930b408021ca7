// Learning-rate schedules: linear warmup (in steps), then a decay whose horizon is the budget —
// `progress` is the elapsed fraction of whichever budget is closest to running out. `wsd` stays
// constant and decays only over the budget's last share, so a run can branch off a short
// cool-down at any earlier budget (Hägele et al. 2024) and every budget gets an annealed model.

export type ScheduleName = 'linear' | 'cosine' | 'inverse_sqrt' | 'constant' | 'wsd';

export interface ScheduleSpec {
  lr: number;
  warmupSteps: number;
  schedule: ScheduleName;
  minLrRatio: number;
  /** wsd: the share of the budget at its end spent decaying linearly to the floor */
  decayFraction?: number;
}

/** lr at `step` (1-based, the step about to be taken) and budget progress in [0, 1]. */
export function learningRate(s: ScheduleSpec, step: number, progress: number): number {
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  const p = Math.min(1, Math.max(0, progress));
  const floor = s.lr * s.minLrRatio;
  switch (s.schedule) {
    case 'constant':
      return s.lr;
    case 'linear':
      return floor + (s.lr - floor) * (1 - p);
    case 'cosine':
      return floor + (s.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * p));
    case 'wsd': {
      // warmup-stable-decay: constant at lr until the last decayFraction of the budget, then linear
      const f = s.decayFraction ?? 0.2;
      return p < 1 - f ? s.lr : floor + (s.lr - floor) * Math.max(0, (1 - p) / f);
    }
    case 'inverse_sqrt':
      return Math.max(floor, s.lr * Math.sqrt(Math.max(1, s.warmupSteps) / Math.max(step, 1)));
  }
}
