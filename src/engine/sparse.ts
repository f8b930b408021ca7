// CSR weights for the unstructured-sparse inference kernel (see Backend.linearSparseForward): built
// from a dense (out, in) matrix and its keep-mask, or checked from given arrays; and the bytes they
// hold. It does not choose what to prune (compress/prune.ts does).
import type { CsrWeights } from './backend.ts';
import { InputError } from './errors.ts';

/** Largest input width a CSR weight can index (its column indices are uint16). */
export const CSR_MAX_COLS = 65536;

/** CSR of the elements of w (rows, cols) that are kept: mask[i] != 0 (all nonzeros when mask is null). */
export function csrFromDense(
  w: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  rows: number,
  cols: number,
): CsrWeights {
  checkShape(rows, cols, w.length);
  let nnz = 0;
  const keep = (i: number) => (mask ? mask[i] !== 0 : w[i] !== 0);
  for (let i = 0; i < rows * cols; i++) if (keep(i)) nnz++;
  const rowPtr = new Int32Array(rows + 1);
  const colIdx = new Uint16Array(nnz);
  const values = new Float32Array(nnz);
  let j = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (!keep(i)) continue;
      colIdx[j] = c;
      values[j++] = w[i]!;
    }
    rowPtr[r + 1] = j;
  }
  return { rowPtr, colIdx, values };
}

function checkShape(rows: number, cols: number, n: number): void {
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 0 && cols >= 0) || n !== rows * cols)
    throw new InputError(
      `CSR weights: expected a (rows, cols) matrix of rows*cols values, found rows=${rows}, cols=${cols}, ${n} values`,
      'pass one (out, in) weight matrix, row-major',
    );
  if (cols > CSR_MAX_COLS)
    throw new InputError(
      `CSR weights: at most ${CSR_MAX_COLS} input columns (uint16 indices), found ${cols}`,
      'run this layer dense (or quantized) instead of sparse',
    );
}

/** Throws unless `w` is a well-formed CSR of a (rows, cols) matrix. */
export function checkCsr(w: CsrWeights, rows: number, cols: number): void {
  const bad = (what: string) =>
    new InputError(`CSR weights (${rows}x${cols}): ${what}`, 'build them with csrFromDense');
  if (w.rowPtr.length !== rows + 1) throw bad(`expected ${rows + 1} row pointers, found ${w.rowPtr.length}`);
  if (w.rowPtr[0] !== 0) throw bad('rowPtr[0] must be 0');
  for (let r = 0; r < rows; r++)
    if (w.rowPtr[r + 1]! < w.rowPtr[r]!) throw bad(`rowPtr decreases at row ${r}`);
  const nnz = w.rowPtr[rows]!;
  if (w.colIdx.length < nnz || w.values.length < nnz)
    throw bad(
      `${nnz} kept weights need as many indices and values, found ${w.colIdx.length} and ${w.values.length}`,
    );
  for (let j = 0; j < nnz; j++) if (w.colIdx[j]! >= cols) throw bad(`column index ${w.colIdx[j]} >= ${cols}`);
}

/** Bytes a CsrWeights holds (row pointers, indices, values). */
export function csrWeightBytes(w: CsrWeights): number {
  return w.rowPtr.byteLength + w.colIdx.byteLength + w.values.byteLength;
}
