import { filterAbortedMessages } from './read-committed';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
const rec = (offset: number, producerId: string, key: Buffer | null = null) => ({
  offset: String(offset),
  key,
  batchContext: { producerId, inTransaction: true },
});

describe('filterAbortedMessages (read_committed)', () => {
  it('drops overlapping aborted transactions listed in abort order, keeps committed ones', () => {
    // Producers A and B abort (B began first but aborted last), C commits in between.
    const messages = [
      rec(10, 'B'),
      rec(11, 'A'),
      rec(12, 'C'),
      rec(13, 'B'),
      rec(14, 'A'),
      rec(15, 'C', COMMIT),
      rec(16, 'A', ABORT),
      rec(17, 'B', ABORT),
      rec(18, 'A'),
    ];
    const kept = filterAbortedMessages({
      messages,
      // As the broker lists them: in abort order, not by first offset.
      abortedTransactions: [
        { producerId: 'A', firstOffset: '11' },
        { producerId: 'B', firstOffset: '10' },
      ],
    });
    expect(kept.map((m) => m.offset)).toEqual(['12', '15', '16', '17', '18']);
  });

  it('activates every aborted transaction begun by a record, not one per record', () => {
    const kept = filterAbortedMessages({
      messages: [rec(20, 'A'), rec(21, 'B'), rec(22, 'A', ABORT), rec(23, 'B', ABORT)],
      abortedTransactions: [
        { producerId: 'A', firstOffset: '5' },
        { producerId: 'B', firstOffset: '6' },
      ],
    });
    expect(kept.map((m) => m.offset)).toEqual(['22', '23']);
  });

  it('passes everything through when nothing was aborted', () => {
    const messages = [rec(1, 'A'), rec(2, 'A', COMMIT)];
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toBe(messages);
  });
});
