import { KafkaMessage } from 'kafkajs';

/** What a handler registered with @EventPattern(topic) receives from KafkaBatchServer. */
export interface KafkaBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** Call during long work so the group does not consider this consumer dead. */
  heartbeat(): Promise<void>;
  /** True once the partition was revoked or the consumer is stopping: stop early, commit nothing. */
  isStale(): boolean;
}
