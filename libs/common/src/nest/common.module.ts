import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { PartitionAssignment } from '../kafka';
import { createCodec } from '../codec';
import { LogsplitConfig } from '../config';
import { LeaseSemaphore } from '../redis';
import { HealthState } from '../health';
import { createStorageDriver } from '../storage';
import { Metrics } from '../telemetry';
import { StageEvents } from '../events';
import { KafkaProducerService } from './kafka-producer.service';
import { RedisConnection } from './redis-connection';
import { CODEC, KAFKA, LOGSPLIT_CONFIG, REDIS, STORAGE } from './tokens';

export interface CommonModuleOptions {
  /** Redis and the lease semaphore (compressor, uploader). */
  redis?: boolean;
  /** The object store driver (uploader). */
  storage?: boolean;
  /** Metrics, health state and partition assignment made by runService; fresh ones when absent (tests). */
  runtime?: { metrics: Metrics; health: HealthState; assignment: PartitionAssignment };
}

/** What every service gets from libs/common, each dependency only where it is used. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(
    config: LogsplitConfig,
    kafka: Kafka,
    opts: CommonModuleOptions = {},
  ): DynamicModule {
    const providers: Provider[] = [
      { provide: LOGSPLIT_CONFIG, useValue: config },
      { provide: KAFKA, useValue: kafka },
      { provide: CODEC, useFactory: () => createCodec(config.codec.name, config.codec.level) },
      KafkaProducerService,
      {
        provide: Metrics,
        useValue:
          opts.runtime?.metrics ??
          new Metrics(
            config.service,
            config.observability.appLabelLimit,
            config.observability.appLabelAllowList,
          ),
      },
      {
        provide: StageEvents,
        inject: [Metrics],
        useFactory: (metrics: Metrics) => new StageEvents(metrics, config.service),
      },
      { provide: HealthState, useValue: opts.runtime?.health ?? new HealthState([]) },
      {
        provide: PartitionAssignment,
        useValue: opts.runtime?.assignment ?? new PartitionAssignment(),
      },
    ];
    if (opts.redis) {
      providers.push(
        RedisConnection,
        { provide: REDIS, useFactory: (c: RedisConnection) => c.client, inject: [RedisConnection] },
        {
          provide: LeaseSemaphore,
          useFactory: (c: RedisConnection) =>
            new LeaseSemaphore(c.client, {
              replicas: {
                count: config.redis.leaseReplicas,
                timeoutMs: config.redis.leaseReplicaTimeoutMs,
              },
            }),
          inject: [RedisConnection],
        },
      );
    }
    if (opts.storage) {
      providers.push({ provide: STORAGE, useFactory: () => createStorageDriver(config.store) });
    }
    return { module: CommonModule, providers, exports: providers };
  }
}
