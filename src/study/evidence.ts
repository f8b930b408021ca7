// The study's access to per-window losses for paired comparisons: every run's evaluations (read
// once), its annealed points, a run's un-annealed losses at any training time or token count
// (interpolated between the evaluations around it), and size-vs-size comparisons with seeds
// averaged (src/eval/paired.ts holds the statistics and the tie rule).
import { decide, lerpSums, type Paired, pairedDiffSeeds } from '../eval/paired.ts';
import type { EvalRecord } from '../train/rundir.ts';
import { readEvals } from '../train/rundir.ts';
import { lastEval, readWindows } from './collect.ts';
import type { Comparison, TrainedRun } from './types.ts';

export type SumsOf = (run: TrainedRun) => ArrayLike<number> | null;

/** Where the per-window losses come from: run directories, or (tests) memory. */
export interface WindowSource {
  counts: number[];
  unigramNll: number[];
  evals(run: TrainedRun): EvalRecord[];
  /** the per-window losses of the last evaluation of an annealed point's run directory */
  last(runDir: string): number[];
}

export function runDirSource(runs: TrainedRun[]): WindowSource {
  const first = runs[0];
  if (!first) throw new Error('Evidence: no runs');
  const w = readWindows(first.run_dir);
  return {
    counts: w.count,
    unigramNll: w.unigram_nll,
    evals: (run) => [...new Map(readEvals(run.run_dir).map((x) => [x.step, x])).values()],
    last: (dir) => lastEval(dir).sums,
  };
}

export class Evidence {
  readonly counts: number[];
  readonly unigramNll: number[];
  private readonly evals = new Map<string, EvalRecord[]>();
  private readonly annealedSums = new Map<string, number[]>();
  private readonly src: WindowSource;

  constructor(
    readonly runs: TrainedRun[],
    src?: WindowSource,
  ) {
    this.src = src ?? runDirSource(runs);
    this.counts = this.src.counts;
    this.unigramNll = this.src.unigramNll;
  }

  private evalsOf(run: TrainedRun): EvalRecord[] {
    let e = this.evals.get(run.id);
    if (!e) {
      e = this.src.evals(run);
      this.evals.set(run.id, e);
    }
    return e;
  }

  /** The run's per-window losses at an annealed budget (null if it has no point there). */
  annealed(run: TrainedRun, budgetS: number): number[] | null {
    const p = run.annealed.find((a) => Math.abs(a.budget_s - budgetS) < 1e-6);
    if (!p) return null;
    let s = this.annealedSums.get(p.run_dir);
    if (!s) {
      s = this.src.last(p.run_dir);
      this.annealedSums.set(p.run_dir, s);
    }
    return s;
  }

  /** Per-window losses interpolated at `x` of the run's own evaluations (x: 'wall_s' or 'tokens'). */
  at(run: TrainedRun, x: 'wall_s' | 'tokens', v: number): Float64Array | null {
    const e = this.evalsOf(run);
    for (let i = 1; i < e.length; i++) {
      const p = e[i - 1]!;
      const q = e[i]!;
      if (p[x] <= v && v <= q[x]) return lerpSums(p.sums, q.sums, p[x], q[x], v);
    }
    return null;
  }

  /** Seeds of each size averaged, then a paired comparison over the windows. */
  compare(runsA: TrainedRun[], runsB: TrainedRun[], sums: SumsOf): Paired | null {
    const a = runsA.map(sums).filter((x): x is ArrayLike<number> => x !== null);
    const b = runsB.map(sums).filter((x): x is ArrayLike<number> => x !== null);
    if (a.length === 0 || b.length === 0) return null;
    return pairedDiffSeeds(a, b, this.counts);
  }

  /** A loss comparison as a verdict records it; `favours`: the side the claim predicts wins. */
  comparison(what: string, a: string, b: string, p: Paired, favours: 'a' | 'b'): Comparison {
    const d = decide(p);
    return {
      what,
      a,
      b,
      diff: p.diff,
      se: p.se,
      outcome: d < 0 ? 'a' : d > 0 ? 'b' : 'tie',
      claim_favours: favours,
    };
  }
}

/** A comparison's outcome against the claim: +1 it supports the claim, -1 against, 0 a tie. */
export function score(c: Comparison): -1 | 0 | 1 {
  if (c.outcome === 'tie') return 0;
  return c.outcome === c.claim_favours ? 1 : -1;
}
