import { randomBytes } from 'node:crypto';
import type { Kafka, Message } from 'kafkajs';

/**
 * Writes `messages` to `topic` exactly once, `perTransaction` at a time, each batch in its own
 * transaction. kafkajs' idempotent producer can fail a send with OUT_OF_ORDER_SEQUENCE_NUMBER
 * right after a broker or topic was created (retries on a busy machine), leaving unknown which
 * partitions took the batch; an aborted transaction leaves nothing a read_committed consumer
 * (the splitter) sees, so the batch is sent again by a new producer of the same id, which fences
 * the old one and aborts its open transaction.
 */
export async function sendTransactionally(
  kafka: Kafka,
  topic: string,
  messages: Message[],
  perTransaction = 2000,
): Promise<void> {
  const transactionalId = `logsplit-test-${randomBytes(4).toString('hex')}`;
  const open = async () => {
    const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    return p;
  };
  let producer = await open();
  try {
    for (let i = 0; i < messages.length; i += perTransaction) {
      for (let attempt = 1; ; attempt++) {
        const tx = await producer.transaction();
        try {
          await tx.send({ topic, acks: -1, messages: messages.slice(i, i + perTransaction) });
          await tx.commit();
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await tx.abort().catch(() => undefined);
          await producer.disconnect().catch(() => undefined);
          producer = await open();
        }
      }
    }
  } finally {
    await producer.disconnect();
  }
}
