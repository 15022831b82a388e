import { BackpressureError, BackpressureReason } from './backpressure-error';

/** Why the transport paused a partition; `error` when the failure fits no known dependency. */
export type PauseReason = BackpressureReason | 'error';

const SPOOL_CODES = new Set(['ENOSPC', 'EDQUOT']);
/** ioredis' own error classes: an exhausted retry across reconnects, a reply the server refused. */
const REDIS_ERROR_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'ReplyError',
  'ClusterAllFailedError',
]);
/** ioredis' plain Errors for a dropped connection and for its commandTimeout. */
const REDIS_MESSAGES = /^(Connection is closed\.|Command timed out)/;
const MAX_CAUSES = 5;

/**
 * What a failing batch waits for. A handler that knows says so with BackpressureError; anything
 * else is classified from the error and its causes, so a lease timeout caused by a Redis outage
 * still reads as `redis`.
 */
export function pauseReason(err: unknown): PauseReason {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < MAX_CAUSES; depth++, e = e.cause) {
    if (e instanceof BackpressureError) return e.reason;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && SPOOL_CODES.has(code)) return 'spool';
    if (REDIS_ERROR_NAMES.has(e.name) || REDIS_MESSAGES.test(e.message)) return 'redis';
    if (e.name.startsWith('KafkaJS')) return 'kafka';
  }
  return 'error';
}
