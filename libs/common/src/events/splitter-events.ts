import type { KafkaMessage } from 'kafkajs';
import { NO_APP } from '../telemetry/app-labels';
import { ATTRS } from '../telemetry/span-names';
import { EventTargets, StageEvent } from './stage-event';

interface Partition {
  topic: string;
  partition: number;
}

/** A raw batch split: its chunks and dead letters are known (set on the splitter.batch span). */
export class BatchSplitPlanned implements StageEvent {
  constructor(private readonly f: { chunks: number; dead: number }) {}

  emit({ spans }: EventTargets): void {
    spans[0]?.setAttributes({ [ATTRS.chunks]: this.f.chunks, [ATTRS.deadRecords]: this.f.dead });
  }
}

/**
 * A raw batch's transaction committed. Counted only then, so an aborted and retried batch is not
 * counted twice; raw records have no app until they are split: counted under NO_APP.
 */
export class BatchSplit implements StageEvent {
  constructor(
    private readonly f: Partition & {
      records: readonly KafkaMessage[];
      chunks: readonly { app: string; records: number; value: Buffer }[];
      dead: readonly { reason: string }[];
    },
  ) {}

  emit({ metrics: m, log }: EventTargets): void {
    const { records, chunks, dead } = this.f;
    m.bytesIn.inc(
      { app: NO_APP },
      records.reduce((n, r) => n + (r.value?.length ?? 0), 0),
    );
    m.recordsIn.inc({ app: NO_APP }, records.length);
    for (const c of chunks) {
      const app = m.app(c.app);
      m.recordsOut.inc({ app }, c.records);
      m.bytesOut.inc({ app }, c.value.length);
      m.chunkBytes.observe(c.value.length);
    }
    for (const d of dead) m.dlqRecords.inc({ reason: d.reason });
    if (dead.length > 0) {
      log.warn(
        `${this.f.topic}[${this.f.partition}]: ${dead.length} records to the dead-letter topic`,
      );
    }
  }
}

/** Records a former owner of the raw partition already committed: skipped, not split again. */
export class CommittedRecordsSkipped implements StageEvent {
  constructor(private readonly f: Partition & { skipped: number }) {}

  emit({ log }: EventTargets): void {
    log.warn(
      `${this.f.topic}[${this.f.partition}]: ${this.f.skipped} records ` +
        "were already committed by the partition's former owner; skipped",
    );
  }
}
