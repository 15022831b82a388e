import { CommitFailed, crashPoint, SegmentState, StageEvents } from '@logsplit/common';
import { PartitionWork } from './partition-work';
import { SegmentAnnouncer } from './segment-announcer';

/**
 * A partition's offsets from taken in to committed: apps of one partition are appended
 * concurrently and finish out of order, so only the contiguous finished prefix is committed
 * (ContiguousOffsets), and a crash replays exactly what was not durable. Segments an append
 * sealed go to the announcer, which sends them once this commit covers their input.
 */
export class OffsetCommitter {
  constructor(
    private readonly announcer: Pick<SegmentAnnouncer, 'sealed' | 'committed' | 'forget'>,
    private readonly events: StageEvents,
  ) {}

  /**
   * A batch's fresh offsets (ascending; `batchEnd` one past its last, control records
   * included). `finished`: those done already (held by the spool, or dead-lettered).
   */
  takeIn(work: PartitionWork, offsets: number[], batchEnd: number, finished: number[]): void {
    work.offsets.take(offsets, batchEnd);
    work.offsets.finish(finished);
  }

  /** An append's chunks are durable; `sealed`: the segments it sealed. */
  finish(work: PartitionWork, offsets: number[], sealed: readonly SegmentState[]): void {
    work.offsets.finish(offsets);
    this.announcer.sealed(work.topic, work.partition, sealed);
    if (work.offsets.pending > 0) crashPoint('compressor.mid-batch');
  }

  /**
   * Commits the partition's finished prefix; commits run one after the other. Tracked by the
   * hold, so a revoked partition's lease is let go only after it: the next owner never starts
   * below a commit still on its way.
   */
  commit(work: PartitionWork): Promise<void> {
    const next = work.committing.then(async () => {
      const offset = work.offsets.committable();
      if (work.gone || offset <= work.committed || !work.commit || !work.hold) return;
      crashPoint('compressor.before-commit');
      await work.hold.track(work.commit(String(offset)));
      work.committed = offset;
      await this.announcer.committed(work.topic, work.partition, offset);
    });
    work.committing = next.catch((error: unknown) => {
      // The next append or tick commits again; a rebalance replays from the last commit.
      this.events.emit(new CommitFailed({ topic: work.topic, partition: work.partition, error }));
    });
    return work.committing;
  }

  /** Whether the finished prefix is ahead of the last commit. */
  behind(work: PartitionWork): boolean {
    return work.offsets.committable() > work.committed;
  }

  /** The partition was revoked: nothing of it is committed or announced here any more. */
  forget(work: PartitionWork): void {
    this.announcer.forget(work.topic, work.partition);
  }
}
