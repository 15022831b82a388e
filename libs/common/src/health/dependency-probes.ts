import Redis from 'ioredis';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { kafkaSecurityOptions } from '../kafka/client-security';
import { describeKafkaFailure, KafkaFailureContext } from '../kafka/kafka-failure';
import { KafkaProblems } from '../kafka/kafka-problems';
import { KafkaConfig, RedisSettings } from '../config';
import { describeRedisFailure, lastRedisError } from '../redis/redis-failure';
import { deniedRedisCommand } from '../redis/redis-permissions';
import { StorageDriver } from '../storage';

/** Resolves when the dependency answered; rejects (or times out) when it did not. */
export type DependencyProbe = () => Promise<void>;

/**
 * Kafka: a metadata round trip through a dedicated admin client without retries, so an outage
 * shows within one probe instead of after the service's long retry schedule; then the problems
 * the service's own clients reported (e.g. a missing permission). Fails with the reason from
 * describeKafkaFailure, which names the setting or permission to fix.
 */
export function kafkaProbe(
  config: KafkaConfig,
  context: Partial<KafkaFailureContext> = {},
  problems?: KafkaProblems,
): {
  probe: DependencyProbe;
  close(): Promise<void>;
} {
  const kafka = new Kafka({
    clientId: `${config.clientId}-health`,
    brokers: config.brokers,
    ...kafkaSecurityOptions(config.security),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  });
  let admin: Admin | undefined;
  return {
    probe: async () => {
      try {
        admin ??= kafka.admin();
        await admin.connect();
        await admin.describeCluster();
      } catch (err) {
        const stale = admin;
        admin = undefined;
        await stale?.disconnect().catch(() => undefined);
        const ctx = { brokers: config.brokers, security: config.security, ...context };
        throw new Error(describeKafkaFailure(err, ctx));
      }
      const problem = problems?.current;
      if (problem) throw new Error(problem);
    },
    close: async () => admin?.disconnect(),
  };
}

/**
 * Redis: the shared client is connected and answers PING. A connection being set up (at start-up,
 * or a reconnect attempt) is waited for instead of failing the probe, whose next round is a
 * second away; an unreachable Redis closes it, or the probe's timeout ends the wait.
 */
export function redisProbe(redis: Redis, settings: RedisSettings): DependencyProbe {
  const fail = (err: unknown) => new Error(describeRedisFailure(err, settings));
  return async () => {
    if (redis.status === 'connecting' || redis.status === 'connect') await settled(redis);
    if (redis.status !== 'ready') {
      throw fail(lastRedisError(redis) ?? new Error(`redis client is ${redis.status}`));
    }
    let denied: string | undefined;
    try {
      await redis.ping();
      denied = await deniedRedisCommand(redis);
    } catch (err) {
      throw fail(err);
    }
    if (denied) throw fail(new Error(`NOPERM may not run '${denied}' on logsplit:* keys`));
  };
}

/** Resolves when the client's connection attempt ends: ready, or closed. */
function settled(redis: Redis): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      redis.off('ready', done);
      redis.off('close', done);
      res();
    };
    redis.on('ready', done);
    redis.on('close', done);
  });
}

/** Object store: a HEAD of a key that need not exist; only an error means unreachable. */
export function storeProbe(store: StorageDriver, prefix: string): DependencyProbe {
  return async () => {
    await store.head(`${prefix}/_health`);
  };
}

/** Rejects when p has not settled within ms. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_res, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
