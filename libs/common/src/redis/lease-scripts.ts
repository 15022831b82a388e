import type Redis from 'ioredis';

/*
 * Lua scripts of the lease semaphore. Each runs atomically on the server; every key a script
 * touches is passed in KEYS and carries the same hash tag {resource}, so the scripts also work
 * on Redis Cluster. Registered with defineCommand, so ioredis sends EVALSHA and falls back to
 * EVAL (loading the script) only when the server does not know it yet, e.g. after a restart.
 */

/**
 * KEYS[1..n] = candidate slot keys in order of preference, KEYS[n+1..2n] = their fence keys;
 * ARGV = token, ttlMs. Takes the first free candidate and increments its fence in the same
 * script, so a lease and its fencing token cannot be separated (no holder without a fence, no
 * fence without a holder). Returns {0-based candidate index, fence}, or nil if all are held.
 */
const ACQUIRE = `
local n = #KEYS / 2
for i = 1, n do
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {i - 1, redis.call('INCR', KEYS[n + i])}
  end
end
return nil
`;

/** KEYS[1] = slot key; ARGV = token, ttlMs. Extends the TTL only if we still own the slot. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/**
 * KEYS[1] = slot key; ARGV = token, release channel, slot. Compare-and-delete: never deletes
 * a newer holder's lease. Announces the free slot so waiters wake without polling.
 */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`;

/** Typed handles on the scripts registered on one client. */
export interface LeaseScripts {
  acquire(
    slotKeys: string[],
    fenceKeys: string[],
    token: string,
    ttlMs: number,
  ): Promise<[number, number] | null>;
  renew(slotKey: string, token: string, ttlMs: number): Promise<boolean>;
  release(slotKey: string, token: string, channel: string, slot: number): Promise<boolean>;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
const NAMES = {
  acquire: 'logsplitLeaseAcquire',
  renew: 'logsplitLeaseRenew',
  release: 'logsplitLeaseRelease',
};

/** Registers the scripts on `redis` (once per client) and returns typed callers. */
export function leaseScripts(redis: Redis): LeaseScripts {
  const fns = redis as unknown as Record<string, ScriptFn | undefined>;
  if (typeof fns[NAMES.acquire] !== 'function') {
    // No numberOfKeys for acquire: its key count depends on the slot count, passed per call.
    redis.defineCommand(NAMES.acquire, { lua: ACQUIRE });
    redis.defineCommand(NAMES.renew, { lua: RENEW, numberOfKeys: 1 });
    redis.defineCommand(NAMES.release, { lua: RELEASE, numberOfKeys: 1 });
  }
  const call = (name: string, ...args: (string | number)[]): Promise<unknown> =>
    (fns[name] as ScriptFn).apply(redis, args);
  return {
    acquire: async (slotKeys, fenceKeys, token, ttlMs) =>
      (await call(NAMES.acquire, slotKeys.length * 2, ...slotKeys, ...fenceKeys, token, ttlMs)) as
        [number, number] | null,
    renew: async (slotKey, token, ttlMs) => (await call(NAMES.renew, slotKey, token, ttlMs)) === 1,
    release: async (slotKey, token, channel, slot) =>
      (await call(NAMES.release, slotKey, token, channel, slot)) === 1,
  };
}
