import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  Codec,
  CODEC,
  Chunk,
  decodeChunk,
  DLQ_HEADERS,
  encodeSegmentEvent,
  KafkaBatch,
  KafkaProducerService,
  LeaseSemaphore,
  appSlotsResource,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  SegmentState,
  isSafeAppId,
  mapLimit,
} from '@logsplit/common';
import { KafkaMessage, Message } from 'kafkajs';
import { planBlocks } from './block-builder';
import { SegmentWriter } from './segment-writer';

/** Apps of one batch appended at the same time; each holds its own slot lease. */
const APP_CONCURRENCY = 4;

/**
 * chunk → compressed block → durable append to the app's slot file. The batch's offsets are
 * committed by the transport only after this resolves, i.e. after every block is on disk.
 */
@Injectable()
export class AppendService {
  private readonly log = new Logger(AppendService.name);

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(CODEC) private readonly codec: Codec,
    private readonly semaphore: LeaseSemaphore,
    private readonly writer: SegmentWriter,
    private readonly producer: KafkaProducerService,
  ) {}

  async appendBatch(batch: KafkaBatch): Promise<void> {
    const { byApp, invalid } = this.decode(batch);
    const sealed: SegmentState[] = [];
    await mapLimit([...byApp], APP_CONCURRENCY, async ([app, chunks]) => {
      sealed.push(...(await this.appendApp(app, chunks)));
      await batch.heartbeat();
    });
    await this.producer.send([
      { topic: this.config.topics.dlq, messages: invalid },
      { topic: this.config.topics.segments, messages: sealed.map(sealedEvent) },
    ]);
  }

  private async appendApp(app: string, chunks: Chunk[]): Promise<SegmentState[]> {
    const { compressor, writerSlots, lockTtlMs } = this.config;
    // Compress before taking the lease: the slot is held only for the disk writes.
    const blocks = await Promise.all(
      planBlocks(chunks, compressor.maxMemberBytes).map(async (b) => ({
        data: await this.codec.compress(b.payload),
        info: b.info,
      })),
    );
    const lease = await this.semaphore.acquire(appSlotsResource(app), {
      slots: writerSlots,
      ttlMs: lockTtlMs,
      waitTimeoutMs: compressor.lockWaitTimeoutMs,
    });
    const sealed: SegmentState[] = [];
    try {
      for (const block of blocks) {
        const outcome = await this.writer.append(app, lease.slot, block.data, block.info, () =>
          lease.assertHeld(),
        );
        sealed.push(...outcome.sealed);
      }
    } finally {
      await lease.release();
    }
    return sealed;
  }

  private decode(batch: KafkaBatch): { byApp: Map<string, Chunk[]>; invalid: Message[] } {
    const byApp = new Map<string, Chunk[]>();
    const invalid: Message[] = [];
    for (const m of batch.messages) {
      let chunk: Chunk;
      try {
        chunk = decodeChunk(m.value, m.headers);
        if (m.key?.toString('utf8') !== chunk.app) throw new Error('key differs from app header');
        // The app id names a directory: never trust that the splitter validated it.
        if (!isSafeAppId(chunk.app)) throw new Error('app id is not safe as a path component');
      } catch (err) {
        this.log.warn(
          `chunk ${batch.topic}[${batch.partition}]@${m.offset} rejected: ${String(err)}`,
        );
        invalid.push(deadChunk(batch, m, err));
        continue;
      }
      const list = byApp.get(chunk.app) ?? [];
      list.push(chunk);
      byApp.set(chunk.app, list);
    }
    return { byApp, invalid };
  }
}

function deadChunk(batch: KafkaBatch, m: KafkaMessage, err: unknown): Message {
  return {
    key: m.key,
    value: m.value,
    headers: {
      ...m.headers,
      [DLQ_HEADERS.reason]: 'invalid-chunk',
      [DLQ_HEADERS.detail]: (err instanceof Error ? err.message : String(err)).slice(0, 200),
      [DLQ_HEADERS.sourceTopic]: batch.topic,
      [DLQ_HEADERS.sourcePartition]: String(batch.partition),
      [DLQ_HEADERS.sourceOffset]: m.offset,
    },
  };
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
