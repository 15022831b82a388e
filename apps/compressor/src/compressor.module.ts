import { DynamicModule, Module } from '@nestjs/common';
import {
  Codec,
  CODEC,
  CommonModule,
  LogsplitConfig,
  ServiceRuntime,
  SpoolLayout,
} from '@logsplit/common';
import { Kafka } from 'kafkajs';
import { AppendController } from './append.controller';
import { AppendService, DRAINERS } from './append.service';
import { PartitionGuard } from './partition-guard';
import { SegmentWriter } from './segment-writer';

@Module({})
export class CompressorModule {
  static forRoot(config: LogsplitConfig, kafka: Kafka, runtime?: ServiceRuntime): DynamicModule {
    const { segmentMaxBytes, segmentMaxAgeMs, fsync } = config.compressor;
    return {
      module: CompressorModule,
      imports: [CommonModule.forRoot(config, kafka, { redis: true, runtime })],
      controllers: [AppendController],
      providers: [
        AppendService,
        PartitionGuard,
        // Without a runtime (tests), nothing drains it on shutdown.
        { provide: DRAINERS, useValue: runtime?.drainers ?? [] },
        { provide: SpoolLayout, useValue: new SpoolLayout(config.spoolDir) },
        {
          provide: SegmentWriter,
          inject: [CODEC, SpoolLayout],
          useFactory: (codec: Codec, layout: SpoolLayout) =>
            new SegmentWriter(
              layout,
              codec,
              { maxBytes: segmentMaxBytes, maxAgeMs: segmentMaxAgeMs, fsync },
              config.instanceId,
            ),
        },
      ],
    };
  }
}
