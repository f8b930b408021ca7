// `npm run bench -- precision`: does bf16 mixed precision learn as well as fp32? Trains the same
// model on real text (prose-en, the default study corpus) for the same number of steps with
// `tlc train --precision fp32` and `--precision bf16`, one after the other, and prints JSON: each run's
// validation-loss curve, final validation loss, training tokens/s (training wall-clock only), and the
// relative gap (target: within 1%). Flags: --config large|reference|tiny (the shapes of bench/train.ts),
// --steps N (default 300), --evals K (validation points, default 3), --seed S, --keep (keep the runs).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readMetrics } from '../src/train/rundir.ts';
import { CONFIGS } from './configs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    config: { type: 'string', default: 'large' },
    steps: { type: 'string', default: '300' },
    evals: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
});
const shape = CONFIGS.find((c) => c.name === values.config && c.family === 'encoder');
if (!shape) throw new Error(`--config: expected one of tiny, reference, large; found '${values.config}'`);
const steps = Number(values.steps);
const evals = Number(values.evals);
if (!Number.isInteger(steps) || steps < 1)
  throw new Error(`--steps: expected a positive integer, found '${values.steps}'`);
if (!Number.isInteger(evals) || evals < 1)
  throw new Error(`--evals: expected a positive integer, found '${values.evals}'`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-bench-precision-'));
const sets: Record<string, string | number> = {
  'model.family': 'encoder',
  'model.d_model': shape.d,
  'model.n_layers': shape.layers,
  'model.n_heads': shape.heads,
  'model.d_ff': shape.ff,
  'data.name': 'prose-en',
  'data.vocab_size': shape.vocab,
  'data.seq_len': shape.seq,
  'data.batch_size': shape.batch,
  'data.valid_batches': 32, // ~10k masked positions: a 1% gap is well above the noise of the estimate
  'optim.lr': 5e-4,
  'optim.warmup_steps': Math.min(200, Math.floor(steps / 5)),
  'budget.steps': steps,
  'budget.seconds': 86400, // the preset's 600 s must not cut either run short
  'eval.every_steps': Math.max(1, Math.floor(steps / evals)),
  seed: Number(values.seed),
};

function trainOnce(precision: 'fp32' | 'bf16') {
  const runDir = path.join(dir, precision);
  const argv = [
    path.join(ROOT, 'bin', 'tlc.mjs'),
    'train',
    '--config',
    'encoder-base',
    ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    '--precision',
    precision,
    '--run-dir',
    runDir,
    '--json',
  ];
  process.stderr.write(`[bench] precision ${precision}: tlc ${argv.slice(1).join(' ')}\n`);
  const r = spawnSync(process.execPath, argv, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`tlc train --precision ${precision} failed (exit ${r.status})`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    spent: { step: number; wall_s: number; tokens: number };
    final_valid: { loss: number; count: number };
  };
  const curve = readMetrics(path.join(runDir, 'metrics.jsonl'))
    .filter((m) => m.split === 'valid' && m.name === 'loss')
    .map((m) => ({ step: m.step, loss: +m.value.toFixed(5) }))
    .filter((p, i, all) => i === 0 || p.step !== all[i - 1]!.step); // the last step is also evaluated at the end
  return {
    precision,
    steps: result.spent.step,
    valid_loss: +result.final_valid.loss.toFixed(5),
    valid_positions: result.final_valid.count,
    valid_curve: curve,
    train_tokens_per_s: Math.round(result.spent.tokens / result.spent.wall_s),
    train_wall_s: +result.spent.wall_s.toFixed(1),
  };
}

const fp32 = trainOnce('fp32');
const bf16 = trainOnce('bf16');
const gap = (bf16.valid_loss - fp32.valid_loss) / fp32.valid_loss;
const doc = {
  bench: 'precision',
  command: `npm run bench -- precision ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version },
  config: shape.name,
  settings: sets,
  runs: [fp32, bf16],
  relative_valid_loss_gap: +gap.toFixed(5),
  target: { required: '|bf16 - fp32| / fp32 <= 0.01 after the same steps', met: Math.abs(gap) <= 0.01 },
  speed_bf16_over_fp32: +(bf16.train_tokens_per_s / fp32.train_tokens_per_s).toFixed(3),
  note: 'training tokens/s here include data loading and the trainer; bench/train.ts measures the step alone',
};
process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
else process.stderr.write(`[bench] runs kept in ${dir}\n`);
