import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule, LogsplitConfig, ServiceRuntime } from '@logsplit/common';
import { Kafka } from 'kafkajs';
import { SplitController } from './split.controller';
import { SplitService } from './split.service';

@Module({})
export class SplitterModule {
  static forRoot(config: LogsplitConfig, kafka: Kafka, runtime?: ServiceRuntime): DynamicModule {
    return {
      module: SplitterModule,
      imports: [CommonModule.forRoot(config, kafka, { runtime })],
      controllers: [SplitController],
      providers: [SplitService],
    };
  }
}
