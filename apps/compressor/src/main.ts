// First: kafkajs patched before anything loads it (libs/kafkajs-patches).
import '@logsplit/kafkajs-patches/install';
import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { CHUNK_BATCH } from './append.controller';
import { CompressorModule } from './compressor.module';

void runService({
  name: 'compressor',
  module: (config, kafka, runtime) => CompressorModule.forRoot(config, kafka, runtime),
  groupId: (config) => config.segments.writerGroup,
  components: ['kafka', 'redis'],
  routes: (config) => ({ [config.topics.byApp]: CHUNK_BATCH }),
  topics: ({ topics: t }) => [t.byApp, t.dlq, t.segments],
  partitionsConsumedConcurrently: 3,
  // Chunks are gathered past their batch: OffsetCommitter commits the durable prefix itself.
  offsetCommit: 'handler',
});
