// `npm run bench -- commits --baseline DIR`: tlc's training step at this checkout against tlc at
// another checkout (DIR: a clone at an older commit, built with `npm ci` and its addon), on the
// bench configs, variants alternating round by round, each run in its own process. Answers "did
// this change slow training down?" with per-round ratios, not absolute times across runs.
// One JSON document on stdout; a short table on stderr. No thresholds fail the process.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchConfig, CONFIGS } from './configs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Side {
  label: 'head' | 'baseline';
  root: string;
  commit: string;
}

interface Options {
  baseline: string;
  configs: BenchConfig[];
  rounds: number;
  steps: number;
  warmup: number;
  threads: number;
  precisions: ('fp32' | 'bf16')[];
}

function positive(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${what}: expected a positive integer, found '${s}'`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      baseline: { type: 'string' },
      configs: { type: 'string', default: 'tiny,reference,decoder' },
      rounds: { type: 'string', default: '4' },
      steps: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '3' },
      threads: { type: 'string', default: String(os.availableParallelism()) },
      precisions: { type: 'string', default: 'fp32,bf16' },
    },
  });
  if (!values.baseline)
    throw new Error(
      '--baseline DIR is required: a clone of tlc at the older commit, with `npm ci` run and its addon built',
    );
  const baseline = path.resolve(values.baseline);
  if (!fs.existsSync(path.join(baseline, 'bin', 'tlc.mjs')))
    throw new Error(`--baseline: expected a tlc checkout with bin/tlc.mjs, found none in ${baseline}`);
  const configs = values.configs.split(',').map((n) => {
    const c = CONFIGS.find((x) => x.name === n);
    if (!c)
      throw new Error(`--configs: unknown config '${n}'; known: ${CONFIGS.map((x) => x.name).join(', ')}`);
    return c;
  });
  const precisions = values.precisions.split(',').map((p) => {
    if (p !== 'fp32' && p !== 'bf16')
      throw new Error(`--precisions: expected fp32 and/or bf16, found '${p}'`);
    return p;
  });
  return {
    baseline,
    configs,
    precisions,
    rounds: positive(values.rounds, 'rounds'),
    steps: positive(values.steps, 'steps'),
    warmup: positive(values.warmup, 'warmup'),
    threads: positive(values.threads, 'threads'),
  };
}

function commitOf(root: string): string {
  const r = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/** One `tlc bench train --json` run at a checkout: its timed step times (ms). */
function runOnce(side: Side, c: BenchConfig, o: Options, precision: string): number[] {
  const argv = [
    path.join(side.root, 'bin', 'tlc.mjs'),
    'bench',
    'train',
    '--json',
    ...['--family', c.family, '--vocab', String(c.vocab), '--d-model', String(c.d)],
    ...['--layers', String(c.layers), '--heads', String(c.heads), '--ff', String(c.ff)],
    ...['--seq', String(c.seq), '--batch', String(c.batch), '--steps', String(o.steps)],
    ...['--warmup', String(o.warmup), '--threads', String(o.threads), '--precision', precision],
  ];
  const r = spawnSync(process.execPath, argv, { cwd: side.root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0)
    throw new Error(
      `${side.label} ${c.name} failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-800)}`,
    );
  const last = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { steps_ms?: number[] })
    .pop();
  if (!last?.steps_ms)
    throw new Error(`${side.label} ${c.name} printed no steps_ms: ${r.stdout.slice(-400)}`);
  return last.steps_ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One config × precision: rounds alternate which side runs first; ratio = baseline ms / head ms. */
function compare(sides: Side[], c: BenchConfig, o: Options, precision: string) {
  const ms: Record<string, number[]> = { head: [], baseline: [] };
  const roundRatios: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    const med: Record<string, number> = {};
    for (const s of order) {
      process.stderr.write(
        `[bench] ${c.name} ${precision} round ${r + 1}/${o.rounds}: ${s.label} (load ${os.loadavg()[0]!.toFixed(2)})\n`,
      );
      const steps = runOnce(s, c, o, precision);
      ms[s.label]!.push(...steps);
      med[s.label] = median(steps);
    }
    roundRatios.push(med['baseline']! / med['head']!);
  }
  const tokens = c.batch * c.seq;
  const tps = (label: string) => Math.round((tokens * 1000) / median(ms[label]!));
  return {
    config: c.name,
    precision,
    head_tokens_per_s: tps('head'),
    baseline_tokens_per_s: tps('baseline'),
    /** > 1: this checkout is faster; per round, then the median of the rounds */
    speed_ratio_rounds: roundRatios.map((x) => +x.toFixed(3)),
    speed_ratio_median: +median(roundRatios).toFixed(3),
  };
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  const sides: Side[] = [
    { label: 'head', root: ROOT, commit: commitOf(ROOT) },
    { label: 'baseline', root: o.baseline, commit: commitOf(o.baseline) },
  ];
  const load0 = os.loadavg();
  const rows = o.configs.flatMap((c) => o.precisions.map((p) => compare(sides, c, o, p)));
  const doc = {
    bench: 'commits',
    command: `npm run bench -- commits ${process.argv.slice(2).join(' ')}`.trim(),
    head: sides[0]!.commit,
    baseline: sides[1]!.commit,
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      node: process.version,
      loadavg_start: load0.map((x) => +x.toFixed(2)),
      loadavg_end: os.loadavg().map((x) => +x.toFixed(2)),
    },
    protocol:
      `each (config, precision) runs ${o.rounds} rounds; a round runs both checkouts once (${o.warmup} warm-up + ` +
      `${o.steps} timed steps, ${o.threads} threads, own process), the first side alternating; ratio = ` +
      'baseline median step ms / head median step ms per round (> 1: head faster)',
    rows,
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  for (const r of rows)
    process.stderr.write(
      `${r.config.padEnd(10)} ${r.precision}  head ${r.head_tokens_per_s} tok/s  ${doc.baseline} ${r.baseline_tokens_per_s} tok/s  head/baseline ${r.speed_ratio_median} [${r.speed_ratio_rounds.join(', ')}]\n`,
    );
}

try {
  main();
} catch (e) {
  process.stderr.write(`[bench] ${(e as Error).message}\n`);
  process.exitCode = 1;
}
