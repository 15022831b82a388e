import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  ATTRS,
  boundedLinks,
  crashPoint,
  inSpan,
  KAFKA,
  KafkaBatch,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  MAX_LINKS,
  Metrics,
  PartitionAssignment,
  PartitionTransaction,
  PartitionTransactions,
  spanContextFromHeaders,
  SPANS,
  StageEvents,
  traceHeaders,
  tracer,
  BatchSplit,
  BatchSplitPlanned,
  CommittedRecordsSkipped,
} from '@logsplit/common';
import { context, Span, trace } from '@opentelemetry/api';
import { Kafka, KafkaMessage } from 'kafkajs';
import { AppIdExtractor, createAppIdExtractor } from './app-id';
import { AppAdmission } from './app-admission';
import { boundedSends } from './bounded-sends';
import { DeadRecord, OutChunk, splitBatch } from './split-batch';

/** What one committed transaction wrote. */
interface SplitDone {
  records: KafkaMessage[];
  chunks: OutChunk[];
  dead: DeadRecord[];
}

/**
 * raw batch → per-app chunks on the by-app topic, bad records to the dead-letter topic, exactly
 * once: the chunks, the dead records and the raw batch's offsets commit in one Kafka transaction
 * of the raw partition's producer (the transport commits nothing for the splitter), and every
 * consumer of the by-app and dead-letter topics reads committed records only.
 */
@Injectable()
export class SplitService implements OnApplicationShutdown {
  private readonly extractor: AppIdExtractor;
  private readonly admission: AppAdmission;
  private readonly transactions: PartitionTransactions;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(KAFKA) kafka: Kafka,
    assignment: PartitionAssignment,
    metrics: Metrics,
    private readonly events: StageEvents,
  ) {
    this.extractor = createAppIdExtractor(config.splitter.appId);
    this.admission = new AppAdmission(config.splitter.admission, metrics.admittedApps);
    this.transactions = new PartitionTransactions({
      kafka,
      groupId: config.splitter.group,
      assignment,
    });
  }

  /** Runs after the transport stopped, so no transaction is open any more. */
  async onApplicationShutdown(): Promise<void> {
    await this.transactions.close();
  }

  async splitBatch(batch: KafkaBatch): Promise<void> {
    const { messages } = batch;
    // A batch has many producers' records: their trace contexts become links, not parents.
    const links = boundedLinks(
      messages.map((m) => spanContextFromHeaders(m.headers)),
      MAX_LINKS,
    );
    const attributes = {
      [ATTRS.topic]: batch.topic,
      [ATTRS.partition]: batch.partition,
      [ATTRS.firstOffset]: messages[0]?.offset,
      [ATTRS.lastOffset]: messages[messages.length - 1]?.offset,
      [ATTRS.records]: messages.length,
    };
    const done = await inSpan(SPANS.splitterBatch, { attributes, links, root: true }, (span) =>
      this.transactions.run(batch.topic, batch.partition, (txn) => this.split(batch, txn, span)),
    );
    // Counted once committed, so an aborted and retried batch is not counted twice.
    this.events.emit(new BatchSplit({ topic: batch.topic, partition: batch.partition, ...done }));
  }

  /** Runs inside the partition's transaction: committed when it resolves, aborted if it throws. */
  private async split(
    batch: KafkaBatch,
    txn: PartitionTransaction,
    batchSpan: Span,
  ): Promise<SplitDone> {
    const records = txn.pending(batch.messages);
    if (records.length < batch.messages.length) {
      const { topic, partition } = batch;
      const skipped = batch.messages.length - records.length;
      this.events.emit(new CommittedRecordsSkipped({ topic, partition, skipped }));
    }
    const { appId, maxRecordBytes, maxChunkBytes } = this.config.splitter;
    const { chunks, dead } = splitBatch(
      { topic: batch.topic, partition: batch.partition, records },
      {
        extractor: this.extractor,
        pattern: appId.pattern,
        maxRecordBytes,
        maxChunkBytes,
        admission: this.admission,
      },
    );
    this.events.emit(
      new BatchSplitPlanned({ chunks: chunks.length, dead: dead.length }),
      batchSpan,
    );
    // One span per chunk, child of the batch; its context travels in the chunk's headers so the
    // compressor's span continues the chunk's trace.
    const chunkSpans = chunks.map((c) => this.startChunkSpan(c));
    const messages = chunks.map((c, i) => ({
      key: c.key,
      value: c.value,
      headers: { ...c.headers, ...traceHeaders(trace.setSpan(context.active(), chunkSpans[i])) },
    }));
    try {
      const out = [
        { topic: this.config.topics.byApp, messages },
        { topic: this.config.topics.dlq, messages: dead },
      ];
      // In parts: one fetch can decompress to more than a broker takes in one record batch.
      for (const part of boundedSends(out)) await txn.send(part);
      await txn.sendOffsets(batch.nextOffset);
    } finally {
      for (const s of chunkSpans) s.end();
    }
    crashPoint('splitter.before-commit');
    return { records, chunks, dead };
  }

  private startChunkSpan(c: OutChunk): Span {
    return tracer().startSpan(SPANS.splitterChunk, {
      attributes: {
        [ATTRS.appId]: c.app,
        [ATTRS.records]: c.records,
        [ATTRS.bytesOut]: c.value.length,
        [ATTRS.topic]: this.config.topics.byApp,
      },
    });
  }
}
