import {
  backoffDelay,
  DrainIncomplete,
  PartitionAssignment,
  ReenterFailed,
  StageEvents,
} from '@logsplit/common';
import { AppendRunner } from './append-runner';
import { Gathering } from './gathering';
import { OffsetCommitter } from './offset-committer';
import { PartitionGuard } from './partition-guard';
import { PartitionWork } from './partition-work';

/** Retries of failed appends back off from this... */
const RETRY_BASE_MS = 200;
/** ...up to this. */
const RETRY_CAP_MS = 30_000;

export interface ClockOptions {
  blockLingerMs: number;
  /** A partition that brought nothing new for this long has all its gathered apps appended. */
  blockIdleMs: number;
}

/**
 * What happens to gathered work without a batch: appends what lingered long enough, and
 * everything of a partition that went quiet (the end of a burst: waiting out the linger would
 * only delay it); retries failed apps after a backoff; commits; and on shutdown drains it all.
 */
export class GatheringClock {
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    private readonly opts: ClockOptions,
    private readonly gathering: Gathering,
    private readonly runner: Pick<AppendRunner, 'start'>,
    private readonly committer: Pick<OffsetCommitter, 'commit' | 'behind'>,
    private readonly guard: Pick<PartitionGuard, 'enter'>,
    private readonly events: StageEvents,
  ) {}

  /** Starts ticking and follows the group's assignment. */
  start(assignment: PartitionAssignment): void {
    const { blockLingerMs, blockIdleMs } = this.opts;
    const every = Math.min(blockLingerMs / 4, blockIdleMs / 2);
    this.timer = setInterval(() => this.tick(), Math.min(1_000, Math.max(50, every)));
    this.timer.unref();
    this.unsubscribe = assignment.onChange((now) => this.gathering.reassigned(now));
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  tick(): void {
    const now = Date.now();
    for (const work of this.gathering.held()) {
      this.gathering.startDue(work, now, now - work.lastTakeIn >= this.opts.blockIdleMs);
      const f = work.failure;
      if (f && now - f.at >= backoffDelay(f.attempt, RETRY_BASE_MS, RETRY_CAP_MS)) {
        if (work.hold!.isHeld()) {
          for (const app of f.apps) void this.runner.start(work, app);
        } else {
          // Lost (say, Redis restarted empty): an idle partition gets no batch to take it again.
          void this.reenter(work);
        }
      }
      if (this.committer.behind(work)) void this.committer.commit(work);
    }
  }

  /** Shutdown: appends everything gathered and commits it before the group is left. */
  async drain(stop: () => boolean): Promise<void> {
    for (let round = 0; round < 3 && !stop(); round++) {
      const works = this.gathering.held();
      for (const w of works) this.gathering.startDue(w, Date.now(), true, true);
      await Promise.all(works.flatMap((w) => [...w.appending.values()]));
      await Promise.all(works.map((w) => this.committer.commit(w)));
      if (works.every((w) => w.idle())) return;
    }
    const left = [...this.gathering.works.values()].filter((w) => !w.idle());
    if (left.length > 0) this.events.emit(new DrainIncomplete(left));
  }

  private async reenter(work: PartitionWork): Promise<void> {
    if (work.entering) return;
    work.entering = true;
    try {
      const entrant = {
        topic: work.topic,
        partition: work.partition,
        heartbeat: async () => {},
        isStale: () => work.gone,
      };
      const hold = await this.guard.enter(entrant, work.offsets.committable());
      hold.done();
      work.hold = hold;
      if (work.failure) work.failure.at = 0; // retried on the next tick
    } catch (error) {
      const { topic, partition } = work;
      this.events.emit(new ReenterFailed({ topic, partition, error }));
    } finally {
      work.entering = false;
    }
  }
}
