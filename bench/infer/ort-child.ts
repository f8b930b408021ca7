// The onnxruntime-node side of the infer benchmark's child (imported by child.ts only for the ort
// configurations, so the tlc ones never load onnxruntime's library).
import * as ort from 'onnxruntime-node';
import type { OrtModel } from '../../src/io/onnx/ort-run.ts';

export { openOrt } from '../../src/io/onnx/ort-run.ts';

const i64 = (v: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(v, (x) => BigInt(x))), dims);

/** One full forward of a batch through an exported graph (causal: empty past): logits (B, T, V), ms. */
export async function ortForward(
  s: OrtModel,
  B: number,
  T: number,
  ids: Int32Array,
  mask: Uint8Array | null,
) {
  if (s.kind !== 'causal') {
    const r = await s.encode({ B, T, ids, ...(mask ? { mask } : {}) });
    return { logits: r.logits, ms: r.ms };
  }
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids, [B, T]),
    attention_mask: mask ? i64(mask, [B, T]) : i64(new Uint8Array(B * T).fill(1), [B, T]),
    position_ids: i64(
      Int32Array.from({ length: B * T }, (_, i) => i % T),
      [B, T],
    ),
  };
  for (let i = 0; i < s.layers; i++)
    for (const kv of ['key', 'value'])
      feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
        B,
        s.heads,
        0,
        s.headDim,
      ]);
  const t0 = performance.now();
  const out = await s.session.run(feeds);
  return { logits: out['logits']!.data as Float32Array, ms: performance.now() - t0 };
}
