import { Logger } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { TopicsConfig } from '../config';

/** Largest message the by-app and dead-letter topics accept; a chunk is bounded below it. */
export const TOPIC_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Creates the pipeline's topics when they are missing, so a fresh local stack or test cluster
 * works without a separate step. Existing topics are left as they are.
 */
export async function ensureTopics(kafka: Kafka, topics: TopicsConfig): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [topics.raw, topics.byApp, topics.dlq, topics.segments].filter(
      (t, i, all) => all.indexOf(t) === i && !existing.has(t),
    );
    if (wanted.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({
        topic,
        numPartitions: topics.partitions,
        replicationFactor: topics.replication,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
      })),
    });
    new Logger('topics').log(`created topics ${wanted.join(', ')}`);
  } finally {
    await admin.disconnect();
  }
}
