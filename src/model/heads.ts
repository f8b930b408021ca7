// Output heads as forward/backward pairs: the tied LM head (RoBERTa's transform for the encoder,
// plain for decoder/encdec), computed only at the positions that carry a target, and the
// classification head on the first token. Loss is the mean cross-entropy over counted rows.
import type { FloatArray } from '../engine/backend.ts';
import { type Ctx, type LnCache, layernorm, layernormBack, linearBackward, linearForward } from './layers.ts';
import { HEAD_NAMES } from './names.ts';
import { tiedOutput } from './tied.ts';

const { tokEmb, lmHead, cls } = HEAD_NAMES;

export interface HeadTape<A extends FloatArray> {
  /** rows of the stack output used (n) */
  idx: Int32Array;
  /** targets of those rows (n) */
  targets: Int32Array;
  hsel: A;
  /** encoder LM transform / cls hidden */
  dense: A | null;
  act: A | null;
  ln: LnCache<A> | null;
  /** (n, V) or (B, n_classes); with gradients asked for, overwritten by dlogits (same memory) */
  logits: A;
  /** d(mean loss)/dlogits, when gradients were asked for: computed in place over the logits */
  dlogits: A | null;
  /** (n) each selected row's loss (0 where the target is -1), when asked for (evaluation) */
  losses: A | null;
  V: number;
  sum: number;
  count: number;
}

/** positions b*T+t whose target is not -1, and those targets */
export function selectTargets(
  ws: Ctx<FloatArray>['ws'],
  key: string,
  targets: Int32Array,
): { idx: Int32Array; tg: Int32Array } {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i]! >= 0) n++;
  const idx = ws.i32(`${key}.idx`, n);
  const tg = ws.i32(`${key}.tg`, n);
  let j = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (t >= 0) {
      idx[j] = i;
      tg[j++] = t;
    }
  }
  return { idx, tg };
}

function loss<A extends FloatArray>(
  ctx: Ctx<A>,
  logits: A,
  tg: Int32Array,
  n: number,
  V: number,
  grad: boolean,
  smoothing: number,
  rowLosses: boolean,
) {
  // the gradient replaces the logits in place (both kernels read each logit before writing it):
  // backward needs only the gradient, and one (n, V) buffer is the head's largest (64 MB on a
  // 2048-position batch over 8192 words)
  const dlogits = grad ? logits : null;
  let counted = 0; // rows with a target: the mean's denominator, known before the kernel runs
  for (let i = 0; i < n; i++) if (tg[i] !== -1) counted++;
  const losses = rowLosses ? ctx.ws.f('head.losses', n) : null;
  const { sum, count } = ctx.be.crossEntropy(logits, tg, n, V, {
    ignoreIndex: -1,
    labelSmoothing: smoothing,
    dlogits,
    gradScale: counted > 0 ? 1 / counted : 1, // the kernel scales the gradient: no extra pass
    losses,
  });
  return { dlogits, losses, sum, count };
}

/** Tied LM head at selected rows of h (N, C). `transform`: RoBERTa dense-gelu-LN + output bias. */
export function lmHeadForward<A extends FloatArray>(
  ctx: Ctx<A>,
  h: A,
  targets: Int32Array,
  C: number,
  V: number,
  transform: boolean,
  grad: boolean,
  smoothing = 0,
  rowLosses = false,
  /** false: the logits alone (scoring throughput, as an exported graph gives them), no loss */
  withLoss = true,
): HeadTape<A> {
  const { be, ws, p } = ctx;
  const { idx, tg } = selectTargets(ws, 'head', targets);
  const n = idx.length;
  const hsel = ws.f('head.hsel', n * C); // (n, C)
  be.gatherRows(hsel, h, idx, n, C);
  let x = hsel;
  let dense: A | null = null;
  let act: A | null = null;
  let ln: LnCache<A> | null = null;
  if (transform) {
    dense = ws.f('head.dense', n * C);
    act = ws.f('head.act', n * C);
    linearForward(ctx, dense, hsel, lmHead.dense, n, C, C);
    be.geluForward(act, dense, n * C);
    ln = layernorm(ctx, 'head.ln', lmHead.ln, act, n, C);
    x = ln.out;
  }
  const logits = ws.f('head.logits', n * V); // (n, V)
  tiedOutput(ctx, logits, x, transform ? p.get(lmHead.bias) : null, n, C, V); // tied E
  const l = withLoss
    ? loss(ctx, logits, tg, n, V, grad, smoothing, rowLosses)
    : { dlogits: null, losses: null, sum: Number.NaN, count: 0 };
  return { idx, targets: tg, hsel, dense, act, ln, logits, V, ...l };
}

/** dh (N, C) = gradient wrt the stack output (overwrites); head parameter gradients accumulate. */
export function lmHeadBackward<A extends FloatArray>(
  ctx: Ctx<A>,
  t: HeadTape<A>,
  dh: A,
  N: number,
  C: number,
): void {
  const { be, ws, p, g } = ctx;
  const n = t.idx.length;
  const V = t.V;
  const dl = t.dlogits!;
  const x = t.ln ? t.ln.out : t.hsel;
  const dx = ws.f('head.dx', n * C);
  // dx = dl E; dE += dl^T x; dbias += colsum(dl)
  be.linearBackward(
    dx,
    g.get(tokEmb),
    t.ln ? g.get(lmHead.bias) : null,
    dl,
    x,
    p.get(tokEmb),
    n,
    C,
    V,
    false,
  );
  let dhsel = dx;
  if (t.ln) {
    const dact = ws.f('head.dact', n * C);
    be.fill(dact, 0, n * C);
    layernormBack(ctx, lmHead.ln, t.ln, dact, dx, n, C);
    be.geluBackward(dact, t.dense!, dact, n * C);
    dhsel = ws.f('head.dhsel', n * C);
    linearBackward(ctx, dhsel, dact, t.hsel, lmHead.dense, n, C, C, false);
  }
  be.fill(dh, 0, N * C);
  be.scatterAddRows(dh, dhsel, t.idx, n, C);
}

/** Classification head on the first token of each row: dense, tanh, out (RoBERTa's head). */
export function clsHeadForward<A extends FloatArray>(
  ctx: Ctx<A>,
  h: A,
  B: number,
  T: number,
  C: number,
  K: number,
  labels: Int32Array,
  grad: boolean,
  rowLosses = false,
): HeadTape<A> {
  const { be, ws } = ctx;
  const idx = ws.i32('cls.idx', B);
  for (let b = 0; b < B; b++) idx[b] = b * T;
  const hsel = ws.f('cls.hsel', B * C);
  be.gatherRows(hsel, h, idx, B, C);
  const dense = ws.f('cls.dense', B * C);
  const act = ws.f('cls.act', B * C);
  linearForward(ctx, dense, hsel, cls.dense, B, C, C);
  be.tanhForward(act, dense, B * C);
  const logits = ws.f('cls.logits', B * K);
  linearForward(ctx, logits, act, cls.out, B, C, K);
  const l = loss(ctx, logits, labels, B, K, grad, 0, rowLosses);
  return { idx, targets: labels, hsel, dense, act, ln: null, logits, V: K, ...l };
}

export function clsHeadBackward<A extends FloatArray>(
  ctx: Ctx<A>,
  t: HeadTape<A>,
  dh: A,
  N: number,
  C: number,
): void {
  const { be, ws } = ctx;
  const B = t.idx.length;
  const K = t.V;
  const dact = ws.f('cls.dact', B * C);
  linearBackward(ctx, dact, t.dlogits!, t.act!, cls.out, B, C, K, false);
  be.tanhBackward(dact, t.act!, dact, B * C);
  const dhsel = ws.f('cls.dhsel', B * C);
  linearBackward(ctx, dhsel, dact, t.hsel, cls.dense, B, C, C, false);
  be.fill(dh, 0, N * C);
  be.scatterAddRows(dh, dhsel, t.idx, B, C);
}
