// What a run has spent (steps, training seconds, tokens, FLOPs) against its budget; the first
// limit reached stops the run, and the largest spent fraction drives the LR schedule.

export interface BudgetLimits {
  seconds?: number | undefined;
  steps?: number | undefined;
  tokens?: number | undefined;
  flops?: number | undefined;
}

export interface Spent {
  step: number;
  /** training wall-clock seconds (evaluation and checkpointing excluded) */
  wall_s: number;
  tokens: number;
  flops: number;
}

export function zeroSpent(): Spent {
  return { step: 0, wall_s: 0, tokens: 0, flops: 0 };
}

/** Largest elapsed fraction over the limits that are set, in [0, 1]. */
export function budgetFraction(l: BudgetLimits, s: Spent): number {
  const f = [
    l.seconds ? s.wall_s / l.seconds : 0,
    l.steps ? s.step / l.steps : 0,
    l.tokens ? s.tokens / l.tokens : 0,
    l.flops ? s.flops / l.flops : 0,
  ];
  return Math.min(1, Math.max(...f));
}

/** Which limit is reached, or null. */
export function budgetReached(l: BudgetLimits, s: Spent): string | null {
  if (l.steps && s.step >= l.steps) return 'steps';
  if (l.seconds && s.wall_s >= l.seconds) return 'seconds';
  if (l.tokens && s.tokens >= l.tokens) return 'tokens';
  if (l.flops && s.flops >= l.flops) return 'flops';
  return null;
}
