// First: kafkajs patched before anything loads it (libs/kafkajs-patches).
import '@logsplit/kafkajs-patches/install';
import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { SEGMENT_EVENTS } from './segments.controller';
import { UploaderModule } from './uploader.module';

void runService({
  name: 'uploader',
  module: (config, kafka, runtime) => UploaderModule.forRoot(config, kafka, runtime),
  groupId: (config) => config.uploader.group,
  components: ['kafka', 'redis', 'store'],
  routes: (config) => ({ [config.topics.segments]: SEGMENT_EVENTS }),
  // by-app: the compressor group's committed offsets gate each upload.
  topics: ({ topics: t }) => [t.segments, t.byApp],
});
