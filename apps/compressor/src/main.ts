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
  topics: ({ topics: t }) => [t.byApp, t.dlq, t.segments],
  partitionsConsumedConcurrently: 3,
  // Chunks are gathered past their batch: AppendService commits the durable prefix itself.
  offsetCommit: 'handler',
});
