import {
  Chunk,
  ChunkRejected,
  ChunksReceived,
  decodeChunk,
  DLQ_HEADERS,
  isSafeAppId,
  KafkaBatch,
  KafkaProducerService,
  ReplaySkipped,
  spanContextFromHeaders,
  StageEvents,
} from '@logsplit/common';
import { KafkaMessage, Message } from 'kafkajs';
import { PartitionHold } from './partition-guard';
import { TracedChunk } from './partition-work';

/** A batch's chunks to gather, and the offsets that need nothing more. */
export interface Intake {
  /** Valid chunks no manifest holds yet, per app, in offset order. */
  byApp: Map<string, TracedChunk[]>;
  /** Offsets done already: held by the spool (a replay) or sent to the dead-letter topic. */
  finished: number[];
}

/**
 * by-app messages → decoded chunks: invalid ones to the dead-letter topic, ones a manifest on
 * the spool already holds (a replay after a crash between append and commit) skipped.
 */
export class ChunkIntake {
  constructor(
    private readonly producer: Pick<KafkaProducerService, 'send'>,
    private readonly dlqTopic: string,
    private readonly events: StageEvents,
  ) {}

  async take(
    batch: Pick<KafkaBatch, 'topic' | 'partition' | 'messages'>,
    messages: KafkaMessage[],
    hold: Pick<PartitionHold, 'holds'>,
  ): Promise<Intake> {
    const { byApp, rejected } = decodeChunks(messages);
    const finished: number[] = [];
    if (rejected.length > 0) {
      await this.producer.send([
        { topic: this.dlqTopic, messages: rejected.map((r) => deadChunk(batch, r)) },
      ]);
      for (const { message, error } of rejected) {
        const { topic, partition } = batch;
        this.events.emit(new ChunkRejected({ topic, partition, offset: message.offset, error }));
        finished.push(Number(message.offset));
      }
    }
    // Counted when taken in, held or not: a chunk is taken in once per partition owner.
    this.events.emit(new ChunksReceived(byApp));
    let skipped = 0;
    for (const [app, chunks] of byApp) {
      const fresh = chunks.filter((c) => !hold.holds(c.offset));
      skipped += chunks.length - fresh.length;
      for (const c of chunks) if (hold.holds(c.offset)) finished.push(c.offset);
      if (fresh.length > 0) byApp.set(app, fresh);
      else byApp.delete(app);
    }
    if (skipped > 0) {
      const { topic, partition } = batch;
      const firstOffset = batch.messages[0].offset;
      this.events.emit(new ReplaySkipped({ topic, partition, firstOffset, skipped }));
    }
    return { byApp, finished };
  }
}

interface Rejected {
  message: KafkaMessage;
  error: unknown;
}

/** Decodes and checks each message; the app id names a directory, so it is checked again here. */
export function decodeChunks(messages: readonly KafkaMessage[]): {
  byApp: Map<string, TracedChunk[]>;
  rejected: Rejected[];
} {
  const byApp = new Map<string, TracedChunk[]>();
  const rejected: Rejected[] = [];
  for (const m of messages) {
    let chunk: Chunk;
    try {
      chunk = decodeChunk(m.value, m.headers);
      if (m.key?.toString('utf8') !== chunk.app) throw new Error('key differs from app header');
      // Never trust that the splitter validated it.
      if (!isSafeAppId(chunk.app)) throw new Error('app id is not safe as a path component');
    } catch (error) {
      rejected.push({ message: m, error });
      continue;
    }
    const list = byApp.get(chunk.app) ?? [];
    list.push({ chunk, offset: Number(m.offset), trace: spanContextFromHeaders(m.headers) });
    byApp.set(chunk.app, list);
  }
  return { byApp, rejected };
}

function deadChunk(
  batch: Pick<KafkaBatch, 'topic' | 'partition'>,
  { message: m, error }: Rejected,
): Message {
  return {
    key: m.key,
    value: m.value,
    headers: {
      ...m.headers,
      [DLQ_HEADERS.reason]: 'invalid-chunk',
      [DLQ_HEADERS.detail]: (error instanceof Error ? error.message : String(error)).slice(0, 200),
      [DLQ_HEADERS.sourceTopic]: batch.topic,
      [DLQ_HEADERS.sourcePartition]: String(batch.partition),
      [DLQ_HEADERS.sourceOffset]: m.offset,
    },
  };
}
