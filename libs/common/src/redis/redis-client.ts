import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { RedisSettings } from '../config/redis-settings';
import { backoffDelay } from '../util';
import { noteRedisError } from './redis-failure';
import { redisConnectionOptions } from './redis-options';

/** What the client logs through; Nest's `Logger` fits. */
export interface RedisLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface CreateRedisOptions {
  /** Default: a Nest `Logger` with context `Redis(<name>)`. */
  logger?: RedisLogger;
  /** Overrides of the defaults below (tls, keyPrefix, commandTimeout, ...). */
  redisOptions?: RedisOptions;
  /** While an outage lasts, it is logged again at most this often. Default 30 s. */
  repeatLogMs?: number;
}

/** Reconnect delays: 100 ms doubling up to 5 s, jittered so a fleet does not reconnect in step. */
export const REDIS_RECONNECT_BASE_MS = 100;
export const REDIS_RECONNECT_CAP_MS = 5_000;

/**
 * An ioredis client for one purpose (`name` shows in CLIENT LIST). The defaults favour failing
 * fast over hanging: while Redis is down, a command is retried across at most 3 reconnects (or
 * 5 s) and then rejects, so callers can pause consumption / report NOT_SERVING instead of piling
 * up work; the client itself keeps reconnecting forever in the background.
 */
export function createRedis(
  settings: RedisSettings | string,
  name: string,
  options: CreateRedisOptions = {},
): Redis {
  const logger = options.logger ?? new Logger(`Redis(${name})`);
  // Required here, not imported: ~90 ms of CPU at start-up, for services without Redis too.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Client } = require('ioredis') as typeof import('ioredis');
  const client = new Client({
    ...redisConnectionOptions(settings),
    connectionName: name.replace(/[^\w.:-]/g, '_'), // CLIENT SETNAME refuses spaces
    lazyConnect: false,
    enableOfflineQueue: true, // commands issued while (re)connecting wait instead of failing at once...
    maxRetriesPerRequest: 3, // ...but only across a few reconnects
    commandTimeout: 5_000, // also bounds a half-open socket (no RST) where nothing would ever fail
    connectTimeout: 5_000,
    keepAlive: 10_000,
    // Commands issued in the same tick (the fence checks of concurrent appends, lease renewals)
    // go out in one write and one reply read instead of a syscall each.
    enableAutoPipelining: true,
    retryStrategy: (times) =>
      backoffDelay(times - 1, REDIS_RECONNECT_BASE_MS, REDIS_RECONNECT_CAP_MS),
    // After a failover the old primary answers READONLY: reconnect and resend the command.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    ...options.redisOptions,
  });
  attachRedisLogging(client, name, logger, options.repeatLogMs);
  return client;
}

/**
 * Logs connection errors without spamming: the first error of an outage, then one summary per
 * `repeatMs` while it lasts, then the recovery. ioredis emits an error per reconnect attempt
 * (several per second), and an 'error' listener must exist or Node prints each one anyway.
 * Never logs the URL, which may hold a password.
 */
export function attachRedisLogging(
  client: Redis,
  name: string,
  logger: RedisLogger,
  repeatMs = 30_000,
): void {
  let downSince: number | undefined;
  let lastLoggedAt = 0;
  let suppressed = 0;
  client.on('error', (err: Error) => {
    noteRedisError(client, err);
    const now = Date.now();
    if (downSince === undefined) {
      downSince = lastLoggedAt = now;
      suppressed = 0;
      logger.error(`redis "${name}" error: ${err.message}`);
    } else if (now - lastLoggedAt >= repeatMs) {
      const s = Math.round((now - downSince) / 1000);
      logger.warn(
        `redis "${name}" still failing after ${s} s (${suppressed} errors not logged): ${err.message}`,
      );
      lastLoggedAt = now;
      suppressed = 0;
    } else {
      suppressed++;
    }
  });
  client.on('ready', () => {
    noteRedisError(client, undefined);
    if (downSince === undefined) return;
    logger.log(`redis "${name}" ready again after ${Date.now() - downSince} ms`);
    downSince = undefined;
  });
}
