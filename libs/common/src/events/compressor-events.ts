import type { Chunk } from '../chunk';
import { ATTRS } from '../telemetry/span-names';
import { EventTargets, StageEvent } from './stage-event';

interface Partition {
  topic: string;
  partition: number;
}

/** Chunks taken in: counted once per partition owner (a replay skipped by the spool is not). */
export class ChunksReceived implements StageEvent {
  constructor(private readonly byApp: ReadonlyMap<string, readonly { chunk: Chunk }[]>) {}

  emit({ metrics: m }: EventTargets): void {
    for (const [app, traced] of this.byApp) {
      const label = m.app(app);
      for (const { chunk } of traced) {
        m.recordsIn.inc({ app: label }, chunk.records);
        m.bytesIn.inc({ app: label }, chunk.payload.length);
      }
    }
  }
}

/** A by-app message that is no valid chunk, sent on to the dead-letter topic. */
export class ChunkRejected implements StageEvent {
  constructor(private readonly f: Partition & { offset: string; error: unknown }) {}

  emit({ metrics, log }: EventTargets): void {
    const { topic, partition, offset, error } = this.f;
    log.warn(`chunk ${topic}[${partition}]@${offset} rejected: ${String(error)}`);
    metrics.dlqRecords.inc({ reason: 'invalid-chunk' });
  }
}

/** A replayed batch's chunks that some manifest on the spool already holds. */
export class ReplaySkipped implements StageEvent {
  constructor(private readonly f: Partition & { firstOffset: string; skipped: number }) {}

  emit({ log }: EventTargets): void {
    const { topic, partition, firstOffset, skipped } = this.f;
    log.log(
      `replay of ${topic}[${partition}]@${firstOffset}: skipped ${skipped} chunks the spool already holds`,
    );
  }
}

/** An app's blocks compressed (set on the compressor.compress span). */
export class BlocksCompressed implements StageEvent {
  constructor(private readonly f: { rawBytes: number; bytes: number }) {}

  emit({ spans }: EventTargets): void {
    spans[0]?.setAttributes({ [ATTRS.bytesIn]: this.f.rawBytes, [ATTRS.bytesOut]: this.f.bytes });
  }
}

/** A writer slot leased: its wait is a metric and an attribute of the lock-wait and append spans. */
export class SlotLeased implements StageEvent {
  constructor(private readonly f: { slot: number; waitedMs: number }) {}

  emit({ metrics, spans }: EventTargets): void {
    const { slot, waitedMs } = this.f;
    for (const s of spans)
      s.setAttributes({ [ATTRS.lockSlot]: slot, [ATTRS.lockWaitMs]: waitedMs });
    metrics.lockWait.observe(waitedMs / 1000);
    if (slot > 0) metrics.lockContended.inc();
  }
}

/** A block made visible by its manifest line (set on the write and append spans). */
export class BlockWritten implements StageEvent {
  constructor(private readonly f: { segmentId: string }) {}

  emit({ spans }: EventTargets): void {
    for (const s of spans) s.setAttribute(ATTRS.segmentId, this.f.segmentId);
  }
}

/** An app's blocks all durable: counted out, and their sizes set on the write and append spans. */
export class BlocksAppended implements StageEvent {
  constructor(
    private readonly f: {
      app: string;
      blocks: readonly { data: Buffer; info: { records: number; rawBytes: number } }[];
      sealed: number;
    },
  ) {}

  emit({ metrics: m, spans: [write, append] }: EventTargets): void {
    const label = m.app(this.f.app);
    let bytes = 0;
    for (const b of this.f.blocks) {
      m.recordsOut.inc({ app: label }, b.info.records);
      m.bytesOut.inc({ app: label }, b.data.length);
      if (b.data.length > 0) m.compressionRatio.observe(b.info.rawBytes / b.data.length);
      bytes += b.data.length;
    }
    write?.setAttribute(ATTRS.sealed, this.f.sealed);
    append?.setAttribute(ATTRS.bytesOut, bytes);
  }
}

/** An append failed; its chunks stay gathered and are retried after a backoff. */
export class AppendFailed implements StageEvent {
  constructor(private readonly f: Partition & { app: string; attempt: number; error: unknown }) {}

  emit({ log }: EventTargets): void {
    const { app, topic, partition, attempt, error } = this.f;
    log.warn(
      `appending ${app} of ${topic}[${partition}] failed (attempt ${attempt + 1}), will retry: ${String(error)}`,
    );
  }
}

/** An offset commit failed: the next append or tick commits again. */
export class CommitFailed implements StageEvent {
  constructor(private readonly f: Partition & { error: unknown }) {}

  emit({ log }: EventTargets): void {
    log.warn(`committing ${this.f.topic}[${this.f.partition}] failed: ${String(this.f.error)}`);
  }
}

/** Sealed segments not announced: the uploader's periodic pass uploads them anyway. */
export class AnnounceFailed implements StageEvent {
  constructor(private readonly f: { segments: number; error: unknown }) {}

  emit({ log }: EventTargets): void {
    log.warn(`announcing ${this.f.segments} sealed segments failed: ${String(this.f.error)}`);
  }
}

/** Shutdown ended with gathered or appending work: its partitions' next owners replay it. */
export class DrainIncomplete implements StageEvent {
  constructor(private readonly partitions: readonly Partition[]) {}

  emit({ log }: EventTargets): void {
    const names = this.partitions.map((p) => `${p.topic}[${p.partition}]`).join(', ');
    log.warn(`shutdown: ${names} not drained; replayed by the next owner`);
  }
}

/** A partition lease the timer had to take again (lost while idle) could not be taken. */
export class ReenterFailed implements StageEvent {
  constructor(private readonly f: Partition & { error: unknown }) {}

  emit({ log }: EventTargets): void {
    log.warn(`taking ${this.f.topic}[${this.f.partition}] again failed: ${String(this.f.error)}`);
  }
}
