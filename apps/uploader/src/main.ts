import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { SEGMENT_EVENTS } from './segments.controller';
import { UploaderModule } from './uploader.module';

void runService({
  name: 'uploader',
  module: (config, kafka) => UploaderModule.forRoot(config, kafka),
  groupId: (config) => config.uploader.group,
  routes: (config) => ({ [config.topics.segments]: SEGMENT_EVENTS }),
});
