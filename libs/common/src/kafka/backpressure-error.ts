/** What a service is waiting for when it stops consuming. */
export type BackpressureReason = 'spool' | 'redis' | 'store' | 'kafka';

/**
 * Thrown by a batch handler when a dependency cannot take more work right now (spool disk full
 * or over its pending limit, Redis unreachable, store failing). The transport pauses the
 * partition, reports the reason, retries the same batch with backoff and resumes by itself.
 */
export class BackpressureError extends Error {
  constructor(
    readonly reason: BackpressureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackpressureError';
  }
}
