import { promises as fs } from 'node:fs';
import { BackpressureError, LeaseLostError, LockTimeoutError } from '@logsplit/common';

/**
 * Checks made before a batch touches the spool, and what a failure means for consumption. Redis
 * is checked first to fail fast: lease waits retry a down Redis for up to the lock wait timeout.
 */
export class SpoolRoom {
  constructor(
    private readonly spoolDir: string,
    private readonly minFreeBytes: number,
    private readonly redis: { readonly status: string },
  ) {}

  async assert(): Promise<void> {
    await assertSpoolRoom(this.spoolDir, this.minFreeBytes);
    if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`);
  }

  backpressure(err: unknown): unknown {
    return asBackpressure(err, this.redis.status === 'ready', this.spoolDir);
  }
}

/**
 * Throws BackpressureError('spool') when the spool filesystem has less than `minFreeBytes` free:
 * pausing before the disk is full keeps a half-written block from being the first sign of it.
 */
export async function assertSpoolRoom(spoolDir: string, minFreeBytes: number): Promise<void> {
  if (minFreeBytes <= 0) return;
  await fs.mkdir(spoolDir, { recursive: true });
  const { bavail, bsize } = await fs.statfs(spoolDir);
  const free = bavail * bsize;
  if (free < minFreeBytes) {
    throw new BackpressureError(
      'spool',
      `spool ${spoolDir} has ${free} bytes free, below LOGSPLIT_SPOOL_MIN_FREE_BYTES=${minFreeBytes}: appends pause until uploads free space`,
    );
  }
}

/**
 * What an append failure means for consumption: a full disk or an unreachable Redis is a
 * BackpressureError (the transport pauses the partition and retries with backoff); anything else,
 * including a lease simply held or taken by someone else, is returned as it is.
 */
export function asBackpressure(err: unknown, redisReady: boolean, spoolDir: string): unknown {
  if (err instanceof BackpressureError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BackpressureError(
      'spool',
      `spool ${spoolDir} is full (${code}): appends pause until uploads free space`,
      { cause: err },
    );
  }
  if (err instanceof LockTimeoutError) {
    return err.lastError === undefined ? err : redisDown(err);
  }
  if (err instanceof LeaseLostError) {
    // Taken or fenced: another holder, not an outage. Expired: no renewal got through.
    return err.reason === 'expired' && !redisReady ? redisDown(err) : err;
  }
  // A failing file operation names its path; while Redis is down, the rest came from Redis.
  const fileError = (err as NodeJS.ErrnoException | undefined)?.path !== undefined;
  return redisReady || fileError ? err : redisDown(err);
}

function redisDown(err: unknown): BackpressureError {
  const detail = err instanceof Error ? err.message : String(err);
  return new BackpressureError('redis', `Redis is unreachable for leases: ${detail}`, {
    cause: err,
  });
}
