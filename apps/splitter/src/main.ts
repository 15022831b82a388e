// First: kafkajs patched before anything loads it (libs/kafkajs-patches).
import '@logsplit/kafkajs-patches/install';
import 'reflect-metadata';
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
