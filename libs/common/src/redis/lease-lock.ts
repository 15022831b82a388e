import { Lease } from './lease';
import { AcquireOptions, LeaseSemaphore } from './lease-semaphore';

export type LockOptions = Omit<AcquireOptions, 'slots'>;

/**
 * An exclusive lock: a LeaseSemaphore resource with one slot (e.g. "one instance uploads a given
 * segment"). Lock names live under their own namespace prefix, so the lock "app1" never shares
 * a key with slot 0 of the compressor's semaphore resource "app1".
 */
export class LeaseLock {
  constructor(
    private readonly semaphore: LeaseSemaphore,
    private readonly namespace = 'lock',
  ) {}

  acquire(name: string, opts: LockOptions): Promise<Lease> {
    return this.semaphore.acquire(this.resource(name), { ...opts, slots: 1 });
  }

  /** The lock if free right now, else undefined. */
  tryAcquire(
    name: string,
    opts: Omit<LockOptions, 'waitTimeoutMs' | 'signal'>,
  ): Promise<Lease | undefined> {
    return this.semaphore.tryAcquire(this.resource(name), { ...opts, slots: 1 });
  }

  /** Runs `fn` under the lock and releases it afterwards, also when `fn` throws. */
  async withLock<T>(name: string, opts: LockOptions, fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.acquire(name, opts);
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  currentFence(name: string): Promise<number> {
    return this.semaphore.currentFence(this.resource(name), 0);
  }

  private resource(name: string): string {
    return `${this.namespace}:${name}`;
  }
}
