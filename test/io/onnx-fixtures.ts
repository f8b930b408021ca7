// Shared by the ONNX export tests: tlc's own logits for a batch (the reference every export is
// compared with), comparison measures (relative difference, KL, top-1 agreement) and the onnx
// package's checker (Debian python3-onnx; the checks that need it skip with a message without it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../src/model/config.ts';
import type { Transformer } from '../../src/model/transformer.ts';

export const PY = '/usr/bin/python3';
export const HAS_ONNX = spawnSync(PY, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
export const NO_ONNX =
  !HAS_ONNX && 'python3-onnx is not installed (bash scripts/bootstrap.sh installs it as root)';

/** tlc's logits at every position: (B*T, V) for LM models. */
export function tlcLmLogits(
  m: Transformer<Float32Array>,
  tokens: Int32Array,
  B: number,
  T: number,
  mask: Uint8Array | null,
): Float32Array {
  const t = m.forwardLm(
    { B, T, tokens, keyMask: mask, targets: new Int32Array(B * T) },
    { train: false, grad: false },
  );
  return Float32Array.from(t.head.logits.subarray(0, B * T * m.cfg.vocab));
}

/** tlc's classifier logits (B, K). */
export function tlcClsLogits(
  m: Transformer<Float32Array>,
  tokens: Int32Array,
  B: number,
  T: number,
  mask: Uint8Array,
): Float32Array {
  const t = m.forwardCls(
    { B, T, tokens, keyMask: mask, labels: new Int32Array(B) },
    { train: false, grad: false },
  );
  return Float32Array.from(t.head.logits.subarray(0, B * m.cfg.n_classes));
}

/** max |a - b| / max(1, max |b|): the "relative" difference the fp32 tolerances bound */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'compared arrays differ in length');
  let d = 0;
  let m = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

function logSoftmax(x: ArrayLike<number>, o: number, V: number): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, x[o + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[o + v]! - max);
  const lse = max + Math.log(s);
  return Float64Array.from({ length: V }, (_, v) => x[o + v]! - lse);
}

export function argmax(x: ArrayLike<number>, o: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (x[o + v]! > x[o + best]!) best = v;
  return best;
}

/** mean KL(ref || got) in nats and top-1 agreement over the rows of (n, V) logits */
export function klTop1(
  ref: ArrayLike<number>,
  got: ArrayLike<number>,
  V: number,
): { kl: number; top1: number } {
  const n = ref.length / V;
  let kl = 0;
  let agree = 0;
  for (let r = 0; r < n; r++) {
    const p = logSoftmax(ref, r * V, V);
    const q = logSoftmax(got, r * V, V);
    for (let v = 0; v < V; v++) kl += Math.exp(p[v]!) * (p[v]! - q[v]!);
    if (argmax(ref, r * V, V) === argmax(got, r * V, V)) agree++;
  }
  return { kl: kl / n, top1: agree / n };
}

/** The onnx package's full check (structure, types, shape inference) of each file; throws with its message. */
export function onnxCheck(files: string[]): void {
  const code =
    'import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok")';
  const r = spawnSync(PY, ['-c', code, ...files], { encoding: 'utf8' });
  assert.equal(r.status, 0, `onnx.checker rejected ${files.join(', ')}:\n${r.stderr}`);
}

/** Feed `chunks` of a (B, L) sequence one after another, past key/values carried over. */
export async function chunked(
  s: ort.InferenceSession,
  cfg: ModelConfig,
  ids: Int32Array,
  B: number,
  L: number,
  chunks: number[],
) {
  const H = cfg.n_heads;
  const hd = cfg.d_model / H;
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < cfg.n_layers; i++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [B, H, 0, hd]);
  const logits = new Float32Array(B * L * cfg.vocab);
  let P = 0;
  for (const S of chunks) {
    const chunk = new BigInt64Array(B * S);
    const pos = new BigInt64Array(B * S);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < S; t++) {
        chunk[b * S + t] = BigInt(ids[b * L + P + t]!);
        pos[b * S + t] = BigInt(P + t);
      }
    const out = await s.run({
      input_ids: new ort.Tensor('int64', chunk, [B, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * (P + S)).fill(1n), [B, P + S]),
      position_ids: new ort.Tensor('int64', pos, [B, S]),
      ...past,
    });
    const l = out['logits']!;
    assert.deepEqual(l.dims, [B, S, cfg.vocab]);
    const V = cfg.vocab;
    for (let b = 0; b < B; b++)
      logits.set((l.data as Float32Array).subarray(b * S * V, (b + 1) * S * V), (b * L + P) * V);
    past = {};
    for (let i = 0; i < cfg.n_layers; i++) {
      for (const kv of ['key', 'value']) {
        const p = out[`present.${i}.${kv}`]!;
        assert.deepEqual(p.dims, [B, H, P + S, hd]);
        past[`past_key_values.${i}.${kv}`] = p;
      }
    }
    P += S;
  }
  return logits;
}
