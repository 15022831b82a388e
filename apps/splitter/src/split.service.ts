import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ATTRS,
  boundedLinks,
  inSpan,
  KafkaBatch,
  KafkaProducerService,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  MAX_LINKS,
  Metrics,
  NO_APP,
  spanContextFromHeaders,
  SPANS,
  traceHeaders,
  tracer,
} from '@logsplit/common';
import { context, Span, trace } from '@opentelemetry/api';
import { AppIdExtractor, createAppIdExtractor } from './app-id';
import { OutChunk, splitBatch } from './split-batch';

/**
 * raw batch → per-app chunks on the by-app topic, bad records to the dead-letter topic. Returns
 * once the broker acknowledged both, so the transport commits the raw offsets only then.
 */
@Injectable()
export class SplitService {
  private readonly log = new Logger(SplitService.name);
  private readonly extractor: AppIdExtractor;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    private readonly producer: KafkaProducerService,
    private readonly metrics: Metrics,
  ) {
    this.extractor = createAppIdExtractor(config.splitter.appId);
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
    await inSpan(SPANS.splitterBatch, { attributes, links, root: true }, (span) =>
      this.split(batch, span),
    );
  }

  private async split(batch: KafkaBatch, batchSpan: Span): Promise<void> {
    const { appId, maxRecordBytes, maxChunkBytes } = this.config.splitter;
    const { chunks, dead } = splitBatch(
      { topic: batch.topic, partition: batch.partition, records: batch.messages },
      { extractor: this.extractor, pattern: appId.pattern, maxRecordBytes, maxChunkBytes },
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
      await this.producer.send([
        { topic: this.config.topics.byApp, messages },
        { topic: this.config.topics.dlq, messages: dead },
      ]);
    } finally {
      for (const s of chunkSpans) s.end();
    }
    this.count(
      batch,
      chunks,
      dead.map((d) => d.reason),
    );
    if (dead.length > 0) {
      this.log.warn(
        `${batch.topic}[${batch.partition}]: ${dead.length} records to the dead-letter topic`,
      );
    }
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

  private count(batch: KafkaBatch, chunks: OutChunk[], deadReasons: string[]): void {
    const m = this.metrics;
    // Raw records have no app until they are split: counted under NO_APP.
    const bytes = batch.messages.reduce((n, r) => n + (r.value?.length ?? 0), 0);
    m.bytesIn.inc({ app: NO_APP }, bytes);
    m.recordsIn.inc({ app: NO_APP }, batch.messages.length);
    for (const c of chunks) {
      const app = m.app(c.app);
      m.recordsOut.inc({ app }, c.records);
      m.bytesOut.inc({ app }, c.value.length);
      m.chunkBytes.observe(c.value.length);
    }
    for (const reason of deadReasons) m.dlqRecords.inc({ reason });
  }
}
