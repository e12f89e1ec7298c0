/** A one-line progress bar on stderr; silent when stderr is not a terminal. */
export class ProgressBar {
  private last = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  update(done: number): void {
    if (!this.enabled || this.total <= 0) return;
    const pct = Math.floor((100 * Math.min(done, this.total)) / this.total);
    if (pct === this.last) return;
    this.last = pct;
    const width = 30;
    const filled = Math.round((width * pct) / 100);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% (${done}/${this.total})`);
  }

  finish(): void {
    if (this.enabled && this.last >= 0) process.stderr.write('\n');
  }
}
