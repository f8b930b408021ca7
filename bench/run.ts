// `npm run bench -- <name> [flags]`: runs one benchmark program of bench/ (each prints JSON on stdout).
// Only dispatches; every benchmark's logic lives in its own file.
const BENCHES: Record<string, { file: string; what: string }> = {
  train: { file: './train.ts', what: 'training step, tlc vs PyTorch side by side (bench/train.ts)' },
  commits: {
    file: './commits.ts',
    what: "tlc's training step at this checkout vs another checkout (--baseline DIR), alternating",
  },
  tokenizer: { file: './tokenizer.ts', what: 'BPE tokenizer train/encode (bench/tokenizer.ts)' },
  precision: {
    file: './precision.ts',
    what: 'bf16 vs fp32 validation loss after the same steps on real text',
  },
  profile: { file: './profile-step.ts', what: 'per-kernel time of a training step (bench/profile-step.ts)' },
  recipe: {
    file: './recipe.ts',
    what: 'per-step loss of sizes under training settings, paired on the same windows (docs/recipe.md)',
  },
  curve: {
    file: './curve.ts',
    what: 'hundreds of training steps in tlc and in PyTorch on identical batches: do the losses agree?',
  },
  'mlm-split': {
    file: './mlm-split.ts',
    what: "an MLM run's validation loss at <mask>, kept and random-token positions (docs/recipe.md)",
  },
  gemm: { file: './gemm.ts', what: "oneDNN fp32 GEMM vs the FMA ceiling on a large layer's products" },
  'linear-int8': {
    file: './linear-int8.ts',
    what: 'the int8 inference linear vs the fp32 linear on the d256/d512 layers, 128 rows and 1 row',
  },
  'linear-kbit': {
    file: './linear-kbit.ts',
    what: 'the weight-only k-bit linear (4/3/8 bits) vs the fp32 linear at 1024x4096 .. 4096x4096, 1/4/64 rows',
  },
  'linear-sparse': {
    file: './linear-sparse.ts',
    what: 'the CSR sparse linear vs the fp32 linear over sparsities 50..99%: where sparse overtakes dense',
  },
  'linear-structured': {
    file: './linear-structured.ts',
    what: 'encoder forward tokens/s with 50% heads + 50% FFN neurons cut out vs full width (d512 L4)',
  },
  infer: {
    file: './infer.ts',
    what: 'whole-model inference: tlc fp32/bf16/int8 vs onnxruntime-node fp32/int8 (latency, throughput, decode, RSS, quality)',
  },
  'onnx-int8': {
    file: './onnx-int8.ts',
    what: 'onnxruntime-node: the three int8 spellings of an export vs fp32',
  },
  decode: {
    file: './decode.ts',
    what: 'translation tokens/s and latency (greedy, beam 4; cached vs uncached), tlc vs PyTorch side by side',
  },
  queue: {
    file: './queue.ts',
    what: 'no-op jobs/s on BullMQ/Redis; with --study, 1 vs 2 workers (bench/queue.ts)',
  },
};

const name = process.argv[2];
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  const list = Object.entries(BENCHES)
    .map(([k, v]) => `  ${k.padEnd(10)} ${v.what}`)
    .join('\n');
  process.stderr.write(`usage: npm run bench -- <name> [flags]\n${list}\n`);
  process.exitCode = 2;
} else {
  process.argv.splice(2, 1); // the benchmark sees its own flags at argv[2..]
  await import(bench.file);
}
