import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ATTRS,
  boundedLinks,
  Codec,
  CODEC,
  Chunk,
  crashPoint,
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
  inSpan,
  MAX_LINKS,
  Metrics,
  spanContextFromHeaders,
  SPANS,
  REDIS,
  traceparentOf,
} from '@logsplit/common';
import { context, Span, SpanContext, trace } from '@opentelemetry/api';
import type Redis from 'ioredis';
import { KafkaMessage, Message } from 'kafkajs';
import { asBackpressure, assertSpoolRoom } from './append-backpressure';
import { InputChunk, planBlocks } from './block-builder';
import { mapLimitSettled } from './map-limit-settled';
import { PartitionGuard, PartitionHold } from './partition-guard';
import { SegmentWriter } from './segment-writer';

/** Apps of one batch appended at the same time; each holds its own slot lease. */
const APP_CONCURRENCY = 4;

/** A decoded chunk, its by-app offset, and the span context of the splitter.chunk span. */
interface TracedChunk extends InputChunk {
  trace?: SpanContext;
}

/**
 * chunk → compressed block → durable append to the app's slot file. The batch's offsets are
 * committed by the transport only after this resolves, i.e. after every block is on disk.
 *
 * Exactly once: each block's manifest line names the by-app messages it holds, and the batch's
 * partition is fenced by a lease (PartitionGuard), so a batch replayed after a crash or a failed
 * attempt appends only the chunks no manifest holds yet.
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
    private readonly metrics: Metrics,
    private readonly partitions: PartitionGuard,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async appendBatch(batch: KafkaBatch): Promise<void> {
    const { spoolDir } = this.config;
    const { byApp, invalid } = this.decode(batch);
    let hold: PartitionHold | undefined;
    try {
      await assertSpoolRoom(spoolDir, this.config.compressor.spoolMinFreeBytes);
      // Fail fast: lease waits retry a down Redis for up to the lock wait timeout.
      if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`);
      const held = (hold = await this.partitions.enter(batch, [...byApp.keys()]));
      const todo = this.unheld(batch, byApp, held);
      const sealed: SegmentState[] = [];
      let appended = 0;
      await mapLimitSettled([...todo], APP_CONCURRENCY, async ([app, chunks]) => {
        // Revoked: the new owner replays the rest once this batch has let go of the partition.
        if (batch.isStale()) throw new Error(`${batch.topic}[${batch.partition}] was revoked`);
        sealed.push(...(await this.appendApp(app, chunks, held)));
        if (++appended === 1 && todo.size > 1) crashPoint('compressor.mid-batch');
        await batch.heartbeat();
      });
      await this.producer.send([
        { topic: this.config.topics.dlq, messages: invalid },
        { topic: this.config.topics.segments, messages: sealed.map(sealedEvent) },
      ]);
      this.countIn(byApp, invalid.length);
      crashPoint('compressor.before-commit');
    } catch (err) {
      hold?.failed();
      throw asBackpressure(err, this.redis.status === 'ready', spoolDir);
    } finally {
      hold?.done();
    }
  }

  /** The batch's chunks that no manifest holds yet: all of them, unless this is a replay. */
  private unheld(
    batch: KafkaBatch,
    byApp: Map<string, TracedChunk[]>,
    hold: PartitionHold,
  ): Map<string, TracedChunk[]> {
    const todo = new Map<string, TracedChunk[]>();
    let skipped = 0;
    for (const [app, chunks] of byApp) {
      const left = chunks.filter((c) => !hold.holds(c.offset));
      skipped += chunks.length - left.length;
      if (left.length > 0) todo.set(app, left);
    }
    if (skipped > 0) {
      this.log.log(
        `replay of ${batch.topic}[${batch.partition}]@${batch.messages[0].offset}: skipped ${skipped} chunks the spool already holds`,
      );
    }
    return todo;
  }

  /** Counted once the batch is done, so a retried batch is not counted twice. */
  private countIn(byApp: Map<string, TracedChunk[]>, invalid: number): void {
    const m = this.metrics;
    for (const [app, traced] of byApp) {
      const label = m.app(app);
      for (const { chunk } of traced) {
        m.recordsIn.inc({ app: label }, chunk.records);
        m.bytesIn.inc({ app: label }, chunk.payload.length);
      }
    }
    if (invalid > 0) m.dlqRecords.inc({ reason: 'invalid-chunk' }, invalid);
  }

  /**
   * One compressor.append span per app and batch: a child of the first chunk's span (so the
   * record's trace continues), linked to the other chunks' spans it merges.
   */
  private async appendApp(
    app: string,
    traced: TracedChunk[],
    hold: PartitionHold,
  ): Promise<SegmentState[]> {
    const [first, ...rest] = traced;
    const parent = first.trace ? trace.setSpanContext(context.active(), first.trace) : undefined;
    const chunks = traced.map((t) => t.chunk);
    const attributes = {
      [ATTRS.appId]: app,
      [ATTRS.chunks]: chunks.length,
      [ATTRS.records]: chunks.reduce((n, c) => n + c.records, 0),
      [ATTRS.bytesIn]: chunks.reduce((n, c) => n + c.payload.length, 0),
    };
    const links = boundedLinks(
      rest.map((t) => t.trace),
      MAX_LINKS,
    );
    return inSpan(SPANS.compressorAppend, { parent, attributes, links, root: !parent }, (span) =>
      this.compressAndAppend(app, traced, hold, span),
    );
  }

  private async compressAndAppend(
    app: string,
    chunks: InputChunk[],
    hold: PartitionHold,
    span: Span,
  ): Promise<SegmentState[]> {
    const { topic, partition } = hold;
    const { compressor, writerSlots, lockTtlMs } = this.config;
    // The manifest remembers this span, so the uploader's span can link to it.
    const traceparent = traceparentOf(span);
    // Compress before taking the lease: the slot is held only for the disk writes.
    const blocks = await inSpan(SPANS.compressorCompress, {}, async (s) => {
      const out = await Promise.all(
        planBlocks(topic, partition, chunks, compressor.maxMemberBytes).map(async (b) => ({
          data: await this.codec.compress(b.payload),
          info: traceparent ? { ...b.info, trace: traceparent } : b.info,
        })),
      );
      s.setAttributes({
        [ATTRS.bytesIn]: out.reduce((n, b) => n + b.info.rawBytes, 0),
        [ATTRS.bytesOut]: out.reduce((n, b) => n + b.data.length, 0),
      });
      return out;
    });
    const lease = await inSpan(SPANS.compressorLockWait, {}, async (s) => {
      const l = await this.semaphore.acquire(appSlotsResource(app), {
        slots: writerSlots,
        ttlMs: lockTtlMs,
        waitTimeoutMs: compressor.lockWaitTimeoutMs,
      });
      s.setAttributes({ [ATTRS.lockSlot]: l.slot, [ATTRS.lockWaitMs]: l.waitedMs });
      return l;
    });
    crashPoint('compressor.holding-lock');
    span.setAttributes({ [ATTRS.lockSlot]: lease.slot, [ATTRS.lockWaitMs]: lease.waitedMs });
    this.metrics.lockWait.observe(lease.waitedMs / 1000);
    if (lease.slot > 0) this.metrics.lockContended.inc();
    const sealed: SegmentState[] = [];
    try {
      await inSpan(
        SPANS.compressorWrite,
        { attributes: { [ATTRS.lockSlot]: lease.slot } },
        async (s) => {
          // Before a block becomes visible, both fences must still be ours: the slot's (the
          // file) and the partition's (no other instance appends these chunks).
          const assertOwner = async () => {
            await Promise.all([lease.assertHeld(), hold.assertHeld()]);
          };
          for (const block of blocks) {
            const outcome = await this.writer.append(
              app,
              lease.slot,
              block.data,
              block.info,
              assertOwner,
            );
            hold.add(block.info.input!.offsets);
            s.setAttribute(ATTRS.segmentId, outcome.segmentId);
            span.setAttribute(ATTRS.segmentId, outcome.segmentId);
            sealed.push(...outcome.sealed);
          }
          s.setAttribute(ATTRS.sealed, sealed.length);
        },
      );
    } finally {
      await lease.release();
    }
    this.countAppended(app, blocks);
    span.setAttribute(
      ATTRS.bytesOut,
      blocks.reduce((n, b) => n + b.data.length, 0),
    );
    return sealed;
  }

  private countAppended(
    app: string,
    blocks: { data: Buffer; info: { records: number; rawBytes: number } }[],
  ) {
    const m = this.metrics;
    const label = m.app(app);
    for (const b of blocks) {
      m.recordsOut.inc({ app: label }, b.info.records);
      m.bytesOut.inc({ app: label }, b.data.length);
      if (b.data.length > 0) m.compressionRatio.observe(b.info.rawBytes / b.data.length);
    }
  }

  private decode(batch: KafkaBatch): { byApp: Map<string, TracedChunk[]>; invalid: Message[] } {
    const byApp = new Map<string, TracedChunk[]>();
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
      list.push({ chunk, offset: Number(m.offset), trace: spanContextFromHeaders(m.headers) });
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
