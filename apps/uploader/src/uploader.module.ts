import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { CommonModule, LogsplitConfig, ServiceRuntime } from '@logsplit/common';
import { Kafka } from 'kafkajs';
import { CompressorCommits, KafkaCompressorCommits } from './compressor-commits';
import { SegmentsController } from './segments.controller';
import { UploadScheduler } from './upload.scheduler';
import { UploadService } from './upload.service';
import { uploadStoreProvider } from './upload-store';

@Module({})
export class UploaderModule {
  static forRoot(config: LogsplitConfig, kafka: Kafka, runtime?: ServiceRuntime): DynamicModule {
    return {
      module: UploaderModule,
      imports: [
        CommonModule.forRoot(config, kafka, { redis: true, storage: true, runtime }),
        ScheduleModule.forRoot(),
      ],
      controllers: [SegmentsController],
      providers: [
        UploadService,
        UploadScheduler,
        uploadStoreProvider,
        { provide: CompressorCommits, useClass: KafkaCompressorCommits },
      ],
    };
  }
}
