import { Logger } from '@nestjs/common';

export interface AppAdmissionOptions {
  /** Most app ids active at once (LOGSPLIT_MAX_APPS). */
  maxApps: number;
  /** An admitted id with no record for this long gives its place back (LOGSPLIT_APP_WINDOW_MS). */
  windowMs: number;
}

/** Where the admitted-set size goes (a Prometheus gauge in the service). */
export interface AdmittedGauge {
  set(value: number): void;
}

/** Rate limit of the warning log: one line per interval whatever the flood. */
const WARN_INTERVAL_MS = 60_000;

/**
 * Cardinality guard: every distinct app id costs directories, open files, segments, objects and
 * Redis leases downstream, and ids come from the data. Like Loki's per-tenant stream limit, an id
 * is active while it receives records at least once per window; at most maxApps ids are active,
 * and a new id arriving while the set is full is refused (its records go to the DLQ, which is
 * replayable) instead of evicting an active one, so a flood cannot push real apps out.
 *
 * Per splitter instance: the set lives in memory, so N instances admit up to N × maxApps ids, and
 * a restart starts empty. Bounded: at most maxApps entries of at most 128-byte ids.
 */
export class AppAdmission {
  private readonly log = new Logger('AppAdmission');
  /** id → last time it was seen; Map order = least recently seen first. */
  private readonly active = new Map<string, number>();
  private refusedRecords = 0;
  private readonly refusedIds = new Set<string>();
  private lastWarn = -Infinity;

  constructor(
    private readonly opts: AppAdmissionOptions,
    private readonly gauge?: AdmittedGauge,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(opts.maxApps >= 1) || !(opts.windowMs >= 1)) {
      throw new RangeError(
        `AppAdmission: maxApps (${opts.maxApps}) and windowMs (${opts.windowMs}) must be >= 1`,
      );
    }
  }

  get size(): number {
    return this.active.size;
  }

  /**
   * True when the id may pass; `records` is how many of its records the caller holds, counted
   * in the warning when refused. Call once per app per batch, in order of first appearance.
   */
  admit(app: string, records = 1): boolean {
    const now = this.clock();
    if (this.active.has(app)) {
      // Re-insert: keeps the Map in least-recently-seen order, so expiry looks only at the head.
      this.active.delete(app);
      this.active.set(app, now);
      return true;
    }
    if (this.active.size >= this.opts.maxApps) this.expire(now);
    if (this.active.size < this.opts.maxApps) {
      this.active.set(app, now);
      this.gauge?.set(this.active.size);
      return true;
    }
    this.refused(app, records, now);
    return false;
  }

  /** Why an id was refused, for the DLQ detail header. */
  refusalDetail(): string {
    return `more than ${this.opts.maxApps} distinct app ids active within ${this.opts.windowMs} ms on this splitter (LOGSPLIT_MAX_APPS)`;
  }

  private expire(now: number): void {
    for (const [app, seen] of this.active) {
      if (now - seen < this.opts.windowMs) break;
      this.active.delete(app);
    }
    this.gauge?.set(this.active.size);
  }

  private refused(app: string, records: number, now: number): void {
    this.refusedRecords += records;
    // Bounded: only counted for the log line, never more than the sample it reports.
    if (this.refusedIds.size < 1000) this.refusedIds.add(app);
    if (now - this.lastWarn < WARN_INTERVAL_MS) return;
    const sample = [...this.refusedIds].slice(0, 3).map((a) => JSON.stringify(a));
    this.log.warn(
      `app cardinality limit: ${this.refusedRecords} records of ${this.refusedIds.size}${this.refusedIds.size >= 1000 ? '+' : ''} new app ids sent to the dead-letter topic (reason app-cardinality) since the last warning; ${this.active.size} ids active, LOGSPLIT_MAX_APPS=${this.opts.maxApps}, window ${this.opts.windowMs} ms; e.g. ${sample.join(', ')}`,
    );
    this.lastWarn = now;
    this.refusedRecords = 0;
    this.refusedIds.clear();
  }
}
