// A small builder for ONNX graphs: unique value names, initializers (weights and shared constants),
// nodes with typed attributes, graph inputs/outputs, and the finished ModelProto. It knows ops only
// by name; the model graphs themselves are in transformer.ts.
import {
  type Attr,
  type DataType,
  DT,
  type GraphData,
  modelProto,
  type NodeData,
  type Pb,
  rawBytes,
  type TensorData,
  type ValueInfo,
} from './proto.ts';

/** The standard opset the exports use: LayerNormalization needs 17; onnx 1.12's checker knows up to 17. */
export const OPSET = 17;
/** IR version 8 goes with opset 17 (onnx 1.12 / onnxruntime >= 1.12). */
export const IR_VERSION = 8;

export class GraphBuilder {
  readonly nodes: NodeData[] = [];
  readonly initializers: TensorData[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private readonly consts = new Map<string, string>();
  private readonly domains = new Set<string>();
  private counter = 0;

  /** a fresh value name starting with `base` */
  fresh(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, type: DataType, dims: Array<number | string>): string {
    this.used.add(name);
    this.inputs.push({ name, type, dims });
    return name;
  }

  /** declare `value` (produced by some node) as a graph output named `name` */
  output(value: string, name: string, type: DataType, dims: Array<number | string>): void {
    if (value !== name) this.op('Identity', [value], {}, { out: name });
    this.outputs.push({ name, type, dims });
  }

  init(name: string, type: DataType, dims: number[], raw: Uint8Array): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, type, dims, raw });
    return n;
  }

  f32(name: string, dims: number[], data: Float32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`initializer ${name}: ${data.length} values for dims ${dims}`);
    return this.init(name, DT.FLOAT, dims, rawBytes(data));
  }

  /** a shared constant initializer (deduplicated by type, dims and values) */
  constant(type: 'f32' | 'i64', values: number[], dims: number[] = [values.length]): string {
    const key = `${type}:${dims.join('x')}:${values.join(',')}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const raw =
      type === 'f32'
        ? rawBytes(Float32Array.from(values))
        : rawBytes(BigInt64Array.from(values, (v) => BigInt(v)));
    const name = this.init(
      `const_${type}_${values.slice(0, 4).join('_').replace(/[^\w]/g, 'm')}`,
      type === 'f32' ? DT.FLOAT : DT.INT64,
      dims,
      raw,
    );
    this.consts.set(key, name);
    return name;
  }

  scalarF(v: number): string {
    return this.constant('f32', [v], []);
  }

  /** Add a node; returns its output names (one unless opts.outputs says more). */
  ops(
    op: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    opts: { outputs?: number; domain?: string; base?: string } = {},
  ): string[] {
    const base = opts.base ?? op.toLowerCase();
    const outputs = Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(base));
    this.pushNode(op, inputs, outputs, attrs, opts.domain);
    return outputs;
  }

  /** Add a one-output node; `out` names its output (default: a fresh name). */
  op(
    op: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    opts: { domain?: string; base?: string; out?: string } = {},
  ): string {
    const out = opts.out ?? this.fresh(opts.base ?? op.toLowerCase());
    if (opts.out) this.used.add(out);
    this.pushNode(op, inputs, [out], attrs, opts.domain);
    return out;
  }

  private pushNode(
    op: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, Attr>,
    domain?: string,
  ) {
    if (domain) this.domains.add(domain);
    this.nodes.push({ op, inputs, outputs, name: `${op}_${this.nodes.length}`, attrs, domain });
  }

  graph(name: string): GraphData {
    return {
      name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }

  model(name: string, producerVersion: string, metadata: Record<string, string> = {}): Pb {
    const opsets = [{ domain: '', version: OPSET }];
    for (const d of this.domains) opsets.push({ domain: d, version: 1 });
    return modelProto({
      irVersion: IR_VERSION,
      producer: 'tlc',
      producerVersion,
      graph: this.graph(name),
      opsets,
      metadata,
    });
  }
}
