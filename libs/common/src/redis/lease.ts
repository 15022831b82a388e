import { LeaseLossReason, LeaseLostError } from './lease-errors';
import { LeaseScripts } from './lease-scripts';

/** What a lease needs from the semaphore that granted it. */
export interface LeaseContext {
  scripts: LeaseScripts;
  slotKey: string;
  releaseChannel: string;
  /** The token now in the slot key (null if none) and the latest fence issued for the slot. */
  currentHolder(): Promise<{ token: string | null; fence: number }>;
  /** Rejects unless the writes so far reached the replicas a lease needs (WAIT); see semaphore. */
  replicated(): Promise<void>;
  onError(message: string, err: unknown): void;
}

export interface LeaseGrant {
  resource: string;
  slot: number;
  token: string;
  fence: number;
  waitedMs: number;
  ttlMs: number;
  /** Local time the acquire request was sent: the key cannot expire before this + ttl. */
  sentAt: number;
  autoRenew: boolean;
}

/**
 * A held slot of a LeaseSemaphore. While held it renews itself every ttl/3. It is lost when a
 * renewal finds the key gone or owned by another token, or when no renewal has succeeded within
 * the TTL (Redis unreachable): then `signal` aborts with a LeaseLostError. The signal does not
 * abort on `release()`. Losing a lease is always possible (GC pause, partition), which is why
 * writers also check `isFenceCurrent()` right before making a write visible.
 */
export class Lease {
  readonly resource: string;
  readonly slot: number;
  /** Random value stored in the slot key; only its owner can renew or delete the key. */
  readonly token: string;
  /** Fencing token: strictly greater than that of every earlier lease on this (resource, slot). */
  readonly fence: number;
  /** How long acquire() waited for a free slot (a metric / span attribute). */
  readonly waitedMs: number;
  readonly ttlMs: number;
  private readonly controller = new AbortController();
  private state: 'held' | 'released' | 'lost' = 'held';
  private validUntil = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<boolean> | undefined;

  constructor(
    private readonly ctx: LeaseContext,
    grant: LeaseGrant,
  ) {
    ({ resource: this.resource, slot: this.slot, token: this.token, fence: this.fence } = grant);
    this.waitedMs = grant.waitedMs;
    this.ttlMs = grant.ttlMs;
    this.extendTo(grant.sentAt + grant.ttlMs);
    if (grant.autoRenew) this.scheduleRenew(this.ttlMs / 3);
  }

  /** Aborted (reason: LeaseLostError) when the lease is lost, not when it is released. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Local, conservative estimate of when the key expires unless renewed. */
  get expiresAt(): number {
    return this.validUntil;
  }

  /** Held by us as far as this process knows: not released, not lost, TTL not run out. */
  isHeld(): boolean {
    return this.state === 'held' && Date.now() < this.validUntil;
  }

  /**
   * Extends the TTL now. Resolves false if the lease is no longer ours (and marks it lost);
   * rejects on a Redis error, leaving the lease to expire by TTL unless a later renewal succeeds.
   */
  renew(): Promise<boolean> {
    if (this.state !== 'held') return Promise.resolve(false);
    // Concurrent calls share one request: the later result would be no fresher.
    this.renewing ??= this.doRenew().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  /**
   * The fencing check: true while this lease is held and its fence is still the latest issued
   * for its slot. Call it right before making a write visible (rename, commit of an intent).
   */
  async isFenceCurrent(): Promise<boolean> {
    if (!this.isHeld()) return false;
    const now = await this.ctx.currentHolder();
    return now.token === this.token && now.fence === this.fence;
  }

  /**
   * The fencing check as an assertion, for the moment right before a write becomes visible:
   * throws LeaseLostError unless the lease is held and its fence is still the latest (a newer
   * fence means another holder got the slot: the lease is then marked lost). A Redis error
   * rejects as is; either way the caller must not write.
   */
  async assertHeld(): Promise<void> {
    if (this.state === 'released') throw new LeaseLostError(this.resource, this.slot, 'released');
    if (this.isHeld()) {
      // The token as well as the fence: a Redis restarted without persistence forgets both, and
      // its fresh counter may hand a newer holder the very fence number we hold.
      const now = await this.ctx.currentHolder();
      if (now.token !== this.token) this.lose('taken');
      else if (now.fence !== this.fence) this.lose('fenced');
    }
    // Re-checked after the round trip: the TTL may have run out meanwhile (timer not yet run).
    if (this.state === 'held' && !this.isHeld()) this.lose('expired');
    if (this.state !== 'held') throw this.lossError();
  }

  /**
   * Stops renewing and deletes the key if it still holds our token (compare-and-delete: never a
   * newer holder's lease). Idempotent; never rejects (it runs in `finally` blocks): on a Redis
   * error it resolves false and the key lapses by its TTL. Resolves true if our key was deleted.
   */
  async release(): Promise<boolean> {
    if (this.state === 'released') return false;
    this.state = 'released';
    this.clearTimers();
    return this.deleteKey();
  }

  private async doRenew(): Promise<boolean> {
    const sentAt = Date.now();
    const ours = await this.ctx.scripts.renew(this.ctx.slotKey, this.token, this.ttlMs);
    if (this.state !== 'held') return false; // released or lost while the request was in flight
    if (!ours) {
      this.lose('taken');
      return false;
    }
    // A renewal only the primary holds would not survive a failover: it does not count (the
    // lease then ends by its last replicated TTL, which a promoted replica also applies).
    await this.ctx.replicated();
    if (this.state !== 'held') return false;
    this.extendTo(sentAt + this.ttlMs);
    return true;
  }

  private scheduleRenew(delayMs: number): void {
    this.renewTimer = setTimeout(() => void this.autoRenew(), delayMs);
    this.renewTimer.unref(); // a held lease must not keep the process alive: the TTL frees it
  }

  private async autoRenew(): Promise<void> {
    try {
      if (await this.renew()) this.scheduleRenew(this.ttlMs / 3);
    } catch (err) {
      this.ctx.onError(`renewing lease on slot ${this.slot} of "${this.resource}" failed`, err);
      // Retry soon; the expiry timer marks the lease lost if the TTL runs out first.
      if (this.state === 'held') this.scheduleRenew(Math.min(1_000, Math.max(20, this.ttlMs / 10)));
    }
  }

  private extendTo(validUntil: number): void {
    this.validUntil = validUntil;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.lose('expired'), Math.max(0, validUntil - Date.now()));
    this.expiryTimer.unref();
  }

  private lose(reason: LeaseLossReason): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    this.clearTimers();
    this.controller.abort(new LeaseLostError(this.resource, this.slot, reason));
    // Our estimate is conservative, so the key may still be ours: free the slot for others now.
    if (reason === 'expired') void this.deleteKey();
  }

  private async deleteKey(): Promise<boolean> {
    try {
      return await this.ctx.scripts.release(
        this.ctx.slotKey,
        this.token,
        this.ctx.releaseChannel,
        this.slot,
      );
    } catch (err) {
      this.ctx.onError(`releasing lease on slot ${this.slot} of "${this.resource}" failed`, err);
      return false;
    }
  }

  private lossError(): LeaseLostError {
    const reason: unknown = this.controller.signal.reason;
    if (reason instanceof LeaseLostError) return reason;
    return new LeaseLostError(this.resource, this.slot, 'released'); // released concurrently
  }

  private clearTimers(): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }
}
