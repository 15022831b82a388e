import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { SEGMENT_EVENTS } from './segments.controller';
import { UploaderModule } from './uploader.module';

void runService({
  name: 'uploader',
  module: (config, kafka, telemetry) => UploaderModule.forRoot(config, kafka, telemetry),
  groupId: (config) => config.uploader.group,
  components: ['kafka', 'redis', 'store'],
  routes: (config) => ({ [config.topics.segments]: SEGMENT_EVENTS }),
});
