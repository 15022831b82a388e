import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import {
  CommonModule,
  LeaseSemaphore,
  LogsplitConfig,
  ServiceRuntime,
  StageEvents,
  StorageDriver,
} from '@logsplit/common';
import { Kafka } from 'kafkajs';
import { CommitWaits } from './commit-waits';
import { CompressorCommits, KafkaCompressorCommits } from './compressor-commits';
import { SegmentUpload } from './segment-upload';
import { SegmentsController } from './segments.controller';
import { SpoolSweeper } from './spool-sweeper';
import { UploadPass } from './upload-pass';
import { UploadScheduler } from './upload.scheduler';
import { UPLOAD_STORE, uploadStoreProvider } from './upload-store';
import { UploaderSpool } from './uploader-spool';

@Module({})
export class UploaderModule {
  static forRoot(config: LogsplitConfig, kafka: Kafka, runtime?: ServiceRuntime): DynamicModule {
    const { segments, store, uploader } = config;
    return {
      module: UploaderModule,
      imports: [
        CommonModule.forRoot(config, kafka, { redis: true, storage: true, runtime }),
        ScheduleModule.forRoot(),
      ],
      controllers: [SegmentsController],
      providers: [
        UploadScheduler,
        uploadStoreProvider,
        { provide: CompressorCommits, useClass: KafkaCompressorCommits },
        { provide: UploaderSpool, useValue: new UploaderSpool(config.spoolDir) },
        {
          provide: CommitWaits,
          inject: [StageEvents],
          useFactory: (events: StageEvents) => new CommitWaits(events, segments.writerGroup),
        },
        {
          provide: SpoolSweeper,
          inject: [LeaseSemaphore, UploaderSpool, StageEvents],
          useFactory: (semaphore: LeaseSemaphore, spool: UploaderSpool, events: StageEvents) =>
            new SpoolSweeper(segments, semaphore, spool, events),
        },
        {
          provide: SegmentUpload,
          inject: [
            UPLOAD_STORE,
            LeaseSemaphore,
            CompressorCommits,
            UploaderSpool,
            CommitWaits,
            StageEvents,
          ],
          useFactory: (
            s: StorageDriver,
            semaphore: LeaseSemaphore,
            commits: CompressorCommits,
            spool: UploaderSpool,
            waits: CommitWaits,
            events: StageEvents,
          ) =>
            new SegmentUpload(
              { prefix: store.prefix, lockTtlMs: segments.lockTtlMs },
              s,
              semaphore,
              commits,
              spool,
              waits,
              events,
            ),
        },
        {
          provide: UploadPass,
          inject: [UploaderSpool, SpoolSweeper, SegmentUpload, CommitWaits, StageEvents],
          useFactory: (
            spool: UploaderSpool,
            sweeper: SpoolSweeper,
            upload: SegmentUpload,
            waits: CommitWaits,
            events: StageEvents,
          ) => new UploadPass(uploader.concurrency, spool, sweeper, upload, waits, events),
        },
      ],
    };
  }
}
