import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import {
  AcquireOptions,
  createRedis,
  InvalidResourceNameError,
  Lease,
  LeaseLock,
  LeaseLostError,
  LeaseSemaphore,
  leaseKeys,
  LockTimeoutError,
} from '@logsplit/common/redis';

// Real Redis: the Lua scripts, TTLs and pub/sub wake-ups are what is under test.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const quiet = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });

const clients: Redis[] = [];
const semaphores: LeaseSemaphore[] = [];
const resources: string[] = [];
const leases: Lease[] = [];

function client(name = 'lease-test'): Redis {
  const c = createRedis(REDIS_URL, name, { logger: quiet() });
  clients.push(c);
  return c;
}
function semaphore(
  c = client(),
  opts: ConstructorParameters<typeof LeaseSemaphore>[1] = {},
): LeaseSemaphore {
  const s = new LeaseSemaphore(c, { logger: quiet(), ...opts });
  semaphores.push(s);
  return s;
}
function resource(): string {
  const r = `test-${randomUUID().slice(0, 8)}`;
  resources.push(r, `lock:${r}`);
  return r;
}
/** Tracks a lease so it is released even when the test fails half-way. */
async function track(p: Promise<Lease>): Promise<Lease> {
  const l = await p;
  leases.push(l);
  return l;
}

let redis: Redis;
let sem: LeaseSemaphore;
beforeAll(() => {
  redis = client('lease-test-main');
  sem = semaphore(redis);
});
afterAll(async () => {
  await Promise.all(leases.map((l) => l.release()));
  for (const r of resources) {
    const keys = await redis.keys(`logsplit:*{${r}}*`);
    if (keys.length) await redis.del(...keys);
  }
  semaphores.forEach((s) => s.close());
  // Not on a client already closed: its disconnect() would arm a 2 s ioredis timer.
  await Promise.all(
    clients.filter((c) => c.status !== 'end').map((c) => c.quit().catch(() => c.disconnect())),
  );
});

const held = { slots: 3, ttlMs: 5_000, waitTimeoutMs: 0 } satisfies AcquireOptions;

describe('LeaseSemaphore (real Redis)', () => {
  it('takes the lowest free slot, so a lone writer keeps reusing slot 0', async () => {
    const r = resource();
    for (let i = 0; i < 5; i++) {
      const l = await sem.acquire(r, held);
      expect(l.slot).toBe(0);
      expect(l.fence).toBe(i + 1);
      await l.release();
    }
    const [a, b, c] = [
      await track(sem.acquire(r, held)),
      await track(sem.acquire(r, held)),
      await track(sem.acquire(r, held)),
    ];
    expect([a.slot, b.slot, c.slot]).toEqual([0, 1, 2]);
    expect(await b.release()).toBe(true);
    expect((await track(sem.acquire(r, held))).slot).toBe(1);
    expect(await sem.tryAcquire(r, held)).toBeUndefined();
  });

  it('gives N concurrent acquirers N distinct slots; the N+1th waits until one is released', async () => {
    const r = resource();
    const sems = [semaphore(), semaphore(), semaphore(), semaphore()];
    const opts = { slots: 3, ttlMs: 5_000, waitTimeoutMs: 5_000 };
    const first = await Promise.all(sems.slice(0, 3).map((s) => track(s.acquire(r, opts))));
    expect(first.map((l) => l.slot).sort()).toEqual([0, 1, 2]);

    let settled = false;
    const fourth = track(sems[3].acquire(r, opts)).finally(() => (settled = true));
    await sleep(300);
    expect(settled).toBe(false);
    const releasedAt = Date.now();
    await first.find((l) => l.slot === 1)!.release();
    const got = await fourth;
    expect(got.slot).toBe(1);
    expect(got.waitedMs).toBeGreaterThanOrEqual(300);
    expect(Date.now() - releasedAt).toBeLessThan(600); // at most one poll interval
  });

  it('wakes a waiter through the release announcement, not at its next poll', async () => {
    const r = resource();
    const holder = await track(sem.acquire(r, { ...held, slots: 1 }));
    // Polling alone would not retry for 2.5-5 s.
    const slow = semaphore(client(), { pollBaseMs: 5_000, pollCapMs: 5_000 });
    const waiter = track(slow.acquire(r, { slots: 1, ttlMs: 5_000, waitTimeoutMs: 5_000 }));
    await sleep(200); // let the waiter fail once and subscribe
    const releasedAt = Date.now();
    await holder.release();
    await waiter;
    expect(Date.now() - releasedAt).toBeLessThan(500);
  });

  it('times out with LockTimeoutError when no slot frees up', async () => {
    const r = resource();
    await track(sem.acquire(r, { ...held, slots: 1 }));
    const t0 = Date.now();
    const err: unknown = await sem
      .acquire(r, { slots: 1, ttlMs: 5_000, waitTimeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).waitedMs).toBeGreaterThanOrEqual(300);
    expect((err as LockTimeoutError).lastError).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('rejects a waiting acquire when its signal aborts, leaving no lease behind', async () => {
    const r = resource();
    const holder = await track(sem.acquire(r, { ...held, slots: 1 }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutting down')), 100);
    const t0 = Date.now();
    await expect(
      sem.acquire(r, { slots: 1, ttlMs: 5_000, waitTimeoutMs: 5_000, signal: ac.signal }),
    ).rejects.toThrow('shutting down');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(await redis.get(leaseKeys(r, 0).slot)).toBe(holder.token);
  });

  it('after TTL expiry another instance acquires the slot with a greater fence', async () => {
    const r = resource();
    const old = await track(
      sem.acquire(r, { slots: 1, ttlMs: 300, waitTimeoutMs: 0, autoRenew: false }),
    );
    expect(await redis.pttl(leaseKeys(r, 0).slot)).toBeGreaterThan(0);
    const t0 = Date.now();
    const next = await track(
      semaphore().acquire(r, { slots: 1, ttlMs: 5_000, waitTimeoutMs: 2_000 }),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(next.slot).toBe(0);
    expect(next.fence).toBeGreaterThan(old.fence);
    expect(await sem.currentFence(r, 0)).toBe(next.fence);
    expect(old.isHeld()).toBe(false);
    expect(old.signal.aborted).toBe(true);
    expect((old.signal.reason as LeaseLostError).reason).toBe('expired');
  });

  it('a holder whose keys a Redis restart wiped fails its check even when its fence number comes round again', async () => {
    const r = resource();
    const stale = await track(sem.acquire(r, { slots: 1, ttlMs: 30_000, waitTimeoutMs: 0 }));
    // What a restart without persistence does to this resource: the lease and its fence vanish.
    await redis.del(leaseKeys(r, 0).slot, leaseKeys(r, 0).fence);
    let newer = await track(semaphore().acquire(r, { slots: 1, ttlMs: 30_000, waitTimeoutMs: 0 }));
    while (newer.fence < stale.fence) {
      await newer.release();
      newer = await track(semaphore().acquire(r, { slots: 1, ttlMs: 30_000, waitTimeoutMs: 0 }));
    }
    expect(newer.fence).toBe(stale.fence);
    expect(await stale.isFenceCurrent()).toBe(false);
    await expect(stale.assertHeld()).rejects.toThrow(LeaseLostError);
    await expect(newer.assertHeld()).resolves.toBeUndefined();
  });

  it('a release with a stale token never deletes the newer holder’s lease', async () => {
    const r = resource();
    const stale = await track(
      sem.acquire(r, { slots: 1, ttlMs: 100, waitTimeoutMs: 0, autoRenew: false }),
    );
    await sleep(250);
    const newer = await track(semaphore().acquire(r, { slots: 1, ttlMs: 5_000, waitTimeoutMs: 0 }));
    expect(await stale.release()).toBe(false);
    expect(await redis.get(leaseKeys(r, 0).slot)).toBe(newer.token);
    expect(newer.isHeld()).toBe(true);
    await expect(newer.assertHeld()).resolves.toBeUndefined();
    await expect(stale.assertHeld()).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('auto-renew keeps a lease well past its TTL', async () => {
    const r = resource();
    const lease = await track(sem.acquire(r, { slots: 1, ttlMs: 150, waitTimeoutMs: 0 }));
    await sleep(700);
    expect(lease.isHeld()).toBe(true);
    expect(lease.signal.aborted).toBe(false);
    expect(await redis.get(leaseKeys(r, 0).slot)).toBe(lease.token);
    expect(await semaphore().tryAcquire(r, { slots: 1, ttlMs: 150 })).toBeUndefined();
    await expect(lease.isFenceCurrent()).resolves.toBe(true);
    expect(await lease.release()).toBe(true);
    expect(await redis.exists(leaseKeys(r, 0).slot)).toBe(0);
  });

  it('aborts the signal of a lease a renewal finds taken', async () => {
    const r = resource();
    const lease = await track(sem.acquire(r, { slots: 1, ttlMs: 300, waitTimeoutMs: 0 }));
    await redis.set(leaseKeys(r, 0).slot, 'intruder', 'PX', 5_000); // as after a long pause
    const reason = await new Promise<unknown>((resolve) =>
      lease.signal.addEventListener('abort', () => resolve(lease.signal.reason), { once: true }),
    );
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect((reason as LeaseLostError).reason).toBe('taken');
    expect(lease.isHeld()).toBe(false);
    expect(await lease.release()).toBe(false);
    expect(await redis.get(leaseKeys(r, 0).slot)).toBe('intruder');
  });

  it('fails the fencing check once a newer fence exists', async () => {
    const r = resource();
    const lease = await track(sem.acquire(r, { ...held, slots: 1 }));
    await lease.assertHeld();
    await redis.incr(leaseKeys(r, 0).fence); // someone else was granted the slot meanwhile
    await expect(lease.isFenceCurrent()).resolves.toBe(false);
    await expect(lease.assertHeld()).rejects.toMatchObject({ reason: 'fenced' });
    expect(lease.signal.aborted).toBe(true);
  });

  it('marks a lease lost when Redis stays unreachable past its TTL', async () => {
    const r = resource();
    const cut = client('lease-test-cut');
    const lease = await track(
      semaphore(cut).acquire(r, { slots: 1, ttlMs: 300, waitTimeoutMs: 0 }),
    );
    const t0 = Date.now();
    cut.disconnect(); // renewals now fail
    await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
    expect(Date.now() - t0).toBeLessThan(400);
    expect((lease.signal.reason as LeaseLostError).reason).toBe('expired');
    const next = await track(sem.acquire(r, { slots: 1, ttlMs: 5_000, waitTimeoutMs: 1_000 }));
    expect(next.fence).toBe(lease.fence + 1);
  });

  it('tryAcquireSlot takes exactly the slot asked for', async () => {
    const r = resource();
    const two = await sem.tryAcquireSlot(r, 2, 5_000);
    expect(two?.slot).toBe(2);
    leases.push(two!);
    expect(await sem.tryAcquireSlot(r, 2, 5_000)).toBeUndefined();
    expect((await track(sem.acquire(r, held))).slot).toBe(0);
    expect((await track(sem.acquire(r, held))).slot).toBe(1);
    expect(await sem.tryAcquire(r, held)).toBeUndefined();
  });

  it('with REDIS_LEASE_REPLICAS and no replica to acknowledge it, grants nothing and frees the slot', async () => {
    const r = resource();
    const wanting = semaphore(client(), { replicas: { count: 1, timeoutMs: 50 } });
    const err = await wanting.acquire(r, { ...held, waitTimeoutMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(String((err as LockTimeoutError).lastError)).toContain(
      'lease acknowledged by 0 of the 1 replica(s) REDIS_LEASE_REPLICAS asks for within 50 ms',
    );
    expect(await redis.get(leaseKeys(r, 0).slot)).toBeNull();
  });

  it('refuses bad resource names and options with clear errors', async () => {
    for (const bad of ['', 'a/b', 'a b', '{x}', 'ü', 'x'.repeat(513)]) {
      await expect(sem.acquire(bad, held)).rejects.toBeInstanceOf(InvalidResourceNameError);
    }
    await expect(sem.acquire('ok', { ...held, slots: 0 })).rejects.toThrow(RangeError);
    await expect(sem.acquire('ok', { ...held, slots: 1.5 })).rejects.toThrow(RangeError);
    await expect(sem.acquire('ok', { ...held, ttlMs: 5 })).rejects.toThrow(RangeError);
    await expect(sem.acquire('ok', { ...held, waitTimeoutMs: -1 })).rejects.toThrow(RangeError);
  });

  it('LeaseLock is exclusive and does not share keys with a semaphore resource of that name', async () => {
    const r = resource();
    const lock = new LeaseLock(semaphore());
    const slot0 = await track(sem.acquire(r, { ...held, slots: 1 }));
    let inside = 0;
    let maxInside = 0;
    const run = () =>
      lock.withLock(r, { ttlMs: 5_000, waitTimeoutMs: 5_000 }, async () => {
        maxInside = Math.max(maxInside, ++inside);
        await sleep(50);
        inside--;
      });
    await Promise.all([run(), run(), run()]);
    expect(maxInside).toBe(1);
    expect(slot0.isHeld()).toBe(true);
    expect(await lock.currentFence(r)).toBe(3);
  });

  it('stress: 4 clients x 50 cycles on 3 slots never exceed 3 holders or share a slot', async () => {
    const r = resource();
    const holders = new Map<number, string>();
    const fencesSeen = new Map<number, number>();
    let now = 0;
    let max = 0;
    const violations: string[] = [];
    const t0 = Date.now();
    const worker = async (s: LeaseSemaphore, id: string) => {
      for (let i = 0; i < 50; i++) {
        const lease = await s.acquire(r, { slots: 3, ttlMs: 2_000, waitTimeoutMs: 8_000 });
        if (holders.has(lease.slot))
          violations.push(`slot ${lease.slot}: ${id} and ${holders.get(lease.slot)}`);
        if (lease.fence <= (fencesSeen.get(lease.slot) ?? 0))
          violations.push(`fence went back on ${lease.slot}`);
        fencesSeen.set(lease.slot, lease.fence);
        holders.set(lease.slot, id);
        max = Math.max(max, ++now);
        await sleep(Math.random() * 3);
        holders.delete(lease.slot);
        now--;
        await lease.release();
      }
    };
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((id) => worker(semaphore(client(`lease-stress-${id}`)), id)),
    );
    expect(violations).toEqual([]);
    expect(max).toBeLessThanOrEqual(3);
    expect(max).toBeGreaterThanOrEqual(2); // there was contention to get wrong
    expect([...fencesSeen.values()].reduce((a, b) => a + b, 0)).toBe(200);
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 15_000);
});

describe('createRedis (real Redis)', () => {
  it('names its connection', async () => {
    const c = client('logsplit-test name');
    expect(await c.client('GETNAME')).toBe('logsplit-test_name');
  });
});
