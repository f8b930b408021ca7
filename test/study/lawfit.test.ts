// The loss-law fit on data made from a known law: it recovers the law's predictions, the analytic
// optimum matches a brute-force search, the optimum's exponent is β/(α+βγ), take-over times are
// where the predicted curves cross, and bootstrap intervals contain the true exponent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bootstrapLaw,
  fitLossLaw,
  fitThroughput,
  type LawPoint,
  lawLoss,
  optimalExponent,
  optimalN,
  predictAt,
  takeoverTimes,
} from '../../src/study/lawfit.ts';

const TRUE = { E: 3.0, A: 40, alpha: 0.35, B: 200, beta: 0.3 };

function synthetic(noise = 0): LawPoint[] {
  const pts: LawPoint[] = [];
  let k = 1;
  for (const n of [2e5, 5e5, 1e6, 2e6, 4e6, 8e6])
    for (const d of [1e6, 3e6, 1e7, 3e7]) {
      k = (k * 48271) % 2147483647;
      const eps = noise * ((k / 2147483647) * 2 - 1);
      pts.push({ n, d, loss: lawLoss(TRUE, n, d) * (1 + eps), run: `n${n}` });
    }
  return pts;
}

test('the fit recovers a known law (predictions within 0.5% over the fitted range)', () => {
  const fit = fitLossLaw(synthetic());
  for (const p of synthetic()) {
    const pred = lawLoss(fit, p.n, p.d);
    assert.ok(Math.abs(pred / p.loss - 1) < 0.005, `pred ${pred} vs ${p.loss} at N=${p.n} D=${p.d}`);
  }
});

test('the analytic optimum equals a brute-force search, and its exponent is β/(α+βγ)', () => {
  const tp = { k: 1e11, gamma: 1 }; // tokens/s = 1e11 / N
  for (const t of [100, 1e4]) {
    const nOpt = optimalN(TRUE, tp, t);
    let best = 0;
    let bestL = Infinity;
    for (let ln = Math.log(1e3); ln < Math.log(1e12); ln += 0.001) {
      const n = Math.exp(ln);
      const l = predictAt(TRUE, n, tp.k * n ** -tp.gamma, t);
      if (l < bestL) {
        bestL = l;
        best = n;
      }
    }
    assert.ok(Math.abs(Math.log(nOpt / best)) < 0.01, `analytic ${nOpt} vs search ${best}`);
  }
  const r = Math.log(optimalN(TRUE, tp, 1e6) / optimalN(TRUE, tp, 1e3)) / Math.log(1e3);
  assert.ok(Math.abs(r - optimalExponent(TRUE, tp)) < 1e-9);
  assert.ok(Math.abs(optimalExponent(TRUE, tp) - 0.3 / 0.65) < 1e-12);
});

test('throughput law from (N, tokens/s) pairs', () => {
  const tp = fitThroughput([1e5, 1e6, 1e7].map((n) => ({ n, tps: 5e9 * n ** -0.8 })));
  assert.ok(Math.abs(tp.gamma - 0.8) < 1e-9);
  assert.ok(Math.abs(Math.log(tp.k / 5e9)) < 1e-6);
});

test('take-over times: each size is optimal from where its predicted curve crosses the previous', () => {
  const sizes = [
    { id: 's', n: 1e5, tps: 1e6 },
    { id: 'm', n: 1e6, tps: 1e5 },
    { id: 'l', n: 1e7, tps: 1e4 },
  ];
  const tk = takeoverTimes(TRUE, sizes, 1, 1e9);
  assert.equal(tk[0]!.from_s, 1);
  const tm = tk[1]!.from_s!;
  const before = tm / 1.06;
  assert.ok(predictAt(TRUE, 1e6, 1e5, tm) <= predictAt(TRUE, 1e5, 1e6, tm));
  assert.ok(predictAt(TRUE, 1e6, 1e5, before) > predictAt(TRUE, 1e5, 1e6, before));
  assert.ok(tk[2]!.from_s! > tm);
});

test('bootstrap intervals over runs contain the true optimum exponent (1% noise)', () => {
  const tp = { gamma: 1 };
  const iv = bootstrapLaw(synthetic(0.01), (l) => ({ a: optimalExponent(l, tp) }), 60, 3);
  const truth = optimalExponent(TRUE, tp);
  assert.ok(iv.a!.low <= truth && truth <= iv.a!.high, `${truth} in [${iv.a!.low}, ${iv.a!.high}]`);
  assert.ok(iv.a!.high - iv.a!.low > 0, 'the interval has width');
});
