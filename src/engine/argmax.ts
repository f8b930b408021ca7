// Row argmax over a flat (rows, n) buffer: the predicted class or token of one row of logits, for
// accuracy, top-1 agreement and greedy decoding alike. Ties go to the lowest index.

/** Index of the largest of x[off], ..., x[off + n - 1] (the first one on a tie; 0 when n <= 1). */
export function argmaxRow(x: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let v = 1; v < n; v++) if (x[off + v]! > x[off + best]!) best = v;
  return best;
}
