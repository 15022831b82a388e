import { Controller, Inject, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { KafkaBatch, PartitionAssignment } from '@logsplit/common';
import { SpoolRoom } from './append-backpressure';
import { AppendRunner } from './append-runner';
import { ChunkIntake } from './chunk-intake';
import { Gathering } from './gathering';
import { GatheringClock } from './gathering-clock';
import { OffsetCommitter } from './offset-committer';
import { PartitionGuard, PartitionHold } from './partition-guard';

/** Handler name of chunk batches; main.ts routes the configured by-app topic to it. */
export const CHUNK_BATCH = 'chunk-batch';

/** What a compressor is asked to drain on shutdown: the transport runs these before leaving. */
export const DRAINERS = Symbol('DRAINERS');
export type Drainers = ((stop: () => boolean) => Promise<void>)[];

/**
 * chunk batch → guard → intake → gathering → (appends run on) → committer. A batch returns once
 * its chunks are held in memory within the budget; it throws (and the transport pauses the
 * partition and calls again) while an earlier append of the partition keeps failing, so a
 * failure stops the partition instead of growing its backlog.
 */
@Controller()
export class AppendController implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly room: SpoolRoom,
    private readonly guard: PartitionGuard,
    private readonly intake: ChunkIntake,
    private readonly gathering: Gathering,
    private readonly runner: AppendRunner,
    private readonly committer: OffsetCommitter,
    private readonly clock: GatheringClock,
    private readonly assignment: PartitionAssignment,
    @Inject(DRAINERS) private readonly drainers: Drainers,
  ) {}

  onModuleInit(): void {
    this.clock.start(this.assignment);
    this.drainers.push((stop) => this.clock.drain(stop));
  }

  onApplicationShutdown(): void {
    this.clock.stop();
  }

  @EventPattern(CHUNK_BATCH)
  async handle(@Payload() batch: KafkaBatch): Promise<void> {
    const work = this.gathering.partition(batch);
    // Fetched again (a rebalance that kept the partition here starts at the committed offset).
    const fresh = batch.messages.filter((m) => Number(m.offset) >= work.offsets.next);
    let hold: PartitionHold | undefined;
    try {
      await this.room.assert();
      hold = await this.guard.enter(batch, work.offsets.committable());
      work.hold = hold;
      work.commit = (offset) => batch.commit(offset);
      if (work.failure) await this.runner.retryFailed(work, batch);
      const { byApp, finished } = await this.intake.take(batch, fresh, hold);
      const offsets = fresh.map((m) => Number(m.offset));
      this.committer.takeIn(work, offsets, Number(batch.nextOffset), finished);
      this.gathering.gather(work, byApp, Date.now());
      await this.gathering.makeRoom(work, batch);
      await this.committer.commit(work);
    } catch (err) {
      throw this.room.backpressure(err);
    } finally {
      hold?.done();
    }
  }
}
