import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { LogsplitConfig } from '../config';
import { createRedis } from '../redis';
import { LOGSPLIT_CONFIG } from './tokens';

/** The service's Redis client, closed after everything that uses it has shut down. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(@Inject(LOGSPLIT_CONFIG) config: LogsplitConfig) {
    this.client = createRedis(config.redis, `logsplit-${config.service}`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client.status === 'end') return;
    // QUIT waits for a connection; while Redis is unreachable that would hold up the shutdown.
    if (this.client.status !== 'ready') return this.client.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
