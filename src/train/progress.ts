/** A one-line progress bar on stderr (loss, it/s, ETA), drawn only when stderr is a terminal. */
export class ProgressBar {
  private readonly start = performance.now();
  private done = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    enabled = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {
    this.enabled = enabled;
  }

  private info: Record<string, number> = {};

  /** One unit done; `info` (a running loss, say) is shown until the next tick that gives one. */
  tick(info?: Record<string, number>): void {
    this.done++;
    if (info) this.info = info;
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && this.done < this.total) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const rate = this.done / Math.max(secs, 1e-9);
    const eta = (this.total - this.done) / Math.max(rate, 1e-9);
    const width = 24;
    const filled = Math.round((width * this.done) / this.total);
    const extras = Object.entries(this.info)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join('  ');
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}  ${extras}  ${rate.toFixed(1)} it/s  ETA ${eta.toFixed(0)}s\x1b[K`,
    );
  }

  close(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
