// Progress on stderr: a redrawn line on a TTY, a plain line every few seconds otherwise.
// Machine-readable results never go here.

export interface ProgressInfo {
  step: number;
  loss: number;
  /** training tokens so far (the run's counter: it includes the budget spent before a resume) */
  tokens: number;
  /** fraction of the budget spent */
  fraction: number;
  wallS: number;
  label?: string;
  /** the closing line: throughput over the whole run rather than since the last line */
  final?: boolean;
}

export class Progress {
  private last = 0;
  /** the training counters at the last line written: throughput is shown over the interval since */
  private prev: { tokens: number; wallS: number } | undefined;
  private readonly tty: boolean;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly everyS = 5,
    private readonly now: () => number = () => performance.now() / 1000,
    readonly quiet = false,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(p: ProgressInfo, force = false): void {
    if (this.quiet) return;
    const t = this.now();
    if (!force && t - this.last < (this.tty ? 0.2 : this.everyS)) return;
    this.last = t;
    const tokensPerS = this.rate(p);
    this.prev = { tokens: p.tokens, wallS: p.wallS };
    const pct = (100 * p.fraction).toFixed(1);
    const text = `${p.label ? `${p.label} ` : ''}step ${p.step}  loss ${p.loss.toFixed(4)}  ${Math.round(tokensPerS)} tok/s  ${pct}% of budget (${p.wallS.toFixed(0)} s)`;
    if (this.tty) {
      const width = 20;
      const filled = Math.round(width * p.fraction);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else this.stream.write(`${text}\n`);
  }

  /**
   * Training tokens per second of training time since the last line written; over the whole run
   * for the first line, the closing line, or when no training time has passed since the last one.
   */
  private rate(p: ProgressInfo): number {
    const dWall = this.prev && !p.final ? p.wallS - this.prev.wallS : 0;
    if (dWall > 0) return (p.tokens - (this.prev?.tokens ?? 0)) / dWall;
    return p.wallS > 0 ? p.tokens / p.wallS : 0;
  }

  message(s: string): void {
    if (this.quiet) return;
    this.stream.write(`${this.tty ? '\r\x1b[K' : ''}${s}\n`);
  }

  done(): void {
    if (this.tty && !this.quiet) this.stream.write('\n');
  }
}
