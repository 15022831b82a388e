// The test infrastructure itself: the real broker serves what the services rely on through
// kafkajs 2.2.4 (admin, produce, consumer groups with committed offsets, transactions), and
// Redis answers. If this fails, every other e2e test would fail for the same reason.
import Redis from 'ioredis';
import { redisConnectionOptions } from '@logsplit/common';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { loadKafkaSecurity } from '@logsplit/common';
import { kafkaSecurityOptions } from '@logsplit/common';
import { kafkaBrokers, redisUrl, uniqueName } from './support/infra';

jest.setTimeout(60_000);

const kafka = new Kafka({
  clientId: 'infra-e2e',
  brokers: kafkaBrokers(),
  ...kafkaSecurityOptions(loadKafkaSecurity()),
  // Retries while the group/transaction coordinators load are logged as errors; not news here.
  logLevel: logLevel.NOTHING,
});

/** Consumes from the beginning until `count` messages arrived, then leaves the group. */
async function consume(
  topic: string,
  groupId: string,
  count: number,
  opts: { readUncommitted?: boolean } = {},
): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, readUncommitted: opts.readUncommitted ?? false });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`got ${values.length}/${count} messages in 30s`)),
        30_000,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString() ?? '');
            if (values.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    // disconnect() commits the offsets of what eachMessage has processed.
    await consumer.disconnect();
  }
  return values;
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

describe('test infrastructure', () => {
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
  });

  it('creates a topic, produces 100 messages and consumes them in a group that commits', async () => {
    const topic = uniqueName('infra');
    const groupId = uniqueName('infra-group');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0].partitions).toHaveLength(3);

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const sent = Array.from({ length: 100 }, (_, i) => `message-${i}`);
    await producer.send({
      topic,
      messages: sent.map((value, i) => ({ key: `k${i % 7}`, value })),
    });
    await producer.disconnect();

    const received = await consume(topic, groupId, sent.length);
    expect(received).toHaveLength(100);
    expect([...received].sort()).toEqual([...sent].sort());
    expect(await committed(admin, groupId, topic)).toBe(100);
  });

  it('commits and aborts transactions; read_committed consumers see only committed data', async () => {
    const topic = uniqueName('infra-tx');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({
      transactionalId: uniqueName('infra-tx-producer'),
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ value: 'aborted' }] });
      await aborted.abort();
      const tx = await producer.transaction();
      await tx.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
      await tx.commit();
    } finally {
      await producer.disconnect();
    }

    expect(await consume(topic, uniqueName('infra-rc'), 2)).toEqual(['committed-1', 'committed-2']);
  });

  it('has a Redis that answers', async () => {
    const redis = new Redis({
      ...redisConnectionOptions(redisUrl()),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });
});
