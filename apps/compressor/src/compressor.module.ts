import { DynamicModule, Module, Provider } from '@nestjs/common';
import {
  Codec,
  CODEC,
  CommonModule,
  KafkaProducerService,
  LeaseSemaphore,
  LogsplitConfig,
  REDIS,
  ServiceRuntime,
  SpoolLayout,
  StageEvents,
} from '@logsplit/common';
import type Redis from 'ioredis';
import { Kafka } from 'kafkajs';
import { AppendController, DRAINERS } from './append.controller';
import { SpoolRoom } from './append-backpressure';
import { AppendRunner } from './append-runner';
import { BlockAppender } from './block-appender';
import { ChunkIntake } from './chunk-intake';
import { Gathering } from './gathering';
import { GatheringClock } from './gathering-clock';
import { OffsetCommitter } from './offset-committer';
import { PartitionGuard } from './partition-guard';
import { SegmentAnnouncer } from './segment-announcer';
import { SegmentWriter } from './segment-writer';

/** One provider per role; each is a plain class, so a unit test builds it with its few parts. */
function roles(config: LogsplitConfig): Provider[] {
  const { compressor, segments, topics } = config;
  return [
    {
      provide: SpoolRoom,
      inject: [REDIS],
      useFactory: (redis: Redis) =>
        new SpoolRoom(config.spoolDir, compressor.spoolMinFreeBytes, redis),
    },
    {
      provide: SegmentWriter,
      inject: [CODEC, SpoolLayout],
      useFactory: (codec: Codec, layout: SpoolLayout) =>
        new SegmentWriter(
          layout,
          codec,
          { ...segments, fsync: compressor.fsync },
          config.instanceId,
        ),
    },
    {
      provide: ChunkIntake,
      inject: [KafkaProducerService, StageEvents],
      useFactory: (p: KafkaProducerService, e: StageEvents) => new ChunkIntake(p, topics.dlq, e),
    },
    {
      provide: BlockAppender,
      inject: [CODEC, LeaseSemaphore, SegmentWriter, StageEvents],
      useFactory: (
        codec: Codec,
        semaphore: LeaseSemaphore,
        writer: SegmentWriter,
        e: StageEvents,
      ) =>
        new BlockAppender(codec, semaphore, writer, e, {
          writerSlots: segments.writerSlots,
          lockTtlMs: segments.lockTtlMs,
          lockWaitTimeoutMs: compressor.lockWaitTimeoutMs,
          maxMemberBytes: compressor.maxMemberBytes,
        }),
    },
    {
      provide: SegmentAnnouncer,
      inject: [KafkaProducerService, StageEvents],
      useFactory: (p: KafkaProducerService, e: StageEvents) =>
        new SegmentAnnouncer(p, topics.segments, e),
    },
    {
      provide: OffsetCommitter,
      inject: [SegmentAnnouncer, StageEvents],
      useFactory: (a: SegmentAnnouncer, e: StageEvents) => new OffsetCommitter(a, e),
    },
    {
      provide: AppendRunner,
      inject: [BlockAppender, OffsetCommitter, StageEvents],
      useFactory: (a: BlockAppender, c: OffsetCommitter, e: StageEvents) =>
        new AppendRunner(compressor.concurrency, a, c, e),
    },
    {
      provide: Gathering,
      inject: [AppendRunner, OffsetCommitter],
      useFactory: (r: AppendRunner, c: OffsetCommitter) => new Gathering(compressor, r, c),
    },
    {
      provide: GatheringClock,
      inject: [Gathering, AppendRunner, OffsetCommitter, PartitionGuard, StageEvents],
      useFactory: (
        g: Gathering,
        r: AppendRunner,
        c: OffsetCommitter,
        guard: PartitionGuard,
        e: StageEvents,
      ) => new GatheringClock(compressor, g, r, c, guard, e),
    },
  ];
}

@Module({})
export class CompressorModule {
  static forRoot(config: LogsplitConfig, kafka: Kafka, runtime?: ServiceRuntime): DynamicModule {
    return {
      module: CompressorModule,
      imports: [CommonModule.forRoot(config, kafka, { redis: true, runtime })],
      controllers: [AppendController],
      providers: [
        PartitionGuard,
        // Without a runtime (tests), nothing drains it on shutdown.
        { provide: DRAINERS, useValue: runtime?.drainers ?? [] },
        { provide: SpoolLayout, useValue: new SpoolLayout(config.spoolDir) },
        ...roles(config),
      ],
    };
  }
}
