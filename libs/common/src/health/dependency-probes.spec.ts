import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { redisSettingsFromUrl } from '../config/redis-settings';
import { redisProbe } from './dependency-probes';

/** The part of an ioredis client the probe looks at. */
class FakeRedis extends EventEmitter {
  status = 'connecting';
  pings = 0;
  async ping(): Promise<string> {
    this.pings++;
    return 'PONG';
  }
  defineCommand(name: string): void {
    (this as unknown as Record<string, () => Promise<string>>)[name] = async () => 'ok';
  }
  become(status: string, event: string): void {
    this.status = status;
    this.emit(event);
  }
}

describe('redisProbe', () => {
  const settings = redisSettingsFromUrl('redis://127.0.0.1:6379');
  const probeOf = (r: FakeRedis) => redisProbe(r as unknown as Redis, settings);

  it('waits for a connection being set up, then pings', async () => {
    const redis = new FakeRedis();
    const probe = probeOf(redis)();
    await new Promise((r) => setTimeout(r, 20));
    expect(redis.pings).toBe(0);
    redis.become('ready', 'ready');
    await expect(probe).resolves.toBeUndefined();
    expect(redis.pings).toBe(1);
    expect(redis.listenerCount('ready') + redis.listenerCount('close')).toBe(0);
  });

  it('fails when the connection attempt ends without Redis', async () => {
    const redis = new FakeRedis();
    const probe = probeOf(redis)();
    redis.become('reconnecting', 'close');
    await expect(probe).rejects.toThrow('redis client is reconnecting');
    expect(redis.pings).toBe(0);
  });

  it('fails at once while the client waits to reconnect', async () => {
    const redis = new FakeRedis();
    redis.status = 'reconnecting';
    await expect(probeOf(redis)()).rejects.toThrow('redis client is reconnecting');
  });
});
