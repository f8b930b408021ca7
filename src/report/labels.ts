// Places point labels on a log-log plot so that they do not overlap: a greedy pass in estimated
// pixel space. Layout only; it never changes a data value, only where a label's text sits.
import { HEIGHT, type Spec, WIDTH } from './style.ts';

export interface LabelIn {
  x: number;
  y: number;
  text: string;
}

export interface LabelOut extends LabelIn {
  /** the data-space y at which to draw the text (y moved down by whole text lines) */
  ly: number;
  /** 'left' of the point (text aligned right) or 'right' of it */
  side: 'left' | 'right';
}

interface Box {
  x0: number;
  x1: number;
  y: number;
}

const LINE_PX = 13;
const CHAR_PX = 6.2;
const GAP_PX = 9;

/**
 * Put each label beside its point at the point's height: left of it when it fits in the plot
 * (below a Pareto frontier's step the space to the left is empty), otherwise right of it; move a
 * label down a line at a time while it overlaps one placed before. x is a log scale, y a log or
 * linear one, over the given domains, `w` x `h` pixels.
 */
export function placeLabels(
  points: LabelIn[],
  xDomain: [number, number],
  yDomain: [number, number],
  size: { w: number; h: number; yLog: boolean },
): LabelOut[] {
  const { w, h } = size;
  const f = size.yLog ? Math.log : (v: number) => v;
  const lx = (v: number) => (w * Math.log(v / xDomain[0])) / (Math.log(xDomain[1] / xDomain[0]) || 1);
  const pxPerUnit = h / (f(yDomain[1]) - f(yDomain[0]) || 1);
  const ly = (v: number) => (f(yDomain[1]) - f(v)) * pxPerUnit;
  const back = (v: number, shiftPx: number) =>
    size.yLog ? v * Math.exp(-shiftPx / pxPerUnit) : v - shiftPx / pxPerUnit;
  const placed: Box[] = [];
  return points.map((p) => {
    const px = lx(p.x);
    const width = p.text.length * CHAR_PX;
    const side: 'left' | 'right' = px - GAP_PX - width >= 0 ? 'left' : 'right';
    const x0 = side === 'left' ? px - GAP_PX - width : px + GAP_PX;
    const box = { x0, x1: x0 + width, y: ly(p.y) + (side === 'right' ? -LINE_PX : 0) };
    while (
      placed.some((b) => b.x0 < box.x1 && box.x0 < b.x1 && Math.abs(b.y - box.y) < LINE_PX) &&
      box.y < h + 4 * LINE_PX
    )
      box.y += LINE_PX;
    placed.push(box);
    return { ...p, side, ly: back(p.y, box.y - ly(p.y)) };
  });
}

/** Point labels placed so they do not overlap (two layers: text left and right of its point). */
export function placedLabels(
  pts: Array<{ x: number; y: number; text: string }>,
  domainRows: Spec[],
  x: Spec,
  y: Spec,
  yLog: boolean,
): Spec[] {
  const xs = domainRows.map((p) => Number(p['x']));
  const ys = domainRows.flatMap((p) => [Number(p['lo']), Number(p['hi'])]);
  const placed = placeLabels(pts, [Math.min(...xs), Math.max(...xs)], [Math.min(...ys), Math.max(...ys)], {
    w: WIDTH,
    h: HEIGHT,
    yLog,
  });
  return (['left', 'right'] as const).map((side) => ({
    data: { values: placed.filter((p) => p.side === side) },
    mark: {
      type: 'text',
      align: side === 'left' ? 'right' : 'left',
      baseline: 'middle',
      dx: side === 'left' ? -9 : 9,
      fontSize: 10,
      color: '#222',
    },
    encoding: { x, y: { ...y, field: 'ly' }, text: { field: 'text' } },
  }));
}

/** One label per (size, method, label) at the mean over seeds, in order of x. */
export function meanLabels(pts: Spec[]): Array<{ x: number; y: number; text: string }> {
  const groups = new Map<string, Spec[]>();
  for (const p of pts) {
    const k = `${p['size']}\u0000${p['method']}\u0000${p['label']}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const mean = (g: Spec[], f: string) => g.reduce((a, p) => a + Number(p[f]), 0) / g.length;
  return [...groups.values()]
    .map((g) => ({ x: mean(g, 'x'), y: mean(g, 'y'), text: String(g[0]!['label']) }))
    .sort((a, b) => a.x - b.x);
}
