// The arithmetic behind `npm run bench -- train`'s JSON: medians over pooled steps, the ratio against
// PyTorch's fastest variant, the per-round ratios, MFU, memory, and which targets are met.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIGS } from '../../bench/configs.ts';
import {
  formatSummary,
  type RunRecord,
  summarize,
  targetsFor,
  type VariantResult,
} from '../../bench/train-report.ts';

const reference = CONFIGS.find((c) => c.name === 'reference')!;
const large = CONFIGS.find((c) => c.name === 'large')!;

function run(steps_ms: number[], extra: Record<string, unknown> = {}, peak_rss_mb = 300): RunRecord {
  return {
    steps_ms,
    peak_rss_mb,
    load1: 1,
    last: { params: 1000, flops_per_token: 1e6, state_mb: 100, activations_mb: 140, saved_mb: 100, ...extra },
  };
}

function variants(): VariantResult[] {
  return [
    { variant: 'tlc t1', kind: 'tlc', threads: 1, precision: 'fp32', runs: [run([400, 400, 400])] },
    {
      variant: 'tlc t2',
      kind: 'tlc',
      threads: 2,
      precision: 'fp32',
      // round medians 190 and 210 ms
      runs: [run([190, 180, 195], {}, 250), run([210, 220, 205], {}, 280)],
    },
    { variant: 'tlc t2 bf16', kind: 'tlc', threads: 2, precision: 'bf16', runs: [run([125, 125, 125])] },
    {
      variant: 'torch t1',
      kind: 'torch',
      threads: 1,
      runs: [run([380, 400, 390]), run([420, 400, 410])], // median 400: the fastest torch
    },
    { variant: 'torch t2', kind: 'torch', threads: 2, runs: [run([500, 500, 500]), run([500, 500, 500])] },
  ];
}

test('summarize: medians, ratio against the fastest PyTorch variant, per-round ratios, MFU, memory', () => {
  const peak = new Map([
    [1, 1e9],
    [2, 2e10],
  ]);
  const s = summarize(60, reference, variants(), peak, ['node', 'bin/tlc.mjs', 'bench', 'train']);
  // tlc at all cores (2 threads), not its 1-thread variant
  assert.equal(s.tlc.variant, 'tlc t2');
  assert.equal(s.tlc.step_ms, 205); // pooled 180 190 195 205 210 220: the upper median
  assert.equal(s.tlc.tokens_per_s, 9990); // 2048 tokens in 205 ms
  assert.equal(s.tlc.tokens_per_s_max, 11378); // the 180 ms step
  assert.equal(s.tlc.tokens_per_s_min, 9309); // the 220 ms step
  assert.equal(s.torch_best?.variant, 'torch t1');
  assert.equal(s.torch_best?.tokens_per_s, 5120); // 400 ms
  assert.equal(s.ratio_tlc_over_torch, 1.951);
  // round 1: tlc 190 ms (10,779 tokens/s) vs torch 390 (5,251); round 2: 210 (9,752) vs 410 (4,995)
  assert.deepEqual(s.ratio_per_round, [2.053, 1.952]);
  assert.equal(s.ratio_bf16_over_fp32, 1.64); // 16,384 vs 9,990
  assert.equal(s.mfu_tlc, 0.499); // 9,990 x 1e6 FLOP / 2e10 FLOP/s at 2 threads
  assert.equal(s.mfu_torch_best, 5.12); // the 1-thread ceiling (1e9) for the 1-thread peer
  // memory: the largest peak over tlc's runs, against state + saved activations (the issue's
  // formula); the backward scratch (140 - 100) counts only in the second ratio
  assert.equal(s.memory.peak_rss_mb, 280);
  assert.equal(s.memory.saved_activations_mb, 100);
  assert.equal(s.memory.workspace_mb, 140);
  assert.equal(s.memory.accounted_mb, 200);
  assert.equal(s.memory.rss_over_accounted, 1.4);
  assert.equal(s.memory.rss_over_state_and_workspace, 1.167); // 280 / 240
  assert.equal(s.memory.net_rss_over_accounted, 1.1);
});

test('summarize: without PyTorch the ratios are null, not invented', () => {
  const only = variants().filter((v) => v.kind === 'tlc');
  const s = summarize(60, reference, only, new Map([[2, 2e10]]), ['node', 'tlc']);
  assert.equal(s.torch_best, null);
  assert.equal(s.ratio_tlc_over_torch, null);
  assert.equal(s.ratio_per_round, null);
  const speed = targetsFor([s]).find((t) => t.target.startsWith('tokens/s'))!;
  assert.equal(speed.met, false);
  assert.equal(speed.shortfall, 1);
});

test('targetsFor: 2.0x on reference, 1.5x elsewhere, MFU and bf16 on large, RSS everywhere', () => {
  const ref = summarize(60, reference, variants(), new Map([[2, 2e10]]), ['node', 'tlc']);
  const lg = summarize(60, large, variants(), new Map([[2, 2e10]]), ['node', 'tlc']);
  const t = targetsFor([ref, lg]);
  const get = (target: string, config: string) => t.find((x) => x.target === target && x.config === config)!;
  assert.equal(ref.ratio_tlc_over_torch, 1.951); // 9,990 vs 5,120 tokens/s
  assert.equal(get('tokens/s vs fastest PyTorch', 'reference').required, '>= 2');
  assert.equal(get('tokens/s vs fastest PyTorch', 'reference').met, false);
  assert.equal(get('tokens/s vs fastest PyTorch', 'reference').shortfall, 0.024); // 1 - 1.951 / 2, to 3 places
  assert.equal(get('tokens/s vs fastest PyTorch', 'large').required, '>= 1.5');
  assert.equal(get('tokens/s vs fastest PyTorch', 'large').met, true);
  assert.equal(lg.mfu_tlc, 0.499); // 9,990 tokens/s x 1e6 FLOP / 2e10
  assert.equal(get('MFU', 'large').met, false);
  assert.equal(get('bf16 tokens/s vs tlc fp32', 'large').met, true);
  assert.equal(t.filter((x) => x.target === 'MFU').length, 1, 'MFU is a target on large only');
  const rss = get('peak RSS / (params + grads + 2 moments + saved activations)', 'reference');
  assert.equal(rss.met, true);
  assert.equal(rss.shortfall, 0);
});

test('targetsFor: a miss reports its shortfall as a fraction of the requirement', () => {
  const s = summarize(60, reference, variants(), new Map([[2, 2e10]]), ['node', 'tlc']);
  const slow = { ...s, ratio_tlc_over_torch: 1.9, memory: { ...s.memory, rss_over_accounted: 1.65 } };
  const t = targetsFor([slow]);
  const speed = t.find((x) => x.target.startsWith('tokens/s'))!;
  assert.deepEqual([speed.met, speed.shortfall], [false, 0.05]);
  const rss = t.find((x) => x.target.startsWith('peak RSS'))!;
  assert.deepEqual([rss.met, rss.shortfall], [false, 0.1]);
});

test('formatSummary: one row per config, then every target, misses marked with their shortfall', () => {
  const ref = summarize(60, reference, variants(), new Map([[2, 2e10]]), ['node', 'tlc']);
  const lg = summarize(60, large, variants(), new Map([[2, 2e10]]), ['node', 'tlc']);
  const targets = targetsFor([ref, lg]);
  const lines = formatSummary([ref, lg], targets).trimEnd().split('\n');
  assert.equal(lines.length, 1 + 2 + targets.length);
  assert.match(lines[0]!, /^config\s+tlc tok\/s\s+torch tok\/s\s+tlc\/torch/);
  assert.match(lines[1]!, /^reference\s+9990\s+5120\s+1\.95×\s+1\.952–2\.053\s+49\.9%\s+1\.40\s+1\.64×$/);
  assert.ok(lines.includes('MISSED reference: tokens/s vs fastest PyTorch 1.951, needs >= 2 (off by 2.4%)'));
  assert.ok(lines.includes('met    large: tokens/s vs fastest PyTorch 1.951, needs >= 1.5'));
  assert.equal(lines.filter((l) => l.startsWith('MISSED')).length, targets.filter((t) => !t.met).length);
});
