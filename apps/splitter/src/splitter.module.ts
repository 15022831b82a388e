import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule, LogsplitConfig, ServiceTelemetry } from '@logsplit/common';
import { Kafka } from 'kafkajs';
import { SplitController } from './split.controller';
import { SplitService } from './split.service';

@Module({})
export class SplitterModule {
  static forRoot(
    config: LogsplitConfig,
    kafka: Kafka,
    telemetry?: ServiceTelemetry,
  ): DynamicModule {
    return {
      module: SplitterModule,
      imports: [CommonModule.forRoot(config, kafka, { telemetry })],
      controllers: [SplitController],
      providers: [SplitService],
    };
  }
}
