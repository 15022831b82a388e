/**
 * read_committed for kafkajs 2.2.4 consumers. kafkajs drops the records of aborted transactions
 * with a filter that assumes the fetch response lists aborted transactions by first offset and
 * activates at most one of them per record; the broker lists them in abort order (the Java
 * client sorts them for this reason), and a partition written by several transactional
 * producers (one per raw partition here) often holds overlapping aborted transactions. Records of
 * an aborted transaction then reach the consumer: duplicates downstream of a crashed splitter.
 *
 * `readCommittedPatch` puts the Java client's algorithm in place of kafkajs' filter (install.ts).
 */

import type { KafkajsPatch } from './kafkajs-patch';
import { kafkajsFunction } from './kafkajs-shape';

interface FilterableMessage {
  offset: string;
  key?: Buffer | null;
  batchContext: { producerId: string; inTransaction: boolean };
}

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

const isAbortMarker = (m: FilterableMessage): boolean =>
  m.key != null && Buffer.from(m.key).equals(ABORT_MARKER_KEY);

/** The records (and control records) of `messages` that no aborted transaction wrote. */
export function filterAbortedMessages<M extends FilterableMessage>({
  messages,
  abortedTransactions,
}: {
  messages: M[];
  abortedTransactions?: AbortedTransaction[];
}): M[] {
  if (!abortedTransactions?.length) return messages;
  const pending = [...abortedTransactions].sort((a, b) =>
    BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : 1,
  );
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    // Every aborted transaction that has begun by this record, not just the next one.
    while (pending.length > 0 && BigInt(pending[0].firstOffset) <= offset) {
      aborted.add(String(pending.shift()!.producerId));
    }
    const producerId = String(m.batchContext.producerId);
    if (isAbortMarker(m)) {
      aborted.delete(producerId); // that producer's aborted transaction ends here
      return true;
    }
    return !(m.batchContext.inTransaction && aborted.has(producerId));
  });
}

/** kafkajs' aborted-transaction filter replaced by the one above. */
export const readCommittedPatch: KafkajsPatch = {
  name: 'read-committed',
  users: ['kafkajs/src/consumer/batch'],
  replacements: (original) => {
    const id = 'kafkajs/src/consumer/filterAbortedMessages';
    kafkajsFunction(id, original(id));
    return { [id]: filterAbortedMessages };
  },
};
