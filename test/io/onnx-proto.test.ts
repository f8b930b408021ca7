// The ONNX protobuf encoder: varints and field encodings against hand-computed bytes, tensor data
// shared rather than copied, and a whole ModelProto byte for byte equal to what the onnx package's
// own helpers serialize (Debian python3-onnx; that check is skipped with a message when it is missing).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { DT, modelProto, Pb, rawBytes } from '../../src/io/onnx/proto.ts';

const PY = '/usr/bin/python3';
const hasOnnx = spawnSync(PY, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('varints: small, multi-byte, 2^53 - 1, and negative int64 as ten bytes', () => {
  const enc = (v: number | bigint) => {
    const p = new Pb();
    p.varint(v);
    return hex(p.toBytes());
  };
  assert.equal(enc(0), '00');
  assert.equal(enc(1), '01');
  assert.equal(enc(127), '7f');
  assert.equal(enc(300), 'ac02');
  assert.equal(enc(2 ** 53 - 1), 'ffffffffffffff0f');
  assert.equal(enc(-1), 'ffffffffffffffffff01');
  assert.equal(enc(-2n), 'feffffffffffffffff01');
});

test('fields: tag = field << 3 | wire type; floats little-endian fixed32; strings length-prefixed', () => {
  assert.equal(hex(new Pb().int(1, 150).toBytes()), '089601');
  assert.equal(hex(new Pb().float(2, 1).toBytes()), '150000803f');
  assert.equal(hex(new Pb().string(2, 'testing').toBytes()), '120774657374696e67');
  assert.equal(hex(new Pb().int(20, 2).toBytes()), 'a00102');
  const inner = new Pb().int(1, 150);
  assert.equal(hex(new Pb().msg(3, inner).toBytes()), '1a03089601');
  assert.throws(() => new Pb().int(1, 1.5), /not an integer/);
});

test('large byte fields are referenced, not copied', () => {
  const big = new Uint8Array(1000).fill(7);
  const m = new Pb().bytes(9, big);
  const outer = new Pb().int(1, 1).msg(5, m);
  assert.ok(outer.chunks().includes(big), 'the tensor buffer itself is one of the chunks');
  assert.equal(outer.length, outer.toBytes().length);
  assert.equal(outer.length, 2 + (1 + 2) + (1 + 2 + 1000)); // field 1; tag + length of 5; tag + length of 9, data
});

/** the same model, built by the onnx package's helpers */
const PY_MODEL = `
import sys, numpy as np, onnx
from onnx import helper, TensorProto
w = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
ids = np.array([0, -1, 5], dtype=np.int64)
g = helper.make_graph(
    [helper.make_node('Gemm', ['x', 'w'], ['y'], name='Gemm_0', alpha=0.5, transB=1),
     helper.make_node('LayerNormalization', ['y', 's'], ['z'], name='LN_1', axis=-1, epsilon=1e-5),
     helper.make_node('DynamicQuantizeMatMul', ['z', 'q', 's'], ['out'], name='DQ_2', domain='com.microsoft'),
     helper.make_node('Transpose', ['out'], ['t'], name='T_3', perm=[1, 0])],
    'g',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])],
    [helper.make_tensor_value_info('t', TensorProto.FLOAT, [3, 'batch'])],
    [helper.make_tensor('w', TensorProto.FLOAT, [3, 4], w.tobytes(), raw=True),
     helper.make_tensor('ids', TensorProto.INT64, [3], ids.tobytes(), raw=True)])
m = helper.make_model(g, producer_name='tlc', producer_version='0.1.0', ir_version=8,
    opset_imports=[helper.make_opsetid('', 17), helper.make_opsetid('com.microsoft', 1)])
helper.set_model_props(m, {'tlc.kind': 'mlm'})
sys.stdout.write(m.SerializeToString().hex())
`;

function tsModel(): Uint8Array {
  const w = Float32Array.from({ length: 12 }, (_, i) => i / 8);
  return modelProto({
    irVersion: 8,
    producer: 'tlc',
    producerVersion: '0.1.0',
    graph: {
      name: 'g',
      nodes: [
        {
          op: 'Gemm',
          inputs: ['x', 'w'],
          outputs: ['y'],
          name: 'Gemm_0',
          attrs: { alpha: { f: 0.5 }, transB: { i: 1 } },
        },
        {
          op: 'LayerNormalization',
          inputs: ['y', 's'],
          outputs: ['z'],
          name: 'LN_1',
          attrs: { axis: { i: -1 }, epsilon: { f: 1e-5 } },
        },
        {
          op: 'DynamicQuantizeMatMul',
          inputs: ['z', 'q', 's'],
          outputs: ['out'],
          name: 'DQ_2',
          domain: 'com.microsoft',
        },
        { op: 'Transpose', inputs: ['out'], outputs: ['t'], name: 'T_3', attrs: { perm: { ints: [1, 0] } } },
      ],
      initializers: [
        { name: 'w', type: DT.FLOAT, dims: [3, 4], raw: rawBytes(w) },
        { name: 'ids', type: DT.INT64, dims: [3], raw: rawBytes(BigInt64Array.from([0n, -1n, 5n])) },
      ],
      inputs: [{ name: 'x', type: DT.FLOAT, dims: ['batch', 4] }],
      outputs: [{ name: 't', type: DT.FLOAT, dims: [3, 'batch'] }],
    },
    opsets: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    metadata: { 'tlc.kind': 'mlm' },
  }).toBytes();
}

test(
  'a ModelProto equals, byte for byte, the one the onnx package serializes',
  { skip: !hasOnnx && 'python3-onnx is not installed (bash scripts/bootstrap.sh installs it as root)' },
  () => {
    const r = spawnSync(PY, ['-c', PY_MODEL], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(hex(tsModel()), r.stdout.trim());
  },
);
