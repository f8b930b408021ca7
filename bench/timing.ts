// The micro-benchmarks' timer: 3 untimed calls, then the median of `reps` timed calls, in ms.
export function medianMs(f: () => void, reps: number): number {
  for (let i = 0; i < 3; i++) f();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  return ms[Math.floor(ms.length / 2)]!;
}
