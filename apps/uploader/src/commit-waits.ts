import { CommitWaitsChanged, CommitWaitTooLong, StageEvents } from '@logsplit/common';
import { describeUncommitted, UncommittedBlock } from './commit-gate';

/** A held segment is worth a warning after this long: the compressor is stuck or down. */
export const COMMIT_WAIT_WARN_MS = 60_000;

/**
 * Sealed segments the uploader holds back until the compressor commits their input, for the
 * gauges and one warning per segment that waits too long (a stuck compressor would otherwise
 * fill the spool silently).
 */
export class CommitWaits {
  private readonly held = new Map<string, { since: number; warned: boolean }>();

  constructor(
    private readonly events: StageEvents,
    private readonly group: string,
    private readonly warnAfterMs = COMMIT_WAIT_WARN_MS,
    private readonly now: () => number = Date.now,
  ) {}

  waiting(app: string, segmentId: string, block: UncommittedBlock): void {
    const id = `${app}/${segmentId}`;
    let h = this.held.get(id);
    if (!h) this.held.set(id, (h = { since: this.now(), warned: false }));
    const waitedMs = this.now() - h.since;
    if (!h.warned && waitedMs >= this.warnAfterMs) {
      h.warned = true;
      const holds = describeUncommitted(block, this.group);
      this.events.emit(new CommitWaitTooLong({ id, waitedMs, holds }));
    }
    this.publish();
  }

  done(app: string, segmentId: string): void {
    if (this.held.delete(`${app}/${segmentId}`)) this.publish();
  }

  /** Forgets segments a pass no longer saw waiting (uploaded meanwhile, maybe elsewhere). */
  keepOnly(ids: ReadonlySet<string>): void {
    for (const id of this.held.keys()) if (!ids.has(id)) this.held.delete(id);
    this.publish();
  }

  private publish(): void {
    let oldest = this.now();
    for (const h of this.held.values()) oldest = Math.min(oldest, h.since);
    const longestSeconds = (this.now() - oldest) / 1000;
    this.events.emit(new CommitWaitsChanged({ held: this.held.size, longestSeconds }));
  }
}
