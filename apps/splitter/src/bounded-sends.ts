import type { TopicMessages } from '@logsplit/common/kafka';

/**
 * Most bytes one produce request of the splitter carries. kafkajs puts every message a request
 * has for one partition into one record batch, and the broker refuses a batch over the topic's
 * max.message.bytes (8 MiB) on every retry. One fetch of the raw topic can hold far more than that
 * once its producer's compression is undone, so the splitter's output is sent in parts under half
 * the limit (inside one transaction they still commit together).
 */
export const SEND_BUDGET_BYTES = 4 * 1024 * 1024;

/** Per-record framing beyond key, value and headers (varints, attributes, deltas): generous. */
const RECORD_OVERHEAD = 64;

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
interface SizedMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue>;
}

const len = (v: Buffer | string | null | undefined): number =>
  v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

/** Header bytes of a message (names and values), as the record will carry them. */
export function headerBytes(headers: Record<string, HeaderValue> | undefined): number {
  let n = 0;
  for (const [name, v] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) n += Buffer.byteLength(name) + len(one) + 8;
  }
  return n;
}

/** Upper estimate of a message's size in a record batch. */
export function messageBytes(m: SizedMessage): number {
  return len(m.key) + len(m.value) + headerBytes(m.headers) + RECORD_OVERHEAD;
}

/**
 * Splits the topics' messages, in order, into produce calls of at most `budget` bytes each; a
 * message larger than the budget goes alone. Order within a topic is kept, so sending the parts
 * one after another keeps per-partition order.
 */
export function boundedSends(
  batches: TopicMessages[],
  budget = SEND_BUDGET_BYTES,
): TopicMessages[][] {
  const parts: TopicMessages[][] = [];
  let part: TopicMessages[] = [];
  let size = 0;
  for (const { topic, messages } of batches) {
    for (const m of messages) {
      const n = messageBytes(m);
      if (size > 0 && size + n > budget) {
        parts.push(part);
        part = [];
        size = 0;
      }
      const last = part[part.length - 1];
      if (last?.topic === topic) last.messages.push(m);
      else part.push({ topic, messages: [m] });
      size += n;
    }
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
