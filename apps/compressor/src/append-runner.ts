import { AppendFailed, KafkaBatch, StageEvents } from '@logsplit/common';
import { BlockAppender } from './block-appender';
import { OffsetCommitter } from './offset-committer';
import { PartitionWork } from './partition-work';
import { WorkLimiter } from './work-limiter';

/**
 * Runs appends of gathered apps: at most `concurrency` at once (any apps, any partitions), one
 * per app at a time (keeps its order), and remembers failures: a failed app's chunks go back to
 * the gathered ones and are retried after a backoff, reading the app's manifests back first
 * (the failed attempt may have committed its block after all). A finished append goes on to the
 * committer.
 */
export class AppendRunner {
  private readonly limiter: WorkLimiter;
  /** Raw bytes taken out of gathering and not yet appended (the memory budget counts them). */
  appendingBytes = 0;

  constructor(
    concurrency: number,
    private readonly appender: Pick<BlockAppender, 'append'>,
    private readonly committer: Pick<OffsetCommitter, 'finish' | 'commit'>,
    private readonly events: StageEvents,
  ) {
    this.limiter = new WorkLimiter(concurrency);
  }

  /** Appends the app's gathered chunks as one or more blocks, in the background. */
  start(work: PartitionWork, app: string): Promise<void> {
    const running = work.appending.get(app);
    if (running) return running;
    const out = work.takeOut(app);
    if (!out) return Promise.resolve();
    this.appendingBytes += out.bytes;
    const hold = work.hold!;
    const job = this.limiter.run(async () => {
      if (work.gone) return; // its next owner replays it
      let chunks = out.chunks;
      if (work.failure?.apps.has(app)) {
        await hold.recheck(app, Math.min(...chunks.map((c) => c.offset)));
        chunks = chunks.filter((c) => !hold.holds(c.offset));
      }
      const sealed = chunks.length > 0 ? await this.appender.append(app, chunks, hold) : [];
      if (work.failure?.apps.delete(app) && work.failure.apps.size === 0) work.failure = undefined;
      this.committer.finish(
        work,
        out.chunks.map((c) => c.offset),
        sealed,
      );
    });
    const settled = hold
      .track(job)
      .then(
        () => this.committer.commit(work),
        (error: unknown) => {
          if (work.gone) return;
          work.putBack(app, out);
          const attempt = (work.failure?.attempt ?? -1) + 1;
          const apps = new Set([...(work.failure?.apps ?? []), app]);
          work.failure = { error, apps, at: Date.now(), attempt };
          const { topic, partition } = work;
          this.events.emit(new AppendFailed({ topic, partition, app, attempt, error }));
        },
      )
      .finally(() => {
        this.appendingBytes -= out.bytes;
        if (work.appending.get(app) === settled) work.appending.delete(app);
      });
    work.appending.set(app, settled);
    return settled;
  }

  /** Appends the partition's failed apps again now; throws while they still fail. */
  async retryFailed(work: PartitionWork, batch: Pick<KafkaBatch, 'heartbeat'>): Promise<void> {
    const apps = [...work.failure!.apps];
    await Promise.all(apps.map((app) => this.start(work, app)));
    await batch.heartbeat();
    if (work.failure) throw work.failure.error;
  }
}
