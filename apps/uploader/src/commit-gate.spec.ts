import { ManifestEntry } from '@logsplit/common';
import { firstUncommittedBlock, inputTopics, partitionId } from './commit-gate';

const block = (input?: ManifestEntry['input']): ManifestEntry => ({
  offset: 0,
  length: 1,
  records: 1,
  rawBytes: 1,
  minTime: 0,
  maxTime: 0,
  appendedAt: 0,
  sources: [],
  ...(input && { input }),
});
const committed = (entries: [string, number, number][]) =>
  new Map(entries.map(([t, p, o]) => [partitionId(t, p), o]));

describe('firstUncommittedBlock', () => {
  it('passes a segment whose every input offset is below the committed offset', () => {
    const entries = [
      block({ topic: 't', partition: 0, offsets: [5, 9] }),
      block({ topic: 't', partition: 1, offsets: [0] }),
    ];
    expect(
      firstUncommittedBlock(
        entries,
        committed([
          ['t', 0, 10],
          ['t', 1, 1],
        ]),
      ),
    ).toBeUndefined();
  });

  it('names the first block whose highest offset is not committed (the committed offset is the next to read)', () => {
    const entries = [
      block({ topic: 't', partition: 0, offsets: [3] }),
      block({ topic: 't', partition: 0, offsets: [4, 10] }),
    ];
    expect(firstUncommittedBlock(entries, committed([['t', 0, 10]]))).toEqual({
      topic: 't',
      partition: 0,
      offset: 10,
      committed: 10,
    });
  });

  it('holds a partition without any commit, and counts blocks without input as committed', () => {
    expect(
      firstUncommittedBlock(
        [block(), block({ topic: 't', partition: 2, offsets: [0] })],
        committed([['t', 0, 100]]),
      ),
    ).toEqual({ topic: 't', partition: 2, offset: 0, committed: undefined });
    expect(firstUncommittedBlock([block(), block()], new Map())).toBeUndefined();
  });

  it('tells topics apart', () => {
    const entries = [block({ topic: 'b', partition: 0, offsets: [1] })];
    expect(firstUncommittedBlock(entries, committed([['a', 0, 5]]))).toBeDefined();
    expect(
      inputTopics([...entries, block(), block({ topic: 'a', partition: 0, offsets: [] })]),
    ).toEqual(['b', 'a']);
  });
});
