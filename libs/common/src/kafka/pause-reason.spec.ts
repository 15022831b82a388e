import { BackpressureError } from './backpressure-error';
import { pauseReason } from './pause-reason';

class MaxRetriesPerRequestError extends Error {
  override readonly name = 'MaxRetriesPerRequestError';
}
class KafkaJSConnectionError extends Error {
  override readonly name = 'KafkaJSConnectionError';
}

const errno = (code: string) => Object.assign(new Error(`${code}: write failed`), { code });

describe('pauseReason', () => {
  it('takes the reason a BackpressureError states', () => {
    expect(pauseReason(new BackpressureError('store', 'store failing'))).toBe('store');
    expect(pauseReason(new BackpressureError('spool', 'spool over its limit'))).toBe('spool');
  });

  it.each([
    [
      'an exhausted ioredis retry',
      new MaxRetriesPerRequestError('Reached the max retries'),
      'redis',
    ],
    ['a closed ioredis connection', new Error('Connection is closed.'), 'redis'],
    ['an ioredis command timeout', new Error('Command timed out'), 'redis'],
    ['a kafkajs error', new KafkaJSConnectionError('Connection error: ECONNREFUSED'), 'kafka'],
    ['a full disk', errno('ENOSPC'), 'spool'],
    ['an exceeded quota', errno('EDQUOT'), 'spool'],
    ['anything else', new TypeError('x is undefined'), 'error'],
    ['a thrown string', 'boom', 'error'],
  ])('classifies %s', (_what, err, reason) => {
    expect(pauseReason(err)).toBe(reason);
  });

  it('looks through causes, e.g. a lease timeout caused by a Redis outage', () => {
    const outage = new Error('Connection is closed.');
    const timeout = new Error('no free slot of 10 for "app" after 60000 ms', { cause: outage });
    expect(pauseReason(timeout)).toBe('redis');
    expect(pauseReason(new Error('append failed', { cause: errno('ENOSPC') }))).toBe('spool');
  });
});
