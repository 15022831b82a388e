import { KafkaMessage } from 'kafkajs';

/** What a handler registered with @EventPattern(topic) receives from KafkaBatchServer. */
export interface KafkaBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /**
   * The offset to commit once this batch is done: one past its last offset, including control
   * records that end it. Handlers that commit their own offsets (offsetCommit: 'handler') use it.
   */
  nextOffset: string;
  /**
   * Commits `offset` (the next to read) for this batch's partition, also after the handler
   * returned: for handlers that finish a partition's records later than their batch
   * (offsetCommit: 'handler'). The caller must know the partition is still its own.
   */
  commit(offset: string): Promise<void>;
  /** Call during long work so the group does not consider this consumer dead. */
  heartbeat(): Promise<void>;
  /**
   * True once the partition was revoked, or shutdown ran out of time: stop early, commit nothing.
   * (A plain shutdown does not make a batch stale: the batch in hand finishes and commits.)
   */
  isStale(): boolean;
}
