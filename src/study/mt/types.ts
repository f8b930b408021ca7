// The translation study's results document (report/results.json of `tlc study --task mt`):
// everything its report draws, computed only from run directories and the saved translations
// (every BLEU here can be recomputed from the outputs file it names and the sample's references).
import type { VerdictWord } from '../types.ts';

export interface MtSize {
  /** e.g. "d128-L2": width, and the depth of the encoder and of the decoder each */
  id: string;
  sweeps: Array<'depth' | 'width'>;
  d_model: number;
  n_layers: number;
  n_heads: number;
  d_ff: number;
  params: number;
  lr: number;
  warmup_steps: number;
  max_tokens: number;
}

export interface MtCurvePoint {
  step: number;
  wall_s: number;
  tokens: number;
  /** validation cross-entropy per target token (no label smoothing) */
  loss: number;
}

/** BLEU and chrF of one model's translations of the fixed sample. */
export interface BleuPoint {
  /** the grid time it stands for (training seconds); the budget for the final model */
  t: number;
  step: number;
  /** training seconds of the weights actually decoded */
  wall_s: number;
  decoding: 'greedy' | 'beam';
  bleu: number;
  chrf: number;
  /** the outputs file, relative to the study folder */
  file: string;
}

export interface MtRun {
  id: string;
  size_id: string;
  seed: number;
  run_dir: string;
  steps: number;
  /** source + target positions processed, padding included */
  tokens: number;
  wall_s: number;
  tokens_per_s: number;
  steps_per_s: number;
  curve: MtCurvePoint[];
  final_loss: number;
  /** greedy BLEU at the BLEU grid times (the last at the budget) */
  bleu: BleuPoint[];
  /** the final model with beam search */
  final: BleuPoint;
}

export interface MtCompressionPoint {
  run_id: string;
  size_id: string;
  /** 'dense' | 'rtn' | 'magnitude' */
  method: string;
  setting: string;
  bits: number | null;
  sparsity: number | null;
  /** exact bytes of the container file (dense: the fp32 container) */
  bytes: number;
  nonzero_params: number;
  loss: number;
  bleu: number;
  chrf: number;
  /** greedy outputs, relative to the study folder */
  file: string;
}

/** One paired bootstrap comparison a verdict made (BLEU points; a − b). */
export interface BleuComparison {
  what: string;
  a: string;
  b: string;
  diff: number;
  /** 95% interval of the paired bootstrap over sentences */
  low: number;
  high: number;
  /** which side is better, or a tie when the interval holds 0 */
  outcome: 'a' | 'b' | 'tie';
  /** which side the claim predicts should win */
  claim_favours: 'a' | 'b';
  /** claim 2: left out of the tally, and why (the larger model had too little BLEU to lose) */
  not_counted?: string;
}

export interface MtVerdict {
  /** "1", "2", "3-bytes", "3-nonzero", "width-depth" */
  claim: string;
  statement: string;
  verdict: VerdictWord;
  reason: string;
  caveats: string[];
  evidence: string;
  comparisons: BleuComparison[];
}

export interface MtFrontierPoint {
  t: number;
  decoding: 'greedy' | 'beam';
  size_id: string;
  bleu: number;
  /** sizes whose BLEU is inside the noise of the best's (paired bootstrap interval holds 0) */
  ties: string[];
}

export interface MtResults {
  task: 'mt';
  tlc_version: string;
  git: string | null;
  created: string;
  preset: string;
  data: {
    name: string;
    provenance: unknown[];
    note: string;
    train_pairs: number;
    valid_pairs: number;
    /** the fixed BLEU sample: its size and how it was drawn */
    sample: { sentences: number; file: string; how: string };
  };
  hardware: { cpu: string; cores: number; threads: number; node: string; backend: string };
  protocol: Record<string, string>;
  budget_s: number;
  seeds: number[];
  sizes: MtSize[];
  runs: MtRun[];
  /** grid times of the validation loss */
  times: number[];
  /** grid times with greedy BLEU */
  bleu_times: number[];
  /** the best size at each BLEU time (greedy) and at the budget with beam search */
  frontier: MtFrontierPoint[];
  compute_optimal: MtFrontierPoint;
  compression: MtCompressionPoint[];
  verdicts: MtVerdict[];
  warnings: string[];
}
