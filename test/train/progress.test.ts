// Tests of the progress line: throughput over the interval since the last line written (not one
// step's), the whole run's average on the closing line, and the throttle on a non-TTY stream.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress } from '../../src/train/progress.ts';

/** A non-TTY stream that keeps what is written, and a clock the test moves by hand. */
function setup(): { lines: string[]; clock: { t: number }; p: Progress } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const clock = { t: 0 };
  return { lines, clock, p: new Progress(stream, 5, () => clock.t) };
}

const tokPerS = (line: string | undefined): number => Number(/ (\d+) tok\/s/.exec(line ?? '')?.[1]);

test('progress: tokens/s over the interval since the last line, whole run on the closing line', () => {
  const { lines, clock, p } = setup();
  clock.t = 10;
  // first line: 4,000 tokens in 2 s of training time
  p.update({ step: 2, loss: 5, tokens: 4000, fraction: 0.1, wallS: 2 });
  assert.equal(lines.length, 1);
  assert.equal(tokPerS(lines[0]), 2000);
  // within the throttle: nothing written, and the interval keeps running from the last line
  clock.t = 12;
  p.update({ step: 3, loss: 5, tokens: 5000, fraction: 0.15, wallS: 2.5 });
  assert.equal(lines.length, 1);
  // next line: 6,000 more tokens in 1 s more of training time (the step-by-step rate was uneven)
  clock.t = 16;
  p.update({ step: 5, loss: 4, tokens: 10000, fraction: 0.3, wallS: 3 });
  assert.equal(lines.length, 2);
  assert.equal(tokPerS(lines[1]), 6000);
  // closing line, forced right after: the whole run's average, not zero
  p.update({ step: 5, loss: 4, tokens: 10000, fraction: 1, wallS: 3, final: true }, true);
  assert.equal(lines.length, 3);
  assert.equal(tokPerS(lines[2]), 3333);
  assert.match(lines[2] ?? '', /^step 5 {2}loss 4\.0000 {2}3333 tok\/s {2}100\.0% of budget \(3 s\)\n$/);
});

test('progress: a forced line with no training time since the last one shows the run average', () => {
  const { lines, clock, p } = setup();
  clock.t = 10;
  p.update({ step: 1, loss: 5, tokens: 1000, fraction: 0.5, wallS: 0.5 });
  p.update({ step: 1, loss: 5, tokens: 1000, fraction: 0.5, wallS: 0.5 }, true);
  assert.equal(tokPerS(lines[1]), 2000);
  const quiet = new Progress(
    { isTTY: false, write: () => assert.fail('a quiet progress wrote') } as unknown as NodeJS.WriteStream,
    5,
    () => 0,
    true,
  );
  quiet.update({ step: 1, loss: 5, tokens: 1, fraction: 1, wallS: 1 }, true);
});
