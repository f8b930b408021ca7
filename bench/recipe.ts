// `npm run bench -- recipe`: per-step comparisons of model sizes under training settings, for
// choosing the study's recipe (docs/recipe.md). Trains every size × setting combination with
// `tlc train` for the same number of steps (so every size has the same schedule), evaluates all on
// the same validation windows, and prints JSON: each run's curve, and at each evaluation step the
// paired loss difference (± standard error) of every run against the first size of its setting.
// Runs are cached in --out (a re-run with the same flags trains nothing).
//
//   --size d128-L1 --size d256-L4        sizes (heads of 32, FFN 4d), the first is the reference
//   --vary optim.lr=1e-3,5e-4            a grid over a config key (repeatable: a cartesian product)
//   --set key=value                      fixed config overrides (repeatable)
//   --for d256-L4:optim.lr=5e-4          an override for one size (repeatable)
//   --steps 1000 --evals 10 --data prose-en --vocab 4096 --seq 128 --batch 16 --warmup 50 --lr 1e-3
//   --valid-tokens 20000
//   --seed 1 --threads 2 --out DIR
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pairedDiff } from '../src/eval/paired.ts';
import { readEvals, readJson, WINDOWS_FILE } from '../src/train/rundir.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    size: { type: 'string', multiple: true, default: ['d128-L1', 'd256-L4'] },
    vary: { type: 'string', multiple: true, default: [] },
    set: { type: 'string', multiple: true, default: [] },
    for: { type: 'string', multiple: true, default: [] },
    steps: { type: 'string', default: '1000' },
    evals: { type: 'string', default: '10' },
    data: { type: 'string', default: 'prose-en' },
    vocab: { type: 'string', default: '4096' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string', default: '16' },
    'valid-tokens': { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '50' },
    lr: { type: 'string', default: '1e-3' },
    seed: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: 'runs/recipe' },
  },
  strict: true,
});

function int(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, found '${v}'`);
  return n;
}

function parseSize(s: string): { id: string; d: number; L: number } {
  const m = /^d(\d+)-L(\d+)$/.exec(s);
  if (!m) throw new Error(`--size: expected dWIDTH-LDEPTH (e.g. d128-L4), found '${s}'`);
  return { id: s, d: Number(m[1]), L: Number(m[2]) };
}

const sizes = values.size.map(parseSize);
const steps = int('steps', values.steps);
const evalEvery = Math.max(1, Math.floor(steps / int('evals', values.evals)));
const grid: Array<Record<string, string>> = values.vary.reduce<Array<Record<string, string>>>(
  (acc, v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`--vary: expected key=v1,v2, found '${v}'`);
    const key = v.slice(0, eq);
    return acc.flatMap((g) =>
      v
        .slice(eq + 1)
        .split(',')
        .map((x) => ({ ...g, [key]: x })),
    );
  },
  [{}],
);
const perSize = new Map<string, string[]>();
for (const f of values.for) {
  const colon = f.indexOf(':');
  if (colon <= 0) throw new Error(`--for: expected SIZE:key=value, found '${f}'`);
  perSize.set(f.slice(0, colon), [...(perSize.get(f.slice(0, colon)) ?? []), f.slice(colon + 1)]);
}

function sets(size: { id: string; d: number; L: number }, setting: Record<string, string>): string[] {
  const base = [
    'model.family=encoder',
    `model.d_model=${size.d}`,
    `model.n_layers=${size.L}`,
    `model.n_heads=${Math.max(1, Math.round(size.d / 32))}`,
    `model.d_ff=${4 * size.d}`,
    `data.name=${values.data}`,
    `data.vocab_size=${values.vocab}`,
    `data.seq_len=${values.seq}`,
    `data.batch_size=${values.batch}`,
    `data.valid_tokens=${values['valid-tokens']}`,
    `optim.lr=${values.lr}`,
    `optim.warmup_steps=${values.warmup}`,
    `budget.steps=${steps}`,
    'budget.seconds=1e7',
    `eval.every_steps=${evalEvery}`,
    'eval.every_seconds=1e7',
    'checkpoint.every_seconds=1e7',
    `seed=${values.seed}`,
    `threads=${values.threads}`,
  ];
  return [
    ...base,
    ...values.set,
    ...Object.entries(setting).map(([k, v]) => `${k}=${v}`),
    ...(perSize.get(size.id) ?? []),
  ];
}

interface Row {
  size: string;
  setting: Record<string, string>;
  run_dir: string;
  wall_s: number;
  curve: Array<{ step: number; tokens: number; loss: number; ppl: number }>;
  /** vs the first size of the same setting, at each shared evaluation step */
  vs_ref: Array<{ step: number; diff: number; se: number }>;
}

function trainOnce(size: (typeof sizes)[number], setting: Record<string, string>): string {
  const args = sets(size, setting);
  const key = createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 12);
  const dir = path.join(values.out, `${size.id}-${key}`);
  const res = path.join(dir, 'result.json');
  if (fs.existsSync(res) && readJson<{ status: string }>(res, 'result').status === 'done') return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const flags = args.flatMap((a) => ['--set', a]);
  process.stderr.write(`[recipe] ${size.id} ${JSON.stringify(setting)} -> ${dir}\n`);
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bin', 'tlc.mjs'), 'train', '--config', 'tiny-encoder', ...flags, '--run-dir', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`tlc train failed for ${size.id} ${JSON.stringify(setting)}`);
  return dir;
}

const rows: Row[] = [];
for (const setting of grid) {
  let ref: { evals: ReturnType<typeof readEvals> } | null = null;
  for (const size of sizes) {
    const dir = trainOnce(size, setting);
    const evals = readEvals(dir);
    const counts = readJson<{ count: number[] }>(path.join(dir, WINDOWS_FILE), 'windows').count;
    const result = readJson<{ spent: { wall_s: number } }>(path.join(dir, 'result.json'), 'result');
    ref ??= { evals };
    const refBy = new Map(ref.evals.map((e) => [e.step, e]));
    rows.push({
      size: size.id,
      setting,
      run_dir: dir,
      wall_s: result.spent.wall_s,
      curve: evals.map((e) => ({ step: e.step, tokens: e.tokens, loss: e.loss, ppl: Math.exp(e.loss) })),
      vs_ref: evals.flatMap((e) => {
        const r = refBy.get(e.step);
        return r ? [{ step: e.step, ...pairedDiff(e.sums, r.sums, counts) }] : [];
      }),
    });
  }
}

process.stdout.write(`${JSON.stringify({ bench: 'recipe', flags: values, steps, rows }, null, 1)}\n`);
for (const r of rows) {
  const last = r.curve[r.curve.length - 1]!;
  const v = r.vs_ref[r.vs_ref.length - 1];
  process.stderr.write(
    `${r.size.padEnd(9)} ${JSON.stringify(r.setting).padEnd(28)} step ${last.step} ppl ${last.ppl.toFixed(1)}` +
      (v ? `  vs ${sizes[0]!.id}: ${(100 * v.diff).toFixed(2)} ± ${(100 * v.se).toFixed(2)} cnats` : '') +
      `  (${r.wall_s.toFixed(0)} s)\n`,
  );
}
