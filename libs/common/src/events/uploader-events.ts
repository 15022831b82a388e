import { EventTargets, StageEvent } from './stage-event';

/** The step of a segment's upload that failed (the label of logsplit_upload_errors_total). */
export type UploadStep =
  'seal' | 'read' | 'commit-check' | 'upload' | 'verify' | 'index' | 'delete';

/**
 * A segment left the spool archived. Counted then, so a retried upload is counted once; logged
 * inside the uploader.segment span, so the line carries its trace.
 */
export class SegmentArchived implements StageEvent {
  constructor(
    private readonly f: {
      app: string;
      key: string;
      records: number;
      rawBytes: number;
      bytes: number;
      blocks: number;
      seconds: number;
    },
  ) {}

  emit({ metrics: m, log }: EventTargets): void {
    const { app, key, records, rawBytes, bytes, blocks } = this.f;
    const label = m.app(app);
    m.recordsOut.inc({ app: label }, records);
    m.bytesOut.inc({ app: label }, bytes);
    m.segmentBytes.observe(bytes);
    m.uploadDuration.observe(this.f.seconds);
    log.log(
      `uploaded ${key}: ${records} records, ${rawBytes} → ${bytes} bytes in ${blocks} blocks`,
    );
  }
}

/** An upload attempt failed at `step`; the segment stays on the spool for the next pass. */
export class UploadFailed implements StageEvent {
  constructor(private readonly f: { step: UploadStep }) {}

  emit({ metrics }: EventTargets): void {
    metrics.uploadErrors.inc({ step: this.f.step });
  }
}

/** A pass could not upload a segment (or seal an app's due segments); it tries again next pass. */
export class UploadDeferred implements StageEvent {
  constructor(private readonly f: { what: string; error: unknown; seal?: boolean }) {}

  emit({ metrics, log }: EventTargets): void {
    if (this.f.seal) metrics.uploadErrors.inc({ step: 'seal' });
    log.error(`${this.f.what} failed, will retry: ${String(this.f.error)}`);
  }
}

/** A slot directory that never got a confirmed block, removed past its age. */
export class EmptySlotDiscarded implements StageEvent {
  constructor(private readonly f: { dir: string }) {}

  emit({ log }: EventTargets): void {
    log.log(`removed ${this.f.dir}: no block was ever confirmed in it and it is past its age`);
  }
}

/** What a pass found on the spool: open segments and the bytes not yet archived. */
export class SpoolMeasured implements StageEvent {
  constructor(private readonly f: { openSegments: number; pendingBytes: number }) {}

  emit({ metrics }: EventTargets): void {
    metrics.openSegments.set(this.f.openSegments);
    metrics.spoolPendingBytes.set(this.f.pendingBytes);
  }
}

/** Segments held back until the segment writers commit their input, and the longest wait. */
export class CommitWaitsChanged implements StageEvent {
  constructor(private readonly f: { held: number; longestSeconds: number }) {}

  emit({ metrics }: EventTargets): void {
    metrics.uploadsAwaitingCommit.set(this.f.held);
    metrics.uploadCommitWait.set(this.f.longestSeconds);
  }
}

/** A segment held back for a minute or more: the compressor is stuck or down. */
export class CommitWaitTooLong implements StageEvent {
  constructor(private readonly f: { id: string; waitedMs: number; holds: string }) {}

  emit({ log }: EventTargets): void {
    log.warn(
      `segment ${this.f.id} has waited ${Math.round(this.f.waitedMs / 1000)} s for the compressor: it ${this.f.holds}; is the compressor stuck?`,
    );
  }
}

/** A store request failed in a retryable way and is retried after `delayMs`. */
export class StoreRequestRetried implements StageEvent {
  constructor(
    private readonly f: {
      op: string;
      key: string;
      attempt: number;
      retries: number;
      delayMs: number;
      error: unknown;
    },
  ) {}

  emit({ metrics, log }: EventTargets): void {
    const { op, key, attempt, retries, delayMs, error } = this.f;
    metrics.storeRetries.inc({ op });
    log.warn(
      `store ${op} of ${key} failed (${(error as Error).message}); retry ${attempt}/${retries} in ${delayMs} ms`,
    );
  }
}

/** What a crash left in the spool's trash could not be deleted (tried again next pass). */
export class TrashNotEmptied implements StageEvent {
  constructor(private readonly f: { path: string; error: unknown }) {}

  emit({ log }: EventTargets): void {
    log.warn(`could not delete ${this.f.path}: ${String(this.f.error)}`);
  }
}

/** An announced segment could not be uploaded now; the scheduled pass tries again. */
export class UploadLeftToPass implements StageEvent {
  constructor(private readonly f: { app: string; segmentId: string; error: unknown }) {}

  emit({ log }: EventTargets): void {
    const { app, segmentId, error } = this.f;
    log.warn(`upload of ${app}/${segmentId} deferred to the next pass: ${String(error)}`);
  }
}

/** A scheduled pass ended; logged only when it did or found something. */
export class PassCompleted implements StageEvent {
  constructor(
    private readonly t: { sealed: number; uploaded: number; waiting: number; failed: number },
  ) {}

  emit({ log }: EventTargets): void {
    const t = this.t;
    if (t.sealed || t.uploaded || t.waiting || t.failed) log.log(`pass: ${JSON.stringify(t)}`);
  }
}

/** A scheduled pass failed as a whole (say, the spool is unreadable). */
export class PassFailed implements StageEvent {
  constructor(private readonly f: { error: unknown }) {}

  emit({ log }: EventTargets): void {
    log.error(`upload pass failed: ${String(this.f.error)}`);
  }
}
