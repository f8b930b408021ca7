// 8-bit dynamic per-token activation quantization (symmetric, one scale per row = per token,
// scale = max|x| / 127, codes in [-127, 127]): the reference for the later int8 inference path.
// Scalar reference only; no int8 GEMM here.
import { InputError } from '../../engine/errors.ts';
import { roundHalfEven } from './formats.ts';

/** int8 codes of a (rows, cols) activation matrix with one float32 scale per row. */
export interface ActQuant {
  rows: number;
  cols: number;
  codes: Int8Array;
  scales: Float32Array;
}

function checkShape(x: ArrayLike<number>, rows: number, cols: number): void {
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) || x.length < rows * cols) {
    throw new InputError(
      `per-token activation quantization expects rows*cols values; got rows=${rows}, cols=${cols}, ${x.length} values`,
      'pass the (tokens, features) activation matrix, row-major',
    );
  }
}

/** Quantize the first rows*cols values of x per row; an all-zero row gets scale 0 and codes 0. */
export function quantActPerToken(x: Float32Array | Float64Array, rows: number, cols: number): ActQuant {
  checkShape(x, rows, cols);
  const codes = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let amax = 0;
    for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(x[o + c]!));
    if (!Number.isFinite(amax)) {
      throw new InputError(
        `activation row ${r} has a non-finite value`,
        'the model diverged; check its weights',
      );
    }
    const scale = Math.fround(amax / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < cols; c++) {
      const q = roundHalfEven(x[o + c]! / scale);
      codes[o + c] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { rows, cols, codes, scales };
}

export function dequantActPerToken(a: ActQuant, out = new Float32Array(a.rows * a.cols)): Float32Array {
  for (let r = 0; r < a.rows; r++) {
    const s = a.scales[r]!;
    for (let c = 0; c < a.cols; c++) out[r * a.cols + c] = a.codes[r * a.cols + c]! * s;
  }
  return out;
}

/** Quantize then dequantize (what the int8 path would compute with), into `out` (may alias x). */
export function fakeQuantActPerToken<A extends Float32Array | Float64Array>(
  x: A,
  rows: number,
  cols: number,
  out?: A,
): A {
  const a = quantActPerToken(x, rows, cols);
  const dst = out ?? (x.slice(0, rows * cols) as A);
  for (let r = 0; r < rows; r++) {
    const s = a.scales[r]!;
    for (let c = 0; c < cols; c++) dst[r * cols + c] = a.codes[r * cols + c]! * s;
  }
  return dst;
}
