// GPTQ (Frantar et al. 2022, the reference `fasterquant`) for one linear layer: quantize W column by
// column and push each column's error onto the not-yet-quantized columns through the inverse
// Hessian of the layer's calibration inputs. Scalar float64 reference; it does not run the model.
//
// As the reference: H = 2 X^T X / n; dead inputs (diag H = 0) get H_ii = 1 and W[:, i] = 0; damping
// percdamp * mean(diag H) on the diagonal; optional act-order (columns by diag H descending, undone at
// the end); U = upper Cholesky factor of H^-1; blocks of `blocksize` columns with lazy batch updates;
// per-tensor/per-channel grids fitted once to the (dead-zeroed) W; group grids fitted when the
// group's first column is reached, to the current error-updated weights of the group's columns.
// Deliberate differences, both so a QuantTensor keeps the plain group layout and the result does not
// depend on blocksize:
// - group grids see the exact current weights (the reference reads the outer W, which misses the
//   in-block updates of the current block when groupsize < blocksize);
// - with act-order, groups stay runs of consecutive ORIGINAL columns (no g_idx), fitted when the first
//   of their columns comes up in act-order (the reference either stores g_idx or uses static groups).
import { InputError } from '../../engine/errors.ts';
import {
  buildQuantTensor,
  decode,
  encode,
  fitGrid,
  type Grid,
  type QuantFormat,
  type QuantTensor,
  scaleIndex,
} from './formats.ts';

export interface GptqOptions {
  /** damping as a fraction of mean(diag H), added to the diagonal (0.01 as the reference) */
  percdamp?: number;
  /** columns per lazy batch update (128 as the reference; the result does not depend on it) */
  blocksize?: number;
  /** quantize columns in order of decreasing diag H (the reference's act-order) */
  actorder?: boolean;
}

/**
 * Running H = 2/N * sum over all N calibration rows x of x x^T, for inputs X (n, cols) fed in batches.
 * Stored as the upper triangle; hessian() returns the full symmetric matrix.
 */
export class HessianAccumulator {
  private readonly upper: Float64Array;
  /** calibration rows seen so far */
  count = 0;

  constructor(readonly cols: number) {
    if (!(Number.isInteger(cols) && cols > 0))
      throw new RangeError(`cols must be a positive integer, got ${cols}`);
    this.upper = new Float64Array(cols * cols);
  }

  /** Add the first n rows of x, a row-major (n, cols) matrix of one layer's inputs. */
  add(x: Float32Array | Float64Array, n: number): void {
    const C = this.cols;
    if (!(Number.isInteger(n) && n >= 0) || x.length < n * C) {
      throw new InputError(
        `Hessian batch needs n*cols = ${n}*${C} values, found ${x.length}`,
        'pass the layer inputs as a (rows, in_features) matrix and its row count',
      );
    }
    if (n === 0) return;
    const H = this.upper;
    const keep = this.count / (this.count + n);
    for (let i = 0; i < H.length; i++) H[i]! *= keep;
    this.count += n;
    const c = 2 / this.count;
    for (let t = 0; t < n; t++) {
      const o = t * C;
      for (let i = 0; i < C; i++) {
        const xi = c * x[o + i]!;
        if (xi === 0) continue;
        const row = i * C;
        for (let j = i; j < C; j++) H[row + j]! += xi * x[o + j]!;
      }
    }
  }

  hessian(): Float64Array {
    const C = this.cols;
    const H = Float64Array.from(this.upper);
    for (let i = 0; i < C; i++) for (let j = 0; j < i; j++) H[i * C + j] = H[j * C + i]!;
    return H;
  }
}

/** In-place lower Cholesky factor of a row-major SPD matrix (the upper triangle is zeroed). */
function choleskyLower(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j]!;
    for (let k = 0; k < j; k++) s -= a[rj + k]! * a[rj + k]!;
    if (!(s > 0)) {
      throw new InputError(
        `GPTQ: the damped Hessian is not positive definite (pivot ${s} at column ${j})`,
        'raise percdamp (e.g. 0.1) or calibrate on more rows',
      );
    }
    const d = Math.sqrt(s);
    a[rj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = a[ri + j]!;
      for (let k = 0; k < j; k++) t -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = t / d;
    }
    for (let k = j + 1; k < n; k++) a[rj + k] = 0;
  }
}

/** Inverse of a lower-triangular matrix (row-major), by forward substitution row by row. */
function invertLower(L: Float64Array, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const lik = L[ri + k]!;
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) X[ri + j]! -= lik * X[rk + j]!;
    }
    X[ri + i]! += 1;
    const d = L[ri + i]!;
    for (let j = 0; j <= i; j++) X[ri + j]! /= d;
  }
  return X;
}

/**
 * U, upper triangular with U^T U = H^-1 (the reference's cholesky(cholesky_inverse(cholesky(H)),
 * upper=True)), computed as R^-1 where H = R R^T, R upper: with J the reversal permutation,
 * J H J = L L^T gives R = J L J and U = J L^-1 J. Same factor (it is unique), one factorisation.
 */
export function upperCholeskyOfInverse(H: Float64Array, n: number): Float64Array {
  const rev = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rev[i * n + j] = H[(n - 1 - i) * n + (n - 1 - j)]!;
  choleskyLower(rev, n);
  const Linv = invertLower(rev, n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) U[i * n + j] = Linv[(n - 1 - i) * n + (n - 1 - j)]!;
  return U;
}

interface Prepared {
  /** weights with columns in processing order, dead columns zeroed, (rows, cols) */
  W: Float64Array;
  /** perm[j] = original column processed j-th */
  perm: Int32Array;
  /** upper Cholesky factor of the damped, permuted H^-1 */
  U: Float64Array;
}

function prepare(
  w: Float32Array,
  rows: number,
  cols: number,
  H: Float64Array,
  percdamp: number,
  actorder: boolean,
): Prepared {
  const diag = new Float64Array(cols);
  for (let i = 0; i < cols; i++) diag[i] = H[i * cols + i]! === 0 ? 1 : H[i * cols + i]!; // dead -> 1
  const order = Array.from({ length: cols }, (_, i) => i);
  if (actorder) order.sort((a, b) => diag[b]! - diag[a]!); // stable: ties keep column order
  const perm = Int32Array.from(order);
  const Hp = new Float64Array(cols * cols);
  let mean = 0;
  for (const d of diag) mean += d / cols;
  for (let a = 0; a < cols; a++) {
    const pa = perm[a]!;
    for (let b = 0; b < cols; b++)
      Hp[a * cols + b] = a === b ? diag[pa]! + percdamp * mean : H[pa * cols + perm[b]!]!;
  }
  const W = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const c = perm[j]!;
      W[r * cols + j] = H[c * cols + c]! === 0 ? 0 : w[r * cols + c]!;
    }
  }
  return { W, perm, U: upperCholeskyOfInverse(Hp, cols) };
}

function checkInputs(
  w: Float32Array,
  rows: number,
  cols: number,
  H: Float64Array,
  o: Required<GptqOptions>,
): void {
  const bad = (what: string, hint: string): never => {
    throw new InputError(`GPTQ: ${what}`, hint);
  };
  if (
    !(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) ||
    w.length !== rows * cols
  ) {
    bad(
      `expected a (rows, cols) weight matrix, got rows=${rows}, cols=${cols}, ${w.length} values`,
      'pass one linear layer, (out, in)',
    );
  }
  if (H.length !== cols * cols)
    bad(`expected a ${cols}x${cols} Hessian, got ${H.length} values`, 'use HessianAccumulator(in_features)');
  if (!(o.percdamp >= 0 && Number.isFinite(o.percdamp)))
    bad(`percdamp must be >= 0, got ${o.percdamp}`, 'the usual value is 0.01');
  if (!(Number.isInteger(o.blocksize) && o.blocksize >= 1))
    bad(`blocksize must be a positive integer, got ${o.blocksize}`, 'use 128');
  let tol = 0;
  for (let i = 0; i < cols; i++) tol = Math.max(tol, Math.abs(H[i * cols + i]!));
  tol *= 1e-6;
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j <= i; j++) {
      const a = H[i * cols + j]!;
      if (!Number.isFinite(a) || Math.abs(a - H[j * cols + i]!) > tol) {
        bad(
          `Hessian entry (${i}, ${j}) = ${a} is not finite or not symmetric`,
          'use HessianAccumulator.hessian()',
        );
      }
    }
  }
  for (let i = 0; i < w.length; i++)
    if (!Number.isFinite(w[i]!)) bad(`weight ${i} is ${w[i]}`, 'the model diverged; check its training run');
}

/** Per-tensor or per-channel grids, fitted once to the prepared weights (as the reference). */
function fitStaticGrids(f: QuantFormat, W: Float64Array, rows: number, cols: number): Grid[] {
  const n = f.granularity === 'tensor' ? 1 : rows;
  const mins = new Float64Array(n).fill(Infinity);
  const maxs = new Float64Array(n).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    const s = f.granularity === 'tensor' ? 0 : r;
    for (let j = 0; j < cols; j++) {
      mins[s] = Math.min(mins[s]!, W[r * cols + j]!);
      maxs[s] = Math.max(maxs[s]!, W[r * cols + j]!);
    }
  }
  return Array.from({ length: n }, (_, s) => fitGrid(mins[s]!, maxs[s]!, f.bits, f.symmetric));
}

/** State of one GPTQ pass over the prepared (permuted) weights. */
class GptqRun {
  readonly codes: Uint8Array;
  readonly grids: (Grid | undefined)[];
  /** scaled errors (w - q) / U_jj of the current block, (rows, bs) */
  private readonly err: Float64Array;
  /** pos[c] = processing position of original column c */
  private readonly pos: Int32Array;

  constructor(
    private readonly f: QuantFormat,
    private readonly p: Prepared,
    private readonly rows: number,
    private readonly cols: number,
    private readonly bs: number,
  ) {
    this.codes = new Uint8Array(rows * cols);
    this.err = new Float64Array(rows * bs);
    this.pos = new Int32Array(cols);
    p.perm.forEach((c, j) => {
      this.pos[c] = j;
    });
    const ng = f.granularity === 'group' ? rows * Math.ceil(cols / f.groupSize!) : 0;
    this.grids =
      f.granularity === 'group' ? new Array<Grid | undefined>(ng) : fitStaticGrids(f, p.W, rows, cols);
  }

  run(): void {
    for (let i1 = 0; i1 < this.cols; i1 += this.bs) {
      const i2 = Math.min(i1 + this.bs, this.cols);
      for (let j = i1; j < i2; j++) this.column(j, i1, i2);
      this.lazyUpdate(i1, i2);
    }
  }

  /** Quantize processing column j and spread its error over the rest of the block. */
  private column(j: number, i1: number, i2: number): void {
    const { W, U, perm } = this.p;
    const cols = this.cols;
    const f = this.f;
    const c = perm[j]!;
    if (f.granularity === 'group' && this.grids[scaleIndex(f, cols, 0, c)] === undefined)
      this.fitGroup(c, j, i1, i2);
    const d = U[j * cols + j]!;
    for (let r = 0; r < this.rows; r++) {
      const g = this.grids[scaleIndex(f, cols, r, c)]!;
      const x = W[r * cols + j]!;
      const code = encode(x, g);
      this.codes[r * cols + c] = code;
      const e = (x - decode(code, g)) / d;
      this.err[r * this.bs + (j - i1)] = e;
      if (e === 0) continue;
      const wr = r * cols;
      const uj = j * cols;
      for (let k = j + 1; k < i2; k++) W[wr + k]! -= e * U[uj + k]!;
    }
  }

  /** Columns i2.. absorb the errors of block [i1, i2) at once: W[:, i2:] -= Err @ U[i1:i2, i2:]. */
  private lazyUpdate(i1: number, i2: number): void {
    const { W, U } = this.p;
    const { cols, bs } = this;
    for (let r = 0; r < this.rows; r++) {
      const wr = r * cols;
      for (let k = i1; k < i2; k++) {
        const e = this.err[r * bs + (k - i1)]!;
        if (e === 0) continue;
        const uk = k * cols;
        for (let t = i2; t < cols; t++) W[wr + t]! -= e * U[uk + t]!;
      }
    }
  }

  /**
   * Fit the grids of the group holding original column c (all rows), reached at processing position
   * p inside block [i1, i2), to its columns' current weights: those past the block still owe the
   * block's pending lazy update for positions i1..p-1, added here.
   */
  private fitGroup(c: number, p: number, i1: number, i2: number): void {
    const { W, U } = this.p;
    const { cols, bs } = this;
    const f = this.f;
    const G = f.groupSize!;
    const c0 = Math.floor(c / G) * G;
    const c1 = Math.min(c0 + G, cols);
    for (let r = 0; r < this.rows; r++) {
      let min = Infinity;
      let max = -Infinity;
      for (let cc = c0; cc < c1; cc++) {
        const j = this.pos[cc]!;
        let v = W[r * cols + j]!;
        if (j >= i2) for (let k = i1; k < p; k++) v -= this.err[r * bs + (k - i1)]! * U[k * cols + j]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      this.grids[scaleIndex(f, cols, r, c)] = fitGrid(min, max, f.bits, f.symmetric);
    }
  }
}

/**
 * GPTQ-quantize one linear layer's weights w (rows = out, cols = in; row-major) given the Hessian
 * H = 2 X^T X / n of its calibration inputs (cols x cols, e.g. from HessianAccumulator).
 * Returns the same QuantTensor layout as the format's round-to-nearest quantize.
 */
export function gptqQuantize(
  w: Float32Array,
  rows: number,
  cols: number,
  H: Float64Array,
  format: QuantFormat,
  opts: GptqOptions = {},
): QuantTensor {
  const o: Required<GptqOptions> = {
    percdamp: opts.percdamp ?? 0.01,
    blocksize: opts.blocksize ?? 128,
    actorder: opts.actorder ?? false,
  };
  checkInputs(w, rows, cols, H, o);
  const prepared = prepare(w, rows, cols, H, o.percdamp, o.actorder);
  const run = new GptqRun(format, prepared, rows, cols, Math.min(o.blocksize, cols));
  run.run();
  const grids = run.grids.map((g) => g!);
  const scales = Float32Array.from(grids, (g) => g.scale);
  const zeros = format.symmetric ? null : Uint8Array.from(grids, (g) => g.zero);
  return buildQuantTensor(format, rows, cols, run.codes, scales, zeros);
}
