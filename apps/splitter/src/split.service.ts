import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  KafkaBatch,
  KafkaProducerService,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
} from '@logsplit/common';
import { AppIdExtractor, createAppIdExtractor } from './app-id';
import { splitBatch } from './split-batch';

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
  ) {
    this.extractor = createAppIdExtractor(config.splitter.appId);
  }

  async splitBatch(batch: KafkaBatch): Promise<void> {
    const { appId, maxRecordBytes, maxChunkBytes } = this.config.splitter;
    const { chunks, dead } = splitBatch(
      { topic: batch.topic, partition: batch.partition, records: batch.messages },
      { extractor: this.extractor, pattern: appId.pattern, maxRecordBytes, maxChunkBytes },
    );
    await this.producer.send([
      { topic: this.config.topics.byApp, messages: chunks },
      { topic: this.config.topics.dlq, messages: dead },
    ]);
    if (dead.length > 0) {
      this.log.warn(
        `${batch.topic}[${batch.partition}]: ${dead.length} records to the dead-letter topic`,
      );
    }
  }
}
