import type { CommandIO } from './command';

/** How often a line of progress goes to a pipe (a log, CI): often enough to show life, rarely enough to read. */
export const PIPE_INTERVAL_MS = 5000;

/**
 * Progress of one stage on stderr: a bar redrawn in place on a terminal; on
 * a pipe, a line (stage, done/total, rate) every few seconds, so a log shows
 * the run is alive; nothing with --quiet or --json.
 */
export class ProgressBar {
  private last = -1;
  private readonly start: number;
  private lastLine: number;
  private lines = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly io: CommandIO,
    private readonly silent = false,
  ) {
    this.start = this.now();
    this.lastLine = this.start;
  }

  private now(): number {
    return (this.io.clock ?? Date.now)();
  }

  update(done: number): void {
    if (this.silent || this.total <= 0) return;
    if (!this.io.interactive) {
      const t = this.now();
      if (t - this.lastLine < PIPE_INTERVAL_MS) return;
      this.lastLine = t;
      this.lines++;
      const rate = done / Math.max(1e-3, (t - this.start) / 1000);
      this.io.err(`${this.label.trim()}: ${done}/${this.total} (${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s)`);
      return;
    }
    const pct = Math.floor((100 * Math.min(done, this.total)) / this.total);
    if (pct === this.last) return;
    this.last = pct;
    const width = 30;
    const filled = Math.round((width * pct) / 100);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% (${done}/${this.total})`);
  }

  finish(): void {
    if (this.silent) return;
    if (this.io.interactive && this.last >= 0) process.stderr.write('\n');
  }
}
