import { Logger } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { TopicsConfig } from '../config';

/** Largest message the by-app and dead-letter topics accept; a chunk is bounded below it. */
export const TOPIC_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Every topic of the pipeline, each once. */
export function pipelineTopics(topics: TopicsConfig): string[] {
  return [...new Set([topics.raw, topics.byApp, topics.dlq, topics.segments])];
}

/** A topic the service needs is missing and may not (or could not) be created. */
export class TopicsUnavailableError extends Error {
  override name = 'TopicsUnavailableError';
}

/**
 * Creates the service's topics (`names`) when they are missing, so a fresh local stack or test
 * cluster works without a separate step; existing topics are left as they are. With
 * LOGSPLIT_CREATE_TOPICS=false a missing topic is an error naming it instead. Unless
 * LOGSPLIT_TOPIC_REPLICATION is set, the request asks for replication factor -1: the cluster's
 * default.replication.factor (KIP-464; kafkajs sends the -1 as given).
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: TopicsConfig,
  names: string[] = pipelineTopics(topics),
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Lists only the topics this principal may DESCRIBE.
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(names)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    if (!topics.create) {
      throw new TopicsUnavailableError(
        `topic ${missing.join(', ')} not found (missing, or this principal lacks DESCRIBE on it) ` +
          'and LOGSPLIT_CREATE_TOPICS=false: create it first',
      );
    }
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: topics.partitions,
          replicationFactor: topics.replication ?? -1,
          configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
        })),
      });
    } catch (err) {
      throw creationError(err);
    }
    new Logger('topics').log(`created topics ${missing.join(', ')}`);
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs reports per-topic failures in an aggregate; name each topic and what went wrong. */
function creationError(err: unknown): Error {
  const errors = (err as { errors?: { type?: string; topic?: string; message?: string }[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return err as Error;
  const what = errors.map((e) =>
    e.type === 'TOPIC_AUTHORIZATION_FAILED' || e.type === 'CLUSTER_AUTHORIZATION_FAILED'
      ? `principal lacks CREATE on topic ${e.topic}`
      : `creating topic ${e.topic} failed: ${e.type ?? e.message}`,
  );
  return new TopicsUnavailableError(
    `${what.join('; ')} (LOGSPLIT_CREATE_TOPICS=false turns topic creation off)`,
  );
}
