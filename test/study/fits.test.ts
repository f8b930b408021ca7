// Tests of the fits over training curves: perplexity at a grid time from evaluations logged just
// after it (the trainer evaluates at the end of the step that reaches each scheduled time), the
// iso-time frontier and the compute-optimal size read at the right times.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestBy, frontier, timeGrid } from '../../src/study/fits.ts';
import type { SizeSpec, TrainedRun } from '../../src/study/types.ts';

function run(id: string, points: Array<[number, number]>): TrainedRun {
  const curve = points.map(([wall_s, loss], i) => ({
    step: i * 100,
    wall_s,
    tokens: 0,
    flops: 0,
    loss,
    ppl: Math.exp(loss),
    count: 100,
  }));
  const last = curve[curve.length - 1]!;
  return {
    id: `${id}-s1`,
    size_id: id,
    seed: 1,
    run_dir: `runs/${id}-s1`,
    steps: last.step,
    tokens: 0,
    wall_s: last.wall_s,
    epochs: 0.1,
    tokens_per_s: 1000,
    mfu: 0.5,
    final_loss: last.loss,
    final_ppl: last.ppl,
    final_count: 100,
    curve,
    // the run's end is its annealed point at the budget (the last evaluation's time rounded down)
    annealed: [
      {
        budget_s: Math.floor(last.wall_s),
        step: last.step,
        wall_s: last.wall_s,
        tokens: 0,
        loss: last.loss,
        ppl: last.ppl,
        run_dir: `runs/${id}-s1`,
      },
    ],
    per_source: [],
  };
}

function size(id: string, params: number): SizeSpec {
  return {
    id,
    sweeps: ['depth'],
    d_model: 64,
    n_layers: 1,
    n_heads: 1,
    d_ff: 256,
    params,
    non_embedding_params: params,
    flops_per_token: params * 6,
    lr: 1e-3,
    warmup_steps: 10,
    batch_size: 16,
  };
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${a} != ${b}`);

test('bestBy: the loss at t is interpolated between the evaluations around t', () => {
  const r = run('a', [
    [0, 8],
    [10.5, 6],
    [20.2, 5],
  ]);
  // an evaluation logged at 10.5 s stands for the scheduled 10 s; not the untrained model's e^8
  close(bestBy(r, 10), Math.exp(8 + (6 - 8) * (10 / 10.5)), 'at 10 s');
  close(bestBy(r, 20), Math.exp(6 + (5 - 6) * (9.5 / 9.7)), 'at 20 s');
  // exactly on an evaluation: that evaluation
  close(bestBy(r, 10.5), Math.exp(6), 'at 10.5 s');
  // past the last evaluation: the last one, nothing extrapolated
  close(bestBy(r, 25), Math.exp(5), 'at 25 s');
  // before the first evaluation: nothing
  assert.ok(Number.isNaN(bestBy(run('b', [[1, 8]]), 0.5)));
  // best so far: a later rise does not undo an earlier low
  const up = run('c', [
    [0, 8],
    [10, 5],
    [20.4, 7],
  ]);
  close(bestBy(up, 20), Math.exp(5), 'best so far');
});

test('frontier: each grid time compares the sizes at that time, not one evaluation earlier', () => {
  // evaluations land just after each 10 s mark, later for the slower (larger) model
  const small = run('small', [
    [0, 8.3],
    [10.01, 6.1],
    [20.02, 5.9],
    [30.0, 5.8],
  ]);
  const large = run('large', [
    [0, 8.4],
    [10.6, 6.0],
    [20.7, 5.7],
    [30.05, 5.5],
  ]);
  const sizes = [size('small', 1e6), size('large', 4e6)];
  const f = frontier(sizes, [small, large], timeGrid(30, 10), [30], null);
  assert.deepEqual(f.times, [10, 20, 30]);
  // at 10 s both have trained for 10 s: the winner is not whoever started with the lower loss
  assert.ok(f.per_size[0]!.ppl[0]! < Math.exp(6.2), `small at 10 s: ${f.per_size[0]!.ppl[0]}`);
  assert.ok(f.per_size[1]!.ppl[0]! < Math.exp(6.2), `large at 10 s: ${f.per_size[1]!.ppl[0]}`);
  // the compute-optimal size is read from the annealed points at the budget
  assert.equal(f.compute_optimal.size_id, 'large');
  assert.equal(f.compute_optimal.t, 30);
  assert.ok(
    Math.abs(Math.log(f.compute_optimal.ppl) - 5.5) < 0.02,
    `at 30 s: loss ${Math.log(f.compute_optimal.ppl)}, the final evaluation 5.5`,
  );
});

test('frontier at an intermediate budget: the annealed cool-down points decide, not the un-annealed curves', () => {
  // un-annealed at 15 s the small size leads (loss 6.0 vs 6.3); the cool-downs ending at 15 s say
  // the large one is better there (5.7 vs 5.8): a model decayed at 15 s is what a 15 s budget buys
  const small = run('small', [
    [0, 8.3],
    [15.01, 6.0],
    [30.02, 5.6],
  ]);
  const large = run('large', [
    [0, 8.4],
    [15.2, 6.3],
    [30.1, 5.5],
  ]);
  const cool = (r: TrainedRun, loss: number) =>
    r.annealed.unshift({
      budget_s: 15,
      step: 150,
      wall_s: 15.05,
      tokens: 0,
      loss,
      ppl: Math.exp(loss),
      run_dir: `${r.run_dir}-c15`,
    });
  cool(small, 5.8);
  cool(large, 5.7);
  const sizes = [size('small', 1e6), size('large', 4e6)];
  const f = frontier(sizes, [small, large], timeGrid(30, 15), [15, 30], null);
  // the un-annealed curves are kept (drawn dashed) and still say small at 15 s
  assert.ok(f.per_size[0]!.ppl[0]! < f.per_size[1]!.ppl[0]!);
  assert.deepEqual(
    f.best.map((b) => [b.t, b.size_id, +Math.log(b.ppl).toFixed(6)]),
    [
      [15, 'large', 5.7],
      [30, 'large', 5.5],
    ],
  );
  assert.deepEqual(
    f.annealed.map((a) => [a.size_id, a.ppl.map((p) => +Math.log(p).toFixed(6))]),
    [
      ['small', [5.8, 5.6]],
      ['large', [5.7, 5.5]],
    ],
  );
  // a size with no cool-down at 15 s has no annealed point there: NaN, never its curve's value
  small.annealed.shift();
  const g = frontier(sizes, [small, large], timeGrid(30, 15), [15, 30], null);
  assert.ok(Number.isNaN(g.annealed[0]!.ppl[0]!));
  assert.equal(g.best[0]!.size_id, 'large');
});
