import { Writable } from 'node:stream';

/**
 * Progress of a long read on stderr: redrawn in place on a terminal, a line every few seconds
 * otherwise (a log file), nothing for reads that finish quickly.
 */
export class ProgressLine {
  private lastDraw = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly err: Writable & { isTTY?: boolean },
    private readonly enabled: boolean,
    private readonly intervalMs = err.isTTY ? 250 : 5000,
    /** Reads shorter than this print no progress at all, only the summary. */
    private readonly delayMs = 1000,
  ) {}

  update(text: () => string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < this.delayMs || now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.drawn = true;
    this.err.write(this.err.isTTY ? `\r\x1b[2K${text()}` : `${text()}\n`);
  }

  /** Clears the live line (on a terminal) and prints the final one. */
  done(text: string): void {
    if (this.drawn && this.err.isTTY) this.err.write('\r\x1b[2K');
    if (this.enabled) this.err.write(`${text}\n`);
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
