// `npm run bench -- train` against both PyTorch variants: the peer is the fastest fp32 run of either
// way of writing the blocks (never a bf16 run), tlc bf16 is compared with PyTorch's bf16 autocast,
// and a PyTorch run that does other work (parameters or GEMM FLOPs) is no peer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIGS } from '../../bench/configs.ts';
import {
  expectedFlopsPerToken,
  formatSummary,
  peerMismatch,
  type RunRecord,
  summarize,
  targetsFor,
  type VariantResult,
} from '../../bench/train-report.ts';

const reference = CONFIGS.find((c) => c.name === 'reference')!;
const decoder = CONFIGS.find((c) => c.name === 'decoder')!;

/** What bench/torch_train.py counted on the reference shape with 318 of 2,048 rows masked. */
const TORCH_COUNTED = 22_462_080;

function run(ms: number, last: Record<string, unknown>): RunRecord {
  return { steps_ms: [ms, ms, ms], peak_rss_mb: 300, load1: 1, last };
}
const tlcLast = {
  params: 1000,
  flops_per_token: 22_393_651,
  state_mb: 100,
  activations_mb: 140,
  saved_mb: 100,
};
const torchLast = { params: 1000, flops_per_token: TORCH_COUNTED, predicted_rows: 318 };

function variants(stockLast: Record<string, unknown> = torchLast): VariantResult[] {
  const torch = (module: 'hand' | 'stock', precision: 'fp32' | 'bf16', ms: number): VariantResult => ({
    variant: `torch ${module} t2 ${precision}`,
    kind: 'torch',
    threads: 2,
    precision,
    module,
    blas: 'openblas-openmp',
    openblas_env: 'unset',
    runs: [run(ms, module === 'stock' ? stockLast : torchLast)],
  });
  return [
    { variant: 'tlc t2', kind: 'tlc', threads: 2, precision: 'fp32', runs: [run(200, tlcLast)] }, // 10,240 tokens/s
    { variant: 'tlc t2 bf16', kind: 'tlc', threads: 2, precision: 'bf16', runs: [run(125, tlcLast)] }, // 16,384
    torch('hand', 'fp32', 320), // 6,400
    torch('stock', 'fp32', 280), // 7,314: the peer
    torch('hand', 'bf16', 400), // 5,120
    torch('stock', 'bf16', 200), // 10,240: faster than any fp32 run, yet only the bf16 peer
  ];
}

test('expectedFlopsPerToken: tlc formula at the rows a run predicted equals what PyTorch counted', () => {
  assert.equal(expectedFlopsPerToken(reference, 318), TORCH_COUNTED);
  // the decoder predicts every position; PyTorch's dispatch count for the stock decoder
  assert.equal(expectedFlopsPerToken(decoder, 2048), 33_030_144);
});

test('summarize: the peer is the fastest fp32 run of either module; bf16 against the fastest bf16 run', () => {
  const s = summarize(60, reference, variants(), new Map([[2, 2e10]]), ['node', 'tlc']);
  assert.equal(s.torch_best?.variant, 'torch stock t2 fp32');
  assert.equal(s.torch_best?.tokens_per_s, 7314);
  assert.equal(s.torch_best?.module, 'stock');
  assert.equal(s.ratio_tlc_over_torch, 1.4); // 10,240 / 7,314
  assert.equal(s.torch_best_hand?.tokens_per_s, 6400);
  assert.equal(s.torch_best_stock?.tokens_per_s, 7314);
  assert.equal(s.torch_bf16_best?.variant, 'torch stock t2 bf16');
  assert.equal(s.ratio_tlc_bf16_over_torch_bf16, 1.6); // 16,384 / 10,240
  assert.equal(s.torch_params_match, true);
  assert.equal(s.torch_flops_match, true);
  assert.equal(peerMismatch(s), null);
  const t = targetsFor([s]).find((x) => x.target === 'tokens/s vs fastest PyTorch')!;
  assert.deepEqual([t.value, t.met, t.shortfall], [1.4, false, 0.3]);
});

test('summarize: a PyTorch run that counts other FLOPs or holds other parameters is no peer', () => {
  const flops = summarize(
    60,
    reference,
    variants({ ...torchLast, flops_per_token: TORCH_COUNTED + 6 * 256 }),
    new Map(),
    ['tlc'],
  );
  assert.equal(flops.torch_flops_match, false);
  assert.match(
    peerMismatch(flops) ?? '',
    /^reference: the PyTorch runs do not do tlc's work \(parameter counts match: true, GEMM FLOPs match: false;/,
  );
  const params = summarize(60, reference, variants({ ...torchLast, params: 1001 }), new Map(), ['tlc']);
  assert.equal(params.torch_params_match, false);
  assert.match(peerMismatch(params) ?? '', /parameter counts match: false, GEMM FLOPs match: true/);
  const noCount = summarize(60, reference, variants({ params: 1000 }), new Map(), ['tlc']);
  assert.equal(noCount.torch_flops_match, false, 'a run that reports no count does not match');
  const none = summarize(
    60,
    reference,
    variants().filter((v) => v.kind === 'tlc'),
    new Map(),
    ['tlc'],
  );
  assert.equal(none.torch_flops_match, null);
  assert.equal(none.torch_bf16_best, null);
  assert.equal(none.ratio_tlc_bf16_over_torch_bf16, null);
  assert.equal(peerMismatch(none), null);
});

test('formatSummary: the peer named by its module, and a bf16-vs-PyTorch-bf16 column when that ran', () => {
  const s = summarize(60, reference, variants(), new Map([[2, 2e10]]), ['tlc']);
  const lines = formatSummary([s], targetsFor([s])).split('\n');
  assert.match(lines[0]!, /bf16\/fp32\s+bf16\/torch bf16$/);
  assert.match(lines[1]!, /^reference\s+10240\s+7314 stock\s+1\.40×\s+1\.4–1\.4\s+.*1\.60×\s+1\.60×$/);
});
