import { Kafka, Message, Producer } from 'kafkajs';
import { TOPIC_MAX_MESSAGE_BYTES } from './topics';

/**
 * An idempotent producer: retries after a lost acknowledgement do not write a record twice
 * within the producer's session, and acks=all (set per send) means a chunk is replicated before
 * the consumed offsets that produced it are committed.
 */
export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return producer;
}

/** Messages for one topic, as a producer's sendBatch takes them. */
export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export { TOPIC_MAX_MESSAGE_BYTES };
