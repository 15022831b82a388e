import 'reflect-metadata';
import { runService } from '@logsplit/common';
import { CHUNK_BATCH } from './append.controller';
import { CompressorModule } from './compressor.module';

void runService({
  name: 'compressor',
  module: (config, kafka) => CompressorModule.forRoot(config, kafka),
  groupId: (config) => config.compressor.group,
  routes: (config) => ({ [config.topics.byApp]: CHUNK_BATCH }),
  partitionsConsumedConcurrently: 3,
});
