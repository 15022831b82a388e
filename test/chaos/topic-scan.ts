import { randomBytes } from 'node:crypto';
import { Kafka, KafkaMessage } from 'kafkajs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads a whole topic once, as a downstream consumer sees it (read committed: records of aborted
 * transactions are skipped). Done when every partition reached the high watermark it had when
 * the scan began, or when nothing arrived for `quietMs` (a transactional partition ends in a
 * commit marker, which is never delivered as a message).
 */
export async function scanTopic(
  kafka: Kafka,
  topic: string,
  onMessage: (m: KafkaMessage, partition: number) => void,
  { quietMs = 4000, timeoutMs = 120_000 } = {},
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const reached = new Map<number, bigint>();
  const caughtUp = () =>
    [...ends].every(([p, high]) => high === 0n || (reached.get(p) ?? -1n) >= high - 1n);
  const consumer = kafka.consumer({
    groupId: `chaos-scan-${randomBytes(4).toString('hex')}`,
    readUncommitted: false,
    maxBytesPerPartition: 8 * 1024 * 1024,
  });
  let count = 0;
  // Joining the group takes a few seconds: quiet counts only from the first batch on.
  let lastAt = Number.POSITIVE_INFINITY;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          onMessage(m, batch.partition);
          count++;
        }
        reached.set(batch.partition, BigInt(batch.lastOffset()));
        lastAt = Date.now();
      },
    });
    const deadline = Date.now() + timeoutMs;
    const empty = [...ends.values()].every((high) => high === 0n);
    while (!empty && !caughtUp() && !(Date.now() - lastAt > quietMs)) {
      if (Date.now() > deadline) throw new Error(`scanning ${topic} took over ${timeoutMs} ms`);
      await sleep(200);
    }
  } finally {
    await consumer.disconnect();
  }
  return count;
}
