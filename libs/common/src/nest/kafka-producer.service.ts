import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { connectProducer, TopicMessages } from '../kafka/producer';
import { KAFKA } from './tokens';

/**
 * The service's one producer, connected on first use and flushed at shutdown. Only services that
 * send use it (the compressor): connecting at start would make the others (the uploader) ask
 * for a producer id, which needs WRITE on some topic or IDEMPOTENT_WRITE on the cluster.
 */
@Injectable()
export class KafkaProducerService implements OnApplicationShutdown {
  private producer?: Promise<Producer>;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  /** Resolves once every message is acknowledged by all in-sync replicas. */
  async send(batches: TopicMessages[]): Promise<void> {
    const topicMessages = batches.filter((b) => b.messages.length > 0);
    if (topicMessages.length === 0) return;
    this.producer ??= connectProducer(this.kafka);
    // A failed connect is tried again by the next send (the caller retries the batch).
    this.producer.catch(() => (this.producer = undefined));
    await (await this.producer).sendBatch({ topicMessages, acks: -1 });
  }

  async onApplicationShutdown(): Promise<void> {
    const producer = await this.producer?.catch(() => undefined);
    await producer?.disconnect();
  }
}
