import { Kafka, Producer } from 'kafkajs';
import { Workload } from './records';

export interface ProduceStats {
  /** Records acknowledged by the broker (acks=all). */
  acked: number;
  /** Sends that failed and were sent again (e.g. while the broker restarted). */
  retriedSends: number;
  startedAt: number;
  finishedAt: number;
}

export interface ProduceOptions {
  kafka: Kafka;
  topic: string;
  workload: Workload;
  /** Spread the records evenly over this long; 0 = as fast as the broker takes them. */
  durationMs: number;
  batchSize?: number;
  /** Told of every failed send, to put it in the run's timeline. */
  onRetry?: (err: unknown) => void;
  /** Checked between sends: stop early (the run is being torn down). */
  aborted?: () => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes the workload to the raw topic at a steady pace, riding out broker restarts by sending a
 * failed batch again. The idempotent producer keeps such a resend from duplicating records in the
 * common case; when it cannot (a new producer id), the audit sees the copy on the raw topic and
 * expects it in the archives, so a producer-side duplicate is never blamed on the pipeline.
 */
export async function produceWorkload(o: ProduceOptions): Promise<ProduceStats> {
  const batchSize = o.batchSize ?? 500;
  const stats: ProduceStats = { acked: 0, retriedSends: 0, startedAt: Date.now(), finishedAt: 0 };
  let producer: Producer | undefined;
  let failures = 0;
  const connect = async () => {
    producer = o.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 20 },
    });
    await producer.connect();
    return producer;
  };
  try {
    for (let seq = 0; seq < o.workload.count && !o.aborted?.();) {
      const due = o.durationMs > 0 ? (seq / o.workload.count) * o.durationMs : 0;
      const wait = stats.startedAt + due - Date.now();
      if (wait > 0) await sleep(wait);
      const end = Math.min(seq + batchSize, o.workload.count);
      const messages = [];
      for (let s = seq; s < end; s++) messages.push({ value: o.workload.value(s) });
      try {
        await (producer ?? (await connect())).send({ topic: o.topic, acks: -1, messages });
        stats.acked += messages.length;
        seq = end;
        failures = 0;
      } catch (err) {
        stats.retriedSends++;
        o.onRetry?.(err);
        // kafkajs reconnects by itself; a producer still failing after many tries is replaced.
        if (++failures % 5 === 0) {
          await producer?.disconnect().catch(() => undefined);
          producer = undefined;
        }
        await sleep(1000);
      }
    }
  } finally {
    await producer?.disconnect().catch(() => undefined);
    stats.finishedAt = Date.now();
  }
  return stats;
}
