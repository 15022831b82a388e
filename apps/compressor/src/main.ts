import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { CHUNK_BATCH } from './append.controller';
import { CompressorModule } from './compressor.module';

void runService({
  name: 'compressor',
  module: (config, kafka, telemetry) => CompressorModule.forRoot(config, kafka, telemetry),
  groupId: (config) => config.compressor.group,
  components: ['kafka', 'redis'],
  routes: (config) => ({ [config.topics.byApp]: CHUNK_BATCH }),
  partitionsConsumedConcurrently: 3,
});
