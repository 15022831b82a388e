import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { backoffDelay } from '../util';
import { Lease } from './lease';
import { InvalidResourceNameError, LockTimeoutError } from './lease-errors';
import { LeaseScripts, leaseScripts } from './lease-scripts';
import { RedisLogger } from './redis-client';
import { ReleaseNotifier, ReleaseWatch } from './release-notifier';

export interface AcquireOptions {
  /** Number of slots of the resource (writers allowed at once). */
  slots: number;
  /** Lease TTL; renewed every ttl/3 while held. */
  ttlMs: number;
  /** Give up with LockTimeoutError after this long; 0 = a single attempt. */
  waitTimeoutMs: number;
  /** Aborting rejects a pending acquire with the signal's reason. */
  signal?: AbortSignal;
  /** Default true. Without it the lease simply ends (signal aborts) when its TTL runs out. */
  autoRenew?: boolean;
}

export interface LeaseSemaphoreOptions {
  /** Default: a Nest Logger 'LeaseSemaphore'. */
  logger?: RedisLogger;
  /** Wake waiters through pub/sub when a slot is released (default true); else only poll. */
  wakeOnRelease?: boolean;
  /** Polling backoff while waiting: first delay and cap (defaults 20 ms, 500 ms), jittered. */
  pollBaseMs?: number;
  pollCapMs?: number;
  /**
   * A grant or renewal counts only once this many replicas acknowledged it (WAIT n timeoutMs),
   * so a Sentinel failover cannot lose it. Default none (a single server).
   */
  replicas?: { count: number; timeoutMs: number };
}

const RESOURCE = /^[A-Za-z0-9._:-]{1,512}$/;
const MAX_SLOTS = 1024;
const MIN_TTL_MS = 30;

/**
 * Redis errors that say "try again later" rather than "this request is wrong". A login or a
 * permission the operator can fix on the Redis side (ACL SETUSER) counts too: the service
 * waits and resumes instead of failing the batch.
 */
const TRANSIENT_REPLY =
  /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOPERM|NOAUTH|WRONGPASS)\b/;

/** Slot k of resource R is `logsplit:slot:{R}:k`; its fence counter `logsplit:fence:{R}:k`. */
export function leaseKeys(resource: string, slot: number): { slot: string; fence: string } {
  return {
    slot: `logsplit:slot:{${resource}}:${slot}`,
    fence: `logsplit:fence:{${resource}}:${slot}`,
  };
}

/**
 * A counting semaphore of N slots per resource (e.g. writers per app), built from leases: slot
 * k is a key set with SET NX PX to a random token. Slots are tried lowest first, so a lone
 * writer keeps reusing slot 0 and an app gets few, large files. Each grant also increments the
 * slot's fence counter (same Lua script) for fencing. Fence counters never expire: they must
 * outlive every lease, and there is one small key per (resource, slot).
 */
export class LeaseSemaphore {
  private readonly scripts: LeaseScripts;
  private readonly notifier: ReleaseNotifier;
  private readonly logger: RedisLogger;
  private readonly pollBaseMs: number;
  private readonly pollCapMs: number;
  private readonly replicas: { count: number; timeoutMs: number };

  constructor(
    private readonly redis: Redis,
    options: LeaseSemaphoreOptions = {},
  ) {
    this.scripts = leaseScripts(redis);
    this.logger = options.logger ?? new Logger('LeaseSemaphore');
    this.notifier = new ReleaseNotifier(redis, options.wakeOnRelease ?? true, this.logger);
    this.pollBaseMs = options.pollBaseMs ?? 20;
    this.pollCapMs = options.pollCapMs ?? 500;
    this.replicas = options.replicas ?? { count: 0, timeoutMs: 0 };
  }

  /**
   * Takes the lowest free slot, waiting up to `waitTimeoutMs` for one. While waiting, Redis
   * errors that look transient (connection lost, LOADING, ...) are retried like a busy slot; at
   * the deadline they surface as LockTimeoutError.lastError. The deadline is checked between
   * attempts, so while Redis is down it can be overrun by one attempt (bounded by the client's
   * command timeout / retries per request).
   */
  async acquire(resource: string, opts: AcquireOptions): Promise<Lease> {
    validate(resource, opts);
    if (!Number.isFinite(opts.waitTimeoutMs) || opts.waitTimeoutMs < 0) {
      throw new RangeError(`waitTimeoutMs must be >= 0, got ${opts.waitTimeoutMs}`);
    }
    const { signal } = opts;
    signal?.throwIfAborted();
    const start = Date.now();
    const deadline = start + opts.waitTimeoutMs;
    let watch: ReleaseWatch | undefined;
    let lastError: unknown;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const lease = await this.attempt(resource, allSlots(opts.slots), opts, start);
          if (lease) {
            if (signal?.aborted) {
              await lease.release();
              signal.throwIfAborted();
            }
            return lease;
          }
          lastError = undefined;
        } catch (err) {
          if (!isTransient(err)) throw err;
          lastError = err;
        }
        signal?.throwIfAborted();
        const now = Date.now();
        if (now >= deadline) {
          throw new LockTimeoutError(resource, opts.slots, now - start, lastError);
        }
        // Subscribe only once we actually wait; a release in the meantime is caught by polling.
        watch ??= this.notifier.watch(releaseChannel(resource));
        const delay = backoffDelay(attempt, this.pollBaseMs, this.pollCapMs);
        await watch.wait(Math.min(delay, deadline - now), signal);
        signal?.throwIfAborted();
      }
    } finally {
      watch?.close();
    }
  }

  /** One attempt, no waiting: the lowest free slot, or undefined if all are held. */
  async tryAcquire(
    resource: string,
    opts: Omit<AcquireOptions, 'waitTimeoutMs' | 'signal'>,
  ): Promise<Lease | undefined> {
    validate(resource, opts);
    return this.attempt(resource, allSlots(opts.slots), opts, Date.now());
  }

  /**
   * One attempt at one given slot, no waiting: for work on a known slot's file (e.g. sealing
   * slot k's segment), or undefined if that slot is held.
   */
  async tryAcquireSlot(
    resource: string,
    slot: number,
    ttlMs: number,
    autoRenew = true,
  ): Promise<Lease | undefined> {
    validate(resource, { slots: 1, ttlMs });
    validateSlot(slot);
    return this.attempt(resource, [slot], { ttlMs, autoRenew }, Date.now());
  }

  /** The latest fence issued for (resource, slot); 0 if none yet. */
  async currentFence(resource: string, slot: number): Promise<number> {
    validateResource(resource);
    validateSlot(slot);
    return Number((await this.redis.get(leaseKeys(resource, slot).fence)) ?? 0);
  }

  /** Closes the pub/sub connection. Held leases are untouched: release them first. */
  close(): void {
    this.notifier.close();
  }

  /** Resolves once this connection's writes reached `replicas.count` replicas (WAIT). */
  private async replicated(): Promise<void> {
    const { count, timeoutMs } = this.replicas;
    if (count === 0) return;
    const acked = await this.redis.wait(count, timeoutMs);
    if (acked < count) throw new LeaseNotReplicatedError(acked, count, timeoutMs);
  }

  /** Takes the first free slot of `candidates` (one Lua call). */
  private async attempt(
    resource: string,
    candidates: number[],
    opts: Pick<AcquireOptions, 'ttlMs' | 'autoRenew'>,
    start: number,
  ): Promise<Lease | undefined> {
    const keys = candidates.map((k) => leaseKeys(resource, k));
    const token = randomBytes(16).toString('hex');
    const sentAt = Date.now();
    const got = await this.scripts.acquire(
      keys.map((k) => k.slot),
      keys.map((k) => k.fence),
      token,
      opts.ttlMs,
    );
    if (!got) return undefined;
    const [index, fence] = got;
    const slot = candidates[index];
    const slotKeys = keys[index];
    const channel = releaseChannel(resource);
    try {
      await this.replicated();
    } catch (err) {
      // Not on enough replicas: give the slot back (best effort; else its TTL frees it).
      await this.scripts.release(slotKeys.slot, token, channel, slot).catch(() => undefined);
      throw err;
    }
    return new Lease(
      {
        scripts: this.scripts,
        slotKey: slotKeys.slot,
        releaseChannel: channel,
        replicated: () => this.replicated(),
        currentHolder: async () => {
          const [token, fence] = await this.redis.mget(slotKeys.slot, slotKeys.fence);
          return { token, fence: Number(fence ?? 0) };
        },
        onError: (message, err) =>
          this.logger.warn(`${message}: ${err instanceof Error ? err.message : String(err)}`),
      },
      {
        resource,
        slot,
        token,
        fence,
        ttlMs: opts.ttlMs,
        sentAt,
        waitedMs: Date.now() - start,
        autoRenew: opts.autoRenew ?? true,
      },
    );
  }
}

/** Thrown when a lease write did not reach enough replicas in time (retried like an outage). */
export class LeaseNotReplicatedError extends Error {
  constructor(acked: number, wanted: number, timeoutMs: number) {
    super(
      `lease acknowledged by ${acked} of the ${wanted} replica(s) REDIS_LEASE_REPLICAS asks for within ${timeoutMs} ms`,
    );
    this.name = 'LeaseNotReplicatedError';
  }
}

/** 0..n-1: lowest first, so a lone writer keeps reusing slot 0. */
function allSlots(n: number): number[] {
  return Array.from({ length: n }, (_, k) => k);
}

function releaseChannel(resource: string): string {
  return `logsplit:released:{${resource}}`;
}

function validateResource(resource: string): void {
  if (typeof resource !== 'string' || !RESOURCE.test(resource))
    throw new InvalidResourceNameError(resource);
}

function validateSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) {
    throw new RangeError(`slot must be an integer in 0..${MAX_SLOTS - 1}, got ${slot}`);
  }
}

function validate(resource: string, opts: Pick<AcquireOptions, 'slots' | 'ttlMs'>): void {
  validateResource(resource);
  if (!Number.isInteger(opts.slots) || opts.slots < 1 || opts.slots > MAX_SLOTS) {
    throw new RangeError(`slots must be an integer in 1..${MAX_SLOTS}, got ${opts.slots}`);
  }
  if (!Number.isInteger(opts.ttlMs) || opts.ttlMs < MIN_TTL_MS) {
    throw new RangeError(`ttlMs must be an integer >= ${MIN_TTL_MS}, got ${opts.ttlMs}`);
  }
}

/** Connection-level failures and "retry later" replies; a wrong request (script error) is not. */
function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'ReplyError' ? TRANSIENT_REPLY.test(err.message) : true;
}
