// Test fixture only: a synthetic StudyResults (3 sizes, 3 seeds, power-law curves, quantization and
// pruning points, a fine-tuning arm). Its numbers are made up; they only exercise the report.
import { Rng } from '../../src/engine/rng.ts';
import { frontier, timeGrid } from '../../src/study/fits.ts';
import { scalingFit } from '../../src/study/scaling.ts';
import type {
  CompressionPoint,
  LatencyRecord,
  SizeSpec,
  StudyResults,
  TrainedRun,
} from '../../src/study/types.ts';

const SIZES: Array<[string, number, number]> = [
  // id, d_model, n_layers
  ['d128-L2', 128, 2],
  ['d256-L4', 256, 4],
  ['d384-L6', 384, 6],
];

function size(id: string, d: number, L: number): SizeSpec {
  const nonEmb = 12 * d * d * L;
  return {
    id,
    sweeps: ['depth'],
    d_model: d,
    n_layers: L,
    n_heads: d / 64,
    d_ff: 4 * d,
    params: nonEmb + 8192 * d,
    non_embedding_params: nonEmb,
    flops_per_token: 6 * (nonEmb + 8192 * d),
    lr: 1e-3,
    warmup_steps: 50,
    batch_size: 16,
  };
}

function run(s: SizeSpec, k: number, seed: number, budget: number, rng: Rng, gain: number): TrainedRun {
  const secPerStep = 0.02 * (s.params / 1e6);
  const steps = Math.floor(budget / secPerStep);
  const curve: TrainedRun['curve'] = [];
  for (let e = 1; e <= 12; e++) {
    const step = Math.round((steps * e) / 12);
    // bigger sizes learn more per step (after a short warm-up) but take longer per step
    const effective = gain ** k * Math.max(0, step - 30 * k);
    const loss = 2.2 + 6 / (1 + effective / 400) ** 0.6 + 0.02 * rng.normal();
    curve.push({
      step,
      wall_s: step * secPerStep,
      tokens: step * 4096,
      flops: step * 4096 * s.flops_per_token,
      loss,
      ppl: Math.exp(loss),
      count: 20000,
    });
  }
  const last = curve[curve.length - 1]!;
  const annealed = [budget / 4, budget / 2, budget].map((t) => {
    const p = curve.find((c) => c.wall_s >= t * 0.99) ?? last;
    return {
      budget_s: t,
      step: p.step,
      wall_s: p.wall_s,
      tokens: p.tokens,
      loss: p.loss - 0.03,
      ppl: Math.exp(p.loss - 0.03),
      run_dir: `runs/${s.id}-s${seed}-c${t}`,
    };
  });
  return {
    id: `${s.id}-s${seed}`,
    size_id: s.id,
    seed,
    run_dir: `runs/${s.id}-s${seed}`,
    steps,
    tokens: last.tokens,
    wall_s: last.wall_s,
    epochs: last.tokens / 3e7,
    tokens_per_s: last.tokens / last.wall_s,
    mfu: 0.3 + 0.1 * k,
    final_loss: last.loss,
    final_ppl: last.ppl,
    final_count: 20000,
    curve,
    annealed,
    per_source: [
      { source: 'speeches', windows: 600, tokens: 11000, ppl: last.ppl * 0.9, unigram_ppl: 700 },
      { source: 'novels', windows: 450, tokens: 9000, ppl: last.ppl * 1.1, unigram_ppl: 900 },
    ],
  };
}

function point(
  s: SizeSpec,
  seed: number,
  dense: number,
  method: string,
  setting: string,
  bits: number | null,
  sparsity: number | null,
  k: number,
): CompressionPoint {
  const hurt =
    bits !== null
      ? ((method === 'gptq' ? 0.6 : 1) * 2 ** (3 - bits)) / (1 + k)
      : sparsity !== null
        ? sparsity ** 3 / (1 + k)
        : 0;
  const loss = Math.log(dense) + hurt;
  const nonzero = Math.round(s.params * (1 - (sparsity ?? 0)));
  const bytes =
    bits !== null
      ? Math.round((s.params * bits) / 8 + s.params / 16)
      : sparsity !== null
        ? nonzero * 6
        : s.params * 4;
  return {
    run_id: `${s.id}-s${seed}-${method}-${setting}`,
    size_id: s.id,
    seed,
    method,
    setting,
    bits,
    sparsity,
    sparsity_all: sparsity === null ? null : sparsity * 0.7,
    bytes,
    nonzero_params: nonzero,
    loss,
    ppl: Math.exp(loss),
    ppl_low: Math.exp(loss - 0.03),
    ppl_high: Math.exp(loss + 0.03),
    stderr_loss: 0.015,
    tokens: 20000,
    kl: hurt / 2,
    top1: 1 - hurt / 4,
    latency: latency(s, bits, sparsity),
  };
}

/** Made-up latencies: dense ∝ parameters, int8 at 0.5×, fewer bits a little faster, pruning from 70%. */
function latency(s: SizeSpec, bits: number | null, sparsity: number | null): LatencyRecord {
  const dense = s.params / 2e5;
  const f =
    bits !== null ? 0.5 - (8 - bits) * 0.03 : sparsity !== null && sparsity >= 0.7 ? 1.2 - sparsity : 1;
  return {
    version: 1,
    sha256: '',
    cpu: 'Fixture CPU @ 2.0GHz',
    backend: 'native',
    threads: 2,
    seq_len: 128,
    batch: 32,
    latency_ms_b1: dense * f,
    tokens_per_s_b32: (32 * 128 * 1000) / (20 * dense * f),
    dense_latency_ms_b1: dense,
    dense_tokens_per_s_b32: (32 * 128 * 1000) / (20 * dense),
    reps: { b1: 5, b32: 3 },
    dense_reps: { b1: 5, b32: 3 },
  };
}

function compression(sizes: SizeSpec[], runs: TrainedRun[]): CompressionPoint[] {
  return runs.flatMap((r) => {
    const k = sizes.findIndex((s) => s.id === r.size_id);
    const s = sizes[k]!;
    return [
      point(s, r.seed, r.final_ppl, 'dense', 'fp32', null, null, k),
      ...[8, 4, 3].map((b) => point(s, r.seed, r.final_ppl, 'rtn', `int${b}-channel`, b, null, k)),
      ...[4, 3].map((b) => point(s, r.seed, r.final_ppl, 'gptq', `int${b}-channel`, b, null, k)),
      ...[0.5, 0.7, 0.9].map((p) => point(s, r.seed, r.final_ppl, 'magnitude', `global-${p}`, null, p, k)),
    ];
  });
}

/** Lowest perplexity for at most that many bytes / non-zeros, over seed-0 points. */
function pareto(pts: CompressionPoint[], key: 'bytes' | 'nonzero_params' | 'latency'): CompressionPoint[] {
  const x = (p: CompressionPoint) => (key === 'latency' ? p.latency!.latency_ms_b1 : p[key]);
  const sorted = pts.filter((p) => p.seed === 0).sort((a, b) => x(a) - x(b));
  const out: CompressionPoint[] = [];
  for (const p of sorted) if (out.length === 0 || p.ppl < out[out.length - 1]!.ppl) out.push(p);
  return out;
}

const v = (
  claim: string,
  statement: string,
  verdict: 'supported' | 'not supported' | 'inconclusive',
  reason: string,
  evidence: string,
) => ({
  claim,
  statement,
  verdict,
  reason,
  caveats: [],
  evidence,
  comparisons: [],
});

const VERDICTS: StudyResults['verdicts'] = [
  v(
    '1',
    'Larger models reach lower perplexity in the same time',
    'supported',
    'the largest is best',
    'd384-L6 ppl 12.1 < d128-L2 ppl 15.3 at 60 s (3 seeds)',
  ),
  v(
    '1a',
    'Larger models are more sample-efficient',
    'supported',
    'larger better at equal tokens',
    '2 for, 0 against',
  ),
  v(
    '2',
    'Larger models are more robust to compression',
    'inconclusive',
    '(a) and (b) disagree',
    'differences < 2 stderr & overlap',
  ),
  v(
    '3-bytes',
    'Compressed large beats lightly compressed small',
    'not supported',
    'smaller wins',
    'at 1 MB: d128-L2 int8 ppl 15.4 < d384-L6 int3 ppl 16.0',
  ),
];

export interface FixtureOptions {
  finetune?: boolean;
  compression?: boolean;
  dataName?: string;
  /** false: the largest size learns too little per step to win within the budget */
  largestWins?: boolean;
}

export function fixture(opts: FixtureOptions = {}): StudyResults {
  const budget = 60;
  const seeds = [0, 1, 2];
  const sizes = SIZES.map(([id, d, L]) => size(id, d, L));
  const rng = new Rng(7);
  const runs = sizes.flatMap((s, k) =>
    seeds.map((seed) => run(s, k, seed, budget, rng, opts.largestWins === false ? 2 : 4)),
  );
  const comp = opts.compression === false ? [] : compression(sizes, runs);
  const fr = frontier(sizes, runs, timeGrid(budget, 5), [budget / 4, budget / 2, budget], null);
  const ft = comp.map((p) => ({ ...p, accuracy: 0.9 - (p.ppl / 100) * 0.5 }));
  return {
    tlc_version: '0.1.0',
    git: 'abc1234',
    created: '2025-01-01T00:00:00.000Z',
    preset: 'test',
    data: {
      name: opts.dataName ?? 'fixture-corpus',
      provenance: [{ package: 'fixture', version: '1.0' }],
      note: 'The paper used Wikipedia + BookCorpus; this fixture uses made-up numbers.',
      train_tokens: 3e7,
      eval: {
        tokens: 20000,
        windows: 1050,
        sources: ['speeches', 'novels'],
        taken: [600, 450],
        available: [900, 700],
      },
      unigram_ppl: 880,
    },
    hardware: {
      cpu: 'Fixture CPU @ 2.0GHz',
      cores: 2,
      threads: 2,
      node: 'v20.20.2',
      backend: 'ts',
      fma_gflops: 450,
    },
    protocol: {
      eval_tokens: 'validation split, 128-token windows',
      lr_schedule: 'linear warmup 5%, cosine decay',
      seeds: '3 seeds per size',
    },
    budget_s: budget,
    seeds,
    sizes,
    runs,
    frontier: fr,
    scaling: scalingFit(sizes, runs, fr, budget, 20),
    compression: comp,
    matched: [],
    pareto: {
      bytes: pareto(comp, 'bytes'),
      nonzero: pareto(comp, 'nonzero_params'),
      latency: pareto(comp, 'latency'),
    },
    finetune: opts.finetune
      ? {
          task: 'polarity',
          compression: ft,
          dense: sizes.map((s, k) => ({ size_id: s.id, accuracy: 0.78 + 0.03 * k })),
        }
      : null,
    verdicts: VERDICTS.map((x) => ({ ...x })),
    warnings: [],
  };
}
