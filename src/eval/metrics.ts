// The evaluation protocol written into every result: perplexity with ± standard error over a fixed
// set of validation windows, dense-vs-compressed KL and top-1 agreement on the same tokens, and
// classifier accuracy. All statistics are computed here in float64 from the models' logits.
// It does not choose the windows (the caller passes the fixed batches) and does not plot.
//
// Definitions (also spelled out in `evalProtocol`, which goes into result JSON):
// - token: a position with a target (LM/MLM targets >= 0, seq2seq tgtOut >= 0, one per cls row).
// - window: one row of one batch (a validation sequence / sentence pair / example) with >= 1 token.
// - loss: token-weighted mean negative log-likelihood (nats) over all tokens, as evaluate() does.
// - stderr_loss: the standard error of that mean with windows as independent clusters:
//   sqrt(W/(W-1) * sum_w (s_w - loss*c_w)^2) / sum_w c_w  (s_w, c_w: a window's NLL sum and token
//   count). With equal counts this is sd(window mean losses)/sqrt(W). Per-window, not per-token,
//   because tokens in one window are correlated; NaN (null in JSON) with fewer than 2 windows.
// - ppl = exp(loss); [ppl_low, ppl_high] = exp(loss ∓ 1.96 stderr_loss), a 95% normal interval.
import { argmaxRow } from '../engine/argmax.ts';
import type { FloatArray } from '../engine/backend.ts';
import { InputError } from '../engine/errors.ts';
import type { Transformer } from '../model/transformer.ts';
import { type AnyBatch, forwardAny } from '../train/task.ts';

/** z of the two-sided 95% normal interval used for ppl_low / ppl_high. */
export const Z95 = 1.96;

/** Logits of one batch at its counted positions; valid until the next score() call. */
export interface Scored {
  /** columns of logits (vocabulary or classes) */
  V: number;
  /** (n, V) */
  logits: FloatArray;
  /** (n) flat position b*T+t of each logits row in the batch (cls: b*T) */
  idx: Int32Array;
  /** (n) target ids */
  targets: Int32Array;
}

/** Anything that can score a batch: a Transformer, or a compressed model's own forward. */
export interface Scorer {
  score(x: AnyBatch): Scored;
}

export type Model<A extends FloatArray> = Transformer<A> | Scorer;

/** A Transformer as a Scorer: eval mode (no dropout, no label smoothing, no gradients). */
export function transformerScorer<A extends FloatArray>(m: Transformer<A>): Scorer {
  return {
    score(x) {
      const t = forwardAny(m, x, { train: false, grad: false, labelSmoothing: 0 });
      return { V: t.head.V, logits: t.head.logits, idx: t.head.idx, targets: t.head.targets };
    },
  };
}

function asScorer<A extends FloatArray>(m: Model<A>): Scorer {
  return 'score' in m ? m : transformerScorer(m);
}

/** Length of a batch row, to map a flat position to its window. */
function rowLength(x: AnyBatch): number {
  return x.kind === 'seq2seq' ? x.b.Tt : x.b.T;
}

/** What the compressed side of a comparison needs from one dense batch, per scored row. */
interface DenseRows {
  /** (rows, V) exp(x - max x) of each row, unnormalized */
  e: Float32Array;
  /**
   * per row: sum of e, sum of e * x, log-sum-exp of x (exact, for the loss; and from the rounded
   * e, for the KL), argmax (ties: lowest index), x[target]
   */
  z: Float64Array;
  ex: Float64Array;
  lse: Float64Array;
  lseR: Float64Array;
  arg: Int32Array;
  xt: Float64Array;
}

/** Dense scores of a batch seen before (a memoized dense scorer): their rows, computed once. */
const denseRowsMemo = new WeakMap<Scored, DenseRows>();

function denseRows(d: Scored): DenseRows {
  const known = denseRowsMemo.get(d);
  if (known) return known;
  const { V } = d;
  const n = d.idx.length;
  const r: DenseRows = {
    e: new Float32Array(n * V),
    z: new Float64Array(n),
    ex: new Float64Array(n),
    lse: new Float64Array(n),
    lseR: new Float64Array(n),
    arg: new Int32Array(n),
    xt: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const o = i * V;
    const x = d.logits;
    const arg = argmaxRow(x, o, V);
    const mx = x[o + arg]!;
    let z = 0;
    let z64 = 0;
    let ex = 0;
    for (let v = 0; v < V; v++) {
      const e64 = Math.exp(x[o + v]! - mx);
      const e = Math.fround(e64);
      r.e[o + v] = e;
      z += e;
      z64 += e64;
      ex += e * x[o + v]!;
    }
    r.z[i] = z;
    r.ex[i] = ex;
    r.lse[i] = mx + Math.log(z64);
    r.lseR[i] = mx + Math.log(z);
    r.arg[i] = arg;
    const tg = d.targets[i]!;
    r.xt[i] = tg >= 0 ? x[o + tg]! : 0;
  }
  denseRowsMemo.set(d, r);
  return r;
}

/**
 * Row i of the compressed logits y against the dense rows: KL(p || q) = sum p (x - y) - lse(x) +
 * lse(y) with p = e / z (the same rounded e in both sums, so identical rows give exactly 0), the
 * log-sum-exp and the argmax of y. One exponential per entry.
 */
function compareRow(
  dr: DenseRows,
  y: FloatArray,
  i: number,
  V: number,
): { kl: number; lseC: number; argC: number } {
  const o = i * V;
  const argC = argmaxRow(y, o, V);
  const my = y[o + argC]!;
  let zy = 0;
  let zyR = 0;
  let ey = 0;
  for (let v = 0; v < V; v++) {
    const e = Math.exp(y[o + v]! - my);
    zy += e;
    zyR += Math.fround(e); // rounded as the dense side's e
    ey += dr.e[o + v]! * y[o + v]!;
  }
  const kl = (dr.ex[i]! - ey) / dr.z[i]! + (my + Math.log(zyR) - dr.lseR[i]!); // 0 for y = x
  return { kl, lseC: my + Math.log(zy), argC };
}

/** out[v] = log softmax(logits[row])[v] in float64. */
function logSoftmax(logits: FloatArray, row: number, V: number, out: Float64Array): void {
  const o = row * V;
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[o + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[o + v]! - max);
  const lse = max + Math.log(s);
  for (let v = 0; v < V; v++) out[v] = logits[o + v]! - lse;
}

/** Per-window sums and counts of a per-token quantity, and its cluster standard error. */
class WindowStats {
  sums: number[] = [];
  counts: number[] = [];
  private last = '';
  add(window: string, value: number): void {
    if (window !== this.last || this.sums.length === 0) {
      this.sums.push(0);
      this.counts.push(0);
      this.last = window;
    }
    const w = this.sums.length - 1;
    this.sums[w]! += value;
    this.counts[w]! += 1;
  }
  get tokens(): number {
    return this.counts.reduce((a, c) => a + c, 0);
  }
  get windows(): number {
    return this.sums.length;
  }
  mean(): number {
    return this.sums.reduce((a, s) => a + s, 0) / this.tokens;
  }
  /** sqrt(W/(W-1) sum_w (s_w - mean c_w)^2) / sum_w c_w; NaN below 2 windows */
  stderr(): number {
    const W = this.windows;
    if (W < 2) return Number.NaN;
    const m = this.mean();
    let ss = 0;
    for (let w = 0; w < W; w++) ss += (this.sums[w]! - m * this.counts[w]!) ** 2;
    return Math.sqrt((W / (W - 1)) * ss) / this.tokens;
  }
}

function checkBatches(what: string, batches: AnyBatch[]): void {
  if (batches.length === 0)
    throw new InputError(`${what}: expected at least one evaluation batch, found none`);
}

function checkTokens(what: string, st: WindowStats): void {
  if (st.tokens === 0) {
    throw new InputError(
      `${what}: the evaluation batches have no counted tokens`,
      'check that the targets are not all -1',
    );
  }
}

export interface PerplexityResult {
  /** token-weighted mean NLL, nats */
  loss: number;
  ppl: number;
  /** cluster standard error of loss over windows (NaN below 2 windows) */
  stderr_loss: number;
  /** exp(loss - 1.96 stderr_loss) */
  ppl_low: number;
  /** exp(loss + 1.96 stderr_loss) */
  ppl_high: number;
  tokens: number;
  windows: number;
  /** each window's summed NLL, in batch-row order (paired comparisons); every row must count */
  window_nll: number[];
}

function pplResult(st: WindowStats): PerplexityResult {
  const loss = st.mean();
  const se = st.stderr();
  const ppl = Math.exp(loss);
  const low = Math.exp(loss - Z95 * se);
  const high = Math.exp(loss + Z95 * se);
  return {
    loss,
    ppl,
    stderr_loss: se,
    ppl_low: low,
    ppl_high: high,
    tokens: st.tokens,
    windows: st.windows,
    window_nll: [...st.sums],
  };
}

/** Perplexity with ± standard error over the fixed windows of `batches` (see the file header). */
export function perplexityWithError<A extends FloatArray>(
  model: Model<A>,
  batches: AnyBatch[],
): PerplexityResult {
  checkBatches('perplexity', batches);
  const scorer = asScorer(model);
  const st = new WindowStats();
  batches.forEach((x, bi) => {
    const s = scorer.score(x);
    const T = rowLength(x);
    const lp = new Float64Array(s.V);
    for (let i = 0; i < s.idx.length; i++) {
      const tg = s.targets[i]!;
      if (tg < 0) continue;
      logSoftmax(s.logits, i, s.V, lp);
      st.add(`${bi}:${Math.floor(s.idx[i]! / T)}`, -lp[tg]!);
    }
  });
  checkTokens('perplexity', st);
  return pplResult(st);
}

export interface CompareResult {
  /** mean over counted tokens of KL(p_dense || p_compressed), nats */
  kl_dense_compressed: number;
  /** cluster standard error of the mean KL over windows */
  kl_stderr: number;
  /** share of counted tokens where both models' argmax agree (ties: lowest index) */
  top1_agreement: number;
  top1_stderr: number;
  tokens: number;
  windows: number;
  /** both models' perplexity on the same tokens, from the same forward passes */
  dense: PerplexityResult;
  compressed: PerplexityResult;
}

/** KL(dense || compressed) and top-1 agreement at the same positions of the same batches. */
export function compareModels<A extends FloatArray, B extends FloatArray>(
  dense: Model<A>,
  compressed: Model<B>,
  batches: AnyBatch[],
): CompareResult {
  checkBatches('compareModels', batches);
  const sd = asScorer(dense);
  const sc = asScorer(compressed);
  const kl = new WindowStats();
  const top1 = new WindowStats();
  const nllD = new WindowStats();
  const nllC = new WindowStats();
  batches.forEach((x, bi) => {
    // the dense rows first: both scorers may share one workspace (a model with itself)
    const d = sd.score(x);
    const dr = denseRows(d);
    const didx = Int32Array.from(d.idx);
    const c = sc.score(x);
    if (c.V !== d.V || c.idx.length !== didx.length || c.idx.some((p, i) => p !== didx[i])) {
      throw new InputError(
        `compareModels: batch ${bi}: the models score different positions or vocabularies (dense ${didx.length}x${d.V}, compressed ${c.idx.length}x${c.V})`,
        'compare a compressed model with the dense model it came from',
      );
    }
    const T = rowLength(x);
    for (let i = 0; i < didx.length; i++) {
      const tg = c.targets[i]!;
      if (tg < 0) continue;
      const r = compareRow(dr, c.logits, i, d.V);
      const w = `${bi}:${Math.floor(didx[i]! / T)}`;
      kl.add(w, Math.max(0, r.kl)); // KL >= 0; clamp float64 round-off of identical distributions
      top1.add(w, dr.arg[i] === r.argC ? 1 : 0);
      nllD.add(w, dr.lse[i]! - dr.xt[i]!);
      nllC.add(w, r.lseC - c.logits[i * d.V + tg]!);
    }
  });
  checkTokens('compareModels', kl);
  return {
    kl_dense_compressed: kl.mean(),
    kl_stderr: kl.stderr(),
    top1_agreement: top1.mean(),
    top1_stderr: top1.stderr(),
    tokens: kl.tokens,
    windows: kl.windows,
    dense: pplResult(nllD),
    compressed: pplResult(nllC),
  };
}

export interface AccuracyResult {
  accuracy: number;
  correct: number;
  total: number;
  /** binomial standard error sqrt(p(1-p)/n) */
  stderr: number;
  /** per example, in batch order: 1 if classified correctly (paired comparisons) */
  correct_each: number[];
}

/** Classifier accuracy over classification batches (argmax; ties go to the lowest class id). */
export function accuracy<A extends FloatArray>(model: Model<A>, clsBatches: AnyBatch[]): AccuracyResult {
  checkBatches('accuracy', clsBatches);
  const scorer = asScorer(model);
  let correct = 0;
  let total = 0;
  const each: number[] = [];
  for (const x of clsBatches) {
    if (x.kind !== 'cls')
      throw new InputError(`accuracy: expected classification batches, found a ${x.kind} batch`);
    const s = scorer.score(x);
    for (let i = 0; i < x.b.B; i++) {
      const ok = argmaxRow(s.logits, i * s.V, s.V) === x.b.labels[i];
      if (ok) correct++;
      each.push(ok ? 1 : 0);
      total++;
    }
  }
  const p = total > 0 ? correct / total : Number.NaN;
  return { accuracy: p, correct, total, stderr: Math.sqrt((p * (1 - p)) / total), correct_each: each };
}

export interface EvalProtocol {
  version: 1;
  batches: number;
  windows: number;
  tokens: number;
  token: string;
  window: string;
  loss: string;
  stderr: string;
  interval: string;
  kl: string;
  top1: string;
  accuracy: string;
  mode: string;
  /** the seeds that fixed the windows and the models (data split, batching, model, ...) */
  seeds: Record<string, number>;
}

/** Count the windows and tokens of a batch set without running a model. */
export function countWindows(batches: AnyBatch[]): { windows: number; tokens: number } {
  let windows = 0;
  let tokens = 0;
  for (const x of batches) {
    const targets = x.kind === 'lm' ? x.b.targets : x.kind === 'seq2seq' ? x.b.tgtOut : null;
    if (!targets) {
      windows += x.b.B;
      tokens += x.b.B;
      continue;
    }
    const T = rowLength(x);
    for (let r = 0; r < x.b.B; r++) {
      let c = 0;
      for (let t = 0; t < T; t++) if (targets[r * T + t]! >= 0) c++;
      tokens += c;
      if (c > 0) windows++;
    }
  }
  return { windows, tokens };
}

/** What was computed and how, to be written next to every number in a result JSON. */
export function evalProtocol(batches: AnyBatch[], seeds: Record<string, number>): EvalProtocol {
  return {
    version: 1,
    batches: batches.length,
    ...countWindows(batches),
    token: 'a position with a target (LM/MLM target >= 0, seq2seq tgtOut >= 0, one per classification row)',
    window: 'one row of one fixed validation batch (a sequence, sentence pair or example) with >= 1 token',
    loss: 'token-weighted mean negative log-likelihood in nats (float64 log-softmax of the logits)',
    stderr:
      'cluster standard error of the mean over windows: sqrt(W/(W-1) sum_w (s_w - loss c_w)^2) / sum_w c_w',
    interval: `ppl_low, ppl_high = exp(loss -/+ ${Z95} stderr_loss): a 95% normal interval; '±' means ± 1 stderr`,
    kl: 'mean over tokens of sum_v p_dense(v) (log p_dense(v) - log p_compressed(v)), nats, float64 softmax',
    top1: 'share of tokens where argmax p_dense = argmax p_compressed (ties: lowest index)',
    accuracy: 'argmax of class logits = label over all classification rows; stderr sqrt(p(1-p)/n)',
    mode: 'eval: no dropout, no label smoothing',
    seeds,
  };
}
