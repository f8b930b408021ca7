// The study's results document (report/results.json): everything the report draws, computed only
// from run directories. The report reads this and nothing else.

export interface SizeSpec {
  /** e.g. "d256-L4" */
  id: string;
  /** which sweep the size belongs to (the centre size is in both) */
  sweeps: Array<'depth' | 'width'>;
  d_model: number;
  n_layers: number;
  n_heads: number;
  d_ff: number;
  params: number;
  non_embedding_params: number;
  flops_per_token: number;
  lr: number;
  warmup_steps: number;
  batch_size: number;
}

/** One validation evaluation of a training run. */
export interface CurvePoint {
  step: number;
  /** training seconds (evaluation excluded) */
  wall_s: number;
  tokens: number;
  flops: number;
  loss: number;
  ppl: number;
  /** predicted tokens scored */
  count: number;
}

/** The end of a run whose learning rate has decayed to zero: a cool-down branch, or the run's own end. */
export interface AnnealedPoint {
  budget_s: number;
  step: number;
  wall_s: number;
  tokens: number;
  loss: number;
  ppl: number;
  /** the run directory that holds it (a branch, or the run itself at the full budget) */
  run_dir: string;
}

export interface SourcePpl {
  source: string;
  windows: number;
  tokens: number;
  ppl: number;
  unigram_ppl: number;
}

export interface TrainedRun {
  id: string;
  size_id: string;
  seed: number;
  run_dir: string;
  steps: number;
  tokens: number;
  wall_s: number;
  /** passes over the training split (tokens / training-split tokens) */
  epochs: number;
  tokens_per_s: number;
  /** model FLOPs per second over the FMA ceiling measured on this machine */
  mfu: number;
  final_loss: number;
  final_ppl: number;
  final_count: number;
  /** the run's own evaluations (its schedule is constant between warm-up and its final decay) */
  curve: CurvePoint[];
  /** annealed points: cool-down branches at the intermediate budgets, and the run's end */
  annealed: AnnealedPoint[];
  /** the final model's perplexity per data source */
  per_source: SourcePpl[];
}

/** Best validation perplexity at each budget, over sizes (mean over seeds). */
export interface FrontierPoint {
  t: number;
  ppl: number;
  size_id: string;
  /** sizes whose loss is within the noise of the best's at this budget (a tie) */
  ties: string[];
}

export interface Crossing {
  /** the smaller model */
  a: string;
  /** the larger model */
  b: string;
  /** training seconds at which b's curve falls below a's for good */
  t: number;
}

export interface Frontier {
  /** grid times of the un-annealed curves (every evaluation interval) */
  times: number[];
  /** per size: mean (and stderr over seeds) perplexity at each time in `times` — un-annealed */
  per_size: Array<{ size_id: string; ppl: number[]; stderr: number[] }>;
  /** budgets with annealed points (cool-downs and the full budget) */
  annealed_times: number[];
  /** per size: mean annealed perplexity at each annealed budget (NaN where missing) */
  annealed: Array<{ size_id: string; ppl: number[]; stderr: number[] }>;
  /** the honest frontier: the best annealed point at each annealed budget */
  best: FrontierPoint[];
  compute_optimal: { size_id: string; ppl: number; t: number; ties: string[] };
  /** on the un-annealed curves */
  crossings: Crossing[];
}

/**
 * A point's measured speed on the study's machine (src/study/latency.ts): the model on the compressed
 * runtime, and its dense model timed the same way. Machine- and thread-specific.
 */
export interface LatencyRecord {
  /** the timing protocol's version */
  version: number;
  /** sha256 of the container timed ('' for a dense point) */
  sha256: string;
  cpu: string;
  backend: string;
  threads: number;
  /** tokens per sequence */
  seq_len: number;
  /** the throughput batch (sequences) */
  batch: number;
  /** median forward time of one sequence, ms */
  latency_ms_b1: number;
  /** tokens per second at the throughput batch */
  tokens_per_s_b32: number;
  /** the same figures of the point's dense model */
  dense_latency_ms_b1: number;
  dense_tokens_per_s_b32: number;
  /** timed calls behind each median (after one warm-up each) */
  reps: { b1: number; b32: number };
  dense_reps: { b1: number; b32: number };
}

export interface CompressionPoint {
  run_id: string;
  size_id: string;
  seed: number;
  /** 'dense' | 'rtn' | 'gptq' | 'magnitude' | 'gradual' */
  method: string;
  /** the quantization format or pruning spec, as given */
  setting: string;
  bits: number | null;
  sparsity: number | null;
  /** share of ALL parameters (embeddings included) that are zero */
  sparsity_all: number | null;
  /** exact bytes of the compressed container (dense: fp32 bytes) */
  bytes: number;
  nonzero_params: number;
  loss: number;
  ppl: number;
  ppl_low: number;
  ppl_high: number;
  stderr_loss: number;
  /** predicted tokens scored */
  tokens: number;
  kl: number;
  top1: number;
  /** classification arm only */
  accuracy?: number;
  /** the compressed model's training step (a snapshot for quality-matched comparisons) */
  step?: number;
  /** sha256 of the container file */
  sha256?: string;
  /** a compressed snapshot of a larger model: the smaller size whose final dense quality it matches */
  matched_to?: string;
  /** measured latency and throughput (the pretraining grid's points; absent in older studies) */
  latency?: LatencyRecord;
}

/** One paired comparison a verdict made. */
export interface Comparison {
  /** what is compared, in words ("d128-L1 vs d256-L4 at 120 s") */
  what: string;
  a: string;
  b: string;
  /** a minus b in the claim's metric (loss: nats per token; accuracy: share), */
  diff: number;
  se: number;
  /** which side the comparison favours, or a tie within 2 standard errors */
  outcome: 'a' | 'b' | 'tie';
  /** which side the claim predicts should win */
  claim_favours: 'a' | 'b';
}

export type VerdictWord = 'supported' | 'not supported' | 'inconclusive';

export interface Verdict {
  /** "1", "1a", "2", "3-bytes", "3-nonzero", "3-latency", "3-accuracy", "width-depth", … */
  claim: string;
  statement: string;
  verdict: VerdictWord;
  /** the one-line reason the CLI prints */
  reason: string;
  caveats: string[];
  evidence: string;
  comparisons: Comparison[];
}

/** The loss law and where the compute-optimal size moves with the budget (issue: scaling). */
export interface ScalingFit {
  points: Array<{ size_id: string; n: number; d: number; t: number; loss: number }>;
  law: { E: number; A: number; alpha: number; B: number; beta: number };
  intervals: Record<string, { value: number; low: number; high: number }>;
  throughput: { k: number; gamma: number };
  /** N_opt ∝ t^exponent on this machine */
  exponent: number;
  published: Record<string, string>;
  /** predicted optimum at a few training times */
  optimum: Array<{ t: number; n_opt: number; loss: number }>;
  /** from which training time each grid size would be the optimum (null: never in range) */
  takeover: Array<{ size_id: string; from_s: number | null }>;
  /** measured compute-optimal size at each annealed budget, for the figure */
  measured: Array<{ t: number; size_id: string; n: number }>;
  note: string;
}

export interface StudyResults {
  tlc_version: string;
  git: string | null;
  created: string;
  preset: string;
  data: {
    name: string;
    provenance: unknown[];
    note: string;
    train_tokens: number;
    /** the validation windows: predicted tokens, windows per source */
    eval: { tokens: number; windows: number; sources: string[]; taken: number[]; available: number[] };
    unigram_ppl: number;
  };
  hardware: {
    cpu: string;
    cores: number;
    threads: number;
    node: string;
    backend: string;
    fma_gflops: number;
  };
  /** every protocol choice, as name -> description */
  protocol: Record<string, string>;
  budget_s: number;
  seeds: number[];
  sizes: SizeSpec[];
  runs: TrainedRun[];
  frontier: Frontier;
  scaling: ScalingFit | null;
  compression: CompressionPoint[];
  /** compressed snapshots matched in dense quality to smaller models (claim 2, comparison b) */
  matched: CompressionPoint[];
  /** points on the Pareto frontier (lowest ppl for at most that many bytes / non-zeros / ms at batch 1) */
  pareto: { bytes: CompressionPoint[]; nonzero: CompressionPoint[]; latency?: CompressionPoint[] };
  finetune: null | {
    task: string;
    compression: CompressionPoint[];
    dense: Array<{ size_id: string; accuracy: number }>;
  };
  verdicts: Verdict[];
  /** warnings the report shows at the top (e.g. more than one epoch, near the unigram baseline) */
  warnings: string[];
}
