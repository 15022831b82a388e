import 'reflect-metadata';
// Before anything loads kafkajs' connection: the produce path's encoder (produce-encoder.ts).
import './produce-encoder.install';
import { runService } from '@logsplit/common';
import { RAW_BATCH } from './split.controller';
import { SplitterModule } from './splitter.module';

void runService({
  name: 'splitter',
  module: (config, kafka, runtime) => SplitterModule.forRoot(config, kafka, runtime),
  groupId: (config) => config.splitter.group,
  components: ['kafka'],
  routes: (config) => ({ [config.topics.raw]: RAW_BATCH }),
  topics: ({ topics: t }) => [t.raw, t.byApp, t.dlq],
  partitionsConsumedConcurrently: 2,
  // Offsets commit in SplitService's transactions, atomically with the chunks.
  offsetCommit: 'handler',
});
