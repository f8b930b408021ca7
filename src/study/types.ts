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
}

export interface TrainedRun {
  id: string;
  size_id: string;
  seed: number;
  run_dir: string;
  steps: number;
  tokens: number;
  wall_s: number;
  final_loss: number;
  final_ppl: number;
  curve: CurvePoint[];
}

/** Best validation perplexity reached by time t, over sizes (mean over seeds). */
export interface FrontierPoint {
  t: number;
  ppl: number;
  size_id: string;
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
  times: number[];
  best: FrontierPoint[];
  /** per size: mean (and stderr over seeds) perplexity at each time in `times` (NaN before the first eval) */
  per_size: Array<{ size_id: string; ppl: number[]; stderr: number[] }>;
  compute_optimal: { size_id: string; ppl: number; t: number };
  crossings: Crossing[];
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
  /** exact bytes of the compressed container (dense: fp32 bytes) */
  bytes: number;
  nonzero_params: number;
  loss: number;
  ppl: number;
  ppl_low: number;
  ppl_high: number;
  kl: number;
  top1: number;
  /** classification arm only */
  accuracy?: number;
}

export interface Verdict {
  claim: 1 | 2 | 3;
  statement: string;
  verdict: 'supported' | 'not supported' | 'inconclusive';
  evidence: string;
}

export interface StudyResults {
  tlc_version: string;
  git: string | null;
  created: string;
  preset: string;
  data: { name: string; provenance: unknown[]; note: string };
  hardware: { cpu: string; cores: number; threads: number; node: string; backend: string };
  /** every protocol choice, as name -> description */
  protocol: Record<string, string>;
  budget_s: number;
  seeds: number[];
  sizes: SizeSpec[];
  runs: TrainedRun[];
  frontier: Frontier;
  compression: CompressionPoint[];
  /** points on the Pareto frontier (lowest ppl for at most that many bytes / non-zeros) */
  pareto: { bytes: CompressionPoint[]; nonzero: CompressionPoint[] };
  finetune: null | {
    task: string;
    compression: CompressionPoint[];
    dense: Array<{ size_id: string; accuracy: number }>;
  };
  verdicts: Verdict[];
}
