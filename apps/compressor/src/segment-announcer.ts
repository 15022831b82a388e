import {
  AnnounceFailed,
  encodeSegmentEvent,
  KafkaProducerService,
  SegmentState,
  StageEvents,
} from '@logsplit/common';
import { Message } from 'kafkajs';

interface Waiting {
  segment: SegmentState;
  /** Announced once the partition's commit reaches this offset. */
  until: number;
}

/**
 * segment-sealed events on the segments topic, sent only once the offsets that filled the
 * segment from the partition whose append sealed it are committed: the uploader then finds the
 * segment's input committed instead of polling for it. (Blocks of other partitions were appended
 * earlier; should one of their commits still lag, the uploader's commit gate holds the segment.)
 * A lost event costs latency only: the uploader's periodic pass uploads every sealed segment.
 */
export class SegmentAnnouncer {
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(
    private readonly producer: Pick<KafkaProducerService, 'send'>,
    private readonly topic: string,
    private readonly events: StageEvents,
  ) {}

  /** Segments an append of topic[partition] sealed: announced after that partition's commit. */
  sealed(topic: string, partition: number, segments: readonly SegmentState[]): void {
    if (segments.length === 0) return;
    const k = key(topic, partition);
    const list = this.waiting.get(k) ?? [];
    for (const segment of segments) {
      list.push({ segment, until: inputEnd(segment, topic, partition) });
    }
    this.waiting.set(k, list);
  }

  /** topic[partition] committed up to `offset` (exclusive): announces what that completes. */
  async committed(topic: string, partition: number, offset: number): Promise<void> {
    const k = key(topic, partition);
    const list = this.waiting.get(k);
    if (!list) return;
    const ready = list.filter((w) => w.until <= offset);
    const rest = list.filter((w) => w.until > offset);
    if (rest.length > 0) this.waiting.set(k, rest);
    else this.waiting.delete(k);
    if (ready.length > 0) await this.send(ready.map((w) => w.segment));
  }

  /** Revoked: its next owner commits; the uploader's pass finds the segments anyway. */
  forget(topic: string, partition: number): void {
    this.waiting.delete(key(topic, partition));
  }

  private async send(segments: SegmentState[]): Promise<void> {
    try {
      await this.producer.send([{ topic: this.topic, messages: segments.map(sealedEvent) }]);
    } catch (error) {
      this.events.emit(new AnnounceFailed({ segments: segments.length, error }));
    }
  }
}

/** One past the highest offset of topic[partition] the segment's blocks hold. */
export function inputEnd(segment: SegmentState, topic: string, partition: number): number {
  let end = 0;
  for (const { input } of segment.entries) {
    if (input?.topic !== topic || input.partition !== partition) continue;
    for (const o of input.offsets) end = Math.max(end, o + 1);
  }
  return end;
}

function sealedEvent(s: SegmentState): Message {
  return {
    key: s.meta.app,
    value: encodeSegmentEvent({
      type: 'segment-sealed',
      app: s.meta.app,
      segmentId: s.meta.segmentId,
      bytes: s.committedBytes,
      records: s.entries.reduce((n, e) => n + e.records, 0),
      sealedAt: Date.now(),
    }),
  };
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
