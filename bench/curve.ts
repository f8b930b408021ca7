// `npm run bench -- curve`: is tlc's training right over hundreds of steps, not only the golden
// test's ten? Trains one model with `tlc train` (deterministic), dumps its initial weights, every
// batch it trained on and its validation windows, and trains the same model in PyTorch
// (bench/torch_curve.py: the golden test's reference model in float32, torch.optim.AdamW) on the
// same batches with the same per-step learning rates. The noise floor is a second tlc run on a
// different thread count (other summation order: the chaotic divergence of float32 training).
// Prints JSON: the validation losses of all three at each evaluation and the train-loss curves
// averaged over blocks of steps.
//
//   --d 256 --layers 4 --steps 600 --evals 6 --lr 5e-4 --warmup 50 --data prose-en --vocab 4096
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSafetensors } from '../src/engine/safetensors.ts';
import { createBackend } from '../src/engine/select.ts';
import type { LmBatch } from '../src/model/batch.ts';
import { Transformer } from '../src/model/transformer.ts';
import { parseConfig, trainConfigSchema } from '../src/train/config.ts';
import { prepareTrainData } from '../src/train/data.ts';
import { resolveModel } from '../src/train/run.ts';
import { readEvals, readMetrics } from '../src/train/rundir.ts';
import type { AnyBatch } from '../src/train/task.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: v } = parseArgs({
  args: process.argv.slice(2),
  options: {
    d: { type: 'string', default: '256' },
    layers: { type: 'string', default: '4' },
    steps: { type: 'string', default: '600' },
    evals: { type: 'string', default: '6' },
    lr: { type: 'string', default: '5e-4' },
    warmup: { type: 'string', default: '50' },
    data: { type: 'string', default: 'prose-en' },
    vocab: { type: 'string', default: '4096' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string', default: '16' },
    'valid-tokens': { type: 'string', default: '20000' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const num = (k: keyof typeof v) => {
  const x = Number(v[k]);
  if (!(x > 0)) throw new Error(`--${k}: expected a positive number, found '${v[k]}'`);
  return x;
};
const d = num('d');
const steps = num('steps');
const raw = {
  model: {
    family: 'encoder',
    d_model: d,
    n_layers: num('layers'),
    n_heads: Math.max(1, d / 32),
    d_ff: 4 * d,
  },
  data: {
    name: v.data,
    vocab_size: num('vocab'),
    seq_len: num('seq'),
    batch_size: num('batch'),
    valid_tokens: num('valid-tokens'),
  },
  optim: { lr: num('lr'), warmup_steps: num('warmup'), schedule: 'linear' },
  budget: { steps, seconds: 1e7 },
  eval: { every_steps: Math.max(1, Math.floor(steps / num('evals'))) },
  checkpoint: { every_seconds: 1e7 },
  deterministic: true,
  seed: 1,
};
const cfg = parseConfig(trainConfigSchema, raw, 'bench curve');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-curve-'));
const dump = path.join(dir, 'dump');
fs.mkdirSync(dump);

// the stream the trainer will see: a fresh TrainData with the same config and seed
const data = prepareTrainData(cfg, { task: 'lm', log: (m) => process.stderr.write(`${m}\n`) });
const model = resolveModel(cfg, data);
const be = createBackend('native', 1);
const m = new Transformer(be, model, cfg.seed);
writeSafetensors(
  path.join(dump, 'init.safetensors'),
  m.layout.specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape, data: m.p.get(s.name) })),
);
function dumpBatches(name: string, batches: AnyBatch[]): void {
  const parts = { tokens: [] as Int32Array[], targets: [] as Int32Array[], keymask: [] as Int32Array[] };
  for (const x of batches) {
    if (x.kind !== 'lm') throw new Error('curve: an LM batch was expected');
    parts.tokens.push(x.b.tokens);
    parts.targets.push(x.b.targets);
    parts.keymask.push(x.b.keyMask ? Int32Array.from(x.b.keyMask) : new Int32Array(x.b.B * x.b.T).fill(1));
  }
  for (const [k, arrs] of Object.entries(parts)) {
    const all = new Int32Array(arrs.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const a of arrs) {
      all.set(a, o);
      o += a.length;
    }
    fs.writeFileSync(path.join(dump, `${name}-${k}.bin`), all);
  }
}
dumpBatches(
  'train',
  Array.from({ length: steps }, () => data.next()),
);
const full = data.valid.filter((x) => x.kind === 'lm' && x.b.B === cfg.data.batch_size);
dumpBatches('valid', full);

function tlcRun(threads: number): string {
  const runDir = path.join(dir, `tlc-t${threads}`);
  const cfgFile = path.join(dir, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ ...raw, threads }));
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bin', 'tlc.mjs'), 'train', '--config', cfgFile, '--run-dir', runDir],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error(`tlc train (threads ${threads}) failed`);
  process.stderr.write(`[curve] tlc on ${threads} thread(s): ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return runDir;
}
const a = tlcRun(2);
const b = tlcRun(1);
const lrs = readMetrics(path.join(a, 'metrics.jsonl'))
  .filter((r) => r.split === 'train' && r.name === 'lr')
  .map((r) => r.value);
const evalSteps = readEvals(a).map((e) => e.step);
fs.writeFileSync(
  path.join(dump, 'meta.json'),
  JSON.stringify({
    model,
    optim: cfg.optim,
    batch: cfg.data.batch_size,
    seq: cfg.data.seq_len,
    steps,
    valid_batches: full.length,
    lrs,
    eval_steps: evalSteps,
    threads: 2,
  }),
);
const t0 = Date.now();
const py = spawnSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'torch_curve.py'), dump], {
  encoding: 'utf8',
  maxBuffer: 1 << 28,
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (py.status !== 0) throw new Error('bench/torch_curve.py failed (Debian python3-torch installed?)');
process.stderr.write(`[curve] PyTorch: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
const torch = JSON.parse(py.stdout) as { train_loss: number[]; valid: Array<{ step: number; loss: number }> };

// tlc scores all windows; PyTorch the full batches only: compare on those (the same windows)
const nFull = full.length * cfg.data.batch_size;
const counts = full.flatMap((x) => {
  const b = x.b as LmBatch;
  return Array.from({ length: b.B }, (_, r) => {
    let c = 0;
    for (let t = 0; t < b.T; t++) if (b.targets[r * b.T + t]! >= 0) c++;
    return c;
  });
});
const nTok = counts.reduce((s, c) => s + c, 0);
const validOf = (run: string) => [
  ...new Map(
    readEvals(run).map((e) => [
      e.step,
      { step: e.step, loss: e.sums.slice(0, nFull).reduce((s, x) => s + x, 0) / nTok },
    ]),
  ).values(),
];
const trainOf = (run: string) =>
  readMetrics(path.join(run, 'metrics.jsonl'))
    .filter((r) => r.split === 'train' && r.name === 'loss')
    .map((r) => r.value);
const block = Math.max(1, Math.floor(steps / 12));
const blocks = (xs: number[]) =>
  Array.from({ length: Math.floor(xs.length / block) }, (_, i) => {
    const s = xs.slice(i * block, (i + 1) * block);
    return s.reduce((p, q) => p + q, 0) / s.length;
  });
const va = validOf(a);
const vb = validOf(b);
const rows = va.map((x, i) => {
  const t = torch.valid.find((y) => y.step === x.step)?.loss ?? Number.NaN;
  return {
    step: x.step,
    tlc: x.loss,
    tlc_1thread: vb[i]?.loss ?? Number.NaN,
    torch: t,
    tlc_vs_torch: x.loss - t,
    tlc_vs_tlc_1thread: x.loss - (vb[i]?.loss ?? Number.NaN),
  };
});
const out = {
  bench: 'curve',
  config: raw,
  valid_tokens: nTok,
  valid: rows,
  train_block_steps: block,
  train_blocks: { tlc: blocks(trainOf(a)), tlc_1thread: blocks(trainOf(b)), torch: blocks(torch.train_loss) },
  first_step_loss: { tlc: trainOf(a)[0], torch: torch.train_loss[0] },
};
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
for (const r of rows)
  process.stderr.write(
    `step ${String(r.step).padStart(5)}  tlc ${r.tlc.toFixed(4)}  tlc(1 thread) ${r.tlc_1thread.toFixed(4)}  torch ${r.torch.toFixed(4)}  tlc-torch ${r.tlc_vs_torch.toFixed(4)}  tlc-tlc1 ${r.tlc_vs_tlc_1thread.toFixed(4)}\n`,
  );
if (!v.keep) fs.rmSync(dir, { recursive: true, force: true });
