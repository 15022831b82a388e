import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { KafkaMessage } from 'kafkajs';
import {
  KafkaBatch,
  Lease,
  LeaseSemaphore,
  loadConfig,
  LockTimeoutError,
  PartitionAssignment,
  SpoolLayout,
} from '@logsplit/common';
import { PartitionGuard } from './partition-guard';

const TOPIC = 'by-app';

beforeAll(() => {
  Logger.overrideLogger(false);
});

let root: string;
let layout: SpoolLayout;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'partition-guard-'));
  layout = new SpoolLayout(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A semaphore whose partition leases are free unless listed in `busy` (then held by another). */
class FakeSemaphore {
  readonly leases: (Lease & { released: boolean; held: boolean })[] = [];
  busy = new Set<string>();
  /** Acquire rounds that ended with "held by someone else". */
  timeouts = 0;
  redisDown = false;

  acquire = jest.fn(async (resource: string) => {
    if (this.redisDown) {
      throw new LockTimeoutError(resource, 1, 3000, new Error('Connection is closed.'));
    }
    if (this.busy.has(resource)) {
      this.timeouts++;
      throw new LockTimeoutError(resource, 1, 3000);
    }
    return this.grant(resource);
  });

  tryAcquire = jest.fn(async (resource: string) =>
    this.busy.has(resource) ? undefined : this.grant(resource),
  );

  private grant(resource: string): Lease {
    this.busy.add(resource);
    const lease = {
      resource,
      slot: 0,
      released: false,
      held: true,
      isHeld: () => lease.held && !lease.released,
      assertHeld: async () => {},
      release: async () => {
        lease.released = true;
        this.busy.delete(resource);
        return true;
      },
    };
    this.leases.push(lease as unknown as Lease & { released: boolean; held: boolean });
    return this.leases[this.leases.length - 1];
  }
}

function setup() {
  const semaphore = new FakeSemaphore();
  const assignment = new PartitionAssignment();
  const config = loadConfig('compressor', { LOGSPLIT_LOCK_TTL_MS: '1000' });
  const guard = new PartitionGuard(
    config,
    semaphore as unknown as LeaseSemaphore,
    layout,
    assignment,
  );
  return { semaphore, assignment, guard };
}

function batch(partition: number, first: number, stale = () => false) {
  const heartbeat = jest.fn(async () => {});
  const b: KafkaBatch = {
    topic: TOPIC,
    partition,
    messages: [{ offset: String(first) } as KafkaMessage],
    nextOffset: String(first + 1),
    commit: async () => {},
    heartbeat,
    isStale: stale,
  };
  return { b, heartbeat };
}

/** A manifest line in app's slot 0 naming by-app offsets of a partition. */
function held(app: string, partition: number, offsets: number[]): void {
  const dir = layout.openDir(app, 0);
  mkdirSync(dir, { recursive: true });
  const entry = { offset: 0, length: 1, input: { topic: TOPIC, partition, offsets } };
  writeFileSync(join(dir, 'manifest.jsonl'), JSON.stringify(entry) + '\n', { flag: 'a' });
}

describe('PartitionGuard', () => {
  it('takes the partition lease once and reports what the spool holds from the first offset', async () => {
    const { semaphore, guard } = setup();
    held('a', 1, [3, 4, 5]);
    held('b', 1, [6]);
    held('b', 2, [4]);
    const h = await guard.enter(batch(1, 4).b, 4);
    expect([3, 4, 5, 6, 7].map((o) => h.holds(o))).toEqual([false, true, true, true, false]);
    h.done();
    await guard.enter(batch(1, 7).b, 7);
    expect(semaphore.acquire).toHaveBeenCalledTimes(1);
    expect(semaphore.acquire.mock.calls[0][0]).toBe('partition:by-app:1');
  });

  it('takes the other assigned partitions along and scans the spool once for all', async () => {
    const { semaphore, assignment, guard } = setup();
    assignment.update({ [TOPIC]: [0, 1, 2] });
    held('a', 2, [8]);
    (await guard.enter(batch(0, 0).b, 0)).done();
    expect(semaphore.tryAcquire).toHaveBeenCalledTimes(2);
    const h2 = await guard.enter(batch(2, 5).b, 5);
    expect(h2.holds(8)).toBe(true);
    expect(semaphore.acquire).toHaveBeenCalledTimes(1); // partitions 1 and 2 came along
    h2.done();
  });

  it('hands a partition taken along by another batch to its own batch instead of waiting', async () => {
    const { semaphore, assignment, guard } = setup();
    assignment.update({ [TOPIC]: [0, 1] });
    // Partition 0's batch takes 1 along; 1's own batch starts while that is under way.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const tryAcquire = semaphore.tryAcquire.getMockImplementation()!;
    semaphore.tryAcquire.mockImplementation(async (resource: string) => {
      const lease = tryAcquire(resource);
      await gate;
      return lease;
    });
    const first = guard.enter(batch(0, 0).b, 0);
    await new Promise((r) => setImmediate(r));
    const { b, heartbeat } = batch(1, 7);
    heartbeat.mockImplementation(async () => open());
    const [h0, h1] = await Promise.all([first, guard.enter(b, 7)]);
    expect([h0.partition, h1.partition]).toEqual([0, 1]);
    expect(heartbeat).toHaveBeenCalled(); // it did wait, for a lease that was its own
    expect(semaphore.leases.map((l) => l.resource)).toEqual([
      'partition:by-app:0',
      'partition:by-app:1',
    ]);
  });

  it('lets go of a revoked partition, only after the batch in hand ends', async () => {
    const { semaphore, assignment, guard } = setup();
    assignment.update({ [TOPIC]: [3] });
    const h = await guard.enter(batch(3, 0).b, 0);
    const [lease] = semaphore.leases;
    assignment.update({ [TOPIC]: [] });
    await new Promise((r) => setImmediate(r));
    expect(lease.released).toBe(false); // the batch still runs under it
    h.done();
    await new Promise((r) => setImmediate(r));
    expect(lease.released).toBe(true);
  });

  it('reads back an app after a failed append, from the given offset on', async () => {
    const { guard } = setup();
    const h = await guard.enter(batch(0, 10).b, 10);
    held('a', 0, [9, 10, 11]); // written, but the append failed before it could say so
    held('b', 0, [12]);
    expect(h.holds(10)).toBe(false);
    await h.recheck('a', 10);
    expect([9, 10, 11, 12].map((o) => h.holds(o))).toEqual([false, true, true, false]);
  });

  it('lets go of a revoked partition only after tracked appends settle', async () => {
    const { semaphore, assignment, guard } = setup();
    assignment.update({ [TOPIC]: [3] });
    const h = await guard.enter(batch(3, 0).b, 0);
    let finish!: () => void;
    void h.track(new Promise<void>((resolve) => (finish = resolve)));
    h.done();
    assignment.update({ [TOPIC]: [] });
    await new Promise((r) => setImmediate(r));
    expect(semaphore.leases[0].released).toBe(false); // an append still runs under it
    finish();
    await new Promise((r) => setImmediate(r));
    expect(semaphore.leases[0].released).toBe(true);
  });

  it('forgets offsets below the first unfinished one (committed)', async () => {
    const { guard } = setup();
    const h = await guard.enter(batch(0, 0).b, 0);
    h.add([0, 1, 2]);
    h.done();
    const next = await guard.enter(batch(0, 2).b, 2);
    expect([next.holds(1), next.holds(2)]).toEqual([false, true]);
  });

  it('takes a lost lease again and scans anew', async () => {
    const { semaphore, guard } = setup();
    (await guard.enter(batch(0, 0).b, 0)).done();
    semaphore.leases[0].held = false;
    held('a', 0, [1]); // another instance appended while we were not the owner
    const h = await guard.enter(batch(0, 1).b, 1);
    expect(semaphore.acquire).toHaveBeenCalledTimes(2);
    expect(h.holds(1)).toBe(true);
  });

  it('waits for a former owner in rounds, heartbeating between them', async () => {
    const { semaphore, guard } = setup();
    semaphore.busy.add('partition:by-app:0');
    const { b, heartbeat } = batch(0, 0);
    heartbeat.mockImplementation(async () => {
      if (semaphore.timeouts === 2) semaphore.busy.clear(); // the former owner's TTL ran out
    });
    await guard.enter(b, 0);
    expect(heartbeat).toHaveBeenCalledTimes(2);
    expect(semaphore.acquire).toHaveBeenCalledTimes(3);
  });

  it('stops waiting when the partition is revoked meanwhile', async () => {
    const { semaphore, guard } = setup();
    semaphore.busy.add('partition:by-app:0');
    await expect(guard.enter(batch(0, 0, () => true).b, 0)).rejects.toThrow(/revoked/);
  });

  it('fails at once, with the Redis error, when Redis cannot be reached', async () => {
    const { semaphore, guard } = setup();
    semaphore.redisDown = true;
    await expect(guard.enter(batch(0, 0).b, 0)).rejects.toMatchObject({
      name: 'LockTimeoutError',
      lastError: expect.any(Error) as Error,
    });
    expect(semaphore.acquire).toHaveBeenCalledTimes(1);
  });

  it('releases every lease at shutdown', async () => {
    const { semaphore, assignment, guard } = setup();
    assignment.update({ [TOPIC]: [0, 1] });
    (await guard.enter(batch(0, 0).b, 0)).done();
    expect(semaphore.leases).toHaveLength(2);
    await guard.onApplicationShutdown();
    expect(semaphore.leases.every((l) => l.released)).toBe(true);
  });
});
