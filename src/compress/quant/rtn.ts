// Round-to-nearest weight quantization (the format's own quantize), plus the default scope: which
// tensors of a flat parameter layout get quantized. Does not write files (the container does).
import { InputError } from '../../engine/errors.ts';
import { isEmbedding } from '../../model/names.ts';
import type { ParamSpec } from '../../model/params.ts';
import { getFormat, type QuantFormat, type QuantTensor } from './formats.ts';

/** Round-to-nearest quantization of one (rows, cols) weight matrix. */
export function rtnQuantize(w: Float32Array, rows: number, cols: number, format: QuantFormat): QuantTensor {
  return format.quantize(w, rows, cols);
}

export interface QuantScope {
  /** also quantize token and position embeddings (default false: they stay fp32) */
  embeddings?: boolean;
}

/**
 * Tensors to quantize: every linear layer's weight matrix, plus embeddings when asked. Layer norms
 * and biases always stay fp32. Note: tok_emb.weight is tied to the output head in this model.
 */
export function selectQuantTargets(specs: readonly ParamSpec[], scope: QuantScope = {}): ParamSpec[] {
  return specs.filter((s) => s.linear || (scope.embeddings === true && isEmbedding(s.name)));
}

/** (rows, cols) of a 2-D parameter; throws for anything else. */
export function matrixShape(spec: ParamSpec): [number, number] {
  const [rows, cols] = spec.shape;
  if (spec.shape.length !== 2 || rows === undefined || cols === undefined) {
    throw new InputError(
      `cannot quantize '${spec.name}': expected a 2-D weight matrix, found shape [${spec.shape.join(', ')}]`,
      'select only linear weights and embeddings (see selectQuantTargets)',
    );
  }
  return [rows, cols];
}

/** The slice of a flat parameter buffer that holds one tensor. */
export function paramSlice(params: Float32Array, spec: ParamSpec): Float32Array {
  if (spec.offset + spec.size > params.length) {
    throw new InputError(
      `parameter '${spec.name}' ends at ${spec.offset + spec.size}, past the buffer of ${params.length} floats`,
      'pass the flat parameter buffer that matches this layout',
    );
  }
  return params.subarray(spec.offset, spec.offset + spec.size);
}

/** RTN-quantize every target tensor of a flat parameter buffer. */
export function quantizeParamsRtn(
  params: Float32Array,
  targets: readonly ParamSpec[],
  format: QuantFormat,
): Map<string, QuantTensor> {
  const out = new Map<string, QuantTensor>();
  for (const s of targets) {
    const [rows, cols] = matrixShape(s);
    out.set(s.name, rtnQuantize(paramSlice(params, s), rows, cols, format));
  }
  return out;
}

/** Write the dequantized values of one tensor back into a flat buffer (to run it with dense kernels). */
export function writeDequantized(params: Float32Array, spec: ParamSpec, q: QuantTensor): void {
  const [rows, cols] = matrixShape(spec);
  if (q.rows !== rows || q.cols !== cols) {
    throw new InputError(
      `quantized tensor for '${spec.name}' is ${q.rows}x${q.cols}, the layout expects ${rows}x${cols}`,
      'the compressed model does not match this model config',
    );
  }
  paramSlice(params, spec).set(getFormat(q.format).dequantize(q));
}
