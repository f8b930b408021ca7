// Corpus BLEU and chrF computed the way sacreBLEU 2.x computes them, so that a score printed by tlc
// means what the same number means in a paper: BLEU on detokenized text with the "13a" tokenizer
// (mteval-v13a), n-grams 1-4, clipped counts against the most generous reference, the closest
// reference length for the brevity penalty, "exp" smoothing; chrF on characters 1-6 with
// whitespace removed, beta 2, statistics summed over the corpus, effective-order averaging.
// Each result carries a sacreBLEU-style signature naming those settings.

export interface BleuOptions {
  /** '13a' (sacreBLEU's default) or 'none' (split on whitespace only) */
  tokenize?: '13a' | 'none';
  /** 'exp' (default), 'floor' (smoothValue for zero matches, default 0.1) or 'none' */
  smooth?: 'exp' | 'floor' | 'none';
  smoothValue?: number;
  lowercase?: boolean;
}

export interface BleuResult {
  /** 0-100 */
  score: number;
  /** matched / total n-grams, 1..4 */
  counts: number[];
  totals: number[];
  /** modified precisions 1..4 as sacreBLEU reports them (0-100) */
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
  signature: string;
}

const MAX_ORDER = 4;

// mteval-v13a's rules, applied in this order to " line " (sacreBLEU's tokenizer_13a):
// punctuation and symbols apart; period/comma apart unless next to a digit; a dash after a digit.
const RULES_13A: Array<[RegExp, string]> = [
  [/([{-~[-` -&(-+:-@/])/g, ' $1 '],
  [/([^0-9])([.,])/g, '$1 $2 '],
  [/([.,])([^0-9])/g, ' $1 $2'],
  [/([0-9])(-)/g, '$1 $2 '],
];

/** The 13a tokenization of one line, tokens separated by single spaces. */
export function tokenize13a(line: string): string {
  let s = line;
  if (s.includes('<skipped>')) s = s.replaceAll('<skipped>', '');
  if (s.includes('-\n')) s = s.replaceAll('-\n', '');
  if (s.includes('\n')) s = s.replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  s = ` ${s} `;
  for (const [re, sub] of RULES_13A) s = s.replace(re, sub);
  return splitWs(s).join(' ');
}

function splitWs(s: string): string[] {
  return s.split(/\s+/).filter((w) => w.length > 0);
}

function ngramCounts(words: string[], maxOrder: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      // tokens hold no whitespace, so "n w1 w2 .." is unambiguous, and the order comes first
      const key = `${n} ${words.slice(i, i + n).join(' ')}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return m;
}

function checkRefs(hyps: readonly string[], refs: readonly (readonly string[])[], what: string): void {
  if (refs.length === 0) throw new Error(`${what}: expected at least one reference stream, found none`);
  refs.forEach((r, k) => {
    if (r.length !== hyps.length) {
      throw new Error(
        `${what}: reference stream ${k} has ${r.length} segments, the hypotheses have ${hyps.length}`,
      );
    }
  });
}

/**
 * Corpus BLEU of `hyps` against reference streams `refs` (refs[k][i] is the k-th reference of
 * segment i), sacreBLEU's `corpus_bleu(hyps, refs)`.
 */
export function corpusBleu(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  o: BleuOptions = {},
): BleuResult {
  checkRefs(hyps, refs, 'corpusBleu');
  const counts = new Array<number>(MAX_ORDER).fill(0);
  const totals = new Array<number>(MAX_ORDER).fill(0);
  let sysLen = 0;
  let refLen = 0;
  for (const st of bleuSentenceStats(hyps, refs, o)) {
    sysLen += st.sysLen;
    refLen += st.refLen;
    for (let n = 0; n < MAX_ORDER; n++) {
      counts[n]! += st.counts[n] ?? 0;
      totals[n]! += st.totals[n] ?? 0;
    }
  }
  const r = bleuFromStats(counts, totals, sysLen, refLen, o.smooth ?? 'exp', o.smoothValue);
  const lc = o.lowercase ? 'lc' : 'mixed';
  const smooth = o.smooth ?? 'exp';
  const tok = o.tokenize ?? '13a';
  return {
    ...r,
    counts,
    totals,
    sysLen,
    refLen,
    signature: `nrefs:${refs.length}|case:${lc}|eff:no|tok:${tok}|smooth:${smooth}|version:sacrebleu-2-compatible`,
  };
}

/** One segment's BLEU sufficient statistics: corpus BLEU is computed from their sums. */
export interface BleuStats {
  /** clipped n-gram matches, orders 1..4 */
  counts: number[];
  /** hypothesis n-grams, orders 1..4 */
  totals: number[];
  sysLen: number;
  /** the closest reference length (ties: the shorter) */
  refLen: number;
}

/**
 * Per-segment statistics as sacreBLEU's `BLEU._extract_corpus_statistics` keeps them (one row per
 * segment); summing rows and calling bleuFromStats is corpus BLEU. Resampling rows (a bootstrap)
 * and summing again is how a resampled corpus BLEU is computed.
 */
export function bleuSentenceStats(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  o: BleuOptions = {},
): BleuStats[] {
  checkRefs(hyps, refs, 'bleuSentenceStats');
  const tok = o.tokenize ?? '13a';
  const prep = (s: string) => {
    const t = o.lowercase ? s.toLowerCase() : s;
    return splitWs(tok === '13a' ? tokenize13a(t) : t.trim());
  };
  return hyps.map((h, i) => {
    const hw = prep(h);
    const maxRef = new Map<string, number>();
    let closest = -1;
    for (const stream of refs) {
      const rw = prep(stream[i]!);
      // closest reference length; a tie goes to the shorter one
      const d = Math.abs(rw.length - hw.length);
      const dc = Math.abs(closest - hw.length);
      if (closest < 0 || d < dc || (d === dc && rw.length < closest)) closest = rw.length;
      for (const [k, c] of ngramCounts(rw, MAX_ORDER)) if (c > (maxRef.get(k) ?? 0)) maxRef.set(k, c);
    }
    const counts = new Array<number>(MAX_ORDER).fill(0);
    const totals = new Array<number>(MAX_ORDER).fill(0);
    for (const [k, c] of ngramCounts(hw, MAX_ORDER)) {
      const n = Number(k.slice(0, k.indexOf(' ')));
      counts[n - 1]! += Math.min(c, maxRef.get(k) ?? 0);
    }
    for (let n = 1; n <= MAX_ORDER; n++) totals[n - 1] = Math.max(0, hw.length - n + 1);
    return { counts, totals, sysLen: hw.length, refLen: closest };
  });
}

/** BLEU from summed statistics: sacreBLEU's `compute_bleu` without effective order. */
export function bleuFromStats(
  counts: readonly number[],
  totals: readonly number[],
  sysLen: number,
  refLen: number,
  smooth: 'exp' | 'floor' | 'none' = 'exp',
  smoothValue = 0.1,
): { score: number; precisions: number[]; bp: number } {
  const precisions = new Array<number>(MAX_ORDER).fill(0);
  let smoothMteval = 1;
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  for (let n = 1; n <= MAX_ORDER; n++) {
    const total = totals[n - 1]!;
    const correct = counts[n - 1]!;
    if (total === 0) break; // the remaining precisions stay 0: the score is 0
    if (correct === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total);
      } else if (smooth === 'floor') precisions[n - 1] = (100 * smoothValue) / total;
    } else precisions[n - 1] = (100 * correct) / total;
  }
  // no match of any order: 0 (sacreBLEU 2, its issue #141); precisions stay as computed
  if ((counts[0] ?? 0) === 0) return { score: 0, precisions, bp };
  const logSum = precisions.reduce((a, p) => a + (p > 0 ? Math.log(p) : -9999999999), 0);
  return { score: bp * Math.exp(logSum / MAX_ORDER), precisions, bp };
}

export interface ChrfOptions {
  /** character n-gram order (default 6) */
  charOrder?: number;
  /** recall weight (default 2: chrF2) */
  beta?: number;
  /** keep whitespace in the character n-grams (default false: removed, as sacreBLEU does) */
  keepWhitespace?: boolean;
  /** chrF++.py / NLTK smoothing instead of sacreBLEU's effective order (default false) */
  epsSmoothing?: boolean;
}

export interface ChrfResult {
  /** 0-100 */
  score: number;
  signature: string;
}

function charNgrams(s: string, order: number, keepWs: boolean): Array<Map<string, number>> {
  const chars = Array.from(keepWs ? s : splitWs(s).join('')); // code points, as Python indexes
  const out: Array<Map<string, number>> = [];
  for (let n = 1; n <= order; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= chars.length; i++) {
      const g = chars.slice(i, i + n).join('');
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

/** [hyp n-grams, ref n-grams, matches] for each order, flattened. */
function matchStats(h: Array<Map<string, number>>, r: Array<Map<string, number>>): number[] {
  const stats: number[] = [];
  h.forEach((hm, n) => {
    const rm = r[n]!;
    let nh = 0;
    let nm = 0;
    for (const [g, c] of hm) {
      nh += c;
      nm += Math.min(c, rm.get(g) ?? 0);
    }
    let nr = 0;
    for (const c of rm.values()) nr += c;
    stats.push(nh, nr, nm);
  });
  return stats;
}

/** chrF from per-order [hyp, ref, match] statistics (sacreBLEU's `_compute_f_score`). */
export function chrfFromStats(stats: readonly number[], beta: number, epsSmoothing: boolean): number {
  const eps = 1e-16;
  const factor = beta * beta;
  const order = stats.length / 3;
  let score = 0;
  let eff = 0;
  let avgP = 0;
  let avgR = 0;
  for (let i = 0; i < order; i++) {
    const nh = stats[3 * i]!;
    const nr = stats[3 * i + 1]!;
    const nm = stats[3 * i + 2]!;
    const p = nh > 0 ? nm / nh : eps;
    const r = nr > 0 ? nm / nr : eps;
    const denom = factor * p + r;
    score += denom > 0 ? ((1 + factor) * p * r) / denom : eps;
    if (nh > 0 && nr > 0) {
      avgP += p;
      avgR += r;
      eff++;
    }
  }
  if (epsSmoothing) return (100 * score) / order;
  if (eff === 0) return 0;
  avgP /= eff;
  avgR /= eff;
  if (avgP + avgR === 0) return 0;
  return (100 * ((1 + factor) * avgP * avgR)) / (factor * avgP + avgR);
}

/** Corpus chrF, sacreBLEU's `corpus_chrf(hyps, refs)`: per segment the best-scoring reference's statistics, summed. */
export function corpusChrf(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  o: ChrfOptions = {},
): ChrfResult {
  checkRefs(hyps, refs, 'corpusChrf');
  const order = o.charOrder ?? 6;
  const beta = o.beta ?? 2;
  const keepWs = o.keepWhitespace ?? false;
  const epsS = o.epsSmoothing ?? false;
  const sum = new Array<number>(3 * order).fill(0);
  hyps.forEach((h, i) => {
    const hg = charNgrams(h, order, keepWs);
    let best: number[] = [];
    let bestF = -1;
    for (const stream of refs) {
      const st = matchStats(hg, charNgrams(stream[i]!, order, keepWs));
      const f = chrfFromStats(st, beta, epsS);
      if (f > bestF) {
        bestF = f;
        best = st;
      }
    }
    best.forEach((v, k) => {
      sum[k]! += v;
    });
  });
  return {
    score: chrfFromStats(sum, beta, epsS),
    signature: `nrefs:${refs.length}|case:mixed|eff:${epsS ? 'no' : 'yes'}|nc:${order}|nw:0|space:${keepWs ? 'yes' : 'no'}|version:sacrebleu-2-compatible`,
  };
}
