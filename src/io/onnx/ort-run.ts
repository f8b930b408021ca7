// Runs tlc's ONNX exports in onnxruntime-node: the peer that tests and `npm run bench -- infer`
// measure tlc against. It holds no model math; it feeds the graphs transformer.ts builds.
//
// API (kept stable for the benchmark):
//   const s = await openOrt(file, { threads: 2 });   // onnx/model.onnx or onnx/model_quantized.onnx
//     (or the model's bytes, a Uint8Array)
//     threads: intra-op threads (default 1); inter-op 1; graph optimization level "all";
//     optimizedModel: a path to save the graph after onnxruntime's fusions (to inspect them)
//   s.kind                       'mlm' | 'cls' | 'causal' (from the graph's inputs and outputs)
//   s.layers, s.heads, s.headDim, s.vocab
//   await s.encode({ B, T, ids, mask? })   encoder / classifier: ids Int32Array (B*T), mask
//     Uint8Array (B*T), default all ones -> { logits: Float32Array, dims: [B, T, V] or [B, K], ms }
//   await s.generate({ prompt, steps, eos?, keepLogits? })   decoder, greedy, with past key/values:
//     prompt: Int32Array[] (B rows of equal length P); one prefill run over the prompt, then one run
//     per new token with (B, 1) input_ids and the present key/values fed back as past. Produces
//     `steps` tokens per row (a row that emitted `eos` stops; the loop ends when all have).
//     -> { tokens: Int32Array[] (new tokens per row, eos excluded), prefillMs, decodeMs (sum over
//     the incremental runs), stepMs: number[] (each incremental run), logits?: Float32Array[]
//     (with keepLogits: the (B, V) next-token logits of the prefill and of every step) }
//   await s.release()
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { argmaxRow } from '../../engine/argmax.ts';
import { InputError } from '../../engine/errors.ts';

export interface OrtOptions {
  threads?: number;
  optimizedModel?: string;
}

export interface EncodeInput {
  B: number;
  T: number;
  ids: Int32Array;
  mask?: Uint8Array;
}

export interface EncodeOutput {
  logits: Float32Array;
  dims: number[];
  ms: number;
}

export interface GenerateInput {
  prompt: Int32Array[];
  steps: number;
  eos?: number;
  keepLogits?: boolean;
}

export interface GenerateOutput {
  tokens: Int32Array[];
  prefillMs: number;
  decodeMs: number;
  stepMs: number[];
  logits?: Float32Array[];
}

function i64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const a = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]!);
  return new ort.Tensor('int64', a, dims);
}

function ones(n: number, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', new BigInt64Array(n).fill(1n), dims);
}

/** the row-wise argmax of x (rows, V) */
function argmaxRows(x: Float32Array, rows: number, V: number, rowStride: number, offset: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * rowStride + offset;
    out[r] = argmaxRow(x, o, V);
  }
  return out;
}

export class OrtModel {
  readonly kind: 'mlm' | 'cls' | 'causal';
  readonly layers: number;
  readonly heads: number;
  readonly headDim: number;
  readonly vocab: number;

  constructor(readonly session: ort.InferenceSession) {
    const ins = session.inputNames;
    const past = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    const logits = session.outputMetadata.find((m) => m.name === 'logits');
    if (!logits || !logits.isTensor || !ins.includes('input_ids'))
      throw new InputError('this ONNX model is not a tlc export (no input_ids input or logits output)');
    const last = logits.shape[logits.shape.length - 1];
    this.vocab = typeof last === 'number' ? last : 0;
    if (past?.isTensor) {
      this.kind = 'causal';
      this.layers = ins.filter((n) => n.startsWith('past_key_values.') && n.endsWith('.key')).length;
      this.heads = Number(past.shape[1]);
      this.headDim = Number(past.shape[3]);
    } else {
      this.kind = logits.shape.length === 2 ? 'cls' : 'mlm';
      this.layers = 0;
      this.heads = 0;
      this.headDim = 0;
    }
  }

  async encode(x: EncodeInput): Promise<EncodeOutput> {
    if (this.kind === 'causal') throw new InputError('encode() runs encoder exports; this is a decoder');
    const { B, T } = x;
    if (x.ids.length !== B * T)
      throw new InputError(`encode: expected ${B * T} ids (B*T), found ${x.ids.length}`);
    const mask = x.mask ? i64(x.mask, [B, T]) : ones(B * T, [B, T]);
    const feeds = { input_ids: i64(x.ids, [B, T]), attention_mask: mask };
    const t0 = performance.now();
    const out = await this.session.run(feeds);
    const ms = performance.now() - t0;
    const l = out['logits']!;
    return { logits: l.data as Float32Array, dims: [...l.dims], ms };
  }

  private emptyPast(B: number): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.layers; i++) {
      for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
          B,
          this.heads,
          0,
          this.headDim,
        ]);
      }
    }
    return feeds;
  }

  /** the feeds of one incremental step: the new tokens (B, 1), the present key/values as past */
  private stepFeeds(next: Int32Array, total: number, out: ort.InferenceSession.OnnxValueMapType) {
    const B = next.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(next, [B, 1]),
      attention_mask: ones(B * total, [B, total]),
      position_ids: i64(new Int32Array(B).fill(total - 1), [B, 1]),
    };
    for (let i = 0; i < this.layers; i++) {
      feeds[`past_key_values.${i}.key`] = out[`present.${i}.key`] as ort.Tensor;
      feeds[`past_key_values.${i}.value`] = out[`present.${i}.value`] as ort.Tensor;
    }
    return feeds;
  }

  async generate(x: GenerateInput): Promise<GenerateOutput> {
    if (this.kind !== 'causal') throw new InputError('generate() runs decoder exports; this is an encoder');
    const B = x.prompt.length;
    const P = x.prompt[0]?.length ?? 0;
    if (B === 0 || P === 0 || x.prompt.some((r) => r.length !== P))
      throw new InputError('generate: expected one or more prompts of the same, non-zero length');
    const V = this.vocab;
    const ids = new Int32Array(B * P);
    x.prompt.forEach((r, b) => {
      ids.set(r, b * P);
    });
    const pos = Int32Array.from({ length: B * P }, (_, i) => i % P);
    let feeds: Record<string, ort.Tensor> = {
      input_ids: i64(ids, [B, P]),
      attention_mask: ones(B * P, [B, P]),
      position_ids: i64(pos, [B, P]),
      ...this.emptyPast(B),
    };
    const tokens: number[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    const logits: Float32Array[] = [];
    const stepMs: number[] = [];
    let prefillMs = 0;
    let S = P; // tokens of the current run
    for (let t = 0; t < x.steps; t++) {
      const t0 = performance.now();
      const out = await this.session.run(feeds);
      const ms = performance.now() - t0;
      if (t === 0) prefillMs = ms;
      else stepMs.push(ms);
      const l = out['logits']!.data as Float32Array;
      if (x.keepLogits) {
        const last = new Float32Array(B * V);
        for (let b = 0; b < B; b++) last.set(l.subarray((b * S + S - 1) * V, (b * S + S) * V), b * V);
        logits.push(last);
      }
      const next = argmaxRows(l, B, V, S * V, (S - 1) * V);
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        if (x.eos !== undefined && next[b] === x.eos) done[b] = 1;
        else tokens[b]!.push(next[b]!);
      }
      if (done.every((d) => d === 1) || t === x.steps - 1) break;
      feeds = this.stepFeeds(next, P + t + 1, out);
      S = 1;
    }
    const decodeMs = stepMs.reduce((a, b) => a + b, 0);
    return {
      tokens: tokens.map((r) => Int32Array.from(r)),
      prefillMs,
      decodeMs,
      stepMs,
      ...(x.keepLogits ? { logits } : {}),
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Open an exported .onnx file (or its bytes) in onnxruntime-node (CPU). */
export async function openOrt(file: string | Uint8Array, o: OrtOptions = {}): Promise<OrtModel> {
  const threads = o.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1)
    throw new InputError(`threads: expected a positive integer, found ${threads}`);
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(o.optimizedModel ? { optimizedModelFilePath: o.optimizedModel } : {}),
  };
  const session =
    typeof file === 'string'
      ? await ort.InferenceSession.create(file, options)
      : await ort.InferenceSession.create(file, options);
  return new OrtModel(session);
}
