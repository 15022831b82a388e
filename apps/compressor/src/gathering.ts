import { Assignment, KafkaBatch } from '@logsplit/common';
import { AppendRunner } from './append-runner';
import { OffsetCommitter } from './offset-committer';
import { PartitionWork, TracedChunk } from './partition-work';

export interface GatheringOptions {
  /** An app's chunks are appended at this many raw bytes (LOGSPLIT_BLOCK_BYTES)... */
  blockBytes: number;
  /** ...or once the oldest waited this long (LOGSPLIT_BLOCK_LINGER_MS). */
  blockLingerMs: number;
  /** Raw bytes held per instance before batches wait (LOGSPLIT_COMPRESSOR_BUFFER_BYTES). */
  bufferBytes: number;
}

/**
 * Each app's chunks gathered across batches until a block is due: with a thousand apps per
 * partition a batch gives most apps a few records, and block size decides both the compression
 * ratio and the per-append costs (lease, fsyncs). Keeps the memory budget: beyond bufferBytes
 * the largest apps are appended first and the batch in hand waits.
 */
export class Gathering {
  /** Partitions in hand, by topic and partition. */
  readonly works = new Map<string, PartitionWork>();

  constructor(
    private readonly opts: GatheringOptions,
    private readonly runner: Pick<AppendRunner, 'start' | 'appendingBytes'>,
    private readonly committer: Pick<OffsetCommitter, 'forget'>,
  ) {}

  /** The partition's work; a new one (from the batch's first offset) after a revoke. */
  partition(batch: {
    topic: string;
    partition: number;
    messages: readonly { offset: string }[];
  }): PartitionWork {
    const k = `${batch.topic}:${batch.partition}`;
    let work = this.works.get(k);
    if (!work || work.gone) {
      work = new PartitionWork(batch.topic, batch.partition, Number(batch.messages[0].offset));
      this.works.set(k, work);
    }
    return work;
  }

  /** Gathers an intake's chunks and starts the appends that are due. */
  gather(work: PartitionWork, byApp: ReadonlyMap<string, TracedChunk[]>, now: number): void {
    for (const [app, chunks] of byApp) for (const c of chunks) work.gather(app, c, now);
    if (byApp.size > 0) work.lastTakeIn = now;
    this.startDue(work, now);
  }

  /**
   * Starts appends of the partition's apps that are due (size, age, or `all`). Failed apps wait
   * for their backoff unless `failedToo`.
   */
  startDue(work: PartitionWork, now: number, all = false, failedToo = false): void {
    const { blockBytes, blockLingerMs } = this.opts;
    for (const app of work.due(now, blockBytes, blockLingerMs, all)) {
      if (work.failure?.apps.has(app) && !failedToo) continue;
      void this.runner.start(work, app);
    }
  }

  /**
   * Waits while more raw bytes are in memory than bufferBytes, starting the largest gathered
   * apps first (the biggest blocks free the most).
   */
  async makeRoom(work: PartitionWork, batch: Pick<KafkaBatch, 'isStale' | 'heartbeat'>) {
    const limit = this.opts.bufferBytes;
    for (let buffered = this.bufferedBytes(); buffered > limit; buffered = this.bufferedBytes()) {
      if (batch.isStale()) throw new Error(`${work.topic}[${work.partition}] was revoked`);
      if (work.failure) throw work.failure.error;
      const candidates = [...this.works.values()]
        .flatMap((w) => [...w.gathered].map(([app, g]) => ({ w, app, bytes: g.bytes })))
        .filter(({ w, app }) => !w.appending.has(app) && !w.failure?.apps.has(app))
        .sort((a, b) => b.bytes - a.bytes);
      // Starting an append moves bytes from gathered to appending: the sum stays `buffered`.
      let freeing = this.runner.appendingBytes;
      for (const c of candidates) {
        if (buffered - freeing <= limit) break;
        freeing += c.bytes;
        void this.runner.start(c.w, c.app);
      }
      const running = [...this.works.values()].flatMap((w) => [...w.appending.values()]);
      if (running.length === 0) break; // only failed apps left: the failure is thrown above
      await Promise.race(running);
      await batch.heartbeat();
    }
  }

  /** Partitions no longer assigned here: their next owner replays what is gathered. */
  reassigned(now: Assignment): void {
    for (const [k, work] of this.works) {
      if (now[work.topic]?.includes(work.partition)) continue;
      work.gone = true;
      work.gathered.clear();
      this.works.delete(k);
      this.committer.forget(work);
    }
  }

  /** Partitions still in hand (not revoked), with a hold of their lease. */
  held(): PartitionWork[] {
    return [...this.works.values()].filter((w) => !w.gone && w.hold);
  }

  private bufferedBytes(): number {
    let n = this.runner.appendingBytes;
    for (const w of this.works.values()) n += w.gatheredBytes();
    return n;
  }
}
