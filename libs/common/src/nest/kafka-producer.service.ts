import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { connectProducer, TopicMessages } from '../kafka/producer';
import { KAFKA } from './tokens';

/** The service's one producer, connected at start and flushed at shutdown. */
@Injectable()
export class KafkaProducerService implements OnModuleInit, OnApplicationShutdown {
  private producer?: Producer;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  async onModuleInit(): Promise<void> {
    this.producer = await connectProducer(this.kafka);
  }

  /** Resolves once every message is acknowledged by all in-sync replicas. */
  async send(batches: TopicMessages[]): Promise<void> {
    const topicMessages = batches.filter((b) => b.messages.length > 0);
    if (topicMessages.length === 0) return;
    await this.producer!.sendBatch({ topicMessages, acks: -1 });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer?.disconnect();
  }
}
