import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisOptions } from 'ioredis';
import { createRedis } from './redis-client';

// ioredis arms a (by default 2 s) timer on disconnect() that a never-connected socket does not
// clear; shorten it so Jest exits promptly. The option exists but is missing from the typings.
const redisOptions = { disconnectTimeout: 20 } as RedisOptions;

/** A port nobody listens on: connections are refused at once, like a Redis that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createRedis while Redis is down', () => {
  it('fails a command fast instead of hanging, and logs the outage once', async () => {
    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const client = createRedis(`redis://127.0.0.1:${await closedPort()}`, 'down-test', {
      logger,
      redisOptions,
    });
    try {
      const t0 = Date.now();
      await expect(client.ping()).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(3_000);
      await sleep(300); // more reconnect attempts, more 'error' events
      expect(logger.error).toHaveBeenCalledTimes(1);
      expect(logger.warn).not.toHaveBeenCalled();
    } finally {
      client.disconnect();
    }
  });

  it('repeats a summary of a continuing outage at most every repeatLogMs', async () => {
    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const url = `redis://:secret@127.0.0.1:${await closedPort()}`;
    const client = createRedis(url, 'down-test', { logger, redisOptions, repeatLogMs: 200 });
    try {
      await sleep(900);
      expect(logger.error).toHaveBeenCalledTimes(1);
      expect(logger.warn.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(logger.warn.mock.calls.length).toBeLessThanOrEqual(5);
      const logged = [...logger.error.mock.calls, ...logger.warn.mock.calls].join('\n');
      expect(logged).not.toContain('secret');
    } finally {
      client.disconnect();
    }
  });
});
