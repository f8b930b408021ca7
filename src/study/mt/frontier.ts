// The iso-time frontier in BLEU: at each BLEU grid time the size with the highest BLEU (greedy),
// at the budget the best final model (beam), and the sizes inside its noise (paired bootstrap over
// the sample's sentences: the 95% interval of best − other holds 0). The last point is the
// compute-optimal size for the budget.
import type { BleuStats } from '../../eval/bleu.ts';
import { decideInterval, pairedBleuBootstrap } from '../../eval/bleu-bootstrap.ts';
import type { BleuPoint, MtFrontierPoint, MtRun, MtSize } from './types.ts';

function bestOf(
  pts: Array<{ size_id: string; p: BleuPoint }>,
  t: number,
  decoding: 'greedy' | 'beam',
  stats: (file: string) => BleuStats[],
): MtFrontierPoint | null {
  let best: { size_id: string; p: BleuPoint } | null = null;
  for (const x of pts) if (!best || x.p.bleu > best.p.bleu) best = x;
  if (!best) return null;
  const b = best;
  const ties = pts
    .filter((x) => x.size_id !== b.size_id)
    .filter((x) => decideInterval(pairedBleuBootstrap(stats(b.p.file), stats(x.p.file))) === 0)
    .map((x) => x.size_id);
  return { t, decoding, size_id: b.size_id, bleu: b.p.bleu, ties };
}

export function bleuFrontier(
  sizes: MtSize[],
  runs: MtRun[],
  times: number[],
  stats: (file: string) => BleuStats[],
): MtFrontierPoint[] {
  const of = (id: string) => runs.find((r) => r.size_id === id);
  const out: MtFrontierPoint[] = [];
  for (const t of times) {
    const pts = sizes.flatMap((s) => {
      const p = of(s.id)?.bleu.find((b) => b.t === t);
      return p ? [{ size_id: s.id, p }] : [];
    });
    const f = bestOf(pts, t, 'greedy', stats);
    if (f) out.push(f);
  }
  const finals = sizes.flatMap((s) => {
    const r = of(s.id);
    return r ? [{ size_id: s.id, p: r.final }] : [];
  });
  const last = bestOf(finals, times[times.length - 1] ?? Number.NaN, 'beam', stats);
  if (last) out.push(last);
  return out;
}
