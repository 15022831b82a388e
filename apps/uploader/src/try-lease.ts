import { Lease } from '@logsplit/common';

/**
 * What the uploader needs of the Redis LeaseSemaphore: one slot's lease taken without waiting.
 * (The semaphore fits as it is; tests pass a small fake.)
 */
export interface TryLease {
  tryAcquireSlot(
    resource: string,
    slot: number,
    ttlMs: number,
  ): Promise<Pick<Lease, 'assertHeld' | 'release'> | undefined>;
}
