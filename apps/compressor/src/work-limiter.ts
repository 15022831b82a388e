/**
 * Runs at most `limit` jobs at once, in the order they were submitted. (A dozen lines instead of
 * p-limit: that one is ESM-only from v4 on, which this CommonJS build cannot require.)
 */
export class WorkLimiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((go) => this.queue.push(go));
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}
