import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
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
  NO_APP,
  PartitionAssignment,
  PartitionTransaction,
  PartitionTransactions,
  spanContextFromHeaders,
  SPANS,
  traceHeaders,
  tracer,
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
  private readonly log = new Logger(SplitService.name);
  private readonly extractor: AppIdExtractor;
  private readonly admission: AppAdmission;
  private readonly transactions: PartitionTransactions;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(KAFKA) kafka: Kafka,
    assignment: PartitionAssignment,
    private readonly metrics: Metrics,
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
    this.count(done);
    if (done.dead.length > 0) {
      this.log.warn(
        `${batch.topic}[${batch.partition}]: ${done.dead.length} records to the dead-letter topic`,
      );
    }
  }

  /** Runs inside the partition's transaction: committed when it resolves, aborted if it throws. */
  private async split(
    batch: KafkaBatch,
    txn: PartitionTransaction,
    batchSpan: Span,
  ): Promise<SplitDone> {
    const records = txn.pending(batch.messages);
    if (records.length < batch.messages.length) {
      this.log.warn(
        `${batch.topic}[${batch.partition}]: ${batch.messages.length - records.length} records ` +
          "were already committed by the partition's former owner; skipped",
      );
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
    batchSpan.setAttributes({ [ATTRS.chunks]: chunks.length, [ATTRS.deadRecords]: dead.length });
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

  private count({ records, chunks, dead }: SplitDone): void {
    const m = this.metrics;
    // Raw records have no app until they are split: counted under NO_APP.
    const bytes = records.reduce((n, r) => n + (r.value?.length ?? 0), 0);
    m.bytesIn.inc({ app: NO_APP }, bytes);
    m.recordsIn.inc({ app: NO_APP }, records.length);
    for (const c of chunks) {
      const app = m.app(c.app);
      m.recordsOut.inc({ app }, c.records);
      m.bytesOut.inc({ app }, c.value.length);
      m.chunkBytes.observe(c.value.length);
    }
    for (const d of dead) m.dlqRecords.inc({ reason: d.reason });
  }
}
