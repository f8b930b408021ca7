// A minimal protobuf encoder for the ONNX messages an export needs (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, ValueInfoProto), field numbers from onnx/onnx.proto (IR 8).
// Encoding only: fields are written in field-number order, as the reference protobuf library does,
// and tensor bytes are referenced, never copied, so a large model streams to disk from its weights.
// Decoding and validation are left to the real clients (onnxruntime, the onnx checker) in the tests.

/** ONNX TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataType = (typeof DT)[keyof typeof DT];

/** AttributeProto.AttributeType values. */
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** An encoded message: a list of byte chunks (small ones coalesced, large ones shared) and their length. */
export class Pb {
  readonly parts: Uint8Array[] = [];
  length = 0;
  private buf: number[] = [];

  private flush(): void {
    if (this.buf.length === 0) return;
    this.parts.push(Uint8Array.from(this.buf));
    this.buf = [];
  }

  private byte(b: number): void {
    this.buf.push(b);
    this.length++;
  }

  /** unsigned or two's-complement (negative int64) base-128 varint */
  varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      let n = v;
      while (n >= 0x80) {
        this.byte((n % 0x80) | 0x80);
        n = Math.floor(n / 0x80);
      }
      this.byte(n);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, v: number | bigint): this {
    if (typeof v === 'number' && !Number.isInteger(v)) throw new Error(`protobuf: ${v} is not an integer`);
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.byte(x);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    if (data.length <= 64) for (const x of data) this.byte(x);
    else {
      this.flush();
      this.parts.push(data);
      this.length += data.length;
    }
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Pb): this {
    this.tag(field, 2);
    this.varint(m.length);
    this.flush();
    m.flush();
    this.parts.push(...m.parts);
    this.length += m.length;
    return this;
  }

  /** the message's chunks, ready to write in order */
  chunks(): Uint8Array[] {
    this.flush();
    return this.parts;
  }

  /** the whole message in one buffer (tests, small messages) */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.chunks()) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export interface TensorData {
  name: string;
  type: DataType;
  dims: number[];
  /** little-endian element bytes */
  raw: Uint8Array;
}

/** A little-endian byte view of a typed array (no copy). */
export function rawBytes(a: Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function tensorProto(t: TensorData): Pb {
  const m = new Pb();
  for (const d of t.dims) m.int(1, d); // dims (unpacked: proto2 without [packed])
  m.int(2, t.type);
  m.string(8, t.name);
  m.bytes(9, t.raw);
  return m;
}

export type Attr =
  | { f: number }
  | { i: number }
  | { s: string }
  | { t: TensorData }
  | { floats: number[] }
  | { ints: number[] };

function attributeProto(name: string, a: Attr): Pb {
  const m = new Pb().string(1, name);
  if ('f' in a) m.float(2, a.f).int(20, AT.FLOAT);
  else if ('i' in a) m.int(3, a.i).int(20, AT.INT);
  else if ('s' in a) m.string(4, a.s).int(20, AT.STRING);
  else if ('t' in a) m.msg(5, tensorProto(a.t)).int(20, AT.TENSOR);
  else if ('floats' in a) {
    for (const f of a.floats) m.float(7, f);
    m.int(20, AT.FLOATS);
  } else {
    for (const i of a.ints) m.int(8, i);
    m.int(20, AT.INTS);
  }
  return m;
}

export interface NodeData {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs?: Record<string, Attr>;
  domain?: string;
}

export function nodeProto(n: NodeData): Pb {
  const m = new Pb();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name);
  m.string(4, n.op);
  for (const [k, a] of Object.entries(n.attrs ?? {})) m.msg(5, attributeProto(k, a));
  if (n.domain !== undefined) m.string(7, n.domain);
  return m;
}

/** A graph input or output: element type and dims (a number, or a symbolic name). */
export interface ValueInfo {
  name: string;
  type: DataType;
  dims: Array<number | string>;
}

function valueInfoProto(v: ValueInfo): Pb {
  const shape = new Pb();
  for (const d of v.dims) {
    const dim = new Pb();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.msg(1, dim);
  }
  const tensor = new Pb().int(1, v.type).msg(2, shape);
  const type = new Pb().msg(1, tensor);
  return new Pb().string(1, v.name).msg(2, type);
}

export interface GraphData {
  name: string;
  nodes: NodeData[];
  initializers: TensorData[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export function graphProto(g: GraphData): Pb {
  const m = new Pb();
  for (const n of g.nodes) m.msg(1, nodeProto(n));
  m.string(2, g.name);
  for (const t of g.initializers) m.msg(5, tensorProto(t));
  for (const v of g.inputs) m.msg(11, valueInfoProto(v));
  for (const v of g.outputs) m.msg(12, valueInfoProto(v));
  return m;
}

export interface ModelData {
  irVersion: number;
  producer: string;
  producerVersion: string;
  graph: GraphData;
  /** domain ("" = ai.onnx) -> opset version */
  opsets: Array<{ domain: string; version: number }>;
  metadata?: Record<string, string>;
}

export function modelProto(md: ModelData): Pb {
  const m = new Pb().int(1, md.irVersion).string(2, md.producer).string(3, md.producerVersion);
  m.msg(7, graphProto(md.graph));
  for (const o of md.opsets) m.msg(8, new Pb().string(1, o.domain).int(2, o.version));
  for (const [k, v] of Object.entries(md.metadata ?? {})) m.msg(14, new Pb().string(1, k).string(2, v));
  return m;
}
