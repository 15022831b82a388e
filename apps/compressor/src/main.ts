// First: kafkajs patched before anything loads it (libs/kafkajs-patches).
import '@logsplit/kafkajs-patches/install';
import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { CHUNK_BATCH } from './append.controller';
import { CompressorModule } from './compressor.module';

void runService({
  name: 'compressor',
  module: (config, kafka, runtime) => CompressorModule.forRoot(config, kafka, runtime),
  groupId: (config) => config.compressor.group,
  components: ['kafka', 'redis'],
  routes: (config) => ({ [config.topics.byApp]: CHUNK_BATCH }),
  partitionsConsumedConcurrently: 3,
  // Chunks are gathered past their batch: AppendService commits the durable prefix itself.
  offsetCommit: 'handler',
});
