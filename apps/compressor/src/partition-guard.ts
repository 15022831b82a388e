import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import {
  Assignment,
  findHeldInputs,
  HeldInputs,
  KafkaBatch,
  Lease,
  LeaseSemaphore,
  LockTimeoutError,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  PartitionAssignment,
  partitionResource,
  SpoolLayout,
} from '@logsplit/common';

/** One acquire attempt waits this long, then the batch heartbeats and checks it is still ours. */
const ACQUIRE_ROUND_MS = 3_000;

/** What the partition's appends may do while this instance holds the partition. */
export interface PartitionHold {
  readonly topic: string;
  readonly partition: number;
  /** True if some manifest on the spool already holds the chunk at this by-app offset. */
  holds(offset: number): boolean;
  /** Called once a block's manifest line is written: its chunks are held from now on. */
  add(offsets: readonly number[]): void;
  /** Throws unless this instance still holds the partition's lease (fencing check included). */
  assertHeld(): Promise<void>;
  /** False once the lease is known to be lost: enter again for a new hold. */
  isHeld(): boolean;
  /**
   * Reads back what the app's manifests hold from offset `from` on: after a failed append, which
   * may have committed its block (say, a seal failing after the manifest line), before a retry.
   */
  recheck(app: string, from: number): Promise<void>;
  /** Work on the partition: a revoked partition's lease is let go only once all of it settled. */
  track<T>(work: Promise<T>): Promise<T>;
  /** The batch that entered ended, either way. */
  done(): void;
}

/** Who enters: a batch, or the compressor's timer on behalf of a partition's gathered work. */
export type Entrant = Pick<KafkaBatch, 'topic' | 'partition' | 'heartbeat' | 'isStale'>;

interface Owned {
  topic: string;
  partition: number;
  lease: Lease;
  /** Offsets of this partition's chunks held by manifests, from the first unfinished on. */
  held: Set<number>;
  /** Batches and appends in hand; a revoked partition's lease is let go once they settled. */
  busy: Set<Promise<unknown>>;
}

/**
 * Fences each by-app partition with a Redis lease, so that its chunks are appended by one
 * instance at a time, and remembers which of its chunks the spool already holds: a replayed batch
 * (crash or failure between append and offset commit) then skips them instead of appending twice.
 *
 * The lease is taken on a partition's first batch and kept while the group assigns the partition
 * here; once taken, no one else appends the partition's chunks, so one scan of the spool plus
 * what this instance appends afterwards is complete. A failed append reads back the manifests of
 * its app before it is retried; a lost lease makes the next batch take it and scan anew.
 */
@Injectable()
export class PartitionGuard implements OnApplicationShutdown {
  private readonly log = new Logger(PartitionGuard.name);
  private readonly owned = new Map<string, Owned>();
  /** Partitions whose own batch is waiting for their lease (see take). */
  private readonly acquiring = new Set<string>();
  /** Partitions whose lease is taken and whose scan is running (see take). */
  private readonly taking = new Map<string, Promise<Owned | undefined>>();
  /** The group's latest assignment to this instance. */
  private assigned: Assignment = {};
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    private readonly semaphore: LeaseSemaphore,
    private readonly layout: SpoolLayout,
    assignment: PartitionAssignment,
  ) {
    this.unsubscribe = assignment.onChange((now) => {
      this.assigned = now;
      for (const o of this.owned.values()) {
        if (!now[o.topic]?.includes(o.partition)) this.letGo(o, 'revoked');
      }
    });
  }

  /**
   * Holds the batch's partition: takes the lease when not held yet (waiting for a former owner to
   * release it or for its TTL to run out) and brings what is known of the spool up to date.
   * `from`: the partition's first offset not yet durable here (what is below is committed).
   */
  async enter(batch: Entrant, from: number): Promise<PartitionHold> {
    const { topic, partition } = batch;
    let o = this.owned.get(key(topic, partition));
    if (o && !o.lease.isHeld()) {
      this.log.warn(`lease of ${topic}[${partition}] was lost: taking it again`);
      this.letGo(o, 'lost');
      o = undefined;
    }
    if (!o) o = await this.obtain(batch, from);
    for (const offset of o.held) if (offset < from) o.held.delete(offset); // committed
    return this.hold(o);
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe();
    const all = [...this.owned.values()];
    this.owned.clear();
    await Promise.all(all.map((o) => o.lease.release()));
  }

  /**
   * Takes the batch's partition, and with it every other partition of the topic assigned here
   * whose lease is free right now, then reads the spool once for all of them: after a rebalance
   * that is one scan instead of one per partition. A scan counts only for leases taken before
   * it started; what the others' first batches find is then current.
   */
  /** The partition as owned here: from another batch's take in flight, or by taking it. */
  private async obtain(batch: Entrant, first: number): Promise<Owned> {
    const k = key(batch.topic, batch.partition);
    for (;;) {
      const taken =
        (await this.taking.get(k)) ?? this.owned.get(k) ?? (await this.take(batch, first));
      if (taken) return taken;
    }
  }

  /** Undefined when another batch's take got this partition's lease meanwhile (see obtain). */
  private async take(batch: Entrant, first: number): Promise<Owned | undefined> {
    const { topic, partition } = batch;
    const k = key(topic, partition);
    this.acquiring.add(k); // keeps other batches' takes from taking it along
    let own: Lease | undefined;
    try {
      own = await this.acquire(batch);
    } finally {
      this.acquiring.delete(k);
    }
    if (!own) return undefined;
    const leases = new Map([[partition, own]]);
    try {
      if (batch.isStale()) throw new Error(`${topic}[${partition}] was revoked meanwhile`);
      for (const q of this.assigned[topic] ?? []) {
        const kq = key(topic, q);
        if (leases.has(q) || this.owned.has(kq) || this.taking.has(kq) || this.acquiring.has(kq)) {
          continue;
        }
        const lease = await this.semaphore.tryAcquire(partitionResource(topic, q), {
          slots: 1,
          ttlMs: this.config.segments.lockTtlMs,
        });
        if (lease) leases.set(q, lease);
      }
    } catch (err) {
      await Promise.all([...leases.values()].map((l) => l.release()));
      throw err;
    }
    const scan = this.scanTaken(topic, leases, partition, first);
    for (const q of leases.keys()) {
      const mine = scan.then((os) => os.get(q));
      mine.catch(() => undefined); // awaited by q's own first batch, if it comes
      this.taking.set(key(topic, q), mine);
    }
    try {
      return (await scan).get(partition)!;
    } finally {
      for (const q of leases.keys()) this.taking.delete(key(topic, q));
    }
  }

  private async scanTaken(
    topic: string,
    leases: Map<number, Lease>,
    partition: number,
    first: number,
  ): Promise<Map<number, Owned>> {
    const started = Date.now();
    let found: HeldInputs;
    try {
      // Other partitions' first offsets are not known yet: their first batch prunes the rest.
      const from = new Map([...leases.keys()].map((q) => [q, q === partition ? first : 0]));
      found = await findHeldInputs(this.layout, { topic, from });
    } catch (err) {
      await Promise.all([...leases.values()].map((l) => l.release()));
      throw err;
    }
    const out = new Map<number, Owned>();
    for (const [q, lease] of leases) {
      // Revoked while scanning: let go at once (the batch's own partition is checked by it).
      if (q !== partition && !this.assigned[topic]?.includes(q)) {
        void lease.release();
        continue;
      }
      const o: Owned = { topic, partition: q, lease, held: found.get(q)!, busy: new Set() };
      this.owned.set(key(topic, q), o);
      out.set(q, o);
    }
    this.log.log(
      `took ${topic} partitions ${[...out.keys()].join(',')} (batch of ${partition} at ${first}): the spool holds ${[...out.values()].reduce((n, o) => n + o.held.size, 0)} of their chunks, scan ${Date.now() - started} ms`,
    );
    return out;
  }

  /**
   * Waits in rounds, heartbeating between them, so a long wait does not cost the assignment.
   * Undefined when this instance's own take of another partition got the lease meanwhile.
   */
  private async acquire(batch: Entrant): Promise<Lease | undefined> {
    const { topic, partition } = batch;
    const { compressor } = this.config;
    const { lockTtlMs } = this.config.segments;
    const resource = partitionResource(topic, partition);
    const start = Date.now();
    for (let round = 0; ; round++) {
      try {
        return await this.semaphore.acquire(resource, {
          slots: 1,
          ttlMs: lockTtlMs,
          waitTimeoutMs: ACQUIRE_ROUND_MS,
        });
      } catch (err) {
        // A Redis failure (lastError) is not "held by someone else": let the caller back off.
        if (!(err instanceof LockTimeoutError) || err.lastError !== undefined) throw err;
      }
      const k = key(topic, partition);
      if (this.taking.has(k) || this.owned.has(k)) return undefined;
      const waited = Date.now() - start;
      if (round === 0) {
        this.log.log(`waiting for the lease of ${topic}[${partition}]: a former owner holds it`);
      }
      if (batch.isStale()) throw new Error(`${topic}[${partition}] was revoked while waiting`);
      if (waited >= Math.max(compressor.lockWaitTimeoutMs, 2 * lockTtlMs)) {
        throw new Error(
          `lease ${resource} still held by another instance after ${waited} ms (TTL ${lockTtlMs} ms): is a former owner stuck? retrying the batch`,
        );
      }
      await batch.heartbeat();
    }
  }

  private async scan(
    topic: string,
    partition: number,
    from: number,
    apps?: readonly string[],
  ): Promise<Set<number>> {
    const found = await findHeldInputs(this.layout, {
      topic,
      from: new Map([[partition, from]]),
      apps,
    });
    return found.get(partition)!;
  }

  private hold(o: Owned): PartitionHold {
    const track = <T>(work: Promise<T>): Promise<T> => {
      o.busy.add(work);
      const settled = () => void o.busy.delete(work);
      work.then(settled, settled);
      return work;
    };
    // The batch itself, gone from `busy` the moment it ends (a revoke may follow right away).
    let end!: () => void;
    const batch = new Promise<void>((resolve) => (end = resolve));
    o.busy.add(batch);
    return {
      topic: o.topic,
      partition: o.partition,
      holds: (offset) => o.held.has(offset),
      add: (offsets) => {
        for (const offset of offsets) o.held.add(offset);
      },
      assertHeld: () => o.lease.assertHeld(),
      isHeld: () => o.lease.isHeld() && this.owned.get(key(o.topic, o.partition)) === o,
      recheck: async (app, from) => {
        for (const offset of await this.scan(o.topic, o.partition, from, [app])) o.held.add(offset);
      },
      track,
      done: () => {
        o.busy.delete(batch);
        end();
      },
    };
  }

  /** Forgets the partition; its lease is released once the work in hand (if any) has settled. */
  private letGo(o: Owned, why: 'revoked' | 'lost'): void {
    if (this.owned.get(key(o.topic, o.partition)) !== o) return;
    this.owned.delete(key(o.topic, o.partition));
    if (o.busy.size === 0) void o.lease.release();
    else void Promise.allSettled([...o.busy]).then(() => o.lease.release());
    if (why === 'revoked') this.log.log(`let go of ${o.topic}[${o.partition}]: revoked`);
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
