// `npm run bench -- linear-structured`: masked-LM forward throughput (tokens/s) of an encoder whose
// pruned heads and FFN neurons are cut out (the compressed runtime's narrower fp32 layers) against
// the same model at full width, for 50% of the heads and 50% of the neurons zeroed in every layer
// (as --prune heads / neurons leave them: their output-projection columns are zero). Randomly
// initialized d512 L4 encoder (the time does not depend on the values), batch 8 x 128, 15% of
// positions scored. Median of --reps forwards. Prints JSON. Flags: --reps N (default 10), --threads N.
import { parseArgs } from 'node:util';
import type { StoredTensor } from '../src/compress/container.ts';
import { loadNativeBackend } from '../src/engine/native-backend.ts';
import { Rng } from '../src/engine/rng.ts';
import { compressedModelFrom } from '../src/infer/runtime.ts';
import { modelConfigSchema } from '../src/model/config.ts';
import { modelStacks } from '../src/model/names.ts';
import { Transformer } from '../src/model/transformer.ts';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '10' }, threads: { type: 'string', default: '2' } },
});
const reps = Number(values.reps);
const threads = Number(values.threads);
if (!Number.isInteger(reps) || reps < 3)
  throw new Error(`--reps: expected an integer >= 3, found ${values.reps}`);
const be = loadNativeBackend({ threads });
const cfg = modelConfigSchema.parse({
  family: 'encoder',
  vocab: 8192,
  d_model: 512,
  n_layers: 4,
  n_heads: 8,
  d_ff: 2048,
  max_len: 128,
});
const model = new Transformer(be, cfg, 1);
const full = new Map<string, StoredTensor>();
const cut = new Map<string, StoredTensor>();
for (const s of model.layout.specs) {
  const v = Float32Array.from(model.params.subarray(s.offset, s.offset + s.size));
  full.set(s.name, { kind: 'dense', values: v });
  cut.set(s.name, { kind: 'dense', values: Float32Array.from(v) });
}
const C = cfg.d_model;
for (const blk of modelStacks(cfg).enc.blocks) {
  const proj = cut.get(blk.attn.proj.weight)!;
  const mproj = cut.get(blk.mlp.proj.weight)!;
  if (proj.kind !== 'dense' || mproj.kind !== 'dense') throw new Error('dense tensors expected');
  for (let r = 0; r < C; r++) {
    for (let c = 0; c < C / 2; c++) proj.values[r * C + c] = 0; // heads 0..3
    for (let j = 0; j < cfg.d_ff; j += 2) mproj.values[r * cfg.d_ff + j] = 0; // every other neuron
  }
}
const rng = new Rng(3);
const [B, T] = [8, 128];
const tokens = Int32Array.from({ length: B * T }, () => 4 + rng.int(cfg.vocab - 4));
const targets = Int32Array.from(tokens, (t) => (rng.uniform() < 0.15 ? t : -1));
const batch = { B, T, tokens, keyMask: null, targets };

function median(f: () => void): number {
  for (let i = 0; i < 2; i++) f();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  return ms[Math.floor(ms.length / 2)]!;
}

const results = [];
for (const [name, stored] of [
  ['full width', full],
  ['50% heads + 50% neurons cut', cut],
] as const) {
  const m = compressedModelFrom(be, cfg, model.layout, stored);
  const ms = median(() => m.forwardLm(batch));
  results.push({
    model: name,
    widths: m.widths,
    ms: +ms.toFixed(2),
    tokens_per_s: Math.round((B * T) / (ms / 1000)),
    held_bytes: m.weightBytes().held,
  });
}
const speedup = +(results[0]!.ms / results[1]!.ms).toFixed(2);
process.stdout.write(
  `${JSON.stringify({ bench: 'linear-structured', threads, reps, B, T, command: process.argv.slice(1).join(' '), speedup, results }, null, 1)}\n`,
);
